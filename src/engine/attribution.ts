/**
 * Attribution: from a resource to the code that holds or uses it (allocation sites, hot
 * functions, timer origins). Probes put an Attribution into their evidence under a key of their
 * own (go.heap.sites, node.timers.origins …); a playbook finding lists those keys under
 * `attribution:` and the evaluator copies the ones present onto the finding. One shape for every
 * runtime, so the renderers and the JSON contract know one thing.
 */

export type AttributionKind =
  | 'allocation-sites' // what holds memory now (in-use bytes by allocating site)
  | 'allocation-growth' // what grew over a window (two profiles diffed, or sampled over the window)
  | 'hot-functions' // where CPU time went (sampled)
  | 'timer-origins' // where active timers/intervals were created
  | 'handle-peers' // which remote endpoints the open handles talk to
  | 'leaked-goroutines'; // goroutines the runtime proved stuck

export type AttributionUnit = 'bytes' | 'samples' | 'count' | 'seconds';

export interface AttributionSite {
  /** the function the value is charged to (the allocating frame, the sampled frame, the callback) */
  function: string;
  /** as the target knows it, shortened to its working directory where that is shorter */
  file?: string;
  line?: number;
  /** in `unit`: in-use bytes, growth in bytes, samples, handles … */
  value: number;
  /** value ÷ the attribution's total, 0..1 */
  share: number;
  /** hot functions: time in callees included (self time is `value`) */
  cumulative?: number;
  /** callers above it that make the site recognisable, innermost first, "fn (file:line)" */
  frames?: string[];
}

export interface Attribution {
  kind: AttributionKind;
  /** how it was measured, in words: "Go heap profile (in-use bytes)", "V8 sampling heap profiler over 30 s" */
  source: string;
  unit: AttributionUnit;
  /** the whole profile's value in `unit` (so "of N" can be said) */
  total: number;
  windowSeconds?: number;
  /** ranked, largest first, at most a handful */
  sites: AttributionSite[];
  /** set instead of sites when it could not be measured: why, and what would give it */
  unavailable?: string;
  hint?: string;
}

const KINDS: ReadonlySet<string> = new Set<AttributionKind>([
  'allocation-sites',
  'allocation-growth',
  'hot-functions',
  'timer-origins',
  'handle-peers',
  'leaked-goroutines',
]);

export function isAttribution(v: unknown): v is Attribution {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o.kind === 'string' && KINDS.has(o.kind) && Array.isArray(o.sites);
}

/** An attribution that could not be measured: why, and what would give it. */
export function unavailableAttribution(kind: AttributionKind, source: string, reason: string, hint?: string): Attribution {
  const unit: AttributionUnit = kind === 'hot-functions' ? 'samples' : kind === 'allocation-sites' || kind === 'allocation-growth' ? 'bytes' : 'count';
  return { kind, source, unit, total: 0, sites: [], unavailable: reason, ...(hint ? { hint } : {}) };
}

/** The `limit` largest of `values`, with their share of `total`. Pure; ties keep the input order. */
export function rankSites(values: Iterable<Omit<AttributionSite, 'share'>>, total: number, limit = 5): AttributionSite[] {
  const all = [...values].filter((s) => s.value > 0);
  all.sort((a, b) => b.value - a.value);
  return all.slice(0, limit).map((s) => ({ ...s, share: total > 0 ? s.value / total : 0 }));
}

/** A path from the target relative to its working directory when that is shorter. */
export function relativeToCwd(file: string, cwd: string | undefined): string {
  if (!cwd || !file.startsWith('/')) return file;
  const base = cwd.endsWith('/') ? cwd : cwd + '/';
  return file.startsWith(base) && file.length > base.length ? file.slice(base.length) : file;
}
