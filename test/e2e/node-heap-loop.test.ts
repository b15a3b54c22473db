/**
 * Node verdicts on real targets through their own inspector: a heap leaking toward
 * --max-old-space-size=96 is called before "JavaScript heap out of memory" (Node 20, 22, 24
 * where installed), one holding 60 MiB steady is not; `watch` gives the leak a slope and a time
 * to the old-generation limit; a loop blocked 1.5 s in every 2 s gets the same verdict on every
 * run, a busy but never-blocked loop none; Node 24 sizing its heap from a cgroup is judged
 * against that cgroup's limit.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { nodeBinaries, start, TARGETS, type Target } from '../fixtures/node-targets/harness.js';
import { createMemoryCgroup, memoryCgroupUnavailable, removeAllCgroups } from '../helpers/cgroup.js';
import { cleanup, runCli, sleep } from '../helpers/processes.js';

after(async () => {
  await cleanup();
  await removeAllCgroups();
});

const MiB = 2 ** 20;
const LEAK = join(TARGETS, 'heap-leak.cjs');
const LOOP = join(TARGETS, 'periodic.cjs');
type Finding = { id: string; severity: string; summary: string; evidence: Record<string, unknown> };

const findings = (r: any): Finding[] => r?.report?.targets?.[0]?.findings ?? [];
const diagnose = (t: Target) => runCli([String(t.pid), '--inspect', String(t.port), '--json'], { timeoutMs: 15000 });

/** Resolves when the target has exited (bounded). */
function exited(t: Target, ms: number): Promise<boolean> {
  if (!t.alive()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    t.child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('heap near --max-old-space-size', () => {
  for (const node of nodeBinaries()) {
    test(`${node.label}: a steady leak is called before the heap runs out; 60 MiB held steady is not`, { skip: node.skip }, async () => {
      // 0.5 MiB/s: the warning (80 % committed) comes about 8 s before the death near 84 %; a
      // diagnosis of a heap in back-to-back GC takes 3–4 s here (its event-loop window grows to
      // 2.2 s and the held loop gets a CPU profile)
      const leak = await start(node.bin!, ['--max-old-space-size=96', '--inspect=127.0.0.1:0', LEAK, 'leak', '70', '0.5'], { inspect: true });
      try {
        let called: Finding | undefined;
        const seen: string[] = [];
        // diagnose again and again, as an on-call would, until it is called or the process dies
        for (let i = 0; i < 60 && leak.alive() && !called; i++) {
          const r = await diagnose(leak);
          const f = findings(r).find((x) => x.id === 'heap-near-limit');
          const m = r.report?.targets?.[0]?.metrics ?? {};
          seen.push(`${r.code}:${Math.round((m['node.heap.oldCommitted'] ?? NaN) / MiB)}/${Math.round((m['node.heap.oldLimit'] ?? NaN) / MiB)}`);
          if (f && leak.alive()) {
            called = f;
            assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}`);
            assert.equal(m['node.heap.oldLimit'], 96 * MiB, "the old limit is the target's own --max-old-space-size");
            assert.ok(m['node.heap.limit'] > m['node.heap.oldLimit'], 'heap_size_limit also counts the young generation');
            assert.match(f.summary, /of its 96\.0 MiB limit \(--max-old-space-size of the target/);
          }
        }
        assert.ok(called, `heap-near-limit never raised while the target lived: ${seen.join(' ')}; stderr ${leak.stderr().slice(-300)}`);
        // and the leak is real: left alone, it dies of exactly that
        assert.ok(await exited(leak, 60000), 'the leaking target did not die');
        assert.match(leak.stderr(), /JavaScript heap out of memory/);
      } finally {
        await leak.stop();
      }

      const steady = await start(node.bin!, ['--max-old-space-size=96', '--inspect=127.0.0.1:0', LEAK, 'steady', '60', '2'], { inspect: true });
      try {
        // wait on the condition, not the clock: the target has built its 60 MiB (bounded)
        for (let i = 0; i < 30; i++) {
          const r = await diagnose(steady);
          if ((r.report?.targets?.[0]?.metrics?.['node.heap.oldUsed'] ?? 0) >= 45 * MiB) break;
        }
        for (let i = 0; i < 3; i++) {
          const r = await diagnose(steady);
          assert.ok(r.report, r.stderr);
          const m = r.report.targets[0].metrics;
          assert.ok(m['node.heap.oldUsed'] >= 45 * MiB && m['node.heap.oldCommitted'] < 0.8 * 96 * MiB, JSON.stringify(m));
          assert.deepEqual(
            findings(r).filter((f) => f.id === 'heap-near-limit'),
            [],
          );
        }
        assert.ok(steady.alive());
      } finally {
        await steady.stop();
      }
    });
  }
});

describe('watch: a heap series', () => {
  // 16 s: over 8 s one major GC mid-run (the old space receives the leak in promotion steps) can
  // keep the drift test from calling it; 16 s is still well inside the leak's 38 s to the limit
  const watch = (t: Target) =>
    runCli(['watch', String(t.pid), '--inspect', String(t.port), '--interval', '250ms', '--duration', '16s', '--json'], { timeoutMs: 60000 });

  test('a leak of 2 MiB/s: old-space slope near the truth, heap-growth with a time to the old limit; steady: none', async () => {
    const leak = await start(process.execPath, ['--max-old-space-size=96', '--inspect=127.0.0.1:0', LEAK, 'leak', '20', '2'], { inspect: true });
    try {
      const r = await watch(leak);
      assert.ok(r.report, r.stderr);
      const t = r.report.targets[0];
      const tr = t.trends['node.heap.oldUsed'];
      assert.ok(tr, JSON.stringify(Object.keys(t.trends)));
      assert.equal(tr.significant, true, JSON.stringify(tr));
      assert.equal(tr.limit, 96 * MiB);
      // the old space receives the leak as the young generation promotes it (up to 16 MiB at a
      // time on Node 20): over a few seconds its slope lags the nominal 2 MiB/s, and never exceeds it much
      const truth = 2 * MiB * 3600;
      assert.ok(tr.perHour > truth / 4 && tr.perHour < 1.5 * truth, `slope ${tr.perHour / MiB} MiB/h, nominal ${truth / MiB}`);
      const left = tr.limit - t.metrics['node.heap.oldCommitted'];
      assert.ok(Math.abs(tr.etaSeconds - left / (tr.perHour / 3600)) <= 2, `eta ${tr.etaSeconds}s from what is left of the limit`);
      assert.ok(tr.etaSeconds > 0 && tr.etaSeconds < 60, `eta ${tr.etaSeconds}s`);
      const f = t.findings.find((x: Finding) => x.id === 'heap-growth');
      assert.ok(f, t.findings.map((x: Finding) => x.id).join());
      assert.equal(f.severity, 'critical'); // the limit is under an hour away
      assert.match(f.summary, /its limit of 96\.0 MiB is reached in/);
    } finally {
      await leak.stop();
    }
    const steady = await start(process.execPath, ['--max-old-space-size=96', '--inspect=127.0.0.1:0', LEAK, 'steady', '60', '2'], { inspect: true });
    try {
      const r = await watch(steady);
      assert.ok(r.report, r.stderr);
      const t = r.report.targets[0];
      assert.ok(t.trends['node.heap.oldUsed'], 'the series is there');
      assert.equal(t.trends['node.heap.oldUsed'].significant, false, JSON.stringify(t.trends['node.heap.oldUsed']));
      assert.deepEqual(
        t.findings.filter((x: Finding) => x.id === 'heap-growth' || x.id === 'heap-near-limit'),
        [],
      );
    } finally {
      await steady.stop();
    }
  });
});

describe('event loop', () => {
  test('blocked 1.5 s in every 2 s: event-loop-blocked critical on 5 of 5 runs, naming the longest delay', async () => {
    const t = await start(process.execPath, ['--inspect=127.0.0.1:0', LOOP, 'periodic', '1500', '2000'], { inspect: true });
    try {
      const verdicts: string[] = [];
      for (let i = 0; i < 5; i++) {
        // start each run at another phase of the 2 s cycle
        await sleep(150 + i * 370); // a phase, not a wait for readiness
        const r = await diagnose(t);
        const f = findings(r).find((x) => x.id === 'event-loop-blocked');
        const m = r.report?.targets?.[0]?.metrics ?? {};
        verdicts.push(
          `${r.code}/${f?.severity}/max ${m['node.eventLoop.delayMaxMs']}/p99 ${m['node.eventLoop.delayP99Ms']}/u ${m['node.eventLoop.utilization']}`,
        );
        assert.equal(f?.severity, 'critical', verdicts.join('; '));
        assert.equal(r.code, 2);
        assert.ok(m['node.eventLoop.delayMaxMs'] >= 1000, verdicts.join('; '));
        assert.match(f.summary, /blocked for (at least )?[\d,]+ ms/);
      }
    } finally {
      await t.stop();
    }
  });

  test('blocked 4 s in every 4.3 s, which can leave the delay histogram empty: critical on 3 of 3 runs all the same', async () => {
    const t = await start(process.execPath, ['--inspect=127.0.0.1:0', LOOP, 'periodic', '4000', '4300'], { inspect: true });
    try {
      const verdicts: string[] = [];
      for (let i = 0; i < 3; i++) {
        await sleep(200 + i * 900); // another phase of the cycle each time
        const r = await diagnose(t);
        const f = findings(r).find((x) => x.id === 'event-loop-blocked');
        const m = r.report?.targets?.[0]?.metrics ?? {};
        verdicts.push(`${r.code}/${f?.severity}/max ${m['node.eventLoop.delayMaxMs']}/p99 ${m['node.eventLoop.delayP99Ms']}`);
        assert.equal(f?.severity, 'critical', verdicts.join('; '));
        assert.ok(m['node.eventLoop.delayMaxMs'] >= 1000, verdicts.join('; '));
      }
      console.log(`# ${verdicts.join('; ')}`);
    } finally {
      await t.stop();
    }
  });

  test('busy with short tasks, never blocked over 50 ms: no event-loop finding', async () => {
    const t = await start(process.execPath, ['--inspect=127.0.0.1:0', LOOP, 'healthy'], { inspect: true });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await diagnose(t);
        assert.ok(r.report, r.stderr);
        const m = r.report.targets[0].metrics;
        assert.ok(m['node.eventLoop.utilization'] >= 0.3, `the loop is really busy: ${m['node.eventLoop.utilization']}`);
        assert.ok(m['node.eventLoop.delayMaxMs'] < 100, `max ${m['node.eventLoop.delayMaxMs']}`);
        assert.deepEqual(
          findings(r).filter((f) => f.id === 'event-loop-blocked'),
          [],
        );
      }
    } finally {
      await t.stop();
    }
  });
});

describe('Node 24 sizing its heap from a memory cgroup', () => {
  const node24 = nodeBinaries().find((b) => b.label === 'node 24')!;
  const why = node24.skip ?? memoryCgroupUnavailable();

  for (const [limitMb, heapMb, oldMb, fires] of [
    [256, 259, 256, true],
    [1024, 560, 512, false],
  ] as const) {
    test(
      `cgroup ${limitMb} MiB: heap limit ${heapMb} MiB (old ${oldMb}) → runtime-limit-mismatch ${fires ? 'fires' : 'does not fire'}`,
      { skip: why },
      async () => {
        const dir = createMemoryCgroup(limitMb * MiB);
        const t = await start(
          'sh',
          ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$0" "$@"`, node24.bin!, '--inspect=127.0.0.1:0', LEAK, 'steady', '10', '1'],
          { inspect: true },
        );
        try {
          const r = await diagnose(t);
          assert.ok(r.report, r.stderr);
          const m = r.report.targets[0].metrics;
          assert.equal(m['cgroup.memory.limit'], limitMb * MiB);
          assert.equal(Math.round(m['node.heap.limit'] / MiB), heapMb);
          assert.equal(Math.round(m['node.heap.oldLimit'] / MiB), oldMb);
          const f = findings(r).find((x) => x.id === 'runtime-limit-mismatch');
          assert.equal(!!f, fires, JSON.stringify(findings(r).map((x) => x.id)));
        } finally {
          await t.stop();
        }
      },
    );
  }
});
