/**
 * Attach to one inspector address, prove it belongs to the target, and read the runtime's
 * facts. Evaluations are the constants of expressions.ts and nothing else.
 */
import { CdpError, CdpSession, CdpTimeout, formatAddress, listTargets, type InspectorAddress } from '../transports/inspector.js';
import { ProctriageError } from '../errors.js';
import { say } from '../messages.js';
import { LONG_WINDOW_EXPRESSION, STATS_EXPRESSION, WINDOW_EXPRESSION } from './expressions.js';
import type { HeapFlags } from './heap-limit.js';
import type { NetRoute } from '../transports/netns-relay.js';

/** A time budget: every step takes at most its own cap and never more than what is left. */
export class Budget {
  private readonly until: number;
  /** set when the target is in another network namespace: every connection goes through its relay */
  route?: NetRoute;
  constructor(
    ms: number,
    readonly signal?: AbortSignal,
    readonly ownEndpoints?: Set<string>,
  ) {
    this.until = performance.now() + ms;
  }
  left(cap = Infinity): number {
    return Math.max(1, Math.floor(Math.min(cap, this.until - performance.now())));
  }
  get expired(): boolean {
    return this.until - performance.now() <= 0 || !!this.signal?.aborted;
  }
  deadline(cap: number): { timeoutMs: number; signal?: AbortSignal; ownEndpoints?: Set<string>; route?: NetRoute } {
    return {
      timeoutMs: this.left(cap),
      ...(this.signal ? { signal: this.signal } : {}),
      ...(this.ownEndpoints ? { ownEndpoints: this.ownEndpoints } : {}),
      ...(this.route ? { route: this.route } : {}),
    };
  }
}

export class IdentityMismatch extends ProctriageError {
  constructor(
    where: string,
    readonly theirPid: number,
    expected: number,
  ) {
    super('TARGET_UNREACHABLE', say('node.otherProcess', { where, theirPid, expected }), say('node.hint.otherProcess'));
  }
}

/** The loop never ran our evaluation, but the inspector thread answered: the loop is blocked. */
export class LoopBlocked extends ProctriageError {
  /** the open session (the caller closes it, possibly after asking the inspector to close) */
  session?: CdpSession;
  constructor(
    where: string,
    readonly waitedMs: number,
    readonly heap?: { used: number; total: number },
  ) {
    super('TIMEOUT', say('node.evalBlocked', { where, ms: waitedMs }));
  }
}

/** The words of a failure, for the report. */
export function reasonOf(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

export interface Stats {
  pid: number;
  version: string;
  heapUsed: number;
  heapTotal: number;
  heapLimit: number;
  external: number;
  arrayBuffers?: number;
  rss: number;
  /** used size of the old generation (every heap space but the young ones) */
  oldUsed?: number;
  /** the old generation's pages (used plus the free space inside them): what V8 holds against the limit */
  oldCommitted?: number;
  heapFlags: HeapFlags;
  handles?: Record<string, number>;
  requests?: Record<string, number>;
  source: string;
}

export interface WindowStats {
  windowMs: number;
  samples: number;
  p50?: number;
  p99?: number;
  max?: number;
  /** event-loop utilisation over the window, 0–1 */
  utilization?: number;
  /** the window was extended because the loop looked busy */
  extended: boolean;
  gcMs?: number;
  gcCount: number;
}

export interface EvalOptions {
  awaitPromise?: boolean;
  /** CDP-side limit on the evaluation's own run time (stops runaway code, the target survives) */
  cdpTimeoutMs?: number;
}

/** Runtime.evaluate of one constant expression; returns the value or throws with the reason. */
export async function evaluate(session: CdpSession, expression: string, d: { timeoutMs: number; signal?: AbortSignal }, o: EvalOptions = {}): Promise<unknown> {
  const res = await session.send(
    'Runtime.evaluate',
    {
      expression,
      includeCommandLineAPI: true,
      returnByValue: true,
      silent: true,
      ...(o.awaitPromise ? { awaitPromise: true } : {}),
      ...(o.cdpTimeoutMs ? { timeout: o.cdpTimeoutMs } : {}),
    },
    d,
  );
  if (res.exceptionDetails) {
    const ex = res.exceptionDetails;
    const text = typeof ex.exception?.description === 'string' ? (ex.exception.description.split('\n')[0] ?? '') : String(ex.text ?? 'exception');
    throw new CdpError(say('node.evalFailed', { text: text.slice(0, 200) }));
  }
  if (!res.result || typeof res.result !== 'object') throw new CdpError(say('node.malformedEvaluate', { where: session.where }));
  return res.result.value;
}

/** A count or a size from the peer: a non-negative safe integer (1e29 goroutines or handles is no fact). */
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
/** A duration from the peer: finite and non-negative. */
const dur = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1e12 ? v : undefined);

/** Counts by type name, sanitised: type names come from the target and must stay small and plain. */
function counts(v: unknown): Record<string, number> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, number> = {};
  let i = 0;
  for (const [k, n] of Object.entries(v as Record<string, unknown>)) {
    const c = num(n);
    if (c === undefined) continue;
    const name = /^[A-Za-z_$][\w$]{0,63}$/.test(k) && i++ < 100 ? k : 'Other';
    out[name] = (out[name] ?? 0) + c;
  }
  return out;
}

export function parseStats(v: unknown, where: string): Stats {
  const bad = (what: string) => new CdpError(say('node.malformedFacts', { where, what }));
  if (!v || typeof v !== 'object') throw bad('not an object');
  const o = v as Record<string, unknown>;
  const pid = num(o.pid),
    heapUsed = num(o.heapUsed),
    heapTotal = num(o.heapTotal),
    heapLimit = num(o.heapLimit);
  if (pid === undefined || !Number.isInteger(pid)) throw bad('pid');
  if (heapUsed === undefined || heapTotal === undefined || heapLimit === undefined) throw bad('heap');
  const version = typeof o.version === 'string' && /^v\d+\.\d+\.\d+[\w.+-]{0,40}$/.test(o.version) ? o.version : 'unknown';
  const handles = counts(o.handles),
    requests = counts(o.requests);
  const arrayBuffers = num(o.arrayBuffers),
    oldUsed = num(o.oldUsed),
    oldCommitted = num(o.oldCommitted);
  const f = o.heapFlags && typeof o.heapFlags === 'object' ? (o.heapFlags as Record<string, unknown>) : {};
  const mb = (v: unknown) => {
    const x = num(v);
    return x !== undefined && x > 0 && x < 2 ** 32 ? x : undefined;
  };
  const v8Major = typeof o.v8 === 'string' && /^\d{1,3}\./.test(o.v8) ? Number(o.v8.split('.')[0]) : undefined;
  const heapFlags: HeapFlags = Object.fromEntries(
    Object.entries({
      maxOldSpaceMb: mb(f.maxOldSpaceMb),
      maxOldSpacePercentage: mb(f.maxOldSpacePercentage),
      maxSemiSpaceMb: mb(f.maxSemiSpaceMb),
      v8Major,
    }).filter(([, v]) => v !== undefined),
  );
  return {
    pid,
    version,
    heapUsed,
    heapTotal,
    heapLimit,
    external: num(o.external) ?? 0,
    ...(arrayBuffers !== undefined ? { arrayBuffers } : {}),
    rss: num(o.rss) ?? 0,
    ...(oldUsed !== undefined ? { oldUsed } : {}),
    ...(oldCommitted !== undefined ? { oldCommitted } : {}),
    heapFlags,
    ...(handles ? { handles } : {}),
    ...(requests ? { requests } : {}),
    source: typeof o.source === 'string' ? o.source.slice(0, 40) : 'none',
  };
}

export function parseWindow(v: unknown, where: string): WindowStats {
  if (!v || typeof v !== 'object') throw new CdpError(say('node.malformedWindow', { where }));
  const o = v as Record<string, unknown>;
  const windowMs = dur(o.windowMs);
  if (windowMs === undefined) throw new CdpError(say('node.malformedWindow', { where, what: 'window' }));
  const p50 = dur(o.p50),
    p99 = dur(o.p99),
    max = dur(o.max),
    gcMs = dur(o.gcMs);
  const u = dur(o.utilization);
  return {
    windowMs,
    samples: num(o.samples) ?? 0,
    gcCount: num(o.gcCount) ?? 0,
    extended: o.extended === true,
    ...(p50 !== undefined ? { p50 } : {}),
    ...(p99 !== undefined ? { p99 } : {}),
    ...(max !== undefined ? { max } : {}),
    ...(u !== undefined && u <= 1 ? { utilization: u } : {}),
    ...(gcMs !== undefined ? { gcMs } : {}),
  };
}

export interface Attached {
  session: CdpSession;
  addr: InspectorAddress;
  stats: Stats;
  /** ms the stats evaluation took, round trip */
  statsMs: number;
}

export interface AttachOptions {
  allowRemote?: boolean;
  /** the pid the target sees for itself (last NSpid field) */
  expectedPid: number;
  /** runs the moment the session is open, before any other evaluation (arms the dead-man timer) */
  onOpen?: (session: CdpSession) => void;
}

/**
 * Connect (GET /json/list unless the address carries the session path), then read the cheap
 * facts and check process.pid. Closes the session on any failure.
 */
export async function attach(addr: InspectorAddress, budget: Budget, o: AttachOptions): Promise<Attached> {
  const where = `inspector at ${formatAddress(addr)}`;
  let path = addr.path;
  if (path === undefined) {
    const targets = await listTargets(addr, o.allowRemote, budget.deadline(800));
    path = (targets.find((t) => t.type === 'node') ?? targets[0]).path;
  }
  const session = await CdpSession.open(addr, path, { ...budget.deadline(1000), allowRemote: o.allowRemote });
  o.onOpen?.(session);
  try {
    const t0 = performance.now();
    let value: unknown;
    const d = budget.deadline(1500);
    try {
      value = await evaluate(session, STATS_EXPRESSION, d, { cdpTimeoutMs: 1000 });
    } catch (err) {
      if (!(err instanceof CdpTimeout) || session.closed || session.malformed) throw err;
      // is only the JS thread busy? getHeapUsage is answered by the inspector between JS steps
      const heap = await session.send('Runtime.getHeapUsage', undefined, budget.deadline(700)).catch(() => undefined);
      if (!heap || num(heap.usedSize) === undefined) throw err;
      const blocked = new LoopBlocked(where, d.timeoutMs, { used: heap.usedSize, total: heap.totalSize });
      blocked.session = session;
      throw blocked;
    }
    const stats = parseStats(value, where);
    if (stats.pid !== o.expectedPid) throw new IdentityMismatch(where, stats.pid, o.expectedPid);
    return { session, addr, stats, statsMs: performance.now() - t0 };
  } catch (err) {
    if (!(err instanceof LoopBlocked)) session.close();
    throw err;
  }
}

/**
 * Event-loop delay, utilisation and GC time over a 300 ms window, or 2.2 s when the loop looks
 * busy (`long`: the caller's request already waited for it). Nothing blocks in the target; the
 * deadline leaves room for a block at the window's end.
 */
export async function sampleWindow(a: Attached, budget: Budget, long = false): Promise<WindowStats> {
  const v = await evaluate(a.session, long ? LONG_WINDOW_EXPRESSION : WINDOW_EXPRESSION, budget.deadline(4000), { awaitPromise: true, cdpTimeoutMs: 4000 });
  return parseWindow(v, a.session.where);
}

export type Listing = { addr: InspectorAddress; path: string; error?: undefined } | { addr: InspectorAddress; error: Error; path?: undefined };

/**
 * GET /json/list on several addresses at once, yielding answers as they come (a port that
 * is not an inspector, and never answers, then costs nothing). Leaving the loop early
 * cancels the requests still in flight.
 */
export async function* listingsAsTheyCome(addrs: InspectorAddress[], budget: Budget, allowRemote: boolean | undefined): AsyncGenerator<Listing> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  budget.signal?.addEventListener('abort', onAbort, { once: true });
  const pending = new Map<number, Promise<{ i: number; l: Listing }>>();
  addrs.forEach((addr, i) => {
    pending.set(
      i,
      (async () => {
        try {
          const list = await listTargets(addr, allowRemote, {
            timeoutMs: budget.left(800),
            signal: ac.signal,
            ownEndpoints: budget.ownEndpoints,
            ...(budget.route ? { route: budget.route } : {}),
          });
          return { i, l: { addr, path: (list.find((t) => t.type === 'node') ?? list[0]).path } };
        } catch (error) {
          return { i, l: { addr, error: error as Error } };
        }
      })(),
    );
  });
  try {
    while (pending.size) {
      const { i, l } = await Promise.race(pending.values());
      pending.delete(i);
      yield l;
    }
  } finally {
    ac.abort();
    budget.signal?.removeEventListener('abort', onAbort);
  }
}
