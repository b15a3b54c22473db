/**
 * A real Go service with net/http/pprof (test/fixtures/go-service) that leaks 12 000
 * goroutines parked on a channel in main.pollUpstream: proctriage must name the stack and its
 * count in every output format, with --pprof and by finding the endpoint itself.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { cleanup, finding, runCli, runJson, startTarget, type Target } from '../helpers/processes.js';
import { buildService, goUnavailable, goVersion, serviceEnv } from '../fixtures/go-service/service.js';
import { readGoBuildInfo } from '../../src/go/buildinfo.js';

const skip = goUnavailable();
if (skip) console.log(`# go tests skipped: ${skip}`);

let bin = '';
let svc: Target;
let pprof = '';

before(async () => {
  if (skip) return;
  bin = buildService();
  svc = await startTarget(bin, [], { env: serviceEnv({ LEAK: '12000', GOGC: '150', GOMAXPROCS: '2' }), timeoutMs: 20_000 });
  pprof = `http://127.0.0.1:${svc.info.pprof}`;
});
after(cleanup);

function goTarget(report: any): any {
  assert.equal(report.targets.length, 1);
  return report.targets[0];
}

test('--pprof URL: goroutine-explosion names main.pollUpstream × 12 000 (json)', { skip }, async () => {
  const { res, report } = await runJson([String(svc.pid), '--pprof', pprof]);
  assert.ok(res.code === 1 || res.code === 2, `warning or critical, got ${res.code}: ${res.stderr}`);
  const t = goTarget(report);
  assert.equal(t.runtime, 'go');
  const n = t.metrics['go.goroutines'];
  assert.ok(n >= 12_000 && n < 12_050, `go.goroutines ${n}`);
  const f = finding(t, 'goroutine-explosion');
  assert.ok(f, `findings: ${t.findings.map((x: any) => x.id)}`);
  assert.equal(f.severity, 'warning');
  assert.match(f.summary, /12,000, is parked in main\.pollUpstream/);
  const top = f.evidence['go.topStacks'][0];
  assert.equal(top.function, 'main.pollUpstream');
  assert.equal(top.count, 12_000);
  assert.deepEqual(top.frames, ['main.pollUpstream']);
  assert.equal(top.state, 'chan receive');
  assert.ok(
    f.nextSteps.some((s: { text: string }) => s.text.includes(`${pprof}/debug/pprof/goroutine?debug=2`)),
    'next steps use the real endpoint',
  );
  assert.equal(t.evidence['go.pprofUrl'], pprof);
  // heap and GC figures, GOGC / GOMAXPROCS from the environment, no memory limit in force
  assert.ok(t.metrics['go.heap.alloc'] > 0 && t.metrics['go.heap.sys'] >= t.metrics['go.heap.alloc']);
  assert.equal(typeof t.metrics['go.gc.cpuFraction'], 'number');
  assert.equal(typeof t.metrics['go.numGC'], 'number');
  assert.equal(t.metrics['go.gogcEnv'], 150);
  assert.equal(t.metrics['go.maxProcsEnv'], 2);
  assert.equal('go.memLimit' in t.metrics, false, 'math.MaxInt64 means no limit: absent');
  assert.equal(t.probes.find((p: any) => p.id === 'go').status, 'ok');
});

test('PID alone: the pprof endpoint is found among its own loopback listeners', { skip }, async () => {
  const { report } = await runJson([String(svc.pid)]);
  const t = goTarget(report);
  assert.equal(t.evidence['go.pprofUrl'], pprof, 'the debug port, not the application port');
  assert.equal(finding(t, 'goroutine-explosion')?.evidence['go.topStacks'][0].function, 'main.pollUpstream');
  assert.ok(t.actions.some((a: string) => /GET \/debug\/pprof\/ on the process's loopback listener/.test(a) && a.includes(String(svc.info.app))));
});

test('table and markdown name the stack and its count', { skip }, async () => {
  const table = await runCli([String(svc.pid), '--pprof', pprof]);
  assert.match(table.stdout, /goroutine-explosion/);
  assert.match(table.stdout, /main\.pollUpstream ×12000/);
  assert.match(table.stdout, /12,000, is parked in main\.pollUpstream/);
  assert.ok(table.stdout.includes(`curl -s '${pprof}/debug/pprof/goroutine?debug=2'`));
  const md = await runCli([String(svc.pid), '--pprof', pprof, '--format', 'markdown']);
  assert.match(md.stdout, /`goroutine-explosion`/);
  assert.match(md.stdout, /main\.pollUpstream ×12000/);
  assert.equal(md.code, table.code);
});

test('capture keeps the goroutine dump in the bundle, and analyze accepts it', { skip }, async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = join(mkdtempSync(join(tmpdir(), 'proctriage-gocap-')), 'bundle');
  try {
    const cap = await runCli(['capture', String(svc.pid), '--dir', dir, '--pprof', pprof, '--json']);
    assert.equal(cap.code, 0, cap.stderr);
    assert.match(cap.stderr, /^proctriage: wrote \S+ \((WARNING|CRITICAL), pid /);
    const dump = readFileSync(join(dir, 'runtime', 'go-goroutines-debug1.txt'), 'utf8');
    assert.match(dump, /^goroutine profile: total \d+/);
    assert.match(dump, /^12000 @ /m);
    assert.match(dump, /main\.pollUpstream/);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.ok(manifest.files['runtime/go-goroutines-debug1.txt'], 'listed, with its hash, in the manifest');
    const ana = await runJson(['analyze', dir]);
    assert.equal(ana.res.code, JSON.parse(cap.stdout).exitCode, ana.res.stderr);
    assert.ok(ana.report.targets[0].findings.some((f: { id: string }) => f.id === 'goroutine-explosion'));
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});

test('the executable carries Go build info with the toolchain version', { skip }, async () => {
  assert.equal(readGoBuildInfo(bin)?.version, goVersion());
  assert.equal(readGoBuildInfo(`/proc/${svc.pid}/exe`)?.via, 'section');
  const { report } = await runJson([String(svc.pid), '--pprof', pprof]);
  assert.equal(goTarget(report).metrics['go.version'], goVersion());
});

test('GOMEMLIMIT in force: go.memLimit from /debug/vars; without /debug/vars the heap profile gives the totals', { skip }, async () => {
  const limited = await startTarget(bin, ['limited'], { env: serviceEnv({ LEAK: '10', GOMEMLIMIT: '300MiB' }), timeoutMs: 20_000 });
  const novars = await startTarget(bin, ['novars'], { env: serviceEnv({ LEAK: '10', NOVARS: '1', GOMEMLIMIT: '1GiB', GOGC: 'off' }), timeoutMs: 20_000 });
  const [a, b] = await Promise.all([runJson([String(limited.pid)]), runJson([String(novars.pid)])]);
  const ta = goTarget(a.report);
  assert.equal(ta.metrics['go.memLimit'], 300 * 2 ** 20);
  assert.equal(ta.metrics['go.memLimitEnv'], 300 * 2 ** 20);
  assert.equal(finding(ta, 'goroutine-explosion'), undefined);
  const tb = goTarget(b.report);
  assert.ok(tb.metrics['go.heap.alloc'] > 0, 'HeapAlloc from the MemStats block of heap?debug=1');
  assert.equal(typeof tb.metrics['go.numGC'], 'number');
  assert.equal('go.memLimit' in tb.metrics, false, 'not published: absent (the playbook falls back to go.memLimitEnv)');
  assert.equal(tb.metrics['go.memLimitEnv'], 2 ** 30);
  assert.equal(tb.metrics['go.gogcEnv'], -1);
  assert.ok(tb.actions.some((x: string) => x.includes('heap?debug=1')));
});

test('a --pprof URL that belongs to another process is not attributed to this one', { skip }, async () => {
  const other = await startTarget(bin, ['replica-b'], { env: serviceEnv({ LEAK: '5' }), timeoutMs: 20_000 });
  const { report } = await runJson([String(svc.pid), '--pprof', `http://127.0.0.1:${other.info.pprof}`]);
  const t = goTarget(report);
  assert.equal('go.goroutines' in t.metrics, false);
  assert.ok(
    t.unknowns.some((u: any) => new RegExp(`--pprof refused: .* is not a socket of pid ${svc.pid} \\(it belongs to pid ${other.pid}\\)`).test(u.reason)),
    JSON.stringify(t.unknowns),
  );
  // trusted (as a port forward would be): its command line still shows it is another process
  const trusted = goTarget((await runJson([String(svc.pid), '--pprof', `http://127.0.0.1:${other.info.pprof}`, '--trust-peer'])).report);
  assert.equal('go.goroutines' in trusted.metrics, false);
  assert.ok(
    trusted.unknowns.some((u: any) => /serves another process/.test(u.reason)),
    JSON.stringify(trusted.unknowns),
  );
});

test('a debug listener on every interface (":0") is found and reached over loopback', { skip }, async () => {
  const wide = await startTarget(bin, ['wildcard'], { env: serviceEnv({ LEAK: '20', DEBUG_ADDR: ':0' }), timeoutMs: 20_000 });
  const { report } = await runJson([String(wide.pid)]);
  const t = goTarget(report);
  assert.match(t.evidence['go.pprofUrl'], new RegExp(`^http://(\\[::1\\]|127\\.0\\.0\\.1):${wide.info.pprof}$`));
  assert.ok(t.metrics['go.goroutines'] >= 20);
});

/** Connections the service accepted (CONN_LOG=1 lines on its stdout), per listener, in accept order. */
function connLog(t: Target): { app: number; pprof: number; waitFor: (want: { app: number; pprof: number }) => Promise<void> } {
  const seen = { app: 0, pprof: 0 };
  let wake = () => {};
  let buf = '';
  t.proc.child.stdout!.on('data', (s: string) => {
    buf += s;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const m = /^\{"conn":"(app|pprof)"\}$/.exec(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (m) seen[m[1] as 'app' | 'pprof']++;
    }
    wake();
  });
  return Object.assign(seen, {
    waitFor: (want: { app: number; pprof: number }) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`connections ${JSON.stringify({ app: seen.app, pprof: seen.pprof })}, waited for ${JSON.stringify(want)}`)),
          10_000,
        );
        wake = () => {
          if (seen.app >= want.app && seen.pprof >= want.pprof) {
            clearTimeout(timer);
            resolve();
          }
        };
        wake();
      }),
  });
}

/** One request on a fresh connection of each listener: accepted after anything proctriage opened before it. */
async function sentinel(t: Target): Promise<void> {
  await Promise.all(
    [t.info.app, t.info.pprof].map(
      (port) =>
        new Promise<void>((resolve, reject) => {
          get({ host: '127.0.0.1', port: Number(port), path: '/', agent: false }, (res) => {
            res.resume();
            res.on('end', resolve);
          }).on('error', reject);
        }),
    ),
  );
}

test('--no-discover: the service is not contacted; by default its listeners are asked', { skip }, async () => {
  const quiet = await startTarget(bin, ['conn-log'], { env: serviceEnv({ LEAK: '20', CONN_LOG: '1' }), timeoutMs: 20_000 });
  const conns = connLog(quiet);
  const off = goTarget((await runJson([String(quiet.pid), '--no-discover'])).report);
  await sentinel(quiet);
  await conns.waitFor({ app: 1, pprof: 1 });
  assert.deepEqual({ app: conns.app, pprof: conns.pprof }, { app: 1, pprof: 1 }, 'only the sentinel connections');
  assert.equal(off.runtime, 'go');
  assert.equal('go.goroutines' in off.metrics, false);
  assert.equal(off.actions, undefined, 'nothing was done to the target');
  assert.ok(
    off.unknowns.some((u: any) => /not looked for \(--no-discover\)/.test(u.reason)),
    JSON.stringify(off.unknowns),
  );

  const on = goTarget((await runJson([String(quiet.pid)])).report);
  await sentinel(quiet);
  // discovery asked both listeners once, then the pprof one was read
  await conns.waitFor({ app: 3, pprof: 4 });
  assert.equal(conns.app, 3, 'one GET to the application listener, besides the two sentinels');
  assert.ok(on.metrics['go.goroutines'] >= 20);
});
