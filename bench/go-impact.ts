/**
 * What the Go attribution profiles cost the target: the extra latency of a request loop against
 * the service while proctriage takes a heap profile (one-shot heap sites, and each end of a watch
 * window) and a CPU profile (the follow-up for CPU findings).
 *
 * Starts the Go test service (test/fixtures/go-service) holding a heap of --heap MB and
 * allocating as it goes, with a worker thread that sends GET / to its application port one
 * request after another (keep-alive) and times each. Then, in turn: an idle baseline, --runs
 * heap profiles (fetched, decoded and ranked as the go probe does) and --cpu-runs CPU profiles
 * of 2 s. Compares the request latencies that fell inside each kind of profile with the baseline
 * (p50, p99, max), and prints how long each profile took and how large it was.
 *
 *   node dist/bench/go-impact.js [--heap 256] [--runs 30] [--cpu-runs 3]
 *
 * Loopback only; the service leaves when our end of its stdin closes, and is killed on exit.
 */
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { buildService, goUnavailable, serviceEnv } from '../test/fixtures/go-service/service.js';
import { heapNow, cpuNow, type Requester } from '../src/go/attribution.js';
import { endpointUrl, getBytes } from '../src/transports/pprof.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a number`);
  return v;
}
const HEAP_MB = arg('heap', 256);
const RUNS = arg('runs', 30);
const CPU_RUNS = arg('cpu-runs', 3);
const BASELINE_MS = 4000;
const GAP_MS = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const ms = (n: number) => `${n.toFixed(2)} ms`.padStart(11);

/** The request loop, in a worker so that decoding a profile here does not delay its clock. */
const LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const out = [];
let stop = false;
parentPort.on('message', () => { stop = true; });
const deadline = Date.now() + workerData.maxMs;
(function next() {
  if (stop || Date.now() > deadline || out.length > 2e6) { parentPort.postMessage(out); agent.destroy(); return; }
  const t0 = performance.timeOrigin + performance.now();
  http.get({ host: '127.0.0.1', port: workerData.port, path: '/', agent }, (res) => {
    res.resume();
    res.on('end', () => { const t1 = performance.timeOrigin + performance.now(); out.push([t0, t1 - t0]); setTimeout(next, 1); });
  }).on('error', () => setTimeout(next, 5));
})();
`;

async function main(): Promise<void> {
  const why = goUnavailable();
  if (why) {
    console.log(`go-impact: skipped (${why})`);
    return;
  }
  const bin = buildService();
  const child = spawn(bin, [], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: serviceEnv({ LEAK: '1000', RETAIN_MB: String(HEAP_MB), LEAK_KB_PER_S: '512', CHURN_KB_PER_S: '4096', PROCTRIAGE_SERVICE_WATCHDOG: 'stdin' }),
  });
  const kill = () => {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.on('exit', kill);
  try {
    const ready = await new Promise<{ pid: number; app: number; pprof: number }>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error('the service did not start within 60 s')), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const i = buf.indexOf('\n');
        if (i >= 0) {
          clearTimeout(timer);
          resolve(JSON.parse(buf.slice(0, i)));
        }
      });
      child.on('exit', () => reject(new Error('the service exited')));
    });
    const base = new URL(`http://127.0.0.1:${ready.pprof}`);
    const req: Requester = (timeoutMs, maxBytes) => ({ timeoutMs, maxBytes });
    const maxMs = BASELINE_MS + RUNS * 2000 + CPU_RUNS * 5000 + 20_000;
    const worker = new Worker(LOOP, { eval: true, workerData: { port: ready.app, maxMs } });
    const samples = new Promise<[number, number][]>((resolve) => worker.once('message', resolve));
    await sleep(500); // the loop's first connection

    const windows: Record<'baseline' | 'heap' | 'cpu', [number, number][]> = { baseline: [], heap: [], cpu: [] };
    const at = () => performance.timeOrigin + performance.now();
    let t = at();
    await sleep(BASELINE_MS);
    windows.baseline.push([t, at()]);

    const heapMs: number[] = [];
    let heapBytes = 0;
    let top = '';
    for (let i = 0; i < RUNS; i++) {
      await sleep(GAP_MS);
      t = at();
      const a = await heapNow(base, req);
      windows.heap.push([t, at()]);
      heapMs.push(at() - t);
      top = a.attribution.sites[0]
        ? `${a.attribution.sites[0].function} ${(a.attribution.sites[0].value / 2 ** 20).toFixed(0)} MiB`
        : (a.attribution.unavailable ?? '');
    }
    heapBytes = (await getBytes(endpointUrl(base, '/debug/pprof/heap'), { timeoutMs: 5000, maxBytes: 64 * 2 ** 20 })).bytes;

    const cpuMs: number[] = [];
    for (let i = 0; i < CPU_RUNS; i++) {
      await sleep(GAP_MS);
      t = at();
      const a = await cpuNow(base, req, 10_000);
      windows.cpu.push([t, at()]);
      cpuMs.push(at() - t);
      if (a.attribution.unavailable) throw new Error(`CPU profile: ${a.attribution.unavailable}`);
    }
    worker.postMessage('stop');
    const all = await samples;
    await worker.terminate();

    const inside = (w: [number, number][]) => all.filter(([s]) => w.some(([a, b]) => s >= a && s <= b)).map(([, d]) => d);
    const rows = (['baseline', 'heap', 'cpu'] as const).map((k) => {
      const xs = inside(windows[k]);
      return { phase: k, requests: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) };
    });
    console.log(`target: Go test service, pid ${ready.pid}, ${HEAP_MB} MB retained heap, allocating 4.5 MB/s; request loop on its application port`);
    console.log(
      `heap profile: ${(heapBytes / 1024).toFixed(1)} KiB gzipped, fetch + decode + rank median ${pct(heapMs, 50).toFixed(1)} ms (max ${Math.max(...heapMs).toFixed(1)}); top site ${top}`,
    );
    console.log(`CPU profile: 2 s, request median ${pct(cpuMs, 50).toFixed(0)} ms`);
    console.log('\nlatency of GET / while …   requests       p50        p99        max');
    for (const r of rows) console.log(`  ${r.phase.padEnd(24)} ${String(r.requests).padStart(8)} ${ms(r.p50)} ${ms(r.p99)} ${ms(r.max)}`);
    console.log(
      JSON.stringify({
        bench: 'go-impact',
        heapMB: HEAP_MB,
        heapProfileBytes: heapBytes,
        heapProfileMedianMs: pct(heapMs, 50),
        cpuProfileMedianMs: pct(cpuMs, 50),
        phases: rows,
      }),
    );
  } finally {
    child.stdin.end();
    kill();
  }
}

main().catch((e) => {
  console.error(`go-impact: ${(e as Error).message}`);
  process.exitCode = 2;
});
