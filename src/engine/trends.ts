/**
 * Growth over time: robust slopes, significance, time to exhaustion, and the comparison of
 * two snapshots. Pure: series in, numbers out.
 *
 * Slope: Theil–Sen (median of pairwise slopes), insensitive to outliers and GC spikes.
 * Significance: growth counts only when BOTH
 *   - the Mann–Kendall trend test, with its variance corrected for autocorrelation
 *     (Hamed & Rao 1998), rejects "no upward trend" at 1 % (one-sided), and
 *   - a drift test on the increments x[i+1] − x[i] (a t-test with a long-run variance) rejects
 *     "mean increment ≤ 0" at 0.1 %.
 * A healthy count behaves like a random walk: its increments average zero, so the drift test
 * holds it back even when Mann–Kendall, fooled by the walk's memory, would not. A GC sawtooth
 * climbs between collections (Mann–Kendall sees many rising pairs) but its large drops keep the
 * mean increment near zero. A one-off step (a pool filling up once) is one large increment among
 * zeros: not a drift either. A leak moves every increment up and passes both.
 */
import type { Metrics } from './probe.js';
import type { Limits } from './playbook-schema.js';

/** What the trends take from the playbook: the stand-in limits and the shape ratios. */
export type TrendLimits = Pick<Limits, 'explosion' | 'shape'>;

export interface Trend {
  perHour: number;
  samples: number;
  etaSeconds?: number;
  limit?: number;
  significant?: boolean;
  /** the shape of significant growth (see growthShape): only steady or accelerating growth is a leak */
  shape?: Shape;
  /** seconds the samples span */
  windowSeconds?: number;
}

/**
 * How growth goes on over the watch: warm-up (pools and caches filling, a heap committing pages)
 * slows down or levels off; a leak keeps its pace or speeds up.
 */
export type Shape = 'steady' | 'accelerating' | 'decelerating' | 'levelling-off';

export interface Point {
  /** seconds (any origin) */
  t: number;
  v: number;
}

/** At most this many points enter the O(n²) statistics; longer series are thinned evenly. */
export const MAX_POINTS = 240;
/** Below this, a short run of equal steps is too likely by chance (2^-7 for a ±1 walk). */
export const MIN_SAMPLES = 8;
const Z_99 = 2.3263;
const Z_999 = 3.0902;

// ------------------------------------------------------------------ resources watched

export interface Resource {
  /** trend key: trend.<key>.perHour … */
  key: string;
  label: string;
  unit: 'count' | 'bytes';
  /** the value of the series in one sample, or undefined when unknown */
  value(m: Metrics): number | undefined;
  /** the limit the series runs into, or undefined when there is none (`explosion`: the playbook's stand-ins) */
  limit(m: Metrics, explosion: Record<string, number>): number | undefined;
  /** what is already used of that limit (defaults to the series value) */
  used?(m: Metrics): number | undefined;
  /** the limit is an explosion threshold standing in for a limit the runtime does not have */
  threshold?: boolean;
}

const num = (m: Metrics, k: string): number | undefined => (typeof m[k] === 'number' && Number.isFinite(m[k]) ? m[k] : undefined);

/** Go goroutines and Node handles have no hard ceiling: the playbook's explosion thresholds stand in as the limit. */
const standIn = (key: string) => (_: Metrics, explosion: Record<string, number>) => explosion[key];

/**
 * The resources whose growth the playbook judges. Memory is the cgroup's unreclaimable memory against
 * the cgroup limit when there is one; without a limit it is the RSS, with no limit, hence no
 * time to exhaustion and no memory-growth finding (the trend is still reported).
 */
export const RESOURCES: Resource[] = [
  {
    key: 'fd.open',
    label: 'open fds',
    unit: 'count',
    value: (m) => num(m, 'fd.open'),
    limit: (m) => num(m, 'fd.limit'),
  },
  {
    key: 'memory',
    label: 'memory',
    unit: 'bytes',
    value: (m) => (num(m, 'cgroup.memory.limit') !== undefined ? num(m, 'cgroup.memory.unreclaimable') : undefined) ?? num(m, 'memory.rss'),
    limit: (m) => (num(m, 'cgroup.memory.unreclaimable') !== undefined ? num(m, 'cgroup.memory.limit') : undefined),
  },
  {
    key: 'threads',
    label: 'threads',
    unit: 'count',
    value: (m) => num(m, 'threads'),
    limit: (m) => num(m, 'cgroup.pids.limit'),
    used: (m) => num(m, 'cgroup.pids.current') ?? num(m, 'threads'),
  },
  {
    key: 'sockets.tcp.total',
    label: 'TCP sockets',
    unit: 'count',
    value: (m) => num(m, 'sockets.tcp.total'),
    limit: (m) => num(m, 'fd.limit'),
    used: (m) => num(m, 'fd.open') ?? num(m, 'sockets.tcp.total'),
  },
  {
    key: 'node.handles.total',
    label: 'Node handles',
    unit: 'count',
    value: (m) => num(m, 'node.handles.total'),
    limit: standIn('node.handles.total'),
    threshold: true,
  },
  {
    // the V8 old generation against its own limit: where a heap leak ends, with or without a
    // cgroup limit. The series adds the young generation's objects, which the old one receives
    // in promotion steps of up to a semi-space: without them a leak looks like a few steps.
    key: 'node.heap.oldUsed',
    label: 'V8 heap toward the old-space limit',
    unit: 'bytes',
    value: (m) => (num(m, 'node.heap.oldUsed') !== undefined ? num(m, 'node.heap.used') : undefined),
    limit: (m) => num(m, 'node.heap.oldLimit'),
    used: (m) => num(m, 'node.heap.oldCommitted') ?? num(m, 'node.heap.oldUsed'),
  },
  {
    key: 'go.goroutines',
    label: 'goroutines',
    unit: 'count',
    value: (m) => num(m, 'go.goroutines'),
    limit: standIn('go.goroutines'),
    threshold: true,
  },
];

export function resource(key: string): Resource | undefined {
  return RESOURCES.find((r) => r.key === key);
}

// ------------------------------------------------------------------ statistics

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  // NaN for no values, as before: undefined arithmetic
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Evenly thin a series to at most `max` points, keeping the first and the last. */
export function thin(points: Point[], max = MAX_POINTS): Point[] {
  if (points.length <= max) return points;
  const out: Point[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]!);
  return out;
}

/** Theil–Sen slope (units per second): the median of the slopes between every pair of points. */
export function theilSen(points: Point[]): number {
  const slopes: number[] = [];
  for (const [i, a] of points.entries()) {
    for (let j = i + 1; j < points.length; j++) {
      const b = points[j]!; // j < points.length
      const dt = b.t - a.t;
      if (dt > 0) slopes.push((b.v - a.v) / dt);
    }
  }
  return slopes.length ? median(slopes) : 0;
}

/** Average ranks (ties share the mean rank), 1-based. */
function ranks(xs: number[]): number[] {
  const idx = xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    // i, j and k stay below idx.length
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    for (let k = i; k <= j; k++) r[idx[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

export interface MannKendall {
  s: number;
  /** variance of S under independence, ties corrected */
  variance: number;
  /** the Hamed–Rao inflation factor n/n* (≥ 1) */
  correction: number;
  z: number;
}

/**
 * Mann–Kendall with the Hamed–Rao correction: the ranks of the series, detrended with the
 * Theil–Sen slope, are tested for autocorrelation; significant lags inflate Var(S).
 */
export function mannKendall(points: Point[], slope = theilSen(points)): MannKendall {
  const x = points.map((p) => p.v);
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += Math.sign(x[j]! - x[i]!);
  const groups = new Map<number, number>();
  for (const v of x) groups.set(v, (groups.get(v) ?? 0) + 1);
  let ties = 0;
  for (const t of groups.values()) ties += t * (t - 1) * (2 * t + 5);
  const variance = (n * (n - 1) * (2 * n + 5) - ties) / 18;

  const r = ranks(points.map((p) => p.v - slope * p.t));
  const mean = r.reduce((a, b) => a + b, 0) / n;
  const d = r.map((v) => v - mean);
  const denom = d.reduce((a, b) => a + b * b, 0);
  let sum = 0;
  if (denom > 0 && n > 3) {
    const bound = 1.96 / Math.sqrt(n);
    for (let k = 1; k < n - 2; k++) {
      let c = 0;
      for (let i = 0; i + k < n; i++) c += d[i]! * d[i + k]!;
      const rho = c / denom;
      if (Math.abs(rho) > bound) sum += (n - k) * (n - k - 1) * (n - k - 2) * rho;
    }
  }
  const correction = n > 2 ? Math.max(1, 1 + (2 / (n * (n - 1) * (n - 2))) * sum) : 1;
  const v = variance * correction;
  const z = v > 0 ? (s > 0 ? (s - 1) / Math.sqrt(v) : s < 0 ? (s + 1) / Math.sqrt(v) : 0) : 0;
  return { s, variance, correction, z };
}

/** One-sided critical value of Student's t for a normal quantile `z` and `df` degrees of freedom (Cornish–Fisher). */
export function tCritical(z: number, df: number): number {
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/**
 * Drift test: is the mean increment significantly above zero (one-sided, 0.1 %)? The variance
 * of the mean is the long-run variance of the increments (Newey–West, Bartlett weights) once
 * there are enough of them: a leak with white measurement noise has anti-correlated increments,
 * and the plain variance would hide it.
 */
export function driftTest(points: Point[]): { mean: number; t: number; significant: boolean } {
  const d: number[] = [];
  for (let i = 1; i < points.length; i++) d.push(points[i]!.v - points[i - 1]!.v);
  const m = d.length;
  if (m < 2) return { mean: d[0] ?? 0, t: 0, significant: false };
  const mean = d.reduce((a, b) => a + b, 0) / m;
  const g0 = d.reduce((a, b) => a + (b - mean) ** 2, 0) / (m - 1);
  if (g0 === 0) return { mean, t: mean > 0 ? Infinity : 0, significant: mean > 0 };
  const lags = m >= 20 ? Math.floor(4 * (m / 100) ** (2 / 9)) : 0;
  let lrv = g0;
  for (let k = 1; k <= lags; k++) {
    let c = 0;
    for (let i = 0; i + k < m; i++) c += (d[i]! - mean) * (d[i + k]! - mean);
    lrv += 2 * (1 - k / (lags + 1)) * (c / (m - 1));
  }
  lrv = Math.max(lrv, 0.05 * g0);
  const t = mean / Math.sqrt(lrv / m);
  return { mean, t, significant: t > tCritical(Z_999, m - 1) };
}

export interface SeriesStats {
  /** units per second */
  slope: number;
  samples: number;
  significant: boolean;
  shape?: Shape;
  mk: MannKendall;
  drift: { mean: number; t: number; significant: boolean };
}

/** Slope and significance of growth for one series (points in time order), and its shape when it grows. */
export function analyseSeries(all: Point[], shape: TrendLimits['shape']): SeriesStats {
  const points = thin(all);
  const slope = theilSen(points);
  const mk = mannKendall(points, slope);
  const drift = driftTest(points);
  const significant = all.length >= MIN_SAMPLES && slope > 0 && mk.z > Z_99 && drift.significant;
  return { slope, samples: all.length, significant, ...(significant ? { shape: growthShape(points, shape) } : {}), mk, drift };
}

/**
 * The shape of a growing series: the Theil–Sen slope of its later half against its earlier half.
 * The test needs no uptime: a restarted process that leaks again is judged at once, and a warm-up
 * that levels off is told apart whenever it happens.
 */
export function growthShape(points: Point[], ratios: TrendLimits['shape']): Shape {
  const half = points.length >> 1;
  const early = theilSen(points.slice(0, half + 1)),
    late = theilSen(points.slice(half));
  if (late <= 0) return 'levelling-off';
  if (early <= 0) return 'accelerating';
  if (late < early * ratios.decelerating) return 'decelerating';
  return late > early * ratios.accelerating ? 'accelerating' : 'steady';
}

/** Whether a shape is that of a leak rather than of warm-up. */
export const leakShaped = (shape?: Shape): boolean => shape === 'steady' || shape === 'accelerating';

/** Seconds until `used` reaches `limit` at `perSecond`; 0 when already there; undefined when never. */
export function eta(used: number | undefined, limit: number | undefined, perSecond: number): number | undefined {
  if (used === undefined || limit === undefined || !Number.isFinite(limit) || !(perSecond > 0)) return undefined;
  return Math.max(0, (limit - used) / perSecond);
}

// ------------------------------------------------------------------ trends from samples

export interface Sample {
  /** seconds since the first sample (monotonic clock) */
  t: number;
  metrics: Metrics;
}

/**
 * Measured trends for every resource present in the samples. The time to exhaustion is only
 * given for significant growth: a projection from noise is not a forecast.
 */
export function trendsFromSamples(samples: Sample[], limits: TrendLimits): Record<string, Trend> {
  const out: Record<string, Trend> = {};
  const last = samples[samples.length - 1]?.metrics;
  if (!last) return out;
  for (const r of RESOURCES) {
    const points: Point[] = [];
    for (const s of samples) {
      const v = r.value(s.metrics);
      if (v !== undefined) points.push({ t: s.t, v });
    }
    const [first] = points,
      newest = points.at(-1);
    if (!first || !newest) continue;
    out[r.key] = measuredTrend(r, analyseSeries(points, limits.shape), last, newest.t - first.t, limits);
  }
  return out;
}

function measuredTrend(
  r: Resource,
  st: Pick<SeriesStats, 'slope' | 'samples' | 'significant' | 'shape'>,
  last: Metrics,
  windowSeconds: number,
  limits: TrendLimits,
): Trend {
  const limit = r.limit(last, limits.explosion);
  const t: Trend = { perHour: round(st.slope * 3600), samples: st.samples, significant: st.significant, windowSeconds: Math.round(windowSeconds) };
  if (st.shape) t.shape = st.shape;
  if (limit !== undefined && Number.isFinite(limit)) t.limit = limit;
  if (st.significant) {
    const e = eta((r.used ?? r.value)(last), limit, st.slope);
    if (e !== undefined) t.etaSeconds = Math.round(e);
  }
  return t;
}

/** The trend.<key>.<field> metrics trendMetrics gives (what a playbook may name). */
export const TREND_FIELDS = ['perHour', 'significant', 'leakShaped', 'windowSeconds', 'etaSeconds', 'limit'] as const;

/**
 * The metrics the playbook's growth findings read: trend.<key>.perHour, .etaSeconds (when
 * known), .significant and .leakShaped (1 or 0), .windowSeconds and .limit; and trend.samples with
 * trend.minSamples, so that a watch too short to judge growth says so instead of "nothing growing".
 * A series with fewer than MIN_SAMPLES samples gives no trend.<key> metrics: it cannot be judged.
 */
export function trendMetrics(trends: Record<string, Trend>, samples: number): Metrics {
  const m: Metrics = { 'trend.samples': samples, 'trend.minSamples': MIN_SAMPLES };
  for (const [key, t] of Object.entries(trends)) {
    if (t.samples < MIN_SAMPLES && t.samples !== 2) continue;
    m[`trend.${key}.perHour`] = t.perHour;
    m[`trend.${key}.significant`] = t.significant ? 1 : 0;
    m[`trend.${key}.leakShaped`] = leakShaped(t.shape) ? 1 : 0;
    if (t.windowSeconds !== undefined) m[`trend.${key}.windowSeconds`] = t.windowSeconds;
    if (t.etaSeconds !== undefined) m[`trend.${key}.etaSeconds`] = t.etaSeconds;
    if (t.limit !== undefined) m[`trend.${key}.limit`] = t.limit;
  }
  return m;
}

function round(x: number): number {
  if (!Number.isFinite(x)) return 0;
  const a = Math.abs(x);
  return a >= 100 ? Math.round(x) : Math.round(x * 1000) / 1000;
}

// ------------------------------------------------------------------ two snapshots

/** Two points cannot tell noise from growth: a change must clear these floors to count. */
export const TWO_POINT_FLOOR = { relative: 0.1, count: 10, bytes: 16 * 2 ** 20 };

export interface MetricChange {
  metric: string;
  from: number;
  to: number;
  change: number;
  perHour: number;
}

/** Per-metric change and rate between two metric sets taken `seconds` apart (numbers only). */
export function metricChanges(a: Metrics, b: Metrics, seconds: number): MetricChange[] {
  const out: MetricChange[] = [];
  for (const key of Object.keys(b).sort()) {
    const x = a[key],
      y = b[key];
    if (typeof x !== 'number' || typeof y !== 'number') continue;
    const change = y - x;
    out.push({ metric: key, from: x, to: y, change: round(change), perHour: seconds > 0 ? round((change / seconds) * 3600) : 0 });
  }
  return out;
}

/**
 * Trends from two snapshots. Growth is "significant" when the rise clears both floors (10 % of
 * the earlier level, and 10 units or 16 MiB): a coarse guard, stated in the report, since two
 * points carry no measure of noise.
 */
export function twoPointTrends(a: Metrics, b: Metrics, seconds: number, limits: TrendLimits): Record<string, Trend> {
  const out: Record<string, Trend> = {};
  if (!(seconds > 0)) return out;
  for (const r of RESOURCES) {
    const x = r.value(a),
      y = r.value(b);
    if (x === undefined || y === undefined) continue;
    const slope = (y - x) / seconds;
    const floor = Math.max(TWO_POINT_FLOOR.relative * Math.abs(x), r.unit === 'bytes' ? TWO_POINT_FLOOR.bytes : TWO_POINT_FLOOR.count);
    // two points have no shape: a rise over the floor is taken at face value
    const significant = y - x >= floor;
    out[r.key] = measuredTrend(r, { slope, samples: 2, significant, ...(significant ? { shape: 'steady' as const } : {}) }, b, seconds, limits);
  }
  return out;
}

/** Ids of the playbook's growth findings (those of its step with role growth): what a diff reports. */
export function growthRuleIds(playbook: { steps: { id: string; role?: string }[]; findings: { id: string; step: string }[] }): Set<string> {
  const step = playbook.steps.find((s) => s.role === 'growth');
  return new Set(step ? playbook.findings.filter((f) => f.step === step.id).map((f) => f.id) : []);
}
