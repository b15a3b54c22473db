/**
 * How long do the default Node probes stall the target's event loop?
 *
 * Starts a target that holds a ~200 MB heap and measures its own loop lateness with a 5 ms
 * timer; runs the `node` probe against it N times (attach, cheap facts, the 300 ms window,
 * detach), then compares the lateness of the timer ticks that fell inside a probe run with
 * the ticks of an idle baseline of the same length. Budget: p99 < 20 ms.
 *
 * Then the attribution steps, each run on its own and timed the same way (worst tick lateness
 * within the step): the timer census (Runtime.queryObjects, which runs a full GC and walks the
 * heap, plus the Debugger domain enabled to map script ids), a 500 ms CPU profile, and the
 * sampling heap profiler over a 3 s window (its stop included). These have no budget: the
 * numbers are what the README states.
 *
 *   node dist/bench/node-impact.js [heapMB=200] [runs=20]
 *   PROCTRIAGE_BENCH_NODE=/path/to/node  to measure another Node binary as the target
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ProcFs } from '../src/procfs/procfs.js';
import { HostSources, TargetSources } from '../src/engine/sources.js';
import { probe } from '../probes/node.js';
import { CdpSession, listTargets } from '../src/transports/inspector.js';
import { Budget } from '../src/node/attach.js';
import { cpuProfile, startHeapSampling, stopHeapSampling, timerCensus } from '../src/node/attribute.js';

const HEAP_MB = Number(process.argv[2] ?? 200);
const RUNS = Number(process.argv[3] ?? 20);
const BUDGET_P99_MS = 20;
const target = fileURLToPath(new URL('../../test/fixtures/node-targets/heap.cjs', import.meta.url));
const nodeBin = process.env.PROCTRIAGE_BENCH_NODE || process.execPath;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const f = (n: number) => n.toFixed(2).padStart(8);

async function main(): Promise<void> {
  const child = spawn(nodeBin, ['--max-old-space-size=2048', '--inspect=127.0.0.1:0', target, String(HEAP_MB)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const kill = () => {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.on('exit', kill);
  let out = '',
    err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const line = async (ms: number) => {
    const t0 = Date.now();
    for (;;) {
      const i = out.indexOf('\n');
      if (i >= 0) {
        const l = out.slice(0, i);
        out = out.slice(i + 1);
        return JSON.parse(l);
      }
      if (Date.now() - t0 > ms) throw new Error(`target printed nothing; stderr: ${err}`);
      await sleep(20);
    }
  };
  try {
    const hello = await line(120_000);
    const port = Number(/127\.0\.0\.1:(\d+)\//.exec(err)?.[1]);
    console.log(
      `target: ${nodeBin === process.execPath ? process.version : nodeBin}, pid ${hello.pid}, heap used ${(hello.heapUsed / 2 ** 20).toFixed(0)} MB, inspector port ${port}`,
    );
    await sleep(1000); // settle after the allocation

    const proc = new ProcFs('/');
    const host = new HostSources(proc);
    const windows: Array<[number, number]> = [];
    const durations: number[] = [];
    const baseStart = Date.now();
    // an idle baseline as long as the probe runs will be
    await sleep(RUNS * 700);
    const baseEnd = Date.now();
    for (let i = 0; i < RUNS; i++) {
      const ac = new AbortController();
      const t0 = Date.now();
      const res = await probe.run({
        pid: hello.pid,
        proc,
        sources: new TargetSources(proc, hello.pid, host),
        options: { inspect: String(port) },
        signal: ac.signal,
        actions: [],
      });
      const t1 = Date.now();
      if (!res.metrics['node.heap.used']) throw new Error(`probe failed: ${JSON.stringify(res.unknowns)}`);
      windows.push([t0, t1]);
      durations.push(t1 - t0);
      await sleep(200);
    }
    child.stdin.write('dump\n');
    const { lateness } = (await line(10_000)) as { lateness: Array<[number, number]> };
    const during = lateness.filter(([t]) => windows.some(([a, b]) => t >= a && t <= b + 10)).map(([, l]) => l);
    const base = lateness.filter(([t]) => t >= baseStart && t <= baseEnd).map(([, l]) => l);
    // the worst stall each probe run caused (max tick lateness within its window)
    const perRun = windows.map(([a, b]) => Math.max(0, ...lateness.filter(([t]) => t >= a && t <= b + 10).map(([, l]) => l)));

    console.log(
      `\n${RUNS} runs of the default node probe (attach, facts, 300 ms window, detach), mean ${(durations.reduce((x, y) => x + y, 0) / RUNS).toFixed(0)} ms each`,
    );
    console.log('timer lateness (ms)        p50      p99      max   ticks');
    console.log(`  idle baseline       ${f(pct(base, 50)!)} ${f(pct(base, 99)!)} ${f(Math.max(...base))}   ${base.length}`);
    console.log(`  during probe runs   ${f(pct(during, 50)!)} ${f(pct(during, 99)!)} ${f(Math.max(...during))}   ${during.length}`);
    console.log(`  worst stall per run ${f(pct(perRun, 50)!)} ${f(pct(perRun, 99)!)} ${f(Math.max(...perRun))}   ${perRun.length}`);
    // the attribution steps, one at a time, on a session of their own
    const addr = { host: '127.0.0.1', port, loopback: true };
    const list = await listTargets(addr, false, { timeoutMs: 2000 });
    const s = await CdpSession.open(addr, list[0].path, { timeoutMs: 2000 });
    const steps: Record<string, Array<[number, number]>> = { census: [], cpu: [], heap: [] };
    const STEP_RUNS = Math.max(3, Math.min(RUNS, 5));
    try {
      for (let i = 0; i < STEP_RUNS; i++) {
        let a = Date.now();
        await timerCensus(s, new Budget(10_000));
        steps.census!.push([a, Date.now()]);
        await sleep(300);
        a = Date.now();
        await cpuProfile(s, new Budget(10_000), 500);
        steps.cpu!.push([a, Date.now()]);
        await sleep(300);
        a = Date.now();
        await startHeapSampling(s, new Budget(2000));
        await sleep(3000);
        await stopHeapSampling(s, 10_000);
        steps.heap!.push([a, Date.now()]);
        await sleep(300);
      }
    } finally {
      s.close();
    }

    child.stdin.write('dump\n');
    const { lateness: late2 } = (await line(10_000)) as { lateness: Array<[number, number]> };
    const worst = (ws: Array<[number, number]>) => ws.map(([a, b]) => Math.max(0, ...late2.filter(([t]) => t >= a && t <= b + 10).map(([, l]) => l)));
    const stepStalls = Object.fromEntries(Object.entries(steps).map(([k, ws]) => [k, worst(ws)]));
    console.log(`\nattribution steps, worst stall per run (ms; ${STEP_RUNS} runs each)   p50      max`);
    console.log(`  timer census (queryObjects + Debugger) ${f(pct(stepStalls.census!, 50)!)} ${f(Math.max(...stepStalls.census!))}`);
    console.log(`  CPU profile, 500 ms                    ${f(pct(stepStalls.cpu!, 50)!)} ${f(Math.max(...stepStalls.cpu!))}`);
    console.log(`  heap sampling over 3 s, with its stop  ${f(pct(stepStalls.heap!, 50)!)} ${f(Math.max(...stepStalls.heap!))}`);

    const p99 = pct(during, 99);
    const verdict = p99! < BUDGET_P99_MS ? 'within' : 'OVER';
    console.log(`\nimpact p99 ${p99!.toFixed(2)} ms: ${verdict} the ${BUDGET_P99_MS} ms budget (heap ${HEAP_MB} MB)`);
    console.log(
      JSON.stringify({
        bench: 'node-impact',
        heapMB: HEAP_MB,
        runs: RUNS,
        baselineP99Ms: pct(base, 99),
        duringP99Ms: p99,
        duringMaxMs: Math.max(...during),
        worstStallP99Ms: pct(perRun, 99),
        budgetMs: BUDGET_P99_MS,
        censusStallMaxMs: Math.max(...stepStalls.census!),
        cpuProfileStallMaxMs: Math.max(...stepStalls.cpu!),
        heapSamplingStallMaxMs: Math.max(...stepStalls.heap!),
      }),
    );
    process.exitCode = p99! < BUDGET_P99_MS ? 0 : 1;
  } finally {
    kill();
  }
}

main().catch((e) => {
  console.error(`node-impact: ${(e as Error).message}`);
  process.exitCode = 2;
});
