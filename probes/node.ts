import type { Probe, ProbeContext, ProbeOutput, Unknown } from '../src/engine/probe.js';
import { innermostPid } from '../src/procfs/proc-status.js';
import { ProctriageError } from '../src/errors.js';
import { identifyRuntime } from './runtime.js';
import { readCgroupMemory } from '../src/procfs/cgroup-memory.js';
import {
  CdpSession, CdpTimeout, assertConnectAllowed, formatAddress, listTargets, parseInspectAddress, type InspectorAddress,
} from '../src/transports/inspector.js';
import { listenersFrom, ownListeners, inspectorCandidates, parseInspectFlags, ownsListenPort, type InspectFlags } from '../src/node/locate.js';
import { checkActivation, DeadMan, inspectorClients, sendSigusr1AndWait, waitListenerGone, type Guard, type Opened } from '../src/node/activate.js';
import { peerOwnership, TRUST_PEER_HINT } from '../src/engine/peer-owner.js';
import { onInterrupt } from '../src/engine/interrupt.js';
import { attach, Budget, evaluate, IdentityMismatch, listingsAsTheyCome, LoopBlocked, sampleWindow, type Attached } from '../src/node/attach.js';
import { CLOSE_INSPECTOR_EXPRESSION } from '../src/node/expressions.js';
import { oldGenerationLimit } from '../src/node/heap-limit.js';
import { outputPath, snapshotRefusal, takeHeapSnapshot, writeNodeReport, type Headroom } from '../src/node/heavy.js';

/** Budget of the default (cheap) path: discovery, attach, facts, the 300 ms window, closing. */
const DEFAULT_BUDGET_MS = 5000;
/** A first evaluation that took this long waited for a busy loop: measure over the long window. */
const BUSY_AT_ARRIVAL_MS = 50;
/** How long to watch for the inspector after SIGUSR1 (not cut short by the deadline: what opens is closed). */
const ACTIVATION_WAIT_MS = 2500;
/** Heavy tools (--heap-snapshot, --report) are bounded by the overall --timeout only. */
const HEAVY_TIMEOUT_MS = 30 * 60_000;

/**
 * The Node.js runtime through its inspector: V8 heap against its limit, active handles and
 * requests by type, event-loop delay and GC share over a short window. Uses the address given
 * with --inspect, or an inspector the process already has open (found from its flags and its
 * own LISTEN sockets), or, with --activate-inspector, opens one with SIGUSR1 and closes it
 * again. Every connection is checked to belong to the target (process.pid).
 */
export const probe: Probe = {
  meta: {
    id: 'node',
    description: 'Node.js heap, handles, event-loop delay and GC through the V8 inspector (--inspect, an already-open inspector, or --activate-inspector)',
    runtime: 'node',
    requestedBy: ['inspect', 'activateInspector'],
    // the cheap path has its own 5 s budget; --heap-snapshot on a big heap can take minutes (bounded by --timeout)
    timeoutMs: HEAVY_TIMEOUT_MS,
    facts: {
      'node.heap.used': { unit: 'bytes', description: 'V8 heap used (process.memoryUsage().heapUsed)' },
      'node.heap.total': { unit: 'bytes', description: 'V8 heap reserved (heapTotal)' },
      'node.heap.limit': { unit: 'bytes', description: 'V8 heap size limit (v8.getHeapStatistics().heap_size_limit): old generation plus the young generation\'s reservation' },
      'node.heap.oldUsed': { unit: 'bytes', description: 'used size of the old generation: every V8 heap space but new_space and new_large_object_space' },
      'node.heap.oldCommitted': { unit: 'bytes', description: 'pages of the old generation (its used size plus the free space inside them): what V8 holds against the old-generation limit' },
      'node.heap.oldLimit': { unit: 'bytes', description: 'limit of the old generation, where "JavaScript heap out of memory" comes: the target\'s --max-old-space-size, else heap_size_limit minus the young generation' },
      'node.external': { unit: 'bytes', description: 'memory of C++ objects bound to JS objects (external)' },
      'node.arrayBuffers': { unit: 'bytes', description: 'ArrayBuffers and Buffers (arrayBuffers)' },
      'node.handles.total': { unit: 'count', description: 'active handles (timers, sockets, servers, watchers, child processes)' },
      'node.handles.byType.*': { unit: 'count', description: 'active handles of one type (Timeout, TCPSocketWrap, TCPServerWrap …)' },
      'node.requests.total': { unit: 'count', description: 'active libuv requests (fs, dns, writes in flight)' },
      'node.eventLoop.delayP50Ms': { unit: 'ms', description: 'event-loop delay, median over the window' },
      'node.eventLoop.delayP99Ms': { unit: 'ms', description: 'event-loop delay, 99th percentile over the window (a lower bound when the loop never yielded)' },
      'node.eventLoop.delayMaxMs': { unit: 'ms', description: 'longest event-loop delay seen in the window (a lower bound when the loop never yielded)' },
      'node.eventLoop.utilization': { unit: 'ratio', description: 'event-loop utilisation over the window, 0–1 (performance.eventLoopUtilization)' },
      'node.gc.percent': { unit: 'percent', description: 'share of the window spent in garbage collection' },
      'node.version': { unit: 'string', description: 'Node.js version of the target' },
      'node.inspectPort': { unit: 'count', description: 'port of the inspector that stays open (for next steps)' },
    },
    evidence: {
      'node.handles.top': 'the five most common handle types, [{type, count}]',
      'node.heap.oldLimitSource': 'where node.heap.oldLimit comes from (--max-old-space-size, or heap_size_limit minus the young generation)',
      'node.eventLoop.windowMs': 'length of the event-loop window (300 ms, 2.2 s when the loop looked busy)',
      'node.inspector': 'which inspector was used and how its identity was checked',
      'node.heapSnapshot': 'the heap snapshot written with --heap-snapshot',
      'node.report': 'the redacted diagnostic report written with --report',
    },
  },
  run: runNode,
};

interface Out {
  metrics: Record<string, number | string>;
  evidence: Record<string, unknown>;
  unknowns: Unknown[];
  actions: string[];
  partial?: string;
}

async function runNode(ctx: ProbeContext): Promise<ProbeOutput> {
  const { proc, pid, sources, options } = ctx;
  // a recorded tree (capture bundle): its ports are not this machine's
  if (!proc.live) return { metrics: {}, skipped: 'a recorded tree: no live inspector' };
  // ctx.actions is kept by the runner even if this probe is cut off by its deadline
  const out: Out = { metrics: {}, evidence: {}, unknowns: [], actions: ctx.actions };
  const { runtime, argv, env } = identifyRuntime(sources);
  const explicit = typeof options.inspect === 'string' && options.inspect !== '' ? options.inspect : undefined;
  const flags = parseInspectFlags(argv, env?.NODE_OPTIONS);

  if (runtime !== 'node' && !(explicit && runtime === 'unknown')) {
    const unknowns: Unknown[] = [];
    if (options.activateInspector) {
      const v = checkActivation(proc, pid, flags);
      unknowns.push({ probe: 'node', reason: `--activate-inspector refused: ${v.ok ? `pid ${pid} is not Node.js (runtime ${runtime})` : v.reason}` });
    }
    return { metrics: {}, skipped: `not a Node.js process (runtime: ${runtime})`, unknowns };
  }

  const expectedPid = innermostPid(sources.status()) ?? pid;
  const allowRemote = options.allowRemote === true;
  const trustPeer = options.trustPeer === true;
  const budget = new Budget(DEFAULT_BUDGET_MS, ctx.signal, options.ownEndpoints);
  const failures: string[] = [];
  let attached: Attached | undefined;
  let blocked: LoopBlocked | undefined;
  let opened: Opened | undefined;
  let guard: Guard | undefined;
  let deadman: DeadMan | undefined;
  let dropInterrupt: (() => void) | undefined;
  let how = '';
  let listenersKnown = false;

  const tryAttach = async (addr: InspectorAddress, verifyOwned: boolean): Promise<boolean> => {
    try {
      // an inspector we opened closes itself if we stop re-arming its dead-man timer
      const onOpen = opened ? (s: CdpSession) => { deadman = new DeadMan(s); deadman.start(); } : undefined;
      attached = await attach(addr, budget, { allowRemote, expectedPid, ...(onOpen ? { onOpen } : {}) });
      return true;
    } catch (err) {
      if (err instanceof LoopBlocked) {
        // the target's own socket proves the identity that process.pid could not
        if (verifyOwned && addr.loopback && ownsListenPort(proc, pid, addr.port) === true) {
          blocked = err;
          return true;
        }
        err.session?.close();
      }
      failures.push(reasonOf(err));
      return false;
    }
  };

  try {
    if (explicit) {
      let addr: InspectorAddress;
      try {
        addr = parseInspectAddress(explicit);
        assertConnectAllowed(addr, allowRemote);
      } catch (err) {
        const e = err as ProctriageError;
        out.unknowns.push({ metric: 'node.*', probe: 'node', reason: e.message, ...(e.hint ? { hint: e.hint } : {}) });
        out.partial = e.message;
        return out;
      }
      how = 'given with --inspect';
      // the address must be one of the target's own sockets: what the peer says of itself proves nothing
      const own = peerOwnership(sources, addr.host, addr.port);
      if (!own.owned && !trustPeer) {
        out.unknowns.push({ metric: 'node.*', probe: 'node', reason: `--inspect refused: ${own.reason}; nothing was sent to it`, hint: TRUST_PEER_HINT });
        out.partial = '--inspect address is not the target\'s';
        return out;
      }
      if (!own.owned) how += `, trusted with --trust-peer (${own.reason})`;
      await tryAttach(addr, own.owned);
    } else {
      const same = proc.sameNetNamespace(pid);
      if (same === false) {
        failures.push('the target is in another network namespace (a container): its loopback inspector is out of reach from here');
      } else {
        let listeners;
        try {
          // the fd table and net rows the fds and sockets probes read too (memoized per run)
          const rows = [...sources.inet('tcp'), ...safeRows(() => sources.inet('tcp6'))];
          listeners = listenersFrom(sources.socketInodes(), rows);
        } catch {
          try {
            listeners = ownListeners(proc, pid);
          } catch {
            listeners = undefined;
          }
        }
        listenersKnown = listeners !== undefined;
        const { candidates, remoteOnly } = inspectorCandidates(flags, listeners);
        // the inspector runs code in the target: without a flag asking for it, nothing is sent
        if (options.inspect !== true && !options.activateInspector) {
          const open = flags.atStart || candidates.length > 0;
          out.unknowns.push({
            metric: 'node.*', probe: 'node',
            reason: open ? 'not read: nothing is sent to the target unless a flag asks' : 'not read: no inspector is open',
            hint: open ? 'add --inspect to read it through the inspector it already has open' : hintFor(ctx, flags, listenersKnown),
          });
          return out;
        }
        // without its fd table a port cannot be proven the target's: tried only when the user trusts it
        const unproven = candidates.filter((c) => !c.owned);
        if (unproven.length && !trustPeer) {
          for (const c of unproven) failures.push(`${formatAddress(c)} (${c.source}) cannot be verified as pid ${pid}'s own socket (its fd table is not readable): not tried (--trust-peer to try it)`);
        }
        const addrs = candidates.filter((c) => c.owned || trustPeer).map((c) => ({ host: c.host, port: c.port, loopback: true }));
        let found: InspectorAddress | undefined;
        for await (const l of listingsAsTheyCome(addrs, budget, allowRemote)) {
          if (l.error) {
            // a port of the application that is not an inspector is expected; say so only if nothing is found
            failures.push(l.error.message);
            continue;
          }
          found = { ...l.addr, path: l.path };
          break; // cancels the requests still in flight
        }
        if (found) {
          const c = candidates.find((x) => x.port === found!.port && x.host === found!.host)!;
          how = `already open: ${c.source}`;
          // let the target drop the connections we just made to its other ports: they are not its handles
          if (candidates.length > 1) await new Promise((r) => setTimeout(r, 30));
          await tryAttach(found, true);
        }
        for (const r of remoteOnly) failures.push(`its inspector listens on ${formatAddress(r)}, which is not loopback (--inspect ${formatAddress(r)} --allow-remote to use it)`);
        if (!attached && !blocked && options.activateInspector) {
          const v = checkActivation(proc, pid, flags);
          if (!v.ok) {
            out.unknowns.push({ metric: 'node.*', probe: 'node', reason: `--activate-inspector refused: ${v.reason}`, ...(v.hint ? { hint: v.hint } : {}) });
          } else {
            const sentLine = `sent SIGUSR1 to pid ${pid} to open its inspector`;
            const r = await sendSigusr1AndWait(proc, pid, flags, sources.stat().starttimeTicks, ACTIVATION_WAIT_MS, () => {
              // said at once, on stderr and in the report: whatever happens next, the user knows
              options.notify?.(`${sentLine} (--activate-inspector)`);
              out.actions.push(sentLine);
            });
            if (r.sent) {
              const i = out.actions.indexOf(sentLine);
              const line = `${sentLine}; ${r.opened ? `its inspector opened after ${r.opened.waitedMs} ms` : 'none opened'}, and ${r.fate}`;
              if (i >= 0) out.actions[i] = line;
              options.notify?.(line);
            }
            guard = r.guard;
            if (r.opened) {
              opened = r.opened;
              const o = r.opened;
              // an interrupted run closes what it opened before it exits (the guard and the dead-man timer back it up)
              dropInterrupt = onInterrupt(async () => {
                deadman?.stop();
                const s = attached?.session ?? blocked?.session;
                if (s && !s.closed) await evaluate(s, CLOSE_INSPECTOR_EXPRESSION, { timeoutMs: 700 }).catch(() => undefined);
                s?.close();
                guard?.release();
                options.notify?.(`interrupted: asked pid ${pid} to close the inspector opened on ${formatAddress({ host: o.host, port: o.listener.port })}`);
              });
              how = `opened with SIGUSR1 by --activate-inspector, listening after ${r.opened.waitedMs} ms`;
              await tryAttach({ host: r.opened.host, port: r.opened.listener.port, loopback: true }, true);
            } else {
              failures.push(r.reason ?? 'SIGUSR1 was not sent');
            }
          }
        }
      }
    }

    if (attached) {
      await readFacts(attached, budget, out);
      out.evidence['node.inspector'] = { address: formatAddress(attached.addr), how, identity: `${how.includes('--trust-peer') ? 'not its own socket (trusted with --trust-peer)' : 'its listening socket is in the target\'s fd table'}; process.pid ${attached.stats.pid} matches` };
      if (!opened) {
        out.metrics['node.inspectPort'] = attached.addr.port;
        out.actions.push(`connected to the Node.js inspector at ${formatAddress(attached.addr)} (${how}) and ran read-only queries; left it as it was`);
      }
      await heavyTools(ctx, attached, out, deadman);
    } else if (blocked) {
      const addrText = blocked.session?.where.replace(/^inspector at /, '') ?? '';
      if (blocked.heap) {
        out.metrics['node.heap.used'] = blocked.heap.used;
        out.metrics['node.heap.total'] = blocked.heap.total;
      }
      out.metrics['node.eventLoop.delayP99Ms'] = blocked.waitedMs;
      out.metrics['node.eventLoop.delayMaxMs'] = blocked.waitedMs;
      out.evidence['node.eventLoop.lowerBound'] = true;
      out.evidence['node.inspector'] = { address: addrText, how, identity: 'the target holds the inspector socket (process.pid could not be read: the loop is blocked)' };
      out.unknowns.push({ metric: 'node.*', probe: 'node', reason: `${blocked.message}; only the heap size could be read (Runtime.getHeapUsage)`, hint: 'run again to see whether it recovers; top -H -p PID shows the busy thread' });
      out.partial = 'event loop blocked';
      if (!opened) out.actions.push(`connected to the Node.js inspector at ${addrText} (${how}); left it as it was`);
    } else if (!out.unknowns.length || failures.length) {
      const reason = failures.length ? failures.join('; ') : noInspectorReason(flags);
      out.unknowns.push({ metric: 'node.*', probe: 'node', reason: `no Node.js inspector reachable: ${reason}`, hint: hintFor(ctx, flags, listenersKnown) });
      if (failures.length) out.partial = 'no inspector reachable';
    }
  } finally {
    deadman?.stop();
    if (opened) {
      const closed = await closeOpened(ctx, opened, attached?.session ?? blocked?.session, out, allowRemote);
      if (closed) guard?.done();
      else guard?.release(); // the guard goes on trying after we exit
      dropInterrupt?.();
    } else {
      attached?.session.close();
      blocked?.session?.close();
    }
  }
  return out;
}

async function readFacts(a: Attached, budget: Budget, out: Out): Promise<void> {
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
    out.evidence['node.heap.oldLimitSource'] = old.source === 'max-old-space-size'
      ? `--max-old-space-size of the target (the heap limit adds ${Math.round(old.youngBytes / 2 ** 20)} MiB of young generation)`
      : `heap_size_limit minus ${Math.round(old.youngBytes / 2 ** 20)} MiB of young generation`;
  } else {
    out.unknowns.push({ metric: 'node.heap.oldUsed', probe: 'node', reason: `Node.js ${s.version} has no v8.getHeapSpaceStatistics()` });
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
    out.evidence['node.handles.top'] = Object.entries(s.handles).sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, 5)
      .map(([type, count]) => ({ type, count }));
  } else {
    out.unknowns.push({ metric: 'node.handles.total', probe: 'node', reason: `Node.js ${s.version} lists no active resources` });
  }
  if (s.requests) m['node.requests.total'] = Object.values(s.requests).reduce((x, y) => x + y, 0);
  try {
    // our first request waited for the loop: it is busy, and a short window may fit in one of its gaps
    const w = await sampleWindow(a, budget, a.statsMs >= BUSY_AT_ARRIVAL_MS);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    if (w.p50 !== undefined && w.p99 !== undefined) {
      m['node.eventLoop.delayP50Ms'] = r2(w.p50);
      m['node.eventLoop.delayP99Ms'] = r2(w.p99);
    } else {
      out.unknowns.push({ metric: 'node.eventLoop.delayP99Ms', probe: 'node', reason: 'the event-loop histogram recorded no sample in the window' });
    }
    if (w.max !== undefined) m['node.eventLoop.delayMaxMs'] = r2(w.max);
    if (w.utilization !== undefined) m['node.eventLoop.utilization'] = Math.round(w.utilization * 1000) / 1000;
    else out.unknowns.push({ metric: 'node.eventLoop.utilization', probe: 'node', reason: `Node.js ${s.version} has no performance.eventLoopUtilization()` });
    if (w.gcMs !== undefined && w.windowMs > 0) m['node.gc.percent'] = r2(Math.min(100, (w.gcMs / w.windowMs) * 100));
    else out.unknowns.push({ metric: 'node.gc.percent', probe: 'node', reason: 'the target cannot observe GC entries (perf_hooks)' });
    out.evidence['node.eventLoop.windowMs'] = Math.round(w.windowMs);
  } catch (err) {
    const waited = await blockedFor(a, err, budget);
    if (waited !== undefined) {
      // a 300 ms timer did not fire within the wait, yet the inspector thread answers: the loop is blocked
      m['node.eventLoop.delayP99Ms'] = waited;
      m['node.eventLoop.delayMaxMs'] = waited;
      out.evidence['node.eventLoop.lowerBound'] = true;
      out.unknowns.push({ metric: 'node.eventLoop.delayP50Ms', probe: 'node', reason: `the event loop was blocked for at least ${waited} ms: the delay window never completed (p99 is that lower bound)` });
      out.unknowns.push({ metric: 'node.gc.percent', probe: 'node', reason: 'measured in the same window, which never completed' });
    } else {
      out.unknowns.push({ metric: 'node.eventLoop.delayP99Ms', probe: 'node', reason: `event-loop and GC window failed: ${reasonOf(err)}` });
      out.unknowns.push({ metric: 'node.gc.percent', probe: 'node', reason: 'measured in the same window' });
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
async function heavyTools(ctx: ProbeContext, a: Attached, out: Out, deadman?: DeadMan): Promise<void> {
  const { options } = ctx;
  // a heavy tool stalls the target's loop for longer than the dead-man delay: the guard process watches meanwhile
  const heavy = (typeof options.heapSnapshot === 'string' && options.heapSnapshot) || (typeof options.report === 'string' && options.report);
  if (heavy && deadman) await deadman.pause();
  try {
    await runHeavy(ctx, a, out);
  } finally {
    if (heavy && deadman) deadman.resume();
  }
}

async function runHeavy(ctx: ProbeContext, a: Attached, out: Out): Promise<void> {
  const { options, pid, signal } = ctx;
  if (typeof options.heapSnapshot === 'string' && options.heapSnapshot) {
    const file = outputPath(options.heapSnapshot, pid);
    const refusal = snapshotRefusal(a.stats.heapUsed, headroom(ctx), options.force === true);
    if (refusal) {
      out.unknowns.push({ probe: 'node', reason: refusal, hint: 'add --force to take it anyway (the target may be OOM-killed)' });
    } else {
      try {
        const w = await takeHeapSnapshot(a.session, file, HEAVY_TIMEOUT_MS, signal, options.overwrite === true);
        out.evidence['node.heapSnapshot'] = w;
        out.actions.push(`took a heap snapshot (the target was paused for about ${w.pausedMs} ms) → ${w.file}`);
      } catch (err) {
        out.unknowns.push({ probe: 'node', reason: `heap snapshot failed, nothing written: ${reasonOf(err)}`, hint: 'raise --timeout (about 100 ms per MB of heap)' });
        out.partial = 'heap snapshot failed';
      }
    }
  }
  if (typeof options.report === 'string' && options.report) {
    const file = outputPath(options.report, pid);
    try {
      const w = await writeNodeReport(a.session, file, HEAVY_TIMEOUT_MS, signal, options.overwrite === true);
      out.evidence['node.report'] = w;
      out.actions.push(`wrote the Node.js diagnostic report, redacted (the target was blocked for about ${w.pausedMs} ms) → ${w.file}`);
    } catch (err) {
      out.unknowns.push({ probe: 'node', reason: `diagnostic report failed, nothing written: ${reasonOf(err)}` });
      out.partial = 'report failed';
    }
  }
}

/** Memory the target may still take: its cgroup limit minus working set, and the host's MemAvailable. */
function headroom(ctx: ProbeContext): Headroom | undefined {
  const found: Headroom[] = [];
  try {
    const { metrics } = readCgroupMemory(ctx.proc, ctx.pid);
    const limit = metrics['cgroup.memory.limit'];
    const used = metrics['cgroup.memory.workingSet'] ?? metrics['cgroup.memory.usage'];
    if (typeof limit === 'number' && typeof used === 'number') found.push({ bytes: Math.max(0, limit - used), source: 'cgroup limit minus working set' });
  } catch {
    // unknown cgroup: the host figure still counts
  }
  try {
    const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(ctx.proc.read(null, 'meminfo'));
    if (m) found.push({ bytes: Number(m[1]) * 1024, source: 'host MemAvailable' });
  } catch {
    // no meminfo
  }
  return found.sort((x, y) => x.bytes - y.bytes)[0];
}

/** Close the inspector we opened: ask it, then watch the LISTEN socket go. Says so in actions; true when confirmed closed. */
async function closeOpened(ctx: ProbeContext, opened: Opened, session: CdpSession | undefined, out: Out, allowRemote: boolean): Promise<boolean> {
  const { proc, pid } = ctx;
  const where = formatAddress({ host: opened.host, port: opened.listener.port });
  const clients = inspectorClients(proc, pid, opened.listener.port);
  // closing must happen even after the probe's deadline: a fresh budget, not the probe's signal
  const own = new Budget(2500, undefined, ctx.options.ownEndpoints);
  let s = session && !session.closed ? session : undefined;
  if (!s) {
    try {
      const addr: InspectorAddress = { host: opened.host, port: opened.listener.port, loopback: true };
      const list = await listTargets(addr, allowRemote, own.deadline(800));
      s = await CdpSession.open(addr, list[0].path, { ...own.deadline(800), allowRemote });
    } catch {
      s = undefined;
    }
  }
  let asked = false;
  if (s) {
    try {
      asked = (await evaluate(s, CLOSE_INSPECTOR_EXPRESSION, own.deadline(1000))) === 'ok';
    } catch {
      asked = false;
    }
    s.close();
  }
  const gone = await waitListenerGone(proc, pid, opened.listener.inode, own.left(1500));
  const others = clients !== undefined && session && !session.closed ? Math.max(0, clients - 1) : 0;
  if (gone) {
    out.actions.push(`opened the inspector of pid ${pid} with SIGUSR1 on ${where}, probed it, and closed it again${others ? ` (this also ended ${others} other debugger session(s) that connected meanwhile)` : ''}`);
  } else {
    out.actions.push(`opened the inspector of pid ${pid} with SIGUSR1 on ${where}; it could NOT be confirmed closed${asked ? ' (the close was requested and runs when the event loop is free)' : ''}`);
    out.unknowns.push({
      probe: 'node',
      reason: `the inspector opened with SIGUSR1 may still listen on ${where}: any local user can run code in the process through it`,
      hint: `check with: ss -ltnp 'sport = :${opened.listener.port}'; it closes when the process restarts`,
    });
    out.partial = out.partial ?? 'inspector not confirmed closed';
  }
  return gone;
}

function safeRows<T>(read: () => T[]): T[] {
  try {
    return read();
  } catch {
    return []; // no IPv6 in the namespace
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof IdentityMismatch) return err.message;
  return (err as Error)?.message ?? String(err);
}

function noInspectorReason(flags: InspectFlags): string {
  if (flags.atStart) return `it was started with ${flags.seen.join(' ')} but holds no inspector socket (port already in use at start?)`;
  return 'none is open';
}

function hintFor(ctx: ProbeContext, flags: InspectFlags, listenersKnown: boolean): string {
  const port = flags.port > 0 ? flags.port : 9229;
  const restart = `start it with --inspect=127.0.0.1:${port} and add --inspect ${port}`;
  if (typeof ctx.options.inspect === 'string') return `pass the inspector address of this process to --inspect, or ${restart}`;
  if (ctx.options.activateInspector) return restart;
  const v = checkActivationSafe(ctx, flags);
  if (v && !v.ok) return `${restart} (--activate-inspector cannot be used: ${v.reason})`;
  const activate = `--activate-inspector (opens its inspector on 127.0.0.1:${port} with SIGUSR1, probes, closes it again)`;
  return listenersKnown ? `add ${activate}, or ${restart}` : `add --inspect ${port} if its inspector is open there, or ${activate}`;
}

function checkActivationSafe(ctx: ProbeContext, flags: InspectFlags) {
  try {
    // only to word a hint: reuse the tables this run already read
    const { sources } = ctx;
    return checkActivation(ctx.proc, ctx.pid, flags, {
      listenRows: () => [...sources.inet('tcp'), ...safeRows(() => sources.inet('tcp6'))].filter((r) => r.state === 'listen'),
      socketInodes: () => sources.socketInodes(),
    }, false);
  } catch {
    return undefined;
  }
}
