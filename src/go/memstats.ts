/**
 * Heap and GC totals of a Go process, from either source net/http/pprof offers:
 * the "# runtime.MemStats" block at the end of /debug/pprof/heap?debug=1, or the
 * "memstats" object of /debug/vars (expvar). Neither carries the memory limit; /debug/vars
 * does when the service publishes it (see memLimitFromVars).
 */
import { say } from '../messages.js';

export interface GoMemStats {
  heapAlloc?: number;
  heapSys?: number;
  sys?: number;
  nextGC?: number;
  numGC?: number;
  gcCpuFraction?: number;
}

/** math.MaxInt64 (and anything at float precision near it): GOMEMLIMIT's "no limit". */
export const NO_LIMIT = 2 ** 63 - 2048;

const FIELDS: Record<string, keyof GoMemStats> = {
  HeapAlloc: 'heapAlloc',
  HeapSys: 'heapSys',
  Sys: 'sys',
  NextGC: 'nextGC',
  NumGC: 'numGC',
  GCCPUFraction: 'gcCpuFraction',
};

export interface HeapProfileResult {
  stats: GoMemStats;
  /** the "heap profile: ..." first line was seen */
  isHeapProfile: boolean;
  /** the "# runtime.MemStats" marker was seen */
  hasMemStats: boolean;
  problem?: string;
}

/** Streaming reader of heap?debug=1: skips the sampled records, keeps the MemStats totals. */
export class HeapProfileReader {
  private stats: GoMemStats = {};
  private first = true;
  private isHeap = false;
  private inBlock = false;
  private seenBlock = false;
  private malformed = 0;

  push(line: string): void {
    if (this.first) {
      if (!line.trim()) return;
      this.first = false;
      this.isHeap = /^heap profile: /.test(line);
      return;
    }
    if (!this.inBlock) {
      if (line === '# runtime.MemStats') this.inBlock = this.seenBlock = true;
      return;
    }
    const [, name, value] = /^# (\w+) = (.*)$/.exec(line) ?? [];
    if (name === undefined || value === undefined) {
      if (line.trim()) this.malformed++;
      return;
    }
    const key = FIELDS[name];
    if (!key) return;
    const v = Number(value.trim());
    if (Number.isFinite(v) && v >= 0) this.stats[key] = v;
    else this.malformed++;
  }

  end(complete = true, incomplete?: string): HeapProfileResult {
    const r: HeapProfileResult = { stats: this.stats, isHeapProfile: this.isHeap, hasMemStats: this.seenBlock };
    const cut = complete ? {} : { cut: incomplete ?? 'truncated' };
    if (!this.isHeap) r.problem = say('go.notHeapProfile');
    else if (!this.seenBlock) r.problem = say('go.heapNoMemStats', cut);
    else if (this.stats.heapAlloc === undefined || this.stats.numGC === undefined) r.problem = say('go.memStatsIncomplete', cut);
    return r;
  }
}

export function parseHeapProfile(text: string): HeapProfileResult {
  const r = new HeapProfileReader();
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  for (const l of lines) r.push(l.replace(/\r$/, ''));
  // a cut last line may hold half a number: only trust it when the text ended with a newline
  return r.end(last === '', last === '' ? undefined : say('go.textCut'));
}

export interface VarsResult {
  stats: GoMemStats;
  /** the memory limit in force when the service publishes one; null when it publishes "no limit" */
  memLimit?: number | null;
  problem?: string;
}

/** /debug/vars JSON. Only numbers are taken from it: the cmdline it also carries is never kept. */
export function parseVars(text: string): VarsResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { stats: {}, problem: say('go.varsNotJson', { error: (err as Error).message.slice(0, 120) }) };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { stats: {}, problem: say('go.varsNotObject') };
  const o = doc as Record<string, unknown>;
  const out: VarsResult = { stats: {} };
  const ms = o.memstats;
  if (ms && typeof ms === 'object' && !Array.isArray(ms)) {
    for (const [goKey, key] of Object.entries(FIELDS)) {
      const v = (ms as Record<string, unknown>)[goKey];
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out.stats[key] = v;
    }
  } else out.problem = say('go.varsNoMemstats');
  const limit = memLimitFromVars(o);
  if (limit !== undefined) out.memLimit = limit;
  return out;
}

/**
 * The memory limit a service publishes through expvar, e.g.
 * `expvar.Publish("gomemlimit", expvar.Func(func() any { return debug.SetMemoryLimit(-1) }))`,
 * or the runtime/metrics name "/gc/gomemlimit:bytes" (top level or inside one object).
 * null: published as "no limit" (math.MaxInt64). undefined: not published.
 */
export function memLimitFromVars(o: Record<string, unknown>): number | null | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/[^a-z]/g, '');
  const wanted = new Set(['gomemlimit', 'memlimit', 'gcgomemlimitbytes', 'memorylimit']);
  const pick = (obj: Record<string, unknown>): number | null | undefined => {
    for (const [k, v] of Object.entries(obj)) {
      if (!wanted.has(norm(k))) continue;
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
      if (!Number.isFinite(n) || n < 0) continue;
      return n >= NO_LIMIT ? null : n;
    }
    return undefined;
  };
  const top = pick(o);
  if (top !== undefined) return top;
  for (const [k, v] of Object.entries(o)) {
    if (k === 'memstats' || k === 'cmdline' || !v || typeof v !== 'object' || Array.isArray(v)) continue;
    const inner = pick(v as Record<string, unknown>);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** GOGC: a percentage, or "off" (reported as -1, as debug.SetGCPercent does). */
export function parseGogc(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim().toLowerCase();
  if (t === 'off') return -1;
  if (!/^-?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n < 0 ? -1 : n;
}

/** GOMAXPROCS: a positive integer; anything else is ignored by the runtime too. */
export function parseGomaxprocs(s: string | undefined): number | undefined {
  if (s === undefined || !/^\s*\d+\s*$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 ? n : undefined;
}
