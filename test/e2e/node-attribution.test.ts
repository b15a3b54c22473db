/**
 * From the resource to the code, on real Node.js targets through their inspector: intervals
 * leaked in a known function (handle-leak names its file:line), a loop held by a named
 * synchronous function (event-loop-blocked names it from a CPU profile), and, in watch, a heap
 * growing in one function while another churns (the sampling heap profiler ranks the grower
 * first). Each in text, --json and markdown; afterwards the profilers are stopped and no session
 * of ours is left on the target's inspector.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { listenPortsOf, nodeBinaries, ROOT, start, TARGETS, type Target } from '../fixtures/node-targets/harness.js';
import { cleanup, runCli, runJson, waitFor } from '../helpers/processes.js';
import { createMemoryCgroup, memoryCgroupUnavailable, removeAllCgroups } from '../helpers/cgroup.js';
import { CdpSession, listTargets } from '../../src/transports/inspector.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { inspectorClients } from '../../src/node/activate.js';

after(async () => {
  await cleanup();
  await removeAllCgroups();
});

const finding = (report: any, id: string) => report.targets[0].findings.find((f: { id: string }) => f.id === id);
const attributionOf = (f: any, kind: string) => (f?.attribution ?? []).find((a: { kind: string }) => a.kind === kind);

/** No session of ours is left: only the inspector's listening socket, no ESTABLISHED client. */
async function noSessionLeft(t: Target): Promise<void> {
  await waitFor(
    () => inspectorClients(new ProcFs('/'), t.pid, t.port!) === 0 || undefined,
    5000,
    () => `${inspectorClients(new ProcFs('/'), t.pid, t.port!)} inspector clients still connected`,
  );
}

/** A fresh session of the test's own: V8's sampling heap profiler is not running (stopSampling has nothing to stop). */
async function heapSamplerStopped(t: Target): Promise<void> {
  const addr = { host: '127.0.0.1', port: t.port!, loopback: true };
  const list = await listTargets(addr, false, { timeoutMs: 2000 });
  const s = await CdpSession.open(addr, list[0].path, { timeoutMs: 2000 });
  try {
    await assert.rejects(s.send('HeapProfiler.stopSampling', undefined, { timeoutMs: 2000 }), /not started|no sampling/i);
  } finally {
    s.close();
  }
}

for (const node of nodeBinaries()) {
  describe(`Node attribution on ${node.label}`, { skip: node.skip }, () => {
    test('1 200 intervals created in one function: handle-leak names its file:line in every format; a few timers take no census', async () => {
      const t = await start(node.bin!, ['--inspect=127.0.0.1:0', join(TARGETS, 'attr-intervals.cjs'), '1200'], { inspect: true });
      try {
        const file = relative(ROOT, t.hello.file as string);
        const { report } = await runJson([String(t.pid), '--inspect', String(t.port)]);
        const leak = finding(report, 'handle-leak');
        assert.ok(leak, JSON.stringify(report.targets[0].findings.map((f: { id: string }) => f.id)));
        const a = attributionOf(leak, 'timer-origins');
        assert.ok(a, JSON.stringify(leak));
        assert.equal(a.unavailable, undefined, a.unavailable);
        // paths relative to the target's working directory (the repository)
        assert.deepEqual(
          { function: a.sites[0].function, file: a.sites[0].file, line: a.sites[0].line, value: a.sites[0].value },
          { function: 'pollUpstream', file, line: t.hello.line, value: 1200 },
        );
        assert.deepEqual(a.sites[0].frames, ['setInterval']);
        assert.match(leak.summary, new RegExp(`; 1,200 of the timers call pollUpstream \\(${file.replace(/[.]/g, '\\.')}:${t.hello.line}\\)$`));
        assert.ok(a.total >= 1200 && a.total <= 1210, String(a.total));
        assert.ok(
          a.sites.slice(1).every((s: { function: string; value: number }) => s.value < 50),
          'the ordinary timeouts are not first',
        );
        const actions: string[] = report.targets[0].actions;
        assert.ok(
          actions.some((x) => /Runtime\.queryObjects/.test(x) && /enabled the Debugger domain for \d+ ms only to map their scripts/.test(x)),
          actions.join('\n'),
        );
        assert.ok(t.alive());

        const text = await runCli([String(t.pid), '--inspect', String(t.port), '--no-color']);
        assert.match(text.stdout, new RegExp(`1\\. pollUpstream \\(${file.replace(/[.]/g, '\\.')}:${t.hello.line}\\): 1,200 of`));
        const md = await runCli([String(t.pid), '--inspect', String(t.port), '--format', 'markdown']);
        assert.match(md.stdout, /pollUpstream/);
        assert.match(md.stdout, new RegExp(`${file.replace(/[.]/g, '\\.')}:${t.hello.line}`));
        await noSessionLeft(t);
      } finally {
        await t.stop();
      }

      // the same shape with 20 intervals: no finding, no census, no Debugger domain
      const few = await start(node.bin!, ['--inspect=127.0.0.1:0', join(TARGETS, 'attr-intervals.cjs'), '20'], { inspect: true });
      try {
        const { report } = await runJson([String(few.pid), '--inspect', String(few.port)]);
        assert.equal(finding(report, 'handle-leak'), undefined);
        assert.equal(report.targets[0].evidence?.['node.timers.origins'], undefined);
        assert.ok(!report.targets[0].actions.some((x: string) => /queryObjects|Debugger/.test(x)), report.targets[0].actions.join('\n'));
      } finally {
        await few.stop();
      }
    });

    test('a loop held by hashPasswordsSync: event-loop-blocked names it first from a CPU profile, in every format', async () => {
      const t = await start(node.bin!, ['--inspect=127.0.0.1:0', join(TARGETS, 'attr-blocked.cjs'), '1500'], { inspect: true });
      try {
        const file = relative(ROOT, t.hello.file as string);
        const { report } = await runJson([String(t.pid), '--inspect', String(t.port)]);
        const f = finding(report, 'event-loop-blocked');
        assert.ok(f, JSON.stringify(report.targets[0].findings.map((x: { id: string }) => x.id)));
        const a = attributionOf(f, 'hot-functions');
        assert.ok(a && a.unavailable === undefined, JSON.stringify(a));
        // hashPasswordsSync at a line of its own, or, where the optimiser inlined it into its caller
        // (no frame of its own then), onLogin at the line that calls it
        const top = a.sites[0];
        assert.equal(top.file, file);
        if (top.function === 'hashPasswordsSync') {
          assert.ok(top.line >= (t.hello.line as number) && top.line <= (t.hello.end as number), `line ${top.line} is not inside hashPasswordsSync`);
          assert.match(String(top.frames?.[0]), /^onLogin \(/);
        } else {
          assert.deepEqual({ function: top.function, line: top.line }, { function: 'onLogin', line: t.hello.call }, JSON.stringify(a.sites));
        }
        assert.ok(top.share >= 0.5, `it held ${top.share} of the sampled time`);
        assert.ok(report.targets[0].actions.some((x: string) => /took a CPU profile .*stopped and disabled again/.test(x)));

        const text = await runCli([String(t.pid), '--inspect', String(t.port), '--no-color']);
        assert.match(text.stdout, new RegExp(`1\\. (hashPasswordsSync|onLogin) \\(${file.replace(/[.]/g, '\\.')}:\\d+\\): \\d+% of the sampled time`));
        const md = await runCli([String(t.pid), '--inspect', String(t.port), '--format', 'markdown']);
        assert.match(md.stdout, /(hashPasswordsSync|onLogin) `?\(/);
        await noSessionLeft(t);
        assert.ok(t.alive());
      } finally {
        await t.stop();
      }
    });

    test(
      'watch --inspect: the heap grows in rememberSessions, not in renderPage that churns as much; the sampler is stopped and the session closed',
      { timeout: 120_000 },
      async (tc) => {
        const why = memoryCgroupUnavailable();
        if (why) return tc.skip(why);
        // a memory limit makes the growth a finding (time to the limit); joined before node starts
        const cg = createMemoryCgroup(1024 * 2 ** 20);
        const t = await start(
          'sh',
          ['-c', `echo $$ > ${cg}/cgroup.procs && exec "$0" "$@"`, node.bin!, '--inspect=127.0.0.1:0', join(TARGETS, 'attr-heap.cjs')],
          { inspect: true },
        );
        try {
          const file = relative(ROOT, t.hello.file as string);
          const { report } = await runJson(['watch', String(t.pid), '--inspect', String(t.port), '--interval', '1s', '--duration', '12s'], {
            timeoutMs: 60_000,
          });
          const tr = report.targets[0];
          const growth = tr.evidence['node.heap.growth'];
          assert.ok(growth && growth.unavailable === undefined, JSON.stringify(growth));
          assert.equal(growth.kind, 'allocation-growth');
          assert.equal(growth.sites[0].function, 'rememberSessions');
          assert.equal(growth.sites[0].file, file);
          assert.equal(growth.sites[0].line, t.hello.grows);
          assert.ok(growth.sites[0].share >= 0.8, `rememberSessions holds ${growth.sites[0].share} of the live bytes allocated`);
          assert.ok(!growth.sites.slice(0, 1).some((s: { function: string }) => s.function === 'renderPage'));
          const churn = growth.sites.find((s: { function: string }) => s.function === 'renderPage');
          assert.ok(!churn || churn.share < 0.1, `renderPage keeps nothing, yet holds ${churn?.share}`);
          // a growth finding (RSS toward the cgroup limit, or the old space) carries it; whether a
          // 12 s watch judges the growth significant is the trend test's business (test/e2e/time-watch)
          const grew = ['memory-growth', 'heap-growth'].map((id) => finding(report, id)).filter(Boolean);
          for (const f of grew) assert.equal(attributionOf(f, 'allocation-growth').sites[0].function, 'rememberSessions');
          assert.ok(
            tr.actions.some((x: string) => /ran V8's sampling heap profiler over the watch .* stopped it and closed the session/.test(x)),
            tr.actions.join('\n'),
          );
          await noSessionLeft(t);
          await heapSamplerStopped(t);
          assert.ok(t.alive());

          if (node.bin === process.execPath) {
            // the terminal and markdown show an attribution under the finding it explains
            const text = await runCli(['watch', String(t.pid), '--inspect', String(t.port), '--interval', '1s', '--duration', '11s', '--no-color'], {
              timeoutMs: 60_000,
            });
            const md = await runCli(['watch', String(t.pid), '--inspect', String(t.port), '--format', 'markdown', '--interval', '1s', '--duration', '11s'], {
              timeoutMs: 60_000,
            });
            if (/(memory|heap)-growth/.test(text.stdout)) {
              assert.match(
                text.stdout,
                new RegExp(`1\\. rememberSessions \\(${file.replace(/[.]/g, '\\.')}:${t.hello.grows}\\): \\+[\\d.]+ [KM]iB of`),
                text.stdout,
              );
            } else tc.diagnostic('the text watch raised no growth finding: its attribution is not shown');
            if (/(memory|heap)-growth/.test(md.stdout)) assert.match(md.stdout, /rememberSessions/);
            else tc.diagnostic('the markdown watch raised no growth finding: its attribution is not shown');
            await noSessionLeft(t);
            await heapSamplerStopped(t);
          }
        } finally {
          await t.stop();
        }
      },
    );
  });
}

test(
  'watch --activate-inspector: the window opens the inspector once more, samples the heap over the watch, and closes it again',
  { timeout: 90_000 },
  async () => {
    const t = await start(process.execPath, [join(TARGETS, 'attr-heap.cjs')]);
    try {
      const { res, report } = await runJson(['watch', String(t.pid), '--activate-inspector', '--interval', '1s', '--duration', '5s'], { timeoutMs: 60_000 });
      const tr = report.targets[0];
      const growth = tr.evidence['node.heap.growth'];
      assert.equal(growth.unavailable, undefined, JSON.stringify(growth));
      assert.equal(growth.sites[0].function, 'rememberSessions');
      // one SIGUSR1 for the first sample, one for the window; each inspector closed again
      assert.equal((res.stderr.match(/sent SIGUSR1 to pid \d+ to open its inspector;/g) ?? []).length, 2, res.stderr);
      // both signals are disclosed in the report, not only the window's
      const signalled = tr.actions.filter((x: string) => /opened the inspector of pid \d+ with SIGUSR1 .* and closed it again/.test(x));
      const times = signalled.reduce((n: number, x: string) => n + Number(/\((\d+) times\)$/.exec(x)?.[1] ?? 1), 0);
      assert.equal(times, 2, tr.actions.join('\n'));
      await waitFor(
        async () => (await listenPortsOf(t.pid)).length === 0 || undefined,
        5000,
        () => 'the inspector is closed',
      );
      assert.equal((t.stderr().match(/Debugger listening/g) ?? []).length, (t.stderr().match(/Debugger ending/g) ?? []).length, t.stderr());
      assert.ok(t.alive());
    } finally {
      await t.stop();
    }
  },
);

test('120 idle sockets: handle-leak groups them by the other end (the outgoing by address:port, the accepted by client and our port)', async () => {
  const t = await start(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'leaky.cjs'), '1000', '120'], { inspect: true });
  try {
    const { report } = await runJson([String(t.pid), '--inspect', String(t.port)]);
    const leak = finding(report, 'handle-leak');
    assert.ok(leak, JSON.stringify(report.targets[0].findings.map((f: { id: string }) => f.id)));
    const peers = attributionOf(leak, 'handle-peers');
    assert.ok(peers, JSON.stringify(leak.attribution));
    const port = /^127\.0\.0\.1:(\d+)$/.exec(peers.sites.find((s: { function: string }) => !s.function.includes('→'))?.function ?? '')?.[1];
    assert.ok(port, JSON.stringify(peers.sites));
    const out = peers.sites.find((s: { function: string }) => s.function === `127.0.0.1:${port}`);
    const inbound = peers.sites.find((s: { function: string }) => s.function === `127.0.0.1 → :${port}`);
    assert.equal(out.value, 120);
    assert.ok(inbound && inbound.value >= 100 && inbound.value <= 120, JSON.stringify(peers.sites));
    assert.equal(peers.total, report.targets[0].metrics['node.handles.byType.TCPSocketWrap']);
  } finally {
    await t.stop();
  }
});

test('without --inspect a Node target gets no attribution, and the finding says which flag gives it', async () => {
  const t = await start(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'attr-intervals.cjs'), '20'], { inspect: true });
  try {
    const { report } = await runJson([String(t.pid)]);
    const ev = report.targets[0].evidence;
    for (const k of ['node.heap.growth', 'node.cpu.top']) {
      assert.equal(ev[k].sites.length, 0);
      assert.match(ev[k].unavailable, /inspector was not read/);
      assert.match(ev[k].hint, /--inspect/);
    }
    const once = await runJson([String(t.pid), '--inspect', String(t.port)]);
    assert.match(once.report.targets[0].evidence['node.heap.growth'].hint, new RegExp(`proctriage watch ${t.pid} --inspect`));
  } finally {
    await t.stop();
  }
});
