import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enterPrivilegeMissing, NetnsRelay, RELAY_SCRIPT } from '../../src/transports/netns-relay.js';

const status = (capEff: string) => `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

test('entering a network namespace needs CAP_SYS_ADMIN in the effective set, and the answer says so', () => {
  assert.equal(enterPrivilegeMissing(status('000001fffeffffff')), undefined, 'root here (CAP_SYS_RESOURCE missing does not matter)');
  assert.equal(enterPrivilegeMissing(status('0000000000200000')), undefined, 'CAP_SYS_ADMIN alone');
  assert.match(enterPrivilegeMissing(status('0000000000000000')) ?? '', /^CAP_SYS_ADMIN \(not in this process's effective capabilities/);
  assert.match(enterPrivilegeMissing(status('000001ffffdfffff')) ?? '', /CAP_SYS_ADMIN/, 'everything but bit 21');
  assert.match(enterPrivilegeMissing('Name:\tx\n') ?? '', /CAP_SYS_ADMIN/, 'no CapEff line: not assumed');
});

test('the relay reaches loopback addresses only: anything else is refused before a process starts', async () => {
  const relay = new NetnsRelay('/proc/self/ns/net', '/nonexistent/nsenter', { startMs: 100, maxMs: 1000 });
  for (const bad of [
    { host: '10.0.0.1', port: 80 },
    { host: 'localhost', port: 80 },
    { host: '127.0.0.1', port: 0 },
    { host: '127.0.0.1', port: 70000 },
    { host: '::2', port: 1 },
    { host: '127.0.0.1; rm -rf /', port: 1 },
  ]) {
    await assert.rejects(relay.ensure([bad]), (e: Error) => /only a loopback address/.test(e.message), JSON.stringify(bad));
  }
  assert.deepEqual(relay.pids, [], 'nothing was started');
  relay.close();
});

test('an address that is not relayed fails its connection, it never reaches anything', async () => {
  const relay = new NetnsRelay('/proc/self/ns/net', '/nonexistent/nsenter', { startMs: 100, maxMs: 1000 });
  const s = relay.connect('127.0.0.1', 9229);
  const err = await new Promise<NodeJS.ErrnoException>((resolve) => s.once('error', resolve));
  assert.equal(err.code, 'ECONNREFUSED');
  assert.match(err.message, /not relayed/);
});

test('the relay script is fixed text that checks its addresses itself and ends with its input', () => {
  assert.match(RELAY_SCRIPT, /process\.stdin\.on\('end', end\)/);
  assert.match(RELAY_SCRIPT, /if \(!loop \|\| !Number\.isInteger\(port\)/);
  assert.doesNotMatch(RELAY_SCRIPT, /\$\{/, 'no interpolation into the script');
});
