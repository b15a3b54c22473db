import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyseSeries, driftTest, estimateTrends, eta, mannKendall, metricChanges, restartBuys, theilSen, thin, trendMetrics,
  trendsFromSamples, twoPointTrends, MAX_POINTS, MIN_ESTIMATE_UPTIME, type Point, type Sample,
} from '../../src/engine/trends.js';
import { judge, type Collected } from '../../src/engine/runner.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { PROBES } from '../../probes/index.js';

/** Deterministic pseudo-random numbers (an LCG), so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}
const series = (n: number, f: (i: number) => number, dt = 1): Point[] => Array.from({ length: n }, (_, i) => ({ t: i * dt, v: f(i) }));
const rate = (gen: () => Point[], runs: number) => {
  let k = 0;
  for (let i = 0; i < runs; i++) if (analyseSeries(gen()).significant) k++;
  return k / runs;
};

describe('statistics', () => {
  test('Theil–Sen recovers the slope of a line and ignores a few wild points', () => {
    assert.equal(theilSen(series(20, (i) => 3 * i + 7, 0.5)), 6);
    const spiky = series(21, (i) => 2 * i);
    spiky[5].v = 1e6;
    spiky[15].v = -1e6;
    assert.equal(theilSen(spiky), 2);
  });

  test('Mann–Kendall: S counts rising minus falling pairs; ties shrink the variance', () => {
    const up = mannKendall(series(10, (i) => i));
    assert.equal(up.s, 45);
    assert.equal(up.variance, (10 * 9 * 25) / 18);
    const flat = mannKendall(series(10, () => 5));
    assert.equal(flat.s, 0);
    assert.equal(flat.variance, 0);
    assert.equal(flat.z, 0);
    const tied = mannKendall(series(6, (i) => [1, 1, 2, 2, 3, 3][i]));
    assert.ok(tied.variance < (6 * 5 * 17) / 18);
  });

  test('the drift test: a constant climb is drift, a walk without drift is not', () => {
    assert.equal(driftTest(series(10, (i) => i)).significant, true);
    assert.equal(driftTest(series(10, () => 3)).significant, false);
    assert.equal(driftTest(series(10, (i) => (i % 2 ? 1 : 0))).significant, false);
  });

  test('thinning keeps the first and the last point and at most MAX_POINTS', () => {
    const long = series(5000, (i) => i);
    const t = thin(long);
    assert.equal(t.length, MAX_POINTS);
    assert.deepEqual(t[0], long[0]);
    assert.deepEqual(t[t.length - 1], long[long.length - 1]);
    assert.equal(theilSen(t), 1);
  });
});

describe('significance: leaks count, noise does not', () => {
  test('a steady fd leak sampled with timing jitter is significant, slope exact', () => {
    const r = rng(1);
    const pts = series(16, (i) => 20 + i).map((p) => ({ t: p.t * 0.25 + (r() - 0.5) * 0.02, v: p.v }));
    const s = analyseSeries(pts);
    assert.equal(s.significant, true);
    assert.ok(Math.abs(s.slope * 3600 - 14_400) < 0.05 * 14_400);
  });

  test('a noisy leak is found once there are enough samples', () => {
    const r = rng(2);
    assert.ok(rate(() => series(60, (i) => 100 + 2 * i + Math.round(gauss(r) * 3)), 200) > 0.95);
  });

  test('random walks (a healthy count going up and down) almost never count as growth', () => {
    const r = rng(3);
    for (const n of [8, 16, 24, 60]) {
      const walk = () => { let v = 100; return series(n, () => (v += r() < 0.5 ? -1 : 1)); };
      const wide = () => { let v = 1000; return series(n, () => (v += Math.round(gauss(r) * 5))); };
      const [w, g] = [rate(walk, 500), rate(wide, 500)];
      assert.ok(w <= 0.01, `±1 walk, n=${n}: ${w}`);
      assert.ok(g <= 0.01, `gaussian walk, n=${n}: ${g}`);
    }
  });

  test('a GC sawtooth observed over a few cycles is not growth, whatever its phase and period', () => {
    const r = rng(4);
    for (const n of [12, 16, 24, 60]) {
      const saw = () => {
        const period = 2 + Math.floor(r() * 6), phase = Math.floor(r() * period);
        return series(n, (i) => 40e6 + ((i + phase) % period) * 4e6 + Math.round(gauss(r) * 2e5));
      };
      assert.equal(rate(saw, 500), 0, `n=${n}`);
    }
  });

  test('a one-off step (a pool filling once) is not growth', () => {
    assert.equal(analyseSeries(series(20, (i) => (i < 10 ? 100 : 150))).significant, false);
    assert.equal(analyseSeries(series(20, (i) => (i < 19 ? 100 : 400))).significant, false);
  });

  test('too few samples are never significant, and a falling series never is', () => {
    assert.equal(analyseSeries(series(7, (i) => i)).significant, false);
    assert.equal(analyseSeries(series(30, (i) => -i)).significant, false);
  });
});

describe('trends from samples', () => {
  const leak = (n: number, extra: (i: number) => Record<string, number> = () => ({})): Sample[] =>
    Array.from({ length: n }, (_, i) => ({ t: i * 0.25, metrics: { 'fd.open': 20 + i, 'fd.limit': 512, threads: 7, ...extra(i) } }));

  test('fd.open: slope per hour, ETA to fd.limit from the last level, and the trend.* metrics', () => {
    const tr = trendsFromSamples(leak(17));
    assert.deepEqual(tr['fd.open'], { perHour: 14_400, samples: 17, significant: true, limit: 512, etaSeconds: Math.round((512 - 36) / 4) });
    assert.equal(tr.threads.significant, false);
    assert.equal(tr.threads.etaSeconds, undefined);
    const m = trendMetrics(tr);
    assert.equal(m['trend.fd.open.perHour'], 14_400);
    assert.equal(m['trend.fd.open.significant'], 1);
    assert.equal(m['trend.fd.open.etaSeconds'], 119);
    assert.equal(m['trend.threads.significant'], 0);
    assert.ok(!('trend.threads.etaSeconds' in m));
  });

  test('memory is the cgroup working set against its limit, or the RSS with no limit (so no ETA)', () => {
    const withLimit = trendsFromSamples(leak(12, (i) => ({ 'cgroup.memory.workingSet': 100e6 + i * 1e6, 'cgroup.memory.limit': 200e6, 'memory.rss': 5e6 })));
    assert.equal(withLimit.memory.limit, 200e6);
    assert.equal(withLimit.memory.significant, true);
    assert.equal(withLimit.memory.etaSeconds, Math.round((200e6 - 111e6) / 4e6));
    const noLimit = trendsFromSamples(leak(12, (i) => ({ 'cgroup.memory.workingSet': 100e6, 'memory.rss': 50e6 + i * 1e6 })));
    assert.equal(noLimit.memory.perHour, 4e6 * 3600);
    assert.equal(noLimit.memory.significant, true);
    assert.equal(noLimit.memory.limit, undefined);
    assert.equal(noLimit.memory.etaSeconds, undefined);
  });

  test('threads run into the pids limit counting every task of the cgroup; sockets into the fd limit', () => {
    const tr = trendsFromSamples(Array.from({ length: 10 }, (_, i) => ({
      t: i, metrics: { threads: 10 + i, 'cgroup.pids.limit': 100, 'cgroup.pids.current': 50 + i, 'sockets.tcp.total': 5 + 2 * i, 'fd.open': 30 + 2 * i, 'fd.limit': 1030 },
    })));
    assert.equal(tr.threads.etaSeconds, 100 - 59);
    assert.equal(tr['sockets.tcp.total'].etaSeconds, (1030 - 48) / 2);
    assert.equal(tr['sockets.tcp.total'].limit, 1030);
  });

  test('Node handles and goroutines use their explosion thresholds as the limit', () => {
    const tr = trendsFromSamples(Array.from({ length: 10 }, (_, i) => ({ t: i, metrics: { 'node.handles.total': 100 + i, 'go.goroutines': 1000 + 10 * i } })));
    assert.equal(tr['node.handles.total'].limit, 10_000);
    assert.equal(tr['go.goroutines'].limit, 100_000);
    assert.equal(tr['go.goroutines'].etaSeconds, Math.round((100_000 - 1090) / 10));
  });

  test('eta: none without a limit or growth, zero past the limit', () => {
    assert.equal(eta(10, undefined, 1), undefined);
    assert.equal(eta(10, 100, 0), undefined);
    assert.equal(eta(120, 100, 1), 0);
    assert.equal(eta(10, Infinity, 1), undefined);
  });
});

describe('one look: average growth since start', () => {
  test('level over uptime, the time to the limit at that pace, what a restart buys; marked as an estimate', () => {
    const tr = estimateTrends({ 'fd.open': 900, 'fd.limit': 1000, threads: 12 }, 9 * 3600);
    assert.deepEqual(tr['fd.open'], { perHour: 100, samples: 1, estimate: true, limit: 1000, etaSeconds: 3600 });
    assert.equal(restartBuys(tr['fd.open']), 10 * 3600);
    assert.equal(tr.threads.limit, undefined);
    assert.deepEqual(trendMetrics(tr), {}, 'estimates never feed the playbook');
    assert.deepEqual(estimateTrends({ 'fd.open': 900 }, MIN_ESTIMATE_UPTIME - 1), {});
  });

  test('judge: one look gets estimates and no growth finding; measured trends raise fd-growth', () => {
    const playbook = builtinPlaybook();
    const c: Collected = {
      identity: { pid: 42, comm: 'svc', ppid: 1, state: 'S', cmdline: ['svc'], startedAt: '2024-01-01T00:00:00.000Z', uptimeSeconds: 36_000, startTicks: 1 },
      metrics: { 'fd.open': 900, 'fd.limit': 1000, 'fd.utilization': 0.9, 'process.uptimeSeconds': 36_000 },
      evidence: {}, unknowns: [], probes: [], actions: [],
    };
    const once = judge(c, { playbook, redact: true, probes: PROBES });
    assert.equal(once.trends?.['fd.open'].estimate, true);
    assert.ok(!once.findings.some((f) => f.id.endsWith('-growth')));
    const samples: Sample[] = Array.from({ length: 12 }, (_, i) => ({ t: i * 60, metrics: { ...c.metrics, 'fd.open': 880 + i * 2 } }));
    const trends = trendsFromSamples(samples);
    const watched = judge(c, { playbook, redact: true, probes: PROBES }, { metrics: trendMetrics(trends), trends });
    const f = watched.findings.find((x) => x.id === 'fd-growth');
    assert.equal(f?.severity, 'critical');
    assert.equal(watched.trends?.['fd.open'].estimate, undefined);
  });
});

describe('warm-up: growth in a process\'s first 10 minutes', () => {
  // memory creeping 40 MiB/h toward a 512 MiB cgroup limit (about 11 h away), as a fresh Node
  // process's RSS does while V8 commits its heap, and the same creep toward a limit 30 min away
  const judgeCreep = (uptimeSeconds: number, limit: number) => {
    const base = { 'cgroup.memory.limit': limit, 'cgroup.memory.workingSet': 60 * 2 ** 20, 'memory.rss': 60 * 2 ** 20, 'process.uptimeSeconds': uptimeSeconds };
    const samples: Sample[] = Array.from({ length: 40 }, (_, i) => ({
      t: i,
      metrics: { ...base, 'cgroup.memory.workingSet': base['cgroup.memory.workingSet'] + Math.round((i * 40 * 2 ** 20) / 3600) },
    }));
    const trends = trendsFromSamples(samples);
    assert.equal(trends.memory.significant, true, 'the creep is real growth');
    const c: Collected = {
      identity: { pid: 42, comm: 'svc', ppid: 1, state: 'S', cmdline: ['svc'], startedAt: '2024-01-01T00:00:00.000Z', uptimeSeconds, startTicks: 1 },
      metrics: samples[samples.length - 1].metrics, evidence: {}, unknowns: [], probes: [], actions: [],
    };
    const r = judge(c, { playbook: builtinPlaybook(), redact: true, probes: PROBES }, { metrics: trendMetrics(trends), trends });
    return r.findings.find((f) => f.id === 'memory-growth')?.severity;
  };

  test('a process a minute old: a limit hours away is not called a leak', () => {
    assert.equal(judgeCreep(60, 512 * 2 ** 20), undefined);
  });
  test('the same creep after 10 minutes is', () => {
    assert.equal(judgeCreep(600, 512 * 2 ** 20), 'critical');
  });
  test('in warm-up too, a limit less than an hour away is', () => {
    assert.equal(judgeCreep(60, 80 * 2 ** 20), 'critical');
  });
});

describe('two snapshots', () => {
  test('per-metric change and rate per hour', () => {
    const ch = metricChanges({ 'fd.open': 100, runtime: 'node', x: 1 }, { 'fd.open': 160, runtime: 'node', x: 1 }, 1800);
    assert.deepEqual(ch, [{ metric: 'fd.open', from: 100, to: 160, change: 60, perHour: 120 }, { metric: 'x', from: 1, to: 1, change: 0, perHour: 0 }]);
  });

  test('growth from two points must clear 10 % of the level and an absolute floor', () => {
    const a = { 'fd.open': 100, 'fd.limit': 1000 };
    assert.equal(twoPointTrends(a, { 'fd.open': 109, 'fd.limit': 1000 }, 3600)['fd.open'].significant, false);
    const t = twoPointTrends(a, { 'fd.open': 130, 'fd.limit': 1000 }, 3600)['fd.open'];
    assert.deepEqual(t, { perHour: 30, samples: 2, significant: true, limit: 1000, etaSeconds: (870 / 30) * 3600 });
    const mem = twoPointTrends({ 'memory.rss': 10e6 }, { 'memory.rss': 20e6 }, 60).memory;
    assert.equal(mem.significant, false, 'under 16 MiB is not enough');
  });
});
