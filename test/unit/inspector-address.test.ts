import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConnectAllowed, CdpSession, isLoopbackHost, listTargets, parseInspectAddress, parseTargetList } from '../../src/transports/inspector.js';

test('parseInspectAddress: port, host:port, [v6]:port, ws:// URL; localhost is never resolved', () => {
  assert.deepEqual(parseInspectAddress('9229'), { host: '127.0.0.1', port: 9229, loopback: true });
  assert.deepEqual(parseInspectAddress('127.0.0.2:9230'), { host: '127.0.0.2', port: 9230, loopback: true });
  assert.deepEqual(parseInspectAddress('localhost:9229'), { host: '127.0.0.1', port: 9229, loopback: true });
  assert.deepEqual(parseInspectAddress('[::1]:9229'), { host: '::1', port: 9229, loopback: true });
  assert.deepEqual(parseInspectAddress('ws://127.0.0.1:9229/0f2c'), { host: '127.0.0.1', port: 9229, path: '/0f2c', loopback: true });
  assert.deepEqual(parseInspectAddress('ws://[::1]:9229/x'), { host: '::1', port: 9229, path: '/x', loopback: true });
  assert.equal(parseInspectAddress('10.0.0.5:9229').loopback, false);
  assert.equal(parseInspectAddress('db.internal:9229').loopback, false);
  for (const bad of [
    '',
    'abc',
    '0',
    '70000',
    'host:',
    ':9229',
    'wss://127.0.0.1:9229/x',
    'ws://u:p@127.0.0.1:9229/x',
    'http://127.0.0.1:9229',
    '1.2.3.4:9229:1',
  ]) {
    assert.throws(
      () => parseInspectAddress(bad),
      (e: Error & { code?: string }) => e.code === 'USAGE',
      bad,
    );
  }
});

test('isLoopbackHost: 127/8, ::1 and v4-mapped loopback only', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', '[::1]']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', '::ffff:10.0.0.1', 'example.com', '128.0.0.1', '1.127.0.0', 'localhost.evil.com']) {
    assert.ok(!isLoopbackHost(h), h);
  }
});

test('the safety gate refuses a remote inspector, says why, and runs before any socket', async () => {
  const addr = parseInspectAddress('203.0.113.9:9229');
  assert.throws(
    () => assertConnectAllowed(addr, false),
    (e: Error & { code?: string; hint?: string }) => e.code === 'REFUSED' && /runs any code/.test(e.message) && /--allow-remote/.test(e.hint ?? ''),
  );
  assert.doesNotThrow(() => assertConnectAllowed(addr, true));
  assert.doesNotThrow(() => assertConnectAllowed(parseInspectAddress('9229'), false));
  // both transport entry points refuse on their own, synchronously, before creating a socket
  assert.throws(() => listTargets(addr, false, { timeoutMs: 10 }), /refusing/);
  await assert.rejects(CdpSession.open(addr, '/x', { timeoutMs: 10 }), /refusing/);
});

test('parseTargetList keeps only the path of the advertised URL and rejects what is not a target list', () => {
  const list = parseTargetList(
    JSON.stringify([
      { description: 'node.js instance', id: 'a', type: 'node', webSocketDebuggerUrl: 'ws://10.9.9.9:1234/a-uuid' },
      { id: 'b', webSocketDebuggerUrl: 'http://x/y' },
      'junk',
    ]),
  );
  assert.deepEqual(list, [{ id: 'a', type: 'node', description: 'node.js instance', path: '/a-uuid' }]);
  assert.throws(() => parseTargetList('not json'), /not JSON/);
  assert.throws(() => parseTargetList('{"a":1}'), /not a target list/);
  assert.throws(() => parseTargetList('[]'), /without any WebSocket target/);
});
