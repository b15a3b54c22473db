/**
 * Peers that are not a healthy inspector: one that accepts and never answers, one that
 * answers garbage over HTTP, one that answers garbage over the WebSocket, one that hangs up
 * mid-call. The CLI must return well within its deadline with the reason in `unknowns`.
 * And a remote --inspect address must be refused before any connection is attempted: that
 * test runs inside an empty network namespace, so that even a bug could not send a packet.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, nodeMetrics, start, TARGETS } from '../fixtures/node-targets/harness.js';
import { cleanup, runCli } from '../helpers/processes.js';

after(cleanup);

function nodeUnknown(report: any): { reason: string; hint?: string } {
  const u = report.targets[0].unknowns.find((x: { probe?: string }) => x.probe === 'node');
  assert.ok(u, JSON.stringify(report.targets[0].unknowns));
  return u;
}

async function peer(mode: string) {
  return start(process.execPath, [join(TARGETS, 'fake-peer.cjs'), mode, join(ROOT, 'node_modules')]);
}

const DEADLINE = 10_000;

test('a peer that accepts and never answers: the CLI returns within the deadline, unknowns say why', async () => {
  const p = await peer('hang');
  try {
    const port = String(p.hello.port);
    const r = await runCli([String(p.pid), '--inspect', `127.0.0.1:${port}`, '--json', '--timeout', '10s'], { timeoutMs: DEADLINE + 5000 });
    assert.ok(r.report, r.stderr);
    assert.ok(r.ms < 6000, `took ${r.ms} ms`);
    assert.match(nodeUnknown(r.report).reason, /accepted the connection but did not answer \/json\/list within \d+ ms/);
    assert.deepEqual(nodeMetrics(r.report), {});

    // the same peer given as a ws:// URL: the WebSocket handshake never completes
    const w = await runCli([String(p.pid), '--inspect', `ws://127.0.0.1:${port}/some-session`, '--json'], { timeoutMs: DEADLINE + 5000 });
    assert.ok(w.ms < 6000, `took ${w.ms} ms`);
    assert.match(nodeUnknown(w.report).reason, /did not complete the WebSocket handshake within \d+ ms/);

    // a short overall deadline is honoured too
    const s = await runCli([String(p.pid), '--inspect', port, '--json', '--timeout', '500ms'], { timeoutMs: DEADLINE });
    assert.ok(s.report, s.stderr);
    assert.ok(s.ms < 4500, `took ${s.ms} ms`);
    assert.ok(p.alive());
  } finally {
    await p.stop();
  }
});

test('a peer that answers /json/list with garbage', async () => {
  const p = await peer('garbage-http');
  try {
    const r = await runCli([String(p.pid), '--inspect', String(p.hello.port), '--json']);
    assert.ok(r.ms < 6000, `took ${r.ms} ms`);
    assert.match(nodeUnknown(r.report).reason, /not JSON/);
    assert.doesNotMatch(r.stdout, /\\u001b\[31m|\u001b\[31m/, 'control characters from the peer never reach the output raw');
  } finally {
    await p.stop();
  }
});

test('a peer that answers every protocol request with malformed messages; its advertised host is ignored', async () => {
  const p = await peer('garbage-ws');
  try {
    const r = await runCli([String(p.pid), '--inspect', String(p.hello.port), '--json']);
    assert.ok(r.ms < 6000, `took ${r.ms} ms`);
    assert.match(nodeUnknown(r.report).reason, /malformed reply to Runtime\.evaluate/);
    assert.deepEqual(nodeMetrics(r.report), {});
    const seen = await p.ask('');
    assert.equal(seen.host, `127.0.0.1:${p.hello.port}`, 'connected to the address we were given, not the one the peer advertised');
    assert.equal(seen.connected, '/fake-session');
  } finally {
    await p.stop();
  }
});

test('a peer that closes the connection mid-call', async () => {
  const p = await peer('close-ws');
  try {
    const r = await runCli([String(p.pid), '--inspect', String(p.hello.port), '--json']);
    assert.ok(r.ms < 6000, `took ${r.ms} ms`);
    assert.match(nodeUnknown(r.report).reason, /closed the connection .*while waiting for Runtime\.evaluate/);
  } finally {
    await p.stop();
  }
});

test('a remote --inspect address is refused before any connection (inside an empty network namespace)', async (t) => {
  const probe = spawnSync('unshare', ['-n', 'true']);
  if (probe.error || probe.status !== 0)
    return t.skip(`cannot create a network namespace here (unshare -n: ${probe.error?.message ?? probe.stderr.toString().trim()})`);
  const target = await start(process.execPath, [join(TARGETS, 'plain.cjs')]);
  try {
    for (const addr of ['10.1.2.3:9229', 'ws://192.0.2.7:9229/abc', 'inspector.example:9229']) {
      const r = await runCli([String(target.pid), '--inspect', addr, '--json'], { prefix: ['unshare', '-n'] });
      assert.ok(r.report, r.stderr);
      const u = nodeUnknown(r.report);
      assert.match(u.reason, /refusing to connect to the inspector at .*not a loopback address/);
      assert.match(u.reason, /runs any code/, 'the refusal says why: the inspector grants code execution');
      assert.match(u.hint!, /--allow-remote/);
      assert.equal(r.report.targets[0].actions, undefined);
    }
    // without --trust-peer the address is still not the target's own socket: refused, nothing sent
    const unproven = await runCli([String(target.pid), '--inspect', '10.1.2.3:9229', '--allow-remote', '--json'], { prefix: ['unshare', '-n'] });
    assert.match(nodeUnknown(unproven.report).reason, /--inspect refused: 10\.1\.2\.3:9229 is not a socket of pid \d+/);
    // the contrast: with --allow-remote --trust-peer a connection is attempted, and the empty namespace stops it
    const allowed = await runCli([String(target.pid), '--inspect', '10.1.2.3:9229', '--allow-remote', '--trust-peer', '--json'], { prefix: ['unshare', '-n'] });
    assert.doesNotMatch(nodeUnknown(allowed.report).reason, /refusing/);
    assert.match(nodeUnknown(allowed.report).reason, /unreachable|refused|did not answer/);
  } finally {
    await target.stop();
  }
});
