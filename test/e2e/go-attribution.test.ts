/**
 * Where in the code, on the real Go test service (test/fixtures/go-service, built with full
 * paths and run from its source directory, so files are shown relative to its cwd):
 *
 * - a heap that leaks in main.leakyCache while main.churnBuffers allocates twice as much and
 *   frees it: `watch` ranks main.leakyCache and its file:line first in go.heap.growth, the churn
 *   is not first (nor more than noise), and memory-growth carries it;
 * - a CPU burner (main.burnCPU) under a CPU quota: the diagnosis's follow-up takes a short CPU
 *   profile for cpu-throttling and names main.burnCPU first; the same service without the burner
 *   under the same quota asks for no profile;
 * - a CPU profile already running: the attribution says so instead;
 * - no pprof endpoint, or an endpoint without the goroutine leak profile (Go older than 1.26):
 *   the finding says attribution is unavailable, why, and what would give it;
 * - memory near the cgroup limit: the heap by allocating site (main.main's retained buffers).
 * Each in JSON, text and markdown where it shows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cleanup, finding, runCli, runJson, startTarget, waitFor, type Target } from '../helpers/processes.js';
import { cpuCgroupUnavailable, createCpuCgroup, createMemoryCgroup, memoryCgroupUnavailable, removeAllCgroups } from '../helpers/cgroup.js';
import { SOURCE, buildService, goUnavailable, serviceEnv, sourceLine } from '../fixtures/go-service/service.js';

const skipGo = goUnavailable();
const skipMem = skipGo ?? memoryCgroupUnavailable();
const skipCpu = skipGo ?? cpuCgroupUnavailable();
if (skipGo) console.log(`# go attribution tests skipped: ${skipGo}`);
else {
  if (skipMem) console.log(`# memory cgroup cases skipped: ${skipMem}`);
  if (skipCpu) console.log(`# cpu cgroup cases skipped: ${skipCpu}`);
}

const SRC_DIR = dirname(SOURCE);
const LEAK_LINE = () => sourceLine(/b := make\(\[\]byte, size\)/, /^func leakyCache/);
const BURN_LINE = () => sourceLine(/x \^= x << 13/, /^func burnCPU/);
const RETAIN_LINE = () => sourceLine(/b := make\(\[\]byte, 1<<20\)/, /^func main/);
let bin = '';

before(() => {
  if (!skipGo) bin = buildService({ trimpath: false });
});
after(async () => {
  await cleanup();
  await removeAllCgroups();
});

/** Start the service from its source directory, inside the given cgroups (the shell joins them, then execs it: same pid). */
function start(env: Record<string, string>, cgroups: string[] = []): Promise<Target> {
  const join = cgroups.map((d) => `echo $$ > ${d}/cgroup.procs && `).join('');
  return startTarget('/bin/sh', ['-c', `${join}cd "$1" && exec "$0"`, bin, SRC_DIR], { env: serviceEnv({ LEAK: '0', ...env }), timeoutMs: 20_000 });
}

/**
 * Start a CPU burner in a CPU cgroup and wait until the kernel throttles it in most periods (on a
 * busy host the burner may need a moment to get even its quota).
 */
async function startThrottled(env: Record<string, string>): Promise<Target> {
  const cpu = createCpuCgroup(0.25);
  const svc = await start({ BURN: '1', GOMAXPROCS: '1', ...env }, [cpu]);
  const stat = () =>
    Object.fromEntries(
      readFileSync(`${cpu}/cpu.stat`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([k, v]) => [k, Number(v)]),
    );
  await waitFor(
    () => {
      const s = stat();
      return s.nr_periods! >= 20 && s.nr_throttled! / s.nr_periods! >= 0.5;
    },
    20_000,
    () => `throttling in ${cpu}: ${JSON.stringify(stat())}`,
  );
  return svc;
}

const attribution = (f: any, kind: string) => f?.attribution?.find((a: any) => a.kind === kind);

test(
  'watch on a heap leak: main.leakyCache (main.go:line) first in go.heap.growth, the churn not; memory-growth carries it (json, text, markdown)',
  { skip: skipMem },
  async () => {
    // a fresh service for each format: the shape of its growth (a leak, not a warm-up) is judged
    // from its start; GOGC=25 keeps the heap close to what is live, so memory follows the leak
    const watch = async (format: string[]) => {
      const svc = await start({ LEAK_KB_PER_S: '8192', CHURN_KB_PER_S: '16384', GOGC: '25' }, [createMemoryCgroup(2 * 2 ** 30)]);
      return runCli(['watch', String(svc.pid), '--interval', '500ms', '--duration', '5s', ...format], { timeoutMs: 40_000 });
    };
    const res = await watch(['--json']);
    const report = JSON.parse(res.stdout);
    const t = report.targets[0];
    const g = t.evidence['go.heap.growth'];
    assert.ok(g, `no go.heap.growth: ${JSON.stringify(t.unknowns)}`);
    assert.equal(g.kind, 'allocation-growth');
    assert.equal(g.unavailable, undefined, g.unavailable);
    const top = g.sites[0];
    assert.equal(top.function, 'main.leakyCache');
    assert.equal(top.file, 'main.go', "relative to the service's working directory");
    assert.equal(top.line, LEAK_LINE());
    assert.ok(top.value > 4 * 2 ** 20, `grew ${top.value} bytes`);
    assert.ok(g.windowSeconds >= 3 && g.windowSeconds <= 10, `window ${g.windowSeconds}`);
    // the churn allocates twice as much, but frees it: at most the buffer it holds at a time
    const churn = g.sites.find((s: any) => s.function === 'main.churnBuffers');
    assert.ok(!churn || churn.value < top.value * 0.05, `churn ${churn?.value} vs leak ${top.value}`);
    const f = finding(t, 'memory-growth');
    assert.ok(f, `findings: ${t.findings.map((x: any) => x.id)} (exit ${res.code})`);
    assert.equal(attribution(f, 'allocation-growth')?.sites[0].function, 'main.leakyCache');
    assert.ok(
      t.actions.some((a: string) => /requested \/debug\/pprof\/heap, to compare with one at the end of the watch/.test(a)),
      String(t.actions),
    );
    assert.ok(
      t.actions.some((a: string) => /requested \/debug\/pprof\/heap again, at the end of the watch/.test(a)),
      String(t.actions),
    );

    const line = new RegExp(`main\\.leakyCache \\(main\\.go:${LEAK_LINE()}\\): \\+[\\d.]+ MiB of \\+[\\d.]+ MiB`);
    const text = await watch([]);
    assert.match(text.stdout, /where in the code: Go heap profiles at the start and the end/);
    assert.match(text.stdout, line);
    const md = await watch(['--format', 'markdown']);
    assert.match(md.stdout, /\*\*Where in the code\*\*: Go heap profiles/);
    assert.match(md.stdout, line);
  },
);

test('a CPU burner under a quota: cpu-throttling names main.burnCPU (main.go:line) first in go.cpu.top (json, text, markdown)', { skip: skipCpu }, async () => {
  const svc = await startThrottled({});
  const pprof = `http://127.0.0.1:${svc.info.pprof}`;
  const { res, report } = await runJson([String(svc.pid), '--pprof', pprof]);
  const t = report.targets[0];
  const f = finding(t, 'cpu-throttling') ?? finding(t, 'cpu-saturation');
  assert.ok(f, `findings: ${t.findings.map((x: any) => x.id)} (exit ${res.code})`);
  const a = attribution(f, 'hot-functions');
  assert.ok(a, `no attribution on ${f.id}`);
  assert.equal(a.unavailable, undefined, a.unavailable);
  assert.equal(a.sites[0].function, 'main.burnCPU');
  assert.equal(a.sites[0].file, 'main.go');
  assert.ok(Math.abs(a.sites[0].line - BURN_LINE()) <= 3, `line ${a.sites[0].line}, the loop is at ${BURN_LINE()}`);
  assert.ok(a.sites[0].share >= 0.5, `share ${a.sites[0].share}`);
  assert.ok(a.sites[0].cumulative >= a.sites[0].value);
  assert.ok(a.windowSeconds >= 1.5 && a.windowSeconds <= 3, `window ${a.windowSeconds}`);
  assert.deepEqual(t.evidence['go.cpu.top'], a);
  assert.ok(
    t.actions.some((x: string) => x.includes('/debug/pprof/profile?seconds=2')),
    String(t.actions),
  );

  const text = await runCli([String(svc.pid), '--pprof', pprof]);
  assert.match(text.stdout, /where in the code: Go CPU profile, self time by function, over 2s/);
  assert.match(text.stdout, /1\. main\.burnCPU \(main\.go:\d+\): \d+% of the sampled time/);
  // found by discovery this time: the follow-up reuses the endpoint instead of asking every listener again
  const md = await runCli([String(svc.pid), '--format', 'markdown']);
  assert.match(md.stdout, /\*\*Where in the code\*\*: Go CPU profile/);
  assert.match(md.stdout, /- 1\. main\.burnCPU \(main\.go:\d+\)/);
  const appRequests = await (await fetch(`http://127.0.0.1:${svc.info.app}/requests`)).text();
  assert.equal(appRequests.trim(), '1', 'the app listener was asked GET /debug/pprof/ once, by the first look only');
});

test('the same service idle under the same quota: no CPU finding, no CPU profile requested', { skip: skipCpu }, async () => {
  const cpu = createCpuCgroup(0.25);
  const svc = await start({}, [cpu]);
  const { report } = await runJson([String(svc.pid)]);
  const t = report.targets[0];
  assert.equal(finding(t, 'cpu-throttling'), undefined);
  assert.equal(finding(t, 'cpu-saturation'), undefined);
  assert.equal('go.cpu.top' in (t.evidence ?? {}), false);
  assert.ok(!(t.actions ?? []).some((x: string) => x.includes('/debug/pprof/profile')), String(t.actions));
});

/** GET a URL: `sent` when the request is written, `done` with status and body (loopback, bounded by the server). */
function fetchText(url: string): { sent: Promise<void>; done: Promise<{ status: number; body: string }> } {
  let sent!: () => void;
  const written = new Promise<void>((r) => {
    sent = r;
  });
  const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('finish', sent)
      .on('error', reject);
  });
  return { sent: written, done };
}

test('a CPU profile already running: the attribution says so, with what to do, and nothing fails', { skip: skipCpu }, async () => {
  const svc = await startThrottled({});
  const pprof = `http://127.0.0.1:${svc.info.pprof}`;
  // another profiler's request, written before proctriage starts (which reads the process for
  // a few hundred ms before it asks for its own profile)
  const other = fetchText(`${pprof}/debug/pprof/profile?seconds=6`);
  await other.sent;
  const { report } = await runJson([String(svc.pid), '--pprof', pprof]);
  const t = report.targets[0];
  const f = finding(t, 'cpu-throttling') ?? finding(t, 'cpu-saturation');
  assert.ok(f, `findings: ${t.findings.map((x: any) => x.id)}`);
  const a = attribution(f, 'hot-functions');
  assert.match(a.unavailable, /already being CPU-profiled \(Could not enable CPU profiling: cpu profiling already in use\)/);
  assert.match(a.hint, /when the other CPU profile has finished/);
  assert.deepEqual(a.sites, []);
  assert.equal(t.probes.find((p: any) => p.id === 'go').status, 'ok');
  const text = await runCli([String(svc.pid), '--pprof', pprof]);
  assert.match(text.stdout, /where in the code: Go CPU profile, self time by function: not available, the process is already being CPU-profiled/);
  assert.equal((await other.done).status, 200, 'the other profile was not disturbed');
});

test('no pprof endpoint: the CPU attribution is unavailable and names the flag that gives it', { skip: skipCpu }, async () => {
  const svc = await startThrottled({ NOPPROF: '1' });
  const { report } = await runJson([String(svc.pid)]);
  const t = report.targets[0];
  const f = finding(t, 'cpu-throttling') ?? finding(t, 'cpu-saturation');
  assert.ok(f, `findings: ${t.findings.map((x: any) => x.id)}`);
  const a = attribution(f, 'hot-functions');
  assert.match(a.unavailable, /^no pprof endpoint: /);
  assert.match(a.hint, /add --pprof http:\/\/127\.0\.0\.1:PORT/);
  const md = await runCli([String(svc.pid), '--format', 'markdown']);
  assert.match(
    md.stdout,
    /\*\*Where in the code\*\*: Go CPU profile, self time by function: not available, no pprof endpoint: .*\(add --pprof `http:\/\/127\.0\.0\.1:PORT`, the port/,
  );
});

test(
  'goroutine explosion on a Go without the goroutine leak profile: said, with the Go version that has it; the profile is not requested',
  { skip: skipGo },
  async () => {
    const svc = await start({ LEAK: '12000', CONN_LOG: '1' });
    const { report } = await runJson([String(svc.pid), '--pprof', `http://127.0.0.1:${svc.info.pprof}`]);
    const t = report.targets[0];
    const f = finding(t, 'goroutine-explosion');
    assert.ok(f, `findings: ${t.findings.map((x: any) => x.id)}`);
    const a = attribution(f, 'leaked-goroutines');
    assert.equal(a.unavailable, 'its pprof endpoint does not offer the goroutine leak profile');
    assert.match(a.hint, /Go 1\.27 or later, or Go 1\.26 with GOEXPERIMENT=goroutineleakprofile/);
    const asked = t.actions.find((x: string) => x.startsWith('requested '));
    assert.ok(asked?.includes('/debug/pprof/ from') && !asked.includes('goroutineleak'), String(t.actions));
    // the stack the count already names is still there
    assert.equal(f.evidence['go.topStacks'][0].function, 'main.pollUpstream');
  },
);

test('memory near the cgroup limit: the heap by allocating site names main.main (main.go:line) first (json, text)', { skip: skipMem }, async () => {
  const mem = createMemoryCgroup(128 * 2 ** 20);
  const svc = await start({ RETAIN_MB: '112', GOGC: 'off' }, [mem]);
  const { report } = await runJson([String(svc.pid)]);
  const t = report.targets[0];
  const f = finding(t, 'memory-near-limit');
  assert.ok(f, `findings: ${t.findings.map((x: any) => x.id)}; utilization ${t.metrics['cgroup.memory.utilization']}`);
  const a = attribution(f, 'allocation-sites');
  assert.ok(a, `no heap sites on memory-near-limit: ${JSON.stringify(f.attribution)}`);
  assert.equal(a.sites[0].function, 'main.main');
  assert.equal(a.sites[0].file, 'main.go');
  assert.equal(a.sites[0].line, RETAIN_LINE());
  assert.ok(a.sites[0].value >= 100 * 2 ** 20, `in use ${a.sites[0].value}`);
  const text = await runCli([String(svc.pid)]);
  assert.match(text.stdout, new RegExp(`1\\. main\\.main \\(main\\.go:${RETAIN_LINE()}\\): 1\\d\\d(\\.\\d)? MiB of`));
});
