/**
 * Step 2 of the node probe: read the runtime's facts through the session connect.ts proved the
 * target's (heap, handles, the event-loop and GC window), or what a blocked loop still lets us
 * read; then the opt-in heavy tools (--heap-snapshot, --report), each after its own checks.
 */
import { say } from '../messages.js';
import { unavailableAttribution } from '../engine/attribution.js';
import { readCgroupMemory } from '../procfs/cgroup-memory.js';
import { CdpTimeout, formatAddress } from '../transports/inspector.js';
import { Budget, reasonOf, sampleWindow, type Attached, type LoopBlocked } from './attach.js';
import { oldGenerationLimit } from './heap-limit.js';
import { outputPath, snapshotRefusal, takeHeapSnapshot, writeNodeReport, type Headroom } from './heavy.js';
import type { DeadMan } from './activate.js';
import { HEAVY_TIMEOUT_MS, type Connection, type NodeOut, type NodeTarget } from './run.js';
import type { CdpSession } from '../transports/inspector.js';
import { cpuProfile, CPU_PROFILE_MS, heapWindowOpen, socketPeers, timerCensus } from './attribute.js';
import { rankCpuProfile, rankPeers, rankTimerOrigins } from './profiles.js';

/** A first evaluation that took this long waited for a busy loop: measure over the long window. */
const BUSY_AT_ARRIVAL_MS = 50;

export async function measure(t: NodeTarget, conn: Connection, out: NodeOut): Promise<void> {
  const { attached: a, blocked, how, opened } = conn;
  if (a) {
    await readFacts(a, conn.budget, out);
    out.evidence['node.inspector'] = {
      address: formatAddress(a.addr),
      how,
      identity: say(conn.trusted ? 'node.identityTrusted' : 'node.identityOwn', { pid: a.stats.pid }),
    };
    if (!opened) {
      out.metrics['node.inspectPort'] = a.addr.port;
      out.actions.push(say('node.connected', { address: formatAddress(a.addr), how }));
    }
    await attribute(t, a.session, a.stats.handles, out, a.stats.heapUsed);
    await heavyTools(t, a, out, conn.deadman);
  } else if (blocked) {
    readBlocked(blocked, how, out);
    if (!opened) out.actions.push(say('node.connectedBlocked', { address: blockedAddress(blocked), how }));
    if (blocked.session) await attribute(t, blocked.session, undefined, out);
  }
}

/**
 * Active timers of a callback location worth a census (below this, the Timeout count says enough
 * and the census's heap walk is not worth its stall), and sockets worth grouping by peer.
 */
export const ATTRIBUTE_MIN_HANDLES = 100;
/** Largest heap on which the timers are listed (Runtime.queryObjects: a full GC and a heap walk). */
const CENSUS_MAX_HEAP = 1024 * 2 ** 20;
/** Time for the attributions after the facts: a CPU profile and its stop, a timer census. */
const ATTRIBUTE_BUDGET_MS = 3500;
/** The loop looks held (the node probe's own window): take a CPU profile to name what holds it. */
const HELD = { delayMaxMs: 200, delayP99Ms: 100, utilization: 0.9 } as const;

/** The target's working directory, to shorten its paths; undefined when unreadable. */
export function targetCwd(t: NodeTarget): string | undefined {
  try {
    return t.proc.readlinkOrGone(t.pid, 'cwd');
  } catch {
    return undefined;
  }
}

/**
 * Where the code behind the facts just read is: timers by their callback's location, sockets by
 * peer, and, when the loop looked held in the window, a short CPU profile. Inside a watch whose
 * window is open for this target (window.ts), the samples leave this to the window's end.
 */
async function attribute(t: NodeTarget, s: CdpSession, handles: Record<string, number> | undefined, out: NodeOut, heapUsed?: number): Promise<void> {
  if (heapWindowOpen(t.pid)) return;
  // a budget of its own after the facts' (a blocked loop may have used all of theirs)
  const budget = new Budget(ATTRIBUTE_BUDGET_MS, t.signal, t.options.ownEndpoints);
  const cwd = targetCwd(t);
  const m = out.metrics;
  const held =
    out.evidence['node.eventLoop.lowerBound'] === true ||
    (typeof m['node.eventLoop.delayMaxMs'] === 'number' && m['node.eventLoop.delayMaxMs'] >= HELD.delayMaxMs) ||
    (typeof m['node.eventLoop.delayP99Ms'] === 'number' && m['node.eventLoop.delayP99Ms'] >= HELD.delayP99Ms) ||
    (typeof m['node.eventLoop.utilization'] === 'number' && m['node.eventLoop.utilization'] >= HELD.utilization);
  if (held) await attributeCpu(s, budget, cwd, out);
  if (handles) await attributeHandles(s, budget, handles, cwd, out, heapUsed);
}

async function attributeCpu(s: CdpSession, budget: Budget, cwd: string | undefined, out: NodeOut): Promise<void> {
  const ms = Math.min(CPU_PROFILE_MS, budget.left() - 1500);
  if (ms < 100) {
    out.evidence['node.cpu.top'] = unavailableAttribution(
      'hot-functions',
      say('node.attr.cpuSource'),
      say('node.attr.noTimeLeft'),
      say('node.hint.raiseTimeout'),
    );
    return;
  }
  const t0 = performance.now();
  try {
    const p = await cpuProfile(s, budget, ms);
    out.evidence['node.cpu.top'] = rankCpuProfile(p, cwd, say('node.attr.cpuSource'));
    out.actions.push(say('node.attr.cpuTaken', { ms: Math.round(performance.now() - t0) }));
  } catch (err) {
    out.evidence['node.cpu.top'] = unavailableAttribution(
      'hot-functions',
      say('node.attr.cpuSource'),
      say('node.attr.failed', { error: reasonOf(err) }),
      say('node.hint.raiseTimeout'),
    );
    out.actions.push(say('node.attr.cpuAttempted'));
  }
}

/** Timers by callback location and sockets by peer, each when there are enough of them to matter. */
export async function attributeHandles(
  s: CdpSession,
  budget: Budget,
  handles: Record<string, number>,
  cwd: string | undefined,
  out: NodeOut,
  heapUsed?: number,
): Promise<void> {
  if ((handles.Timeout ?? 0) >= ATTRIBUTE_MIN_HANDLES && heapUsed !== undefined && heapUsed > CENSUS_MAX_HEAP) {
    // the census's GC and heap walk grow with the heap (about 0.5 ms per MiB measured): not on a big one
    const mib = Math.round(heapUsed / 2 ** 20);
    out.evidence['node.timers.origins'] = unavailableAttribution(
      'timer-origins',
      say('node.attr.timerSource', { unique: 0, sampled: 0 }),
      say('node.attr.heapTooBig', { mib, ms: Math.round(mib * 0.5) }),
      say('node.attr.hint.snapshot'),
    );
  } else if ((handles.Timeout ?? 0) >= ATTRIBUTE_MIN_HANDLES) {
    try {
      const c = await timerCensus(s, budget);
      const a = rankTimerOrigins(c.total, c.groups, cwd, say('node.attr.timerSource', { unique: c.unique, sampled: c.groups.length }));
      const { scaled: _scaled, ...attribution } = a;
      out.evidence['node.timers.origins'] = attribution;
      out.actions.push(say('node.attr.timersCensus', { ms: c.queryMs, ...(c.debuggerMs !== undefined ? { debuggerMs: c.debuggerMs } : {}) }));
    } catch (err) {
      out.evidence['node.timers.origins'] = unavailableAttribution(
        'timer-origins',
        say('node.attr.timerSource', { unique: 0, sampled: 0 }),
        say('node.attr.failed', { error: reasonOf(err) }),
        say('node.hint.raiseTimeout'),
      );
      out.actions.push(say('node.attr.timersAttempted'));
    }
  }
  if ((handles.TCPSocketWrap ?? 0) >= ATTRIBUTE_MIN_HANDLES) {
    try {
      const p = await socketPeers(s, budget);
      if (p) out.evidence['node.handles.peers'] = rankPeers(p.sockets, p.peers, say('node.attr.peerSource', { distinct: p.distinct }));
    } catch {
      // the counts by type stand without it
    }
  }
}

const blockedAddress = (b: LoopBlocked) => b.session?.where.replace(/^inspector at /, '') ?? '';

/** The loop never ran our evaluation: the heap size, and the wait as a lower bound of its delay. */
function readBlocked(b: LoopBlocked, how: string, out: NodeOut): void {
  if (b.heap) {
    out.metrics['node.heap.used'] = b.heap.used;
    out.metrics['node.heap.total'] = b.heap.total;
  }
  out.metrics['node.eventLoop.delayP99Ms'] = b.waitedMs;
  out.metrics['node.eventLoop.delayMaxMs'] = b.waitedMs;
  out.evidence['node.eventLoop.lowerBound'] = true;
  out.evidence['node.inspector'] = { address: blockedAddress(b), how, identity: say('node.identityBlocked') };
  out.unknowns.push({ metric: 'node.*', probe: 'node', code: 'node.loopBlocked', args: { why: b.message }, hint: 'node.hint.blocked' });
  out.partial = 'event loop blocked';
}

async function readFacts(a: Attached, budget: Budget, out: NodeOut): Promise<void> {
  const s = a.stats;
  const m = out.metrics;
  m['node.version'] = s.version;
  m['node.heap.used'] = s.heapUsed;
  m['node.heap.total'] = s.heapTotal;
  m['node.heap.limit'] = s.heapLimit;
  if (s.oldUsed !== undefined) {
    const old = oldGenerationLimit(s.heapLimit, s.heapFlags);
    m['node.heap.oldUsed'] = s.oldUsed;
    if (s.oldCommitted !== undefined) m['node.heap.oldCommitted'] = Math.max(s.oldCommitted, s.oldUsed);
    m['node.heap.oldLimit'] = old.bytes;
    const youngMiB = Math.round(old.youngBytes / 2 ** 20);
    out.evidence['node.heap.oldLimitSource'] = say(old.source === 'max-old-space-size' ? 'node.oldLimitFromFlag' : 'node.oldLimitDerived', { youngMiB });
  } else {
    out.unknowns.push({ metric: 'node.heap.oldUsed', probe: 'node', code: 'node.noHeapSpaces', args: { version: s.version } });
  }
  m['node.external'] = s.external;
  if (s.arrayBuffers !== undefined) m['node.arrayBuffers'] = s.arrayBuffers;
  if (s.handles) {
    let total = 0;
    for (const [type, n] of Object.entries(s.handles)) {
      m[`node.handles.byType.${type}`] = n;
      total += n;
    }
    m['node.handles.total'] = total;
    out.evidence['node.handles.top'] = Object.entries(s.handles)
      .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
      .slice(0, 5)
      .map(([type, count]) => ({ type, count }));
  } else {
    out.unknowns.push({ metric: 'node.handles.total', probe: 'node', code: 'node.noActiveResources', args: { version: s.version } });
  }
  if (s.requests) m['node.requests.total'] = Object.values(s.requests).reduce((x, y) => x + y, 0);
  await readWindow(a, budget, out);
}

/** Event-loop delay, utilisation and GC share over the window. */
async function readWindow(a: Attached, budget: Budget, out: NodeOut): Promise<void> {
  const m = out.metrics;
  const version = a.stats.version;
  try {
    // our first request waited for the loop: it is busy, and a short window may fit in one of its gaps
    const w = await sampleWindow(a, budget, a.statsMs >= BUSY_AT_ARRIVAL_MS);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    if (w.p50 !== undefined && w.p99 !== undefined) {
      m['node.eventLoop.delayP50Ms'] = r2(w.p50);
      m['node.eventLoop.delayP99Ms'] = r2(w.p99);
    } else {
      out.unknowns.push({ metric: 'node.eventLoop.delayP99Ms', probe: 'node', code: 'node.noHistogramSample' });
    }
    if (w.max !== undefined) m['node.eventLoop.delayMaxMs'] = r2(w.max);
    if (w.utilization !== undefined) m['node.eventLoop.utilization'] = Math.round(w.utilization * 1000) / 1000;
    else out.unknowns.push({ metric: 'node.eventLoop.utilization', probe: 'node', code: 'node.noUtilization', args: { version } });
    if (w.gcMs !== undefined && w.windowMs > 0) m['node.gc.percent'] = r2(Math.min(100, (w.gcMs / w.windowMs) * 100));
    else out.unknowns.push({ metric: 'node.gc.percent', probe: 'node', code: 'node.noGcEntries' });
    out.evidence['node.eventLoop.windowMs'] = Math.round(w.windowMs);
  } catch (err) {
    const waited = await blockedFor(a, err, budget);
    if (waited !== undefined) {
      // a 300 ms timer did not fire within the wait, yet the inspector thread answers: the loop is blocked
      m['node.eventLoop.delayP99Ms'] = waited;
      m['node.eventLoop.delayMaxMs'] = waited;
      out.evidence['node.eventLoop.lowerBound'] = true;
      out.unknowns.push({ metric: 'node.eventLoop.delayP50Ms', probe: 'node', code: 'node.windowBlocked', args: { ms: waited } });
      out.unknowns.push({ metric: 'node.gc.percent', probe: 'node', code: 'node.sameWindowIncomplete' });
    } else {
      out.unknowns.push({ metric: 'node.eventLoop.delayP99Ms', probe: 'node', code: 'node.windowFailed', args: { error: reasonOf(err) } });
      out.unknowns.push({ metric: 'node.gc.percent', probe: 'node', code: 'node.sameWindow' });
      out.partial = 'event-loop window failed';
    }
  }
}

/**
 * After an evaluation timed out: if the session is healthy and Runtime.getHeapUsage (served
 * between JS steps) still answers, the JS thread is busy: return the lower bound (ms) of the
 * loop's delay. Undefined when the peer itself is the problem.
 */
async function blockedFor(a: Attached, err: unknown, budget: Budget): Promise<number | undefined> {
  // a wait cut short by the budget proves little: claim a blocked loop only after a real wait
  if (!(err instanceof CdpTimeout) || err.method !== 'Runtime.evaluate' || err.waitedMs < 1000 || a.session.closed || a.session.malformed) return undefined;
  const heap = await a.session.send('Runtime.getHeapUsage', undefined, budget.deadline(700)).catch(() => undefined);
  if (!heap || typeof heap.usedSize !== 'number') return undefined;
  return Math.max(0, err.waitedMs - 300);
}

/** --heap-snapshot and --report: opt-in, after the cheap facts, each pauses the target. */
async function heavyTools(t: NodeTarget, a: Attached, out: NodeOut, deadman?: DeadMan): Promise<void> {
  const { options } = t;
  // a heavy tool stalls the target's loop for longer than the dead-man delay: the guard process watches meanwhile
  const heavy = (typeof options.heapSnapshot === 'string' && options.heapSnapshot) || (typeof options.report === 'string' && options.report);
  if (heavy && deadman) await deadman.pause();
  try {
    await runHeavy(t, a, out);
  } finally {
    if (heavy && deadman) deadman.resume();
  }
}

async function runHeavy(t: NodeTarget, a: Attached, out: NodeOut): Promise<void> {
  const { options, pid, signal } = t;
  if (typeof options.heapSnapshot === 'string' && options.heapSnapshot) {
    const file = outputPath(options.heapSnapshot, pid);
    const refusal = snapshotRefusal(a.stats.heapUsed, headroom(t), options.force === true);
    if (refusal) {
      out.unknowns.push({ probe: 'node', code: 'worded', args: { text: refusal }, hint: 'node.hint.force' });
    } else {
      try {
        const w = await takeHeapSnapshot(a.session, file, HEAVY_TIMEOUT_MS, signal, options.overwrite === true);
        out.evidence['node.heapSnapshot'] = w;
        out.actions.push(say('node.snapshotTaken', { ms: w.pausedMs, file: w.file }));
      } catch (err) {
        out.unknowns.push({ probe: 'node', code: 'node.snapshotFailed', args: { error: reasonOf(err) }, hint: 'node.hint.raiseTimeout' });
        out.partial = 'heap snapshot failed';
      }
    }
  }
  if (typeof options.report === 'string' && options.report) {
    const file = outputPath(options.report, pid);
    try {
      const w = await writeNodeReport(a.session, file, HEAVY_TIMEOUT_MS, signal, options.overwrite === true);
      out.evidence['node.report'] = w;
      out.actions.push(say('node.reportWritten', { ms: w.pausedMs, file: w.file }));
    } catch (err) {
      out.unknowns.push({ probe: 'node', code: 'node.reportFailed', args: { error: reasonOf(err) } });
      out.partial = 'report failed';
    }
  }
}

/** Memory the target may still take: its cgroup limit minus working set, and the host's MemAvailable. */
function headroom(t: NodeTarget): Headroom | undefined {
  const found: Headroom[] = [];
  try {
    const { metrics } = readCgroupMemory(t.proc, t.pid);
    const limit = metrics['cgroup.memory.limit'];
    const used = metrics['cgroup.memory.workingSet'] ?? metrics['cgroup.memory.usage'];
    if (typeof limit === 'number' && typeof used === 'number') found.push({ bytes: Math.max(0, limit - used), source: 'cgroup limit minus working set' });
  } catch {
    // unknown cgroup: the host figure still counts
  }
  try {
    const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(t.proc.read(null, 'meminfo'));
    if (m) found.push({ bytes: Number(m[1]) * 1024, source: 'host MemAvailable' });
  } catch {
    // no meminfo
  }
  return found.sort((x, y) => x.bytes - y.bytes)[0];
}
