import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackAddress, isLoopbackHost, ipv6Bytes } from '../../src/transports/loopback.js';
import { isLoopbackHost as inspectorSays } from '../../src/transports/inspector.js';
import { isLoopbackHost as pprofSays } from '../../src/transports/pprof.js';

// every spelling the two clients once answered differently, and their non-loopback neighbours
const TABLE: Array<[string, boolean]> = [
  ['127.0.0.1', true],
  ['127.1.2.3', true],
  ['127.255.255.255', true],
  ['localhost', true],
  ['LOCALHOST', true],
  ['::1', true],
  ['[::1]', true],
  ['0::1', true],
  ['0:0:0:0:0:0:0:1', true],
  ['0000:0000:0000:0000:0000:0000:0000:0001', true],
  ['::ffff:127.0.0.1', true],
  ['::FFFF:127.0.0.1', true],
  ['::ffff:7f00:1', true],
  ['::ffff:7fff:ffff', true],
  ['0:0:0:0:0:ffff:127.0.0.1', true],
  ['0:0:0:0:0:ffff:7f00:1', true],
  ['[::ffff:127.0.0.1]', true],
  ['0.0.0.0', false],
  ['::', false],
  ['10.0.0.1', false],
  ['128.0.0.1', false],
  ['1.127.0.0', false],
  ['::2', false],
  ['::1:1', false],
  ['1::1', false],
  ['::ffff:10.0.0.1', false],
  ['::ffff:a00:1', false],
  ['::ffff:8000:1', false],
  ['::127.0.0.1', false],
  ['64:ff9b::127.0.0.1', false],
  ['0:0:0:0:0:fffe:127.0.0.1', false],
  ['fe80::1', false],
  ['example.com', false],
  ['127.0.0.1.nip.io', false],
  ['localhost.evil.com', false],
  ['', false],
  ['[]', false],
];

test('one loopback answer for the inspector and pprof clients, for every spelling', () => {
  for (const [h, want] of TABLE) {
    assert.equal(isLoopbackHost(h), want, h);
    assert.equal(inspectorSays(h), want, `inspector: ${h}`);
    assert.equal(pprofSays(h), want, `pprof: ${h}`);
    if (h !== 'localhost' && h !== 'LOCALHOST') assert.equal(isLoopbackAddress(h), want, `address: ${h}`);
  }
  assert.equal(isLoopbackAddress('localhost'), false, 'a name is not an address');
});

test('ipv6Bytes expands :: and a trailing dotted quad', () => {
  assert.deepEqual(ipv6Bytes('::ffff:127.0.0.1'), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 127, 0, 0, 1]);
  assert.deepEqual(ipv6Bytes('1:2:3:4:5:6:7:8'), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  assert.deepEqual(ipv6Bytes('::'), Array(16).fill(0));
  assert.equal(ipv6Bytes('127.0.0.1'), undefined);
});
