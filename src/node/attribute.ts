/**
 * From a resource to the code behind it, over an inspector session already proven the target's:
 * where the active timers' callbacks are defined, which peers the open sockets talk to, which
 * functions held the event loop (a short CPU profile), and which allocation sites grew over a
 * watch (V8's sampling heap profiler). Every sampler started here is stopped here, in a finally:
 * a profiler left on keeps every sample. The rankings are pure (profiles.ts).
 */
import type { Protocol } from 'devtools-protocol/types/protocol.js';
import { CdpError, type CdpSession } from '../transports/inspector.js';
import { GROUP_TIMERS_FUNCTION, PEERS_EXPRESSION, TIMEOUT_PROTOTYPE_EXPRESSION, TIMER_FNS_FUNCTION, TIMER_META_FUNCTION } from './expressions.js';
import { evaluate, type Budget } from './attach.js';
import type { CpuProfile, SamplingHeapProfile, TimerGroup } from './profiles.js';

/** Remote objects of ours in the target live in this group, released when done. */
const GROUP = 'proctriage';
/** Callbacks whose location is read (the census sends at most this many groups). */
export const TIMER_SAMPLE = 200;
/** Sampling interval of the CPU profile (µs). */
export const CPU_SAMPLING_US = 1000;
/** Length of the CPU profile (ms), cut short to fit the deadline. */
export const CPU_PROFILE_MS = 500;
/** Mean bytes between two samples of the sampling heap profiler (V8's default). */
export const HEAP_SAMPLING_BYTES = 32 * 1024;

/** Targets (by pid) whose watch window is open: their samples leave the census and the CPU profile to the window's end. */
export const windowsOpen = new Set<number>();

export function heapWindowOpen(pid: number): boolean {
  return windowsOpen.has(pid);
}

/** A deadline of our own for the step that undoes something: it runs even after the probe's deadline. */
const undo = (ms: number) => ({ timeoutMs: ms });

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);

export interface TimerCensus {
  total: number;
  unique: number;
  groups: TimerGroup[];
  /** ms of the heap walk (Runtime.queryObjects runs a full GC first) */
  queryMs: number;
  /** ms the Debugger domain was enabled, or undefined when it was not needed */
  debuggerMs?: number;
}

function objectId(r: { result?: Protocol.Runtime.RemoteObject; exceptionDetails?: Protocol.Runtime.ExceptionDetails }, what: string): string {
  if (r.exceptionDetails || !r.result?.objectId) throw new CdpError(`the target could not give ${what}`);
  return r.result.objectId;
}

/**
 * The active timers grouped by callback, with where each callback is defined: Runtime.queryObjects
 * over Timeout.prototype, a grouping function of ours called on the result, [[FunctionLocation]]
 * of at most TIMER_SAMPLE callbacks, and their scripts' URLs from the Debugger domain (enabled
 * only for that, pauses skipped, disabled again).
 */
export async function timerCensus(s: CdpSession, budget: Budget): Promise<TimerCensus> {
  try {
    const proto = await s.send(
      'Runtime.evaluate',
      {
        expression: TIMEOUT_PROTOTYPE_EXPRESSION,
        objectGroup: GROUP,
        includeCommandLineAPI: true,
        silent: true,
        timeout: 500,
      },
      budget.deadline(1500),
    );
    const t0 = performance.now();
    const q = await s.send('Runtime.queryObjects', { prototypeObjectId: objectId(proto, 'the Timeout prototype'), objectGroup: GROUP }, budget.deadline(5000));
    const queryMs = Math.round(performance.now() - t0);
    const grouped = await s.send(
      'Runtime.callFunctionOn',
      {
        objectId: objectId({ result: q.objects }, 'its timers'),
        functionDeclaration: GROUP_TIMERS_FUNCTION,
        objectGroup: GROUP,
        silent: true,
      },
      budget.deadline(2000),
    );
    const gid = objectId(grouped, 'its timers grouped');
    const metaR = await s.send(
      'Runtime.callFunctionOn',
      { objectId: gid, functionDeclaration: TIMER_META_FUNCTION, returnByValue: true, silent: true },
      budget.deadline(1500),
    );
    const meta = metaR.result?.value as { total?: unknown; unique?: unknown; groups?: unknown } | undefined;
    const total = num(meta?.total),
      unique = num(meta?.unique);
    if (total === undefined || unique === undefined || !Array.isArray(meta?.groups)) throw new CdpError('the target sent a malformed timer census');
    const groups: TimerGroup[] = meta.groups.slice(0, TIMER_SAMPLE).map((g: Record<string, unknown>) => ({
      name: typeof g?.name === 'string' ? g.name.slice(0, 200) : '',
      n: num(g?.n) ?? 0,
      intervals: num(g?.intervals) ?? 0,
    }));
    if (!groups.length) return { total, unique, groups, queryMs };
    const fnsR = await s.send(
      'Runtime.callFunctionOn',
      { objectId: gid, functionDeclaration: TIMER_FNS_FUNCTION, objectGroup: GROUP, silent: true },
      budget.deadline(1500),
    );
    const list = await s.send('Runtime.getProperties', { objectId: objectId(fnsR, 'the callbacks'), ownProperties: true }, budget.deadline(1500));
    const ids: (string | undefined)[] = groups.map(() => undefined);
    for (const p of list.result) {
      const i = /^\d+$/.test(p.name) ? Number(p.name) : -1;
      if (i >= 0 && i < ids.length && p.value?.objectId) ids[i] = p.value.objectId;
    }
    // sent together: the inspector answers them in order, with no round trip between
    const locations = await Promise.all(
      ids.map((id) =>
        id === undefined
          ? Promise.resolve(undefined)
          : s.send('Runtime.getProperties', { objectId: id, ownProperties: true }, budget.deadline(3000)).then(
              (r) => {
                const v = r.internalProperties?.find((x) => x.name === '[[FunctionLocation]]')?.value?.value as Record<string, unknown> | undefined;
                return v && typeof v.scriptId === 'string' && num(v.lineNumber) !== undefined
                  ? { scriptId: v.scriptId, lineNumber: v.lineNumber as number }
                  : undefined;
              },
              () => undefined,
            ),
      ),
    );
    const wanted = new Set(locations.flatMap((l) => (l ? [l.scriptId] : [])));
    const t1 = performance.now();
    const urls = wanted.size ? await scriptUrls(s, wanted, budget) : new Map<string, string>();
    const debuggerMs = wanted.size ? Math.round(performance.now() - t1) : undefined;
    groups.forEach((g, i) => {
      const l = locations[i];
      if (!l) return;
      const url = urls.get(l.scriptId);
      if (url !== undefined) Object.assign(g, { url, lineNumber: l.lineNumber });
    });
    return { total, unique, groups, queryMs, ...(debuggerMs !== undefined ? { debuggerMs } : {}) };
  } finally {
    await s.send('Runtime.releaseObjectGroup', { objectGroup: GROUP }, undo(1000)).catch(() => undefined);
  }
}

/**
 * The URLs of some scripts: Debugger.enable reports every parsed script (scriptParsed) before it
 * answers. Pauses are skipped from the next message on (a `debugger;` statement must not stop
 * the target), and the domain is disabled again whatever happens. Nothing else of the domain.
 */
export async function scriptUrls(s: CdpSession, wanted: Set<string>, budget: Budget): Promise<Map<string, string>> {
  const urls = new Map<string, string>();
  const off = s.on('Debugger.scriptParsed', (p) => {
    if (p && typeof p.scriptId === 'string' && typeof p.url === 'string' && wanted.has(p.scriptId)) urls.set(p.scriptId, p.url.slice(0, 4096));
  });
  try {
    // sent back to back: both are dispatched before the target's JS runs again
    const [enabled] = await Promise.allSettled([
      s.send('Debugger.enable', {}, budget.deadline(3000)),
      s.send('Debugger.setSkipAllPauses', { skip: true }, budget.deadline(3000)),
    ]);
    if (enabled.status === 'rejected') throw enabled.reason;
  } finally {
    off();
    await s.send('Debugger.disable', undefined, undo(1500)).catch(() => undefined);
  }
  return urls;
}

/** Open sockets grouped by the other end (counted inside the target). */
export async function socketPeers(
  s: CdpSession,
  budget: Budget,
): Promise<{ sockets: number; distinct: number; peers: { peer: string; n: number }[] } | undefined> {
  const v = (await evaluate(s, PEERS_EXPRESSION, budget.deadline(1500), { cdpTimeoutMs: 1000 })) as Record<string, unknown> | null;
  if (!v || typeof v !== 'object') return undefined;
  const sockets = num(v.sockets),
    distinct = num(v.distinct);
  if (sockets === undefined || distinct === undefined || !Array.isArray(v.peers)) return undefined;
  const peers = v.peers.slice(0, 20).flatMap((p: Record<string, unknown>) => {
    const n = num(p?.n);
    return typeof p?.peer === 'string' && p.peer.length <= 120 && n !== undefined ? [{ peer: p.peer, n }] : [];
  });
  return { sockets, distinct, peers };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A CPU profile of `ms` (less when the budget is short): Profiler.enable, setSamplingInterval,
 * start, wait, stop, disable. The profiler is stopped and disabled in a finally, on a deadline of
 * its own. The inspector serves these requests between JS steps, so this works on a loop held by
 * synchronous code too.
 */
export async function cpuProfile(s: CdpSession, budget: Budget, ms = CPU_PROFILE_MS): Promise<CpuProfile> {
  let running = false;
  try {
    await s.send('Profiler.enable', undefined, budget.deadline(1000));
    await s.send('Profiler.setSamplingInterval', { interval: CPU_SAMPLING_US }, budget.deadline(1000));
    await s.send('Profiler.start', undefined, budget.deadline(1000));
    running = true;
    // keep what stop and disable need
    await sleep(Math.max(50, Math.min(ms, budget.left() - 1500)), budget.signal);
    const r = await s.send('Profiler.stop', undefined, budget.deadline(3000));
    running = false;
    if (!r?.profile || !Array.isArray(r.profile.nodes)) throw new CdpError('the target sent a malformed CPU profile');
    return r.profile;
  } finally {
    if (running) await s.send('Profiler.stop', undefined, undo(1500)).catch(() => undefined);
    await s.send('Profiler.disable', undefined, undo(1000)).catch(() => undefined);
  }
}

/** Start V8's sampling heap profiler, counting only objects still alive when it stops. */
export async function startHeapSampling(s: CdpSession, budget: Budget): Promise<void> {
  await s.send(
    'HeapProfiler.startSampling',
    {
      samplingInterval: HEAP_SAMPLING_BYTES,
      includeObjectsCollectedByMajorGC: false,
      includeObjectsCollectedByMinorGC: false,
    },
    budget.deadline(1500),
  );
}

/** Stop it and return the profile of live objects allocated since the start. */
export async function stopHeapSampling(s: CdpSession, timeoutMs: number): Promise<SamplingHeapProfile> {
  const r = await s.send('HeapProfiler.stopSampling', undefined, { timeoutMs });
  if (!r?.profile?.head) throw new CdpError('the target sent a malformed heap profile');
  return r.profile;
}
