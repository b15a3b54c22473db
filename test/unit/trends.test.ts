import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyseSeries,
  driftTest,
  eta,
  growthShape,
  mannKendall,
  metricChanges,
  theilSen,
  thin,
  trendMetrics,
  trendsFromSamples,
  twoPointTrends,
  MAX_POINTS,
  type Point,
  type Sample,
} from '../../src/engine/trends.js';
import { judge, type Collected } from '../../src/engine/runner.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { PROBES } from '../../probes/index.js';

const LIMITS = builtinPlaybook().limits;

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
  for (let i = 0; i < runs; i++) if (analyseSeries(gen(), LIMITS.shape).significant) k++;
  return k / runs;
};

describe('statistics', () => {
  test('Theil–Sen recovers the slope of a line and ignores a few wild points', () => {
    assert.equal(theilSen(series(20, (i) => 3 * i + 7, 0.5)), 6);
    const spiky = series(21, (i) => 2 * i);
    spiky[5]!.v = 1e6;
    spiky[15]!.v = -1e6;
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
    const tied = mannKendall(series(6, (i) => [1, 1, 2, 2, 3, 3][i]!));
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
    const s = analyseSeries(pts, LIMITS.shape);
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
      const walk = () => {
        let v = 100;
        return series(n, () => (v += r() < 0.5 ? -1 : 1));
      };
      const wide = () => {
        let v = 1000;
        return series(n, () => (v += Math.round(gauss(r) * 5)));
      };
      const [w, g] = [rate(walk, 500), rate(wide, 500)];
      assert.ok(w <= 0.01, `±1 walk, n=${n}: ${w}`);
      assert.ok(g <= 0.01, `gaussian walk, n=${n}: ${g}`);
    }
  });

  test('a GC sawtooth observed over a few cycles is not growth, whatever its phase and period', () => {
    const r = rng(4);
    for (const n of [12, 16, 24, 60]) {
      const saw = () => {
        const period = 2 + Math.floor(r() * 6),
          phase = Math.floor(r() * period);
        return series(n, (i) => 40e6 + ((i + phase) % period) * 4e6 + Math.round(gauss(r) * 2e5));
      };
      assert.equal(rate(saw, 500), 0, `n=${n}`);
    }
  });

  test('a one-off step (a pool filling once) is not growth', () => {
    assert.equal(
      analyseSeries(
        series(20, (i) => (i < 10 ? 100 : 150)),
        LIMITS.shape,
      ).significant,
      false,
    );
    assert.equal(
      analyseSeries(
        series(20, (i) => (i < 19 ? 100 : 400)),
        LIMITS.shape,
      ).significant,
      false,
    );
  });

  test('too few samples are never significant, and a falling series never is', () => {
    assert.equal(
      analyseSeries(
        series(7, (i) => i),
        LIMITS.shape,
      ).significant,
      false,
    );
    assert.equal(
      analyseSeries(
        series(30, (i) => -i),
        LIMITS.shape,
      ).significant,
      false,
    );
  });
});

describe('trends from samples', () => {
  const leak = (n: number, extra: (i: number) => Record<string, number> = () => ({})): Sample[] =>
    Array.from({ length: n }, (_, i) => ({ t: i * 0.25, metrics: { 'fd.open': 20 + i, 'fd.limit': 512, threads: 7, ...extra(i) } }));

  test('fd.open: slope per hour, ETA to fd.limit from the last level, and the trend.* metrics', () => {
    const tr = trendsFromSamples(leak(17), LIMITS);
    assert.deepEqual(tr['fd.open'], {
      perHour: 14_400,
      samples: 17,
      significant: true,
      shape: 'steady',
      windowSeconds: 4,
      limit: 512,
      etaSeconds: Math.round((512 - 36) / 4),
    });
    assert.equal(tr.threads!.significant, false);
    assert.equal(tr.threads!.etaSeconds, undefined);
    const m = trendMetrics(tr, 17);
    assert.equal(m['trend.fd.open.leakShaped'], 1);
    assert.equal(m['trend.samples'], 17);
    assert.equal(m['trend.fd.open.perHour'], 14_400);
    assert.equal(m['trend.fd.open.significant'], 1);
    assert.equal(m['trend.fd.open.etaSeconds'], 119);
    assert.equal(m['trend.threads.significant'], 0);
    assert.ok(!('trend.threads.etaSeconds' in m));
  });

  test("memory is the cgroup's unreclaimable memory against its limit, or the RSS with no limit (so no ETA)", () => {
    const withLimit = trendsFromSamples(
      leak(12, (i) => ({ 'cgroup.memory.unreclaimable': 100e6 + i * 1e6, 'cgroup.memory.limit': 200e6, 'memory.rss': 5e6 })),
      LIMITS,
    );
    assert.equal(withLimit.memory!.limit, 200e6);
    assert.equal(withLimit.memory!.significant, true);
    assert.equal(withLimit.memory!.etaSeconds, Math.round((200e6 - 111e6) / 4e6));
    const noLimit = trendsFromSamples(
      leak(12, (i) => ({ 'cgroup.memory.unreclaimable': 100e6, 'memory.rss': 50e6 + i * 1e6 })),
      LIMITS,
    );
    assert.equal(noLimit.memory!.perHour, 4e6 * 3600);
    assert.equal(noLimit.memory!.significant, true);
    assert.equal(noLimit.memory!.limit, undefined);
    assert.equal(noLimit.memory!.etaSeconds, undefined);
  });

  test('threads run into the pids limit counting every task of the cgroup; sockets into the fd limit', () => {
    const tr = trendsFromSamples(
      Array.from({ length: 10 }, (_, i) => ({
        t: i,
        metrics: {
          threads: 10 + i,
          'cgroup.pids.limit': 100,
          'cgroup.pids.current': 50 + i,
          'sockets.tcp.total': 5 + 2 * i,
          'fd.open': 30 + 2 * i,
          'fd.limit': 1030,
        },
      })),
      LIMITS,
    );
    assert.equal(tr.threads!.etaSeconds, 100 - 59);
    assert.equal(tr['sockets.tcp.total']!.etaSeconds, (1030 - 48) / 2);
    assert.equal(tr['sockets.tcp.total']!.limit, 1030);
  });

  test('Node handles and goroutines use their explosion thresholds as the limit', () => {
    const tr = trendsFromSamples(
      Array.from({ length: 10 }, (_, i) => ({ t: i, metrics: { 'node.handles.total': 100 + i, 'go.goroutines': 1000 + 10 * i } })),
      LIMITS,
    );
    assert.equal(tr['node.handles.total']!.limit, 10_000);
    assert.equal(tr['go.goroutines']!.limit, 100_000);
    assert.equal(tr['go.goroutines']!.etaSeconds, Math.round((100_000 - 1090) / 10));
  });

  test('eta: none without a limit or growth, zero past the limit', () => {
    assert.equal(eta(10, undefined, 1), undefined);
    assert.equal(eta(10, 100, 0), undefined);
    assert.equal(eta(120, 100, 1), 0);
    assert.equal(eta(10, Infinity, 1), undefined);
  });
});

describe('one look has no rate', () => {
  test('judge: one look gets no trend and no growth finding; measured trends raise fd-growth', () => {
    const playbook = builtinPlaybook();
    const c: Collected = {
      identity: { pid: 42, comm: 'svc', ppid: 1, state: 'S', cmdline: ['svc'], startedAt: '2024-01-01T00:00:00.000Z', uptimeSeconds: 60, startTicks: 1 },
      metrics: { 'fd.open': 900, 'fd.limit': 1000, 'fd.utilization': 0.9, 'process.uptimeSeconds': 60 },
      evidence: {},
      unknowns: [],
      probes: [],
      actions: [],
    };
    const once = judge(c, { playbook, redact: true, probes: PROBES });
    assert.equal(once.trends, undefined, 'a level over the uptime is not a rate');
    assert.ok(!once.findings.some((f) => f.id.endsWith('-growth')));
    const samples: Sample[] = Array.from({ length: 12 }, (_, i) => ({ t: i * 60, metrics: { ...c.metrics, 'fd.open': 880 + i * 2 } }));
    const trends = trendsFromSamples(samples, LIMITS);
    const watched = judge(c, { playbook, redact: true, probes: PROBES }, { metrics: trendMetrics(trends, 12), trends });
    assert.equal(watched.findings.find((x) => x.id === 'fd-growth')?.severity, 'critical');
  });
});

describe('growth judged by its shape, whatever the uptime', () => {
  const MiB = 2 ** 20;
  /** memory-growth for a series of unreclaimable cgroup memory, one sample a second, at an uptime */
  const judgeMemory = (values: number[], limit: number, uptimeSeconds = 60) => {
    const samples: Sample[] = values.map((v, i) => ({
      t: i,
      metrics: {
        'cgroup.memory.limit': limit,
        'cgroup.memory.unreclaimable': Math.round(v),
        'memory.rss': Math.round(v),
        'process.uptimeSeconds': uptimeSeconds,
      },
    }));
    const trends = trendsFromSamples(samples, LIMITS);
    const c: Collected = {
      identity: { pid: 42, comm: 'svc', ppid: 1, state: 'S', cmdline: ['svc'], startedAt: '2024-01-01T00:00:00.000Z', uptimeSeconds, startTicks: 1 },
      metrics: samples[samples.length - 1]!.metrics,
      evidence: {},
      unknowns: [],
      probes: [],
      actions: [],
    };
    const r = judge(c, { playbook: builtinPlaybook(), redact: true, probes: PROBES }, { metrics: trendMetrics(trends, samples.length), trends });
    return { trend: trends.memory, severity: r.findings.find((f) => f.id === 'memory-growth')?.severity, path: r.path };
  };
  const noise = rng(7);

  test('a restarted process that leaks again is critical in its first minute: steady growth, limit a day away at most', () => {
    // 2 MiB/s toward a 512 MiB limit from 60 MiB: about 4 minutes away
    const r = judgeMemory(
      Array.from({ length: 60 }, (_, i) => 60 * MiB + i * 2 * MiB + gauss(noise) * 256 * 1024),
      512 * MiB,
      30,
    );
    assert.equal(r.trend!.shape, 'steady');
    assert.equal(r.severity, 'critical');
  });

  test('warm-up that levels off is not a leak, even with the limit near', () => {
    // a pool filling: +200 MiB fast over 20 s, then flat for 40 s, 300 MiB of a 320 MiB limit
    const r = judgeMemory(
      Array.from({ length: 60 }, (_, i) => 100 * MiB + Math.min(i, 20) * 10 * MiB + gauss(noise) * 128 * 1024),
      320 * MiB,
      30,
    );
    // the statistics may already call it a one-off step; if they call it growth, its shape is warm-up
    if (r.trend!.significant) assert.ok(r.trend!.shape === 'levelling-off' || r.trend!.shape === 'decelerating', r.trend!.shape);
    assert.equal(r.severity, undefined);
    const slower = judgeMemory(
      Array.from({ length: 60 }, (_, i) => 100 * MiB + Math.min(i, 36) * 5 * MiB + gauss(noise) * 128 * 1024),
      320 * MiB,
      30,
    );
    assert.equal(slower.trend!.significant, true, 'a fill over most of the window is growth');
    assert.ok(slower.trend!.shape === 'levelling-off' || slower.trend!.shape === 'decelerating', slower.trend!.shape);
    assert.equal(slower.severity, undefined);
  });

  test('warm-up that slows down (an exponential approach) is not a leak', () => {
    const r = judgeMemory(
      Array.from({ length: 60 }, (_, i) => 100 * MiB + 150 * MiB * (1 - Math.exp(-i / 12))),
      300 * MiB,
      30,
    );
    assert.equal(r.trend!.shape, 'decelerating');
    assert.equal(r.severity, undefined);
  });

  test('accelerating growth is a leak', () => {
    assert.equal(
      growthShape(
        Array.from({ length: 40 }, (_, i) => ({ t: i, v: i * i })),
        LIMITS.shape,
      ),
      'accelerating',
    );
  });

  test('a steady creep projected far beyond the time watched is a warning to watch longer, not critical', () => {
    // 40 MiB/h toward a 512 MiB limit, 11 h away, seen for 40 s: 1 000 times the window
    const r = judgeMemory(
      Array.from({ length: 40 }, (_, i) => 60 * MiB + (i * 40 * MiB) / 3600),
      512 * MiB,
    );
    assert.equal(r.trend!.significant, true);
    assert.equal(r.severity, 'warning');
  });

  test('too few samples: the growth step says it cannot tell, never "nothing on course"', () => {
    const r = judgeMemory(
      [1, 2, 3, 4].map((i) => 60 * MiB + i * MiB),
      512 * MiB,
    );
    assert.equal(r.severity, undefined);
    assert.match(r.path.find((p) => p.step === 'growth')?.answer ?? '', /^cannot tell: 4 samples, a trend needs 8/);
  });
});

describe('two snapshots', () => {
  test('per-metric change and rate per hour', () => {
    const ch = metricChanges({ 'fd.open': 100, runtime: 'node', x: 1 }, { 'fd.open': 160, runtime: 'node', x: 1 }, 1800);
    assert.deepEqual(ch, [
      { metric: 'fd.open', from: 100, to: 160, change: 60, perHour: 120 },
      { metric: 'x', from: 1, to: 1, change: 0, perHour: 0 },
    ]);
  });

  test('growth from two points must clear 10 % of the level and an absolute floor', () => {
    const a = { 'fd.open': 100, 'fd.limit': 1000 };
    assert.equal(twoPointTrends(a, { 'fd.open': 109, 'fd.limit': 1000 }, 3600, LIMITS)['fd.open']!.significant, false);
    const t = twoPointTrends(a, { 'fd.open': 130, 'fd.limit': 1000 }, 3600, LIMITS)['fd.open'];
    assert.deepEqual(t, { perHour: 30, samples: 2, significant: true, shape: 'steady', windowSeconds: 3600, limit: 1000, etaSeconds: (870 / 30) * 3600 });
    const mem = twoPointTrends({ 'memory.rss': 10e6 }, { 'memory.rss': 20e6 }, 60, LIMITS).memory;
    assert.equal(mem!.significant, false, 'under 16 MiB is not enough');
  });
});
