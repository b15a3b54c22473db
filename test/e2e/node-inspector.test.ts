/**
 * Real Node.js targets probed through their inspector, on this machine's Node and on a
 * newer major: a service leaking interval timers and idle sockets (checked against what the
 * target itself counts), and an ES-module target found by PID alone.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { nodeBinaries, nodeMetrics, start, TARGETS } from '../fixtures/node-targets/harness.js';
import { cleanup, runCli } from '../helpers/processes.js';

after(cleanup);

for (const node of nodeBinaries()) {
  describe(`Node inspector probe on ${node.label}`, { skip: node.skip }, () => {
    test('a service leaking interval timers and idle sockets: handle-leak names Timeout with its count; heap matches the target', async () => {
      const t = await start(node.bin!, ['--inspect=127.0.0.1:0', join(TARGETS, 'leaky.cjs'), '1200', '20'], { inspect: true });
      try {
        const before = await t.ask('report');
        const r = await runCli([String(t.pid), '--inspect', String(t.port), '--json']);
        const afterward = await t.ask('report');
        assert.ok(r.report, `no JSON report: ${r.stderr}`);
        const target = r.report.targets[0];
        const m = nodeMetrics(r.report);
        const probe = target.probes.find((p: { id: string }) => p.id === 'node');
        assert.equal(probe.status, 'ok', JSON.stringify(target.unknowns));

        // handles, counted inside the target, exactly as the target counts them itself
        const own = afterward.types as Record<string, number>;
        assert.equal(m['node.handles.byType.Timeout'], 1200);
        assert.equal(m['node.handles.byType.Timeout'], own.Timeout);
        assert.equal(m['node.handles.byType.TCPSocketWrap'], own.TCPSocketWrap, 'our own inspector connection is not a handle of the target');
        assert.equal(m['node.handles.byType.TCPServerWrap'], 1);
        assert.ok((m['node.handles.total'] as number) >= 1200 + 40);
        const leak = target.findings.find((f: { id: string }) => f.id === 'handle-leak');
        assert.ok(leak, `handle-leak not raised: ${target.findings.map((f: { id: string }) => f.id)}`);
        assert.deepEqual(leak.evidence['node.handles.top'][0], { type: 'Timeout', count: 1200 });
        assert.match(leak.summary, /Timeout \(1,200\)/);
        assert.ok(
          leak.nextSteps.some((s: { text: string }) => s.text.includes(`--inspect ${t.port} `)),
          'next steps carry the inspector port, unformatted',
        );

        // heap: what the target reports about itself, within tolerance (it allocates a little meanwhile)
        const lo = Math.min(before.heapUsed as number, afterward.heapUsed as number) * 0.75;
        const hi = Math.max(before.heapUsed as number, afterward.heapUsed as number) * 1.25;
        assert.ok((m['node.heap.used'] as number) >= lo && (m['node.heap.used'] as number) <= hi, `heap.used ${m['node.heap.used']} not in [${lo}, ${hi}]`);
        // the probe reads the heap before its timer listing, whose full GC shrinks it (Node 24: 16.7 -> 12.5 MB):
        // between the target's own readings before and after, within the same tolerance as before
        const totals = [before.heapTotal as number, afterward.heapTotal as number];
        const total = m['node.heap.total'] as number;
        assert.ok(total >= Math.min(...totals) * 0.5 && total <= Math.max(...totals) * 1.5, `heap.total ${total}, the target's own ${totals.join(' then ')}`);
        assert.ok((m['node.heap.limit'] as number) > (m['node.heap.total'] as number));
        assert.ok(Math.abs((m['node.external'] as number) - (afterward.external as number)) <= 1 << 20);
        assert.equal(typeof m['node.arrayBuffers'], 'number');

        // event loop and GC over the window; an idle target is not blocked
        assert.ok((m['node.eventLoop.delayP99Ms'] as number) >= 0 && (m['node.eventLoop.delayP99Ms'] as number) < 100);
        assert.ok((m['node.eventLoop.delayP50Ms'] as number) <= (m['node.eventLoop.delayP99Ms'] as number));
        assert.ok((m['node.gc.percent'] as number) >= 0 && (m['node.gc.percent'] as number) <= 100);
        const major = node.bin === process.execPath ? process.version : `v${node.label.split(' ')[1]}.`;
        assert.ok(String(m['node.version']).startsWith(major), `${m['node.version']} is not ${major}`);
        assert.equal(m['node.inspectPort'], t.port);
        assert.ok(!target.findings.some((f: { id: string }) => f.id === 'event-loop-blocked'));
        assert.ok(t.alive());
        assert.ok(!/Debugger attached[\s\S]*Error/.test(t.stderr()));

        if (node.bin === process.execPath) {
          // the same diagnosis in the human formats
          const table = await runCli([String(t.pid), '--inspect', String(t.port), '--no-color']);
          assert.match(table.stdout, /handle-leak/);
          assert.match(table.stdout, /Timeout/);
          assert.match(table.stdout, /node\.heap\.limit/);
          const md = await runCli([String(t.pid), '--inspect', String(t.port), '--format', 'markdown']);
          assert.match(md.stdout, /handle-leak/);
          assert.match(md.stdout, /Timeout/);
        }
      } finally {
        await t.stop();
      }
    });

    test('an ES-module target: bare --inspect finds its own inspector socket; without it nothing is sent', async () => {
      const t = await start(node.bin!, ['--inspect=127.0.0.1:0', join(TARGETS, 'esm.mjs')], { inspect: true });
      try {
        assert.equal(t.hello.module, 'undefined', 'the target really has no require in scope');
        const quiet = await runCli([String(t.pid), '--json']);
        const qt = quiet.report.targets[0];
        assert.deepEqual(nodeMetrics(quiet.report), {}, 'no flag: the inspector is not used');
        assert.equal(qt.actions, undefined);
        assert.match(qt.unknowns.find((u: { metric?: string }) => u.metric === 'node.*').hint, /add --inspect/);
        assert.doesNotMatch(t.stderr(), /Debugger attached/);
        const r = await runCli([String(t.pid), '--inspect', '--json']);
        assert.ok(r.report, r.stderr);
        const target = r.report.targets[0];
        const m = nodeMetrics(r.report);
        assert.equal(m['node.handles.byType.Timeout'], 7, JSON.stringify(target.unknowns));
        assert.equal(m['node.handles.byType.TCPServerWrap'], 1);
        assert.equal(m['node.inspectPort'], t.port);
        assert.equal(typeof m['node.heap.used'], 'number');
        assert.equal(typeof m['node.eventLoop.delayP99Ms'], 'number');
        assert.ok(
          target.actions.some((a: string) => /connected to the Node\.js inspector .* left it as it was/.test(a)),
          target.actions,
        );
        assert.equal(target.evidence['node.inspector'].identity, `its listening socket is in the target's fd table; process.pid ${t.pid} matches`);
        // the decision path walks the Node branch with a real answer
        const counts = target.path.find((p: { step: string }) => p.step === 'counts');
        assert.match(counts.answer, new RegExp(`active handles ${m['node.handles.total']}`));
        assert.ok((m['node.handles.total'] as number) >= 8);
      } finally {
        await t.stop();
      }
    });
  });
}

test("watch --inspect on a target whose inspector is on a random port: the application's own port is asked once, not at every sample", async () => {
  const t = await start(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'counting.cjs')], { inspect: true });
  try {
    const r = await runCli(['watch', String(t.pid), '--inspect', '--interval', '300ms', '--duration', '4s', '--json'], { timeoutMs: 30_000 });
    const target = r.report.targets[0];
    assert.ok(typeof target.metrics['node.heap.used'] === 'number', 'the inspector was read');
    // two samples after the first are enough to show the port is not asked again (a loaded machine takes fewer)
    assert.ok(target.trends['node.handles.total'].samples >= 3, JSON.stringify(target.trends['node.handles.total']));
    const requests = await (await fetch(`http://127.0.0.1:${t.hello.port}/requests`)).text();
    assert.equal(requests, '1', 'one GET /json/list to the application port, by the first sample');
  } finally {
    await t.stop();
  }
});

test('a Node target without an open inspector: node.* unknown, with the flag to add', async () => {
  const t = await start(process.execPath, [join(TARGETS, 'plain.cjs')]);
  try {
    const r = await runCli([String(t.pid), '--json']);
    const target = r.report.targets[0];
    assert.deepEqual(nodeMetrics(r.report), {});
    const u = target.unknowns.find((x: { metric?: string }) => x.metric === 'node.*');
    assert.ok(u, JSON.stringify(target.unknowns));
    assert.match(u.reason, /no inspector is open/);
    assert.match(u.hint, /--activate-inspector/);
    assert.match(u.hint, /--inspect 9229/);
    assert.equal(target.actions, undefined, 'nothing was done to the target');
    assert.doesNotMatch(t.stderr(), /Debugger/);
  } finally {
    await t.stop();
  }
});

test("an inspector that belongs to another process is not used (its socket is not the target's; with --trust-peer, process.pid differs)", async () => {
  const other = await start(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'esm.mjs')], { inspect: true });
  const t = await start(process.execPath, [join(TARGETS, 'plain.cjs')]);
  try {
    const r = await runCli([String(t.pid), '--inspect', String(other.port), '--json']);
    const target = r.report.targets[0];
    assert.deepEqual(nodeMetrics(r.report), {}, 'no fact of the other process is reported as this one');
    const u = target.unknowns.find((x: { metric?: string }) => x.metric === 'node.*');
    assert.match(u.reason, new RegExp(`--inspect refused: 127\\.0\\.0\\.1:${other.port} is not a socket of pid ${t.pid} \\(it belongs to pid ${other.pid}\\)`));
    assert.doesNotMatch(other.stderr(), /Debugger attached/, 'nothing was sent to it');
    const trusted = await runCli([String(t.pid), '--inspect', String(other.port), '--trust-peer', '--json']);
    assert.deepEqual(nodeMetrics(trusted.report), {});
    const v = trusted.report.targets[0].unknowns.find((x: { metric?: string }) => x.metric === 'node.*');
    assert.match(v.reason, new RegExp(`belongs to another process \\(its pid is ${other.pid}, not ${t.pid}\\)`));
  } finally {
    await Promise.all([t.stop(), other.stop()]);
  }
});
