/**
 * --activate-inspector on real processes: a Node service started without --inspect gets its
 * inspector opened with SIGUSR1, probed, and closed again (and survives); a process that is
 * not Node (sleep, which SIGUSR1 would kill) and a Node process that blocks SIGUSR1 are refused
 * and left alone.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { listenPortsOf, nodeBinaries, nodeMetrics, portInUse, start, startRaw, TARGETS } from '../fixtures/node-targets/harness.js';
import { cleanup, runCli, sleep, waitFor } from '../helpers/processes.js';
import { readFileSync } from 'node:fs';

after(cleanup);

for (const node of nodeBinaries()) {
  // this machine's Node opens the default port 9229; the newer one a random port (--inspect-port=0)
  const random = node.bin !== process.execPath;
  describe(`--activate-inspector on ${node.label}`, { skip: node.skip }, () => {
    test(`opens the inspector with SIGUSR1 (${random ? 'random port' : 'port 9229'}), probes, closes it again; the target lives on`, async (t) => {
      if (!random && (await portInUse(9229))) return t.skip('port 9229 is in use on this machine: the default SIGUSR1 port cannot open');
      const target = await start(node.bin!, [...(random ? ['--inspect-port=0'] : []), join(TARGETS, 'plain.cjs')]);
      try {
        assert.deepEqual(await listenPortsOf(target.pid), [], 'no inspector before');
        const r = await runCli([String(target.pid), '--activate-inspector', '--json']);
        assert.ok(r.report, r.stderr);
        const tr = r.report.targets[0];
        const m = nodeMetrics(r.report);
        assert.equal(typeof m['node.heap.used'], 'number', JSON.stringify(tr.unknowns));
        assert.equal(m['node.handles.byType.Timeout'], 1);
        assert.equal(m['node.inspectPort'], undefined, 'a port that is closed again is not offered for next steps');
        assert.ok(
          tr.actions.some((a: string) => /opened the inspector of pid \d+ with SIGUSR1 on 127\.0\.0\.1:\d+, probed it, and closed it again/.test(a)),
          tr.actions,
        );
        assert.match(tr.evidence['node.inspector'].how, /SIGUSR1/);
        assert.match(target.stderr(), /Debugger listening on ws:\/\/127\.0\.0\.1:\d+/, 'the inspector really opened');
        assert.ok(
          tr.actions.some((a: string) => a.includes('the target printed "Debugger listening on ws://…" to its own stderr')),
          tr.actions,
        );
        if (!random) assert.match(target.stderr(), /127\.0\.0\.1:9229\//);
        // closed again, and still alive
        assert.deepEqual(await listenPortsOf(target.pid), [], 'the inspector port is closed again');
        await sleep(200); // the interval is the check: a fatal signal would have ended it by now
        assert.ok(target.alive(), 'the target survived');
        assert.deepEqual(await listenPortsOf(target.pid), []);
      } finally {
        await target.stop();
      }
    });
  });
}

test('a non-Node process (sleep) is refused: no SIGUSR1, and it stays alive', async () => {
  const s = startRaw('sleep', ['30']);
  try {
    await waitFor(
      () => {
        try {
          return readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim() === 'sleep';
        } catch {
          return false;
        }
      },
      5000,
      'the child to exec sleep',
    );
    const r = await runCli([String(s.pid), '--activate-inspector', '--json']);
    const tr = r.report.targets[0];
    const probe = tr.probes.find((p: { id: string }) => p.id === 'node');
    assert.equal(probe.status, 'skipped');
    const u = tr.unknowns.find((x: { reason: string }) => /--activate-inspector refused/.test(x.reason));
    assert.ok(u, JSON.stringify(tr.unknowns));
    assert.match(u.reason, /not Node\.js \(its executable exports no napi_create_function or node_module_register; it is named sleep\)/);
    assert.match(u.reason, /SIGUSR1 would terminate it/);
    assert.equal(tr.actions, undefined);
    await sleep(200); // the interval is the check: SIGUSR1 would have ended it by now
    assert.ok(s.alive(), 'sleep is still alive');
  } finally {
    await s.stop();
  }
});

const newer = nodeBinaries()[1]!;
test('a Node process started with --disable-sigusr1 is refused and left alone', { skip: newer.skip }, async () => {
  const target = await start(newer.bin!, ['--disable-sigusr1', join(TARGETS, 'plain.cjs')]);
  try {
    const r = await runCli([String(target.pid), '--activate-inspector', '--json']);
    const tr = r.report.targets[0];
    const u = tr.unknowns.find((x: { reason: string }) => /--activate-inspector refused/.test(x.reason));
    assert.ok(u, JSON.stringify(tr.unknowns));
    assert.match(u.reason, /blocks SIGUSR1/);
    assert.match(u.hint, /--inspect=127\.0\.0\.1:9229/);
    assert.equal(tr.actions, undefined);
    assert.doesNotMatch(target.stderr(), /Debugger listening/);
    await sleep(100); // the interval is the check: a SIGUSR1 would have ended it by now
    assert.ok(target.alive());
  } finally {
    await target.stop();
  }
});
