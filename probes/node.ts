import type { Probe, ProbeContext, ProbeOutput, ProbeWindow } from '../src/engine/probe.js';
import { identifyRuntime } from './runtime.js';
import { parseInspectFlags } from '../src/node/locate.js';
import { checkActivation } from '../src/node/activate.js';
import { notAsked } from '../src/node/unasked.js';
import { HEAVY_TIMEOUT_MS, type Connection, type NodeOut } from '../src/node/run.js';
import type { connect } from '../src/node/connect.js';
import type { measure } from '../src/node/measure.js';
import type { close } from '../src/node/close.js';
import { say, words } from '../src/messages.js';
import { unavailableAttribution } from '../src/engine/attribution.js';

/** Budget of the default (cheap) path: discovery, attach, facts, the 300 ms window, closing. */
const DEFAULT_BUDGET_MS = 5000;

/** The probe's three steps. Tests of the close step replace one (a measure that throws) to prove close still runs. */
export interface NodeSteps {
  connect: typeof connect;
  measure: typeof measure;
  close: typeof close;
}

// the inspector's code (41 KB built) loads only when a flag asks for the inspector
const inspectorSteps = () => import('./node/steps.js');

export function nodeProbe(replaced: Partial<NodeSteps> = {}): Probe {
  return { meta: NODE_META, run: (ctx) => runNode(ctx, replaced), window: nodeWindow };
}

const NODE_META: Probe['meta'] = {
  id: 'node',
  description: 'Node.js heap, handles, event-loop delay and GC through the V8 inspector (--inspect, an already-open inspector, or --activate-inspector)',
  runtime: 'node',
  requestedBy: ['inspect', 'activateInspector'],
  // the cheap path has its own 5 s budget; --heap-snapshot on a big heap can take minutes (bounded by --timeout)
  timeoutMs: HEAVY_TIMEOUT_MS,
  facts: {
    'node.heap.used': { unit: 'bytes', description: 'V8 heap used (process.memoryUsage().heapUsed)' },
    'node.heap.total': { unit: 'bytes', description: 'V8 heap reserved (heapTotal)' },
    'node.heap.limit': {
      unit: 'bytes',
      description: "V8 heap size limit (v8.getHeapStatistics().heap_size_limit): old generation plus the young generation's reservation",
    },
    'node.heap.oldUsed': { unit: 'bytes', description: 'used size of the old generation: every V8 heap space but new_space and new_large_object_space' },
    'node.heap.oldCommitted': {
      unit: 'bytes',
      description: 'pages of the old generation (its used size plus the free space inside them): what V8 holds against the old-generation limit',
    },
    'node.heap.oldLimit': {
      unit: 'bytes',
      description:
        'limit of the old generation, where "JavaScript heap out of memory" comes: the target\'s --max-old-space-size, else heap_size_limit minus the young generation',
    },
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
    'node.timers.origins':
      'attribution: active timers grouped by where their callback is defined (function, file:line), counts scaled from a sample of 200 callbacks when there are more',
    'node.handles.peers': 'attribution: open sockets grouped by the other end (address:port, or the client address and our port for accepted ones)',
    'node.cpu.top': 'attribution: the functions that held the event loop, by self time in a short CPU profile taken when the loop looked held',
    'node.heap.growth': "attribution (watch): live bytes allocated over the window by allocation site, from V8's sampling heap profiler",
  },
};

/**
 * The Node.js runtime through its inspector: V8 heap against its limit, active handles and
 * requests by type, event-loop delay and GC share over a short window. Uses the address given
 * with --inspect, or an inspector the process already has open (found from its flags and its
 * own LISTEN sockets), or, with --activate-inspector, opens one with SIGUSR1 and closes it
 * again. Every connection is checked to belong to the target (process.pid).
 */
export const probe: Probe = nodeProbe();

/** Whether this target is the node probe's, and a flag asks for its inspector: the flags it was started with. */
function asked(ctx: ProbeContext): { flags: ReturnType<typeof parseInspectFlags> } | undefined {
  const { proc, sources, options } = ctx;
  if (!proc.live) return undefined;
  const { runtime, argv, env } = identifyRuntime(sources);
  const explicit = typeof options.inspect === 'string' && options.inspect !== '';
  if (runtime !== 'node' && !(explicit && runtime === 'unknown')) return undefined;
  if (!options.inspect && !options.activateInspector) return undefined;
  return { flags: parseInspectFlags(argv, env?.NODE_OPTIONS) };
}

/**
 * watch: the sampling heap profiler over the whole window, on a session of its own (src/node/window.ts);
 * its end ranks allocation sites by live bytes allocated meanwhile and closes what it opened.
 */
async function nodeWindow(ctx: ProbeContext): Promise<ProbeWindow | undefined> {
  const a = asked(ctx);
  if (!a) return undefined;
  const w = await (await inspectorSteps()).openWindow(ctx, a.flags, ctx.actions);
  return { end: (c) => w.end(c, c.actions), cancel: () => w.cancel() };
}

/**
 * Three steps: connect (find the inspector, or open one; prove it is the target's), measure,
 * close (whatever the first two did, thrown or cut off by the deadline).
 */
async function runNode(ctx: ProbeContext, replaced: Partial<NodeSteps>): Promise<ProbeOutput> {
  const { proc, pid, sources, options } = ctx;
  // a recorded tree (capture bundle): its ports are not this machine's
  if (!proc.live) return { metrics: {}, skipped: say('node.recorded') };
  const { runtime, argv, env } = identifyRuntime(sources);
  const explicit = typeof options.inspect === 'string' && options.inspect !== '';
  const flags = parseInspectFlags(argv, env?.NODE_OPTIONS);
  if (runtime !== 'node' && !(explicit && runtime === 'unknown')) {
    const v = options.activateInspector ? checkActivation(proc, pid, flags) : undefined;
    const why = v && (v.ok ? say('node.activateNotNode', { pid, runtime }) : v.reason ? words(v.reason) : '');
    return {
      metrics: {},
      skipped: say('node.notNode', { runtime }),
      unknowns: why === undefined ? [] : [{ probe: 'node', code: 'node.activateRefused', args: { why } }],
    };
  }

  // ctx.actions is kept by the runner even if this probe is cut off by its deadline
  const out: NodeOut = { metrics: {}, evidence: {}, unknowns: [], actions: ctx.actions };
  // the inspector runs code in the target: without a flag asking for it, nothing is sent
  if (!explicit && options.inspect !== true && !options.activateInspector) {
    out.unknowns.push(notAsked(ctx, flags));
    unavailableAttributions(ctx, undefined, out);
    return out;
  }
  const loaded = await inspectorSteps();
  const steps: NodeSteps = { connect: loaded.connect, measure: loaded.measure, close: loaded.close, ...replaced };
  const conn: Connection = { budget: new loaded.Budget(DEFAULT_BUDGET_MS, ctx.signal, options.ownEndpoints), how: '', trusted: false };
  try {
    if (await steps.connect(ctx, flags, conn, out)) await steps.measure(ctx, conn, out);
  } finally {
    await steps.close(ctx, conn, out);
  }
  unavailableAttributions(ctx, conn, out);
  return out;
}

/**
 * What the findings that explain memory and CPU could not be told, and what would tell it: without
 * an inspector, nothing of the code; with one, a single look cannot say what grows (watch can).
 */
function unavailableAttributions(ctx: ProbeContext, conn: Connection | undefined, out: NodeOut): void {
  const reached = conn?.attached !== undefined || conn?.blocked !== undefined;
  if (!reached) {
    const hint = say(ctx.options.inspect || ctx.options.activateInspector ? 'node.attr.hint.reach' : 'node.attr.hint.inspect');
    const why = say('node.attr.notReached');
    out.evidence['node.heap.growth'] = unavailableAttribution('allocation-growth', say('node.attr.heapSource'), why, hint);
    out.evidence['node.cpu.top'] = unavailableAttribution('hot-functions', say('node.attr.cpuSource'), why, hint);
    return;
  }
  if (out.evidence['node.heap.growth'] === undefined) {
    out.evidence['node.heap.growth'] = unavailableAttribution(
      'allocation-growth',
      say('node.attr.heapSource'),
      say('node.attr.oneLook'),
      say('node.attr.hint.watch', { pid: ctx.pid }),
    );
  }
}
