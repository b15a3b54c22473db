/**
 * A trace report from what the tracer kept: the stacks that opened descriptors still open at the
 * end of the window (ranked by how many), the stacks that only churned, and how much of the fd
 * table predates the window. Pure: the command gathers the inputs, the renderers word it.
 */
import type { FdTarget } from '../procfs/fd.js';
import { stackFrames, type Frame, type TraceOutput } from '../trace/parse.js';
import { frameKey, type Location } from '../trace/symbolise.js';
import type { EndedBy } from '../trace/runner.js';
import { TRACE_LIMITS } from '../trace/limits.js';
import { clean, redactText } from './redact.js';
import { say, type MessageId } from '../messages.js';
import { TRACE_SCHEMA_VERSION, type TraceFrame, type TraceGroup, type TraceReport } from './trace-schema.js';

export type Runtime = TraceReport['target']['runtime'];

export interface TraceInputs {
  pid: number;
  comm: string;
  runtime: Runtime;
  requestedMs: number;
  windowMs: number;
  endedBy: EndedBy;
  output: TraceOutput;
  /** the fd table at the end of the window, fd → its type and example (undefined: not readable, or gone) */
  fdTable?: Map<number, FdTarget & { peer?: string }>;
  /** the fds open a moment later, once the tracer has stopped: an fd opened in between is not "gone" */
  laterTable?: Map<number, FdTarget & { peer?: string }>;
  locations: Map<string, Location>;
  redact: boolean;
  version: string;
  now: Date;
  outputTruncated?: boolean;
  noAddr2line?: boolean;
}

/** Which runtime's frames a process runs, from its executable's name and the files it maps. Pure. */
export function runtimeOf(exeName: string, modules: readonly string[], goBinary: boolean): Runtime {
  if (goBinary) return 'go';
  if (/^node(js)?(\d+)?$/.test(exeName)) return 'node';
  if (modules.some((m) => m.endsWith('/libjvm.so'))) return 'java';
  if (/^python[\d.]*$/.test(exeName) || modules.some((m) => /\/libpython[\d.]+\.so/.test(m))) return 'python';
  return 'native';
}

const isLibc = (m?: string) => !!m && /\/libc(\.so\.\d+|-[\d.]+\.so)$/.test(m);
const isPythonEval = (s?: string) => !!s && /^_?Py(Eval|_Run|Object_Call|Function_Vectorcall)|^_PyEval|^_PyFunction/.test(s);

function frameOf(frame: Frame, i: number, runtime: Runtime, locations: Map<string, Location>, redact: boolean): TraceFrame {
  const loc = locations.get(frameKey(frame, i));
  // a frame bpftrace did not name (a return address kept at a libc entry) is named from DWARF
  const f: Frame = { ...frame };
  if (!f.symbol && loc?.function) f.symbol = loc.function;
  if (!f.module && loc?.module) f.module = loc.module;
  const kind: TraceFrame['kind'] = !f.symbol
    ? (runtime === 'node' || runtime === 'java') && !f.module
      ? 'jit'
      : 'unknown'
    : runtime === 'python' && isPythonEval(f.symbol)
      ? 'interpreter'
      : 'native';
  const out: TraceFrame = { address: f.address, kind };
  if (f.symbol) out.function = clean(f.symbol);
  if (f.offset !== undefined) out.offset = f.offset;
  if (f.module) out.module = text(f.module, redact);
  if (loc?.file !== undefined && loc.line !== undefined) {
    out.file = text(loc.file, redact);
    out.line = loc.line;
  }
  return out;
}

const text = (s: string, redact: boolean) => clean(redact ? redactText(s) : s);

export function buildTraceReport(i: TraceInputs): TraceReport {
  const seconds = i.windowMs / 1000;
  const perSecond = (n: number) => (seconds > 0 ? n / seconds : 0);
  const notes: TraceReport['notes'] = [];
  const note = (code: MessageId, t: string) => {
    if (!notes.some((n) => n.code === code)) notes.push({ code, text: t });
  };
  const groups: TraceGroup[] = [];
  let truncatedStacks = 0;
  // a stack's fds are counted down only once each, so below zero its count lost updates
  let countsLost = 0;
  for (const [stackText, opened] of i.output.opens) {
    const frames = stackFrames(stackText);
    const counted = i.output.live.get(stackText) ?? 0;
    if (counted < 0) countsLost++;
    const live = Math.max(0, counted);
    const exFd = i.output.example.get(stackText);
    const ex = exFd !== undefined ? (i.fdTable?.get(exFd) ?? i.laterTable?.get(exFd)) : undefined;
    // a stack taken inside libc (not at the entry of a probed function: offset 0) has lost the
    // caller whose frame libc's code does not keep
    const truncated = isLibc(frames[0]?.module) && (frames[0]!.offset !== 0 || frames.length < 2);
    if (truncated) truncatedStacks++;
    const shown = frames.map((f, n) => frameOf(f, n, i.runtime, i.locations, i.redact));
    if (shown.some((f) => f.kind === 'jit'))
      note(i.runtime === 'java' ? 'trace.jitJava' : 'trace.jitNode', say(i.runtime === 'java' ? 'trace.jitJava' : 'trace.jitNode'));
    if (shown.some((f) => f.kind === 'interpreter')) note('trace.interpreterPython', say('trace.interpreterPython'));
    const g: TraceGroup = {
      outstanding: live,
      opened,
      closed: Math.max(0, opened - live),
      ratePerSecond: perSecond(live > 0 ? live : opened),
      truncated,
      frames: shown,
    };
    // an example only from a descriptor the stack still holds (a churned fd number is someone else's now)
    if (ex && live > 0) {
      g.fdType = ex.type;
      const target = ex.peer ?? ex.path;
      if (target) g.example = text(target, i.redact);
    }
    groups.push(g);
  }
  // whatever the frames show, the code of these runtimes is not in them by name
  if (groups.length && i.runtime === 'node') note('trace.jitNode', say('trace.jitNode'));
  if (groups.length && i.runtime === 'java') note('trace.jitJava', say('trace.jitJava'));
  if (groups.length && i.runtime === 'python') note('trace.interpreterPython', say('trace.interpreterPython'));
  const outstanding = groups.filter((g) => g.outstanding > 0).sort((a, b) => b.outstanding - a.outstanding || b.opened - a.opened);
  const churn = groups.filter((g) => g.outstanding === 0).sort((a, b) => b.opened - a.opened);
  const opened = groups.reduce((s, g) => s + g.opened, 0);
  const liveTotal = outstanding.reduce((s, g) => s + g.outstanding, 0);
  const totals: TraceReport['totals'] = { events: i.output.eventCount, opened, outstanding: liveTotal };
  if (i.fdTable) {
    const attributed = i.output.fds.filter((fd) => i.fdTable!.has(fd)).length;
    totals.openAtEnd = i.fdTable.size;
    totals.predating = Math.max(0, i.fdTable.size - attributed);
    const gone = i.output.fds.filter((fd) => !i.fdTable!.has(fd) && !i.laterTable?.has(fd)).length;
    if (gone > 0 && i.endedBy !== 'exit') note('trace.untracked', say('trace.untracked', { count: gone }));
  } else if (i.endedBy !== 'exit') {
    note('trace.fdTableUnreadable', say('trace.fdTableUnreadable'));
  }
  const exited = i.endedBy === 'exit' || i.output.events.includes('exit');
  if (exited) note('trace.exited', say('trace.exited'));
  if (i.output.events.includes('exec')) note('trace.exec', say('trace.exec'));
  if (i.endedBy === 'cap') note('trace.cap', say('trace.cap', { events: i.output.eventCount }));
  if (i.endedBy === 'interrupt') note('trace.interrupted', say('trace.interrupted'));
  if (i.outputTruncated) note('trace.outputTruncated', say('trace.outputTruncated'));
  if (truncatedStacks) note('trace.truncated', say('trace.truncated', { stacks: truncatedStacks }));
  if (countsLost) note('trace.countsLost', say('trace.countsLost', { stacks: countsLost }));
  if (i.noAddr2line) note('trace.noAddr2line', say('trace.noAddr2line'));
  return {
    schemaVersion: TRACE_SCHEMA_VERSION,
    kind: 'trace',
    tool: { name: 'proctriage', version: i.version },
    generatedAt: i.now.toISOString(),
    redacted: i.redact,
    target: { pid: i.pid, comm: clean(i.comm), runtime: i.runtime },
    window: { requestedSeconds: i.requestedMs / 1000, seconds: Math.round(seconds * 1000) / 1000, endedBy: exited ? 'exit' : i.endedBy },
    exited,
    totals,
    outstanding: outstanding.slice(0, TRACE_LIMITS.stacksShown),
    churn: churn.slice(0, TRACE_LIMITS.stacksShown),
    notes,
  };
}
