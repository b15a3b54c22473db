/**
 * The node probe's watch window: after the first sample, one inspector session of its own is
 * opened (connect.ts: the same checks and, with --activate-inspector, the same SIGUSR1, guard and
 * dead-man timer) and V8's sampling heap profiler started on it; after the last sample the
 * profiler is stopped, the live bytes allocated over the window ranked by allocation site, the
 * active timers located once more, and the session closed (close.ts: an inspector opened with
 * SIGUSR1 is closed again). Cancelled, it stops the profiler and closes all the same.
 *
 * While a window is open for a target, its samples leave the heavier attributions (timer census,
 * CPU profile) to the window's end: a watch does them once, not at every sample.
 */
import { say } from '../messages.js';
import { unavailableAttribution, type Attribution } from '../engine/attribution.js';
import { formatAddress } from '../transports/inspector.js';
import { Budget, evaluate, parseStats, reasonOf } from './attach.js';
import { startHeapSampling, stopHeapSampling, HEAP_SAMPLING_BYTES, windowsOpen as open } from './attribute.js';
import { connect } from './connect.js';
import { close } from './close.js';
import { STATS_EXPRESSION } from './expressions.js';
import { attributeHandles, targetCwd } from './measure.js';
import { rankHeapProfile } from './profiles.js';
import type { InspectFlags } from './locate.js';
import type { Connection, NodeOut, NodeTarget } from './run.js';

/** Budget of opening the window (discovery, attach, starting the profiler). */
const OPEN_BUDGET_MS = 5000;
/** Budget of ending it (stopping the profiler on a busy loop, the census, closing). */
const END_BUDGET_MS = 15000;

export interface NodeWindow {
  end(t: NodeTarget, actions: string[]): Promise<{ evidence: Record<string, unknown>; unknowns: NodeOut['unknowns'] }>;
  cancel(): Promise<void>;
}

function unavailable(why: string, hint?: string): Attribution {
  return unavailableAttribution('allocation-growth', say('node.attr.heapSource'), why, hint);
}

/** Begin the window; a window that could not start still ends with the reason as its attribution. */
export async function openWindow(t: NodeTarget, flags: InspectFlags, actions: string[]): Promise<NodeWindow> {
  const out: NodeOut = { metrics: {}, evidence: {}, unknowns: [], actions };
  const conn: Connection = { budget: new Budget(OPEN_BUDGET_MS, t.signal, t.options.ownEndpoints), how: '', trusted: false };
  const t0 = performance.now();
  let why: string | undefined;
  let sampling = false;
  try {
    if ((await connect(t, flags, conn, out)) && conn.attached) {
      await startHeapSampling(conn.attached.session, conn.budget);
      sampling = true;
      open.add(t.pid);
    } else {
      why = conn.blocked ? say('node.attr.windowBlocked') : say('node.attr.windowNoInspector');
    }
  } catch (err) {
    why = say('node.attr.failed', { error: reasonOf(err) });
  }
  if (!sampling) {
    await close(t, conn, out);
    const evidence = { 'node.heap.growth': unavailable(why ?? say('node.attr.windowNoInspector')) };
    return { end: () => Promise.resolve({ evidence, unknowns: [] }), cancel: () => Promise.resolve() };
  }
  const session = conn.attached!.session;
  const where = formatAddress(conn.attached!.addr);
  let finished = false;
  /** stop the profiler (whatever happens), close the session; once */
  const finish = async (o: NodeOut, stopped: boolean) => {
    if (finished) return;
    finished = true;
    open.delete(t.pid);
    if (!stopped) await stopHeapSampling(session, 2000).catch(() => undefined);
    await close(t, conn, o);
  };
  return {
    async end(te, acts) {
      const o: NodeOut = { metrics: {}, evidence: {}, unknowns: [], actions: acts };
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      let stopped = false;
      try {
        const budget = new Budget(END_BUDGET_MS, te.signal, te.options.ownEndpoints);
        try {
          const p = await stopHeapSampling(session, budget.left(8000));
          stopped = true;
          o.evidence['node.heap.growth'] = rankHeapProfile(p, targetCwd(te), say('node.attr.heapSource'), seconds);
          o.actions.push(say('node.attr.heapSampled', { address: where, seconds, kib: HEAP_SAMPLING_BYTES / 1024 }));
        } catch (err) {
          o.evidence['node.heap.growth'] = unavailable(say('node.attr.failed', { error: reasonOf(err) }), say('node.hint.raiseTimeout'));
          o.actions.push(say('node.attr.heapSamplingStopped', { address: where }));
        }
        // the timers as they are at the end of the watch
        try {
          const stats = parseStats(await evaluate(session, STATS_EXPRESSION, budget.deadline(1500), { cdpTimeoutMs: 1000 }), session.where);
          if (stats.handles) await attributeHandles(session, budget, stats.handles, targetCwd(te), o, stats.heapUsed);
        } catch {
          // the samples' counts stand without it
        }
      } finally {
        await finish(o, stopped);
      }
      return { evidence: o.evidence, unknowns: o.unknowns };
    },
    async cancel() {
      const o: NodeOut = { metrics: {}, evidence: {}, unknowns: [], actions };
      try {
        await finish(o, false);
        if (!o.actions.includes(say('node.attr.heapSamplingStopped', { address: where })))
          o.actions.push(say('node.attr.heapSamplingStopped', { address: where }));
      } catch {
        // cancel never throws: the session drops with us, and V8 stops a disconnected session's sampler
      }
    },
  };
}
