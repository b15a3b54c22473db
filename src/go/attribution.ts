/**
 * Where in the code, from a Go process's net/http/pprof endpoint: the requests that take a
 * protobuf profile (heap, CPU, goroutine leak) and turn it into an Attribution, or into one that
 * says why it is not available and what would give it. Every request is bounded in time and
 * bytes (GetOptions); a response cut at its cap is not decoded (a cut profile is not a profile).
 */
import { unavailableAttribution, type Attribution } from '../engine/attribution.js';
import { say } from '../messages.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { displayUrl, endpointUrl, getBytes, getLines, getText, type GetOptions } from '../transports/pprof.js';
import { allocSites, cpuTop, decodeProfile, goroutineSites, heapGrowth, heapSites, loneGoroutine, type GoProfile, type LoneGoroutine } from './profile.js';
import { GoroutineEntryReader } from './goroutines.js';

export const ATTRIBUTION_LIMITS = {
  heapMs: 4000,
  /** a heap profile holds one record per sampled allocation stack: MBs for a large service */
  heapBytes: 16 * 2 ** 20,
  /** the CPU profile's length, and what its request may take beyond it */
  cpuSeconds: 2,
  cpuSlackMs: 2000,
  cpuBytes: 8 * 2 ** 20,
  indexMs: 1000,
  leakMs: 4000,
  /** goroutine dumps taken over a CPU profile to tell its goroutines apart: at its start, middle and end */
  looks: 3,
  lookMs: 1500,
  lookBytes: 16 * 2 ** 20,
  leakBytes: 16 * 2 ** 20,
};

/** Request options for a deadline and a byte cap (the caller's signal and settings inside). */
export type Requester = (timeoutMs: number, maxBytes: number) => GetOptions;

type Kind = Attribution['kind'];

export const unavailable = unavailableAttribution;

export const SOURCES = {
  heap: () => say('go.attr.heapSource'),
  allocs: () => say('go.attr.allocSource'),
  growth: () => say('go.attr.growthSource'),
  cpu: () => say('go.attr.cpuSource'),
  leak: () => say('go.attr.leakSource'),
};

/** A taken profile, or why there is none (with a hint when something would give it). */
export type Taken = { profile: GoProfile; at: number } | { reason: string; hint?: string };

/** GET a protobuf profile and decode it. */
export async function takeProfile(base: URL, path: string, what: string, req: GetOptions): Promise<Taken> {
  const url = endpointUrl(base, path);
  let r;
  try {
    r = await getBytes(url, req);
  } catch (err) {
    return { reason: say('go.attr.failed', { what, error: (err as Error).message }) };
  }
  if (r.status !== 200) {
    const text = r.body.subarray(0, 200).toString('utf8').trim().split('\n')[0] ?? '';
    if (/already in use/i.test(text)) return { reason: say('go.attr.cpuInUse', { text }), hint: say('go.attr.hint.cpuInUse') };
    return { reason: say('go.attr.refused', { what: `${displayUrl(base)}${path}`, status: r.status, text }) };
  }
  if (r.capped) return { reason: say('go.attr.tooLarge', { what, mib: Math.round(req.maxBytes / 2 ** 20) }) };
  if (!r.complete) return { reason: say('go.attr.failed', { what, error: r.incomplete ?? 'the body did not finish' }) };
  try {
    const profile = await decodeProfile(r.body, what);
    if (profile.samples.length && !profile.symbolized) return { reason: say('go.attr.noSymbols'), hint: say('go.attr.hint.symbols') };
    return { profile, at: Date.now() };
  } catch (err) {
    return { reason: (err as Error).message };
  }
}

export function takeHeap(base: URL, req: Requester): Promise<Taken> {
  return takeProfile(base, '/debug/pprof/heap', 'the heap profile', req(ATTRIBUTION_LIMITS.heapMs, ATTRIBUTION_LIMITS.heapBytes));
}

/** An attribution, and what was requested of the target for it (for "done to the target"). */
export interface Attributed {
  attribution: Attribution;
  requested: string[];
}

/** What holds heap memory now. */
export async function heapNow(base: URL, req: Requester, cwd?: string): Promise<Attributed> {
  return (await heapViews(base, req, cwd)).inuse;
}

/** One heap profile, read two ways: what holds memory now (in-use) and what allocates most (since start). */
export async function heapViews(base: URL, req: Requester, cwd?: string): Promise<{ inuse: Attributed; alloc: Attributed }> {
  const t = await takeHeap(base, req);
  const requested = ['/debug/pprof/heap'];
  if ('reason' in t) {
    return {
      inuse: { attribution: unavailable('allocation-sites', SOURCES.heap(), t.reason, t.hint), requested },
      alloc: { attribution: unavailable('allocation-sites', SOURCES.allocs(), t.reason, t.hint), requested },
    };
  }
  return {
    inuse: { attribution: guarded('allocation-sites', SOURCES.heap(), () => heapSites(t.profile, SOURCES.heap(), { cwd })), requested },
    alloc: { attribution: guarded('allocation-sites', SOURCES.allocs(), () => allocSites(t.profile, SOURCES.allocs(), { cwd })), requested },
  };
}

/** What grew between two heap profiles. */
export function heapDiff(before: Taken, after: Taken, cwd?: string): Attribution {
  if ('reason' in before) return unavailable('allocation-growth', SOURCES.growth(), say('go.attr.windowLost', { why: before.reason }), before.hint);
  if ('reason' in after) return unavailable('allocation-growth', SOURCES.growth(), after.reason, after.hint);
  const windowSeconds = Math.round((after.at - before.at) / 100) / 10;
  return guarded('allocation-growth', SOURCES.growth(), () => heapGrowth(before.profile, after.profile, SOURCES.growth(), { cwd, windowSeconds }));
}

/**
 * A CPU profile of `seconds`, when that fits in the time left (`leftMs`). The runtime allows
 * one CPU profile at a time: a second one is refused with HTTP 500 "already in use".
 */
export async function cpuNow(base: URL, req: Requester, leftMs: number, cwd?: string, seconds = ATTRIBUTION_LIMITS.cpuSeconds): Promise<Attributed> {
  const source = SOURCES.cpu();
  const needMs = seconds * 1000 + 500;
  if (leftMs < needMs)
    return { attribution: unavailable('hot-functions', source, say('go.attr.noTime', { seconds }), say('go.attr.hint.timeout')), requested: [] };
  const path = `/debug/pprof/profile?seconds=${seconds}`;
  const t = await takeProfile(
    base,
    path,
    'the CPU profile',
    req(Math.min(leftMs, seconds * 1000 + ATTRIBUTION_LIMITS.cpuSlackMs), ATTRIBUTION_LIMITS.cpuBytes),
  );
  if ('reason' in t) return { attribution: unavailable('hot-functions', source, t.reason, t.hint), requested: [path] };
  return { attribution: guarded('hot-functions', source, () => cpuTop(t.profile, source, { cwd })), requested: [path] };
}

/** The lone goroutine of a CPU profile (see loneGoroutine), the profile's hot functions, what was requested. */
type LoneRead = ({ lone: LoneGoroutine; top: Attribution } | { reason: string; hint?: string }) & { requested: string[] };

/**
 * A CPU profile of `seconds` with goroutine dumps at its start, middle and end: the CPU of a
 * goroutine that no thread shows whole (GOMAXPROCS above 1 moves it between threads).
 */
export async function loneNow(base: URL, req: Requester, leftMs: number, cwd?: string, seconds = ATTRIBUTION_LIMITS.cpuSeconds): Promise<LoneRead> {
  if (leftMs < seconds * 1000 + 500 + ATTRIBUTION_LIMITS.lookMs)
    return { reason: say('go.attr.noTime', { seconds }), hint: say('go.attr.hint.timeout'), requested: [] };
  const path = `/debug/pprof/profile?seconds=${seconds}`;
  const profile = takeProfile(
    base,
    path,
    'the CPU profile',
    req(Math.min(leftMs, seconds * 1000 + ATTRIBUTION_LIMITS.cpuSlackMs), ATTRIBUTION_LIMITS.cpuBytes),
  );
  const opts = req(ATTRIBUTION_LIMITS.lookMs, ATTRIBUTION_LIMITS.lookBytes);
  const looks: (Map<number, string | undefined> | string)[] = [];
  // the last look just before the profile ends, so that every look falls inside it
  const gap = (seconds * 1000 - 300) / (ATTRIBUTION_LIMITS.looks - 1);
  const started = Date.now();
  try {
    for (let k = 0; k < ATTRIBUTION_LIMITS.looks; k++) {
      await sleep(Math.max(0, started + k * gap - Date.now()), undefined, opts.signal ? { signal: opts.signal } : {});
      const look = await goroutineEntries(base, opts);
      looks.push(look);
      if (typeof look === 'string') break;
    }
  } catch (err) {
    looks.push(say('go.attr.failed', { what: 'the goroutine dump', error: (err as Error).message }));
  }
  const t = await profile;
  const requested = [path, `/debug/pprof/goroutine?debug=2 (${looks.length}×)`];
  if ('reason' in t) return { reason: t.reason, ...(t.hint ? { hint: t.hint } : {}), requested };
  const failed = looks.find((l): l is string => typeof l === 'string');
  if (failed) return { reason: failed, requested };
  try {
    const lone = loneGoroutine(t.profile, looks as Map<number, string | undefined>[]);
    return { lone, top: guarded('hot-functions', SOURCES.cpu(), () => cpuTop(t.profile, SOURCES.cpu(), { cwd })), requested };
  } catch (err) {
    return { reason: (err as Error).message, requested };
  }
}

/** One goroutine dump, as goroutine id to the function it started in; or why there is none. */
async function goroutineEntries(base: URL, opts: GetOptions): Promise<Map<number, string | undefined> | string> {
  const reader = new GoroutineEntryReader();
  const r = await getLines(endpointUrl(base, '/debug/pprof/goroutine?debug=2'), opts, (line) => reader.push(line));
  const what = `${displayUrl(base)}/debug/pprof/goroutine?debug=2`;
  if (r.status !== 200) return say('go.attr.refused', { what, status: r.status, text: '' });
  const { entries, complete } = reader.end();
  if (!r.complete || !complete)
    return say('go.attr.failed', { what: 'the goroutine dump', error: r.incomplete ?? 'not a complete dump of a modest number of goroutines' });
  return entries;
}

/** Whether the index page lists the goroutine leak profile (Go 1.26 with the experiment, 1.27 on). */
export async function offersLeakProfile(base: URL, req: Requester): Promise<boolean | string> {
  try {
    const r = await getText(endpointUrl(base, '/debug/pprof/'), req(ATTRIBUTION_LIMITS.indexMs, 256 * 1024));
    if (r.status !== 200) return say('go.attr.refused', { what: `${displayUrl(base)}/debug/pprof/`, status: r.status, text: '' });
    return /goroutineleak/.test(r.text);
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The goroutines the runtime proved leaked (blocked on something no live goroutine can ever
 * release), by the site they are parked at. Taking it runs a GC in the target: once per diagnosis.
 */
export async function leakedNow(base: URL, req: Requester, cwd?: string): Promise<Attributed> {
  const source = SOURCES.leak();
  const offered = await offersLeakProfile(base, req);
  const requested = ['/debug/pprof/'];
  if (typeof offered === 'string') return { attribution: unavailable('leaked-goroutines', source, offered), requested };
  if (!offered) return { attribution: unavailable('leaked-goroutines', source, say('go.attr.noLeakProfile'), say('go.attr.hint.leakProfile')), requested };
  requested.push('/debug/pprof/goroutineleak');
  const t = await takeProfile(base, '/debug/pprof/goroutineleak', 'the goroutine leak profile', req(ATTRIBUTION_LIMITS.leakMs, ATTRIBUTION_LIMITS.leakBytes));
  if ('reason' in t) return { attribution: unavailable('leaked-goroutines', source, t.reason, t.hint), requested };
  return { attribution: guarded('leaked-goroutines', source, () => goroutineSites(t.profile, source, 'leaked-goroutines', { cwd })), requested };
}

/** A ranking that meets a profile of the wrong shape says so instead of failing the probe. */
function guarded(kind: Kind, source: string, rank: () => Attribution): Attribution {
  try {
    return rank();
  } catch (err) {
    return unavailable(kind, source, (err as Error).message);
  }
}
