import { availableParallelism } from 'node:os';
import type { Probe, ProbeOutput } from '../src/engine/probe.js';
import type { CpuSample, ProcFs } from '../src/procfs/procfs.js';
import { say } from '../src/messages.js';
import { ParseError } from '../src/errors.js';
import { parseProcStat } from '../src/procfs/proc-stat.js';
import { parseSchedstat } from '../src/procfs/cpu-sample.js';
import { parseIoCalls } from '../src/procfs/proc-io.js';
import { CLK_TCK } from '../src/engine/sources.js';

/**
 * Sampling window. It starts at command start when the command took a first sample (ProcFs.headStart),
 * and the other probes run while it elapses, so it costs little wall time. Measured in
 * nanoseconds thread by thread, 50 ms is exact, unless threads came or went meanwhile: an exited
 * thread takes its nanoseconds with it. Then the clock ticks of the whole process decide, over
 * 100 ms: ticks are 10 ms each, so a shorter window would read mostly rounding.
 */
const WINDOW_MS = 50;
const TICKS_WINDOW_MS = 100;
/** utime and stime are each rounded down to a tick: their sum over a window overstates by less than two. */
const TICKS_SLACK_MS = 2 * (1000 / CLK_TCK);
/**
 * A busy target is sampled longer: one burst in a short window could pass for saturation. At
 * half a core or more, or with a thread ready to run half the window, it grows to this.
 */
const BUSY_WINDOW_MS = 500;
const BUSY_PERCENT = 50;

interface Look {
  /** utime + stime, clock ticks (exited threads included) */
  ticks: number;
  /** time on a CPU, and waiting in a run queue for one, by thread id, ns (see CpuSample) */
  ns?: Map<string, { runNs: number; waitNs: number }>;
  start: number;
  at: number;
}

function look(s: CpuSample): Look {
  const st = parseProcStat(s.stat);
  let ns: Look['ns'];
  try {
    ns = s.threads && new Map([...s.threads].map(([tid, text]) => [tid, parseSchedstat(text)]));
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    ns = undefined; // a schedstat this kernel writes differently: the ticks decide
  }
  return { ticks: st.utimeTicks + st.stimeTicks, start: st.starttimeTicks, at: s.at, ...(ns ? { ns } : {}) };
}

/**
 * Percent of one core between two looks. From the nanoseconds when the same threads were there at
 * both and the ticks charged no more than they account for (a thread that came and went in
 * between would show there); else from the ticks.
 */
function used(a: Look, b: Look): { percent: number; by: 'thread ns' | 'ticks' } {
  const ms = b.at - a.at;
  if (ms <= 0) return { percent: 0, by: 'ticks' };
  const ticksMs = ((b.ticks - a.ticks) * 1000) / CLK_TCK;
  const ns = threadNs(a, b);
  if (ns !== undefined && ticksMs <= ns / 1e6 + TICKS_SLACK_MS) return { percent: (ns / 1e6 / ms) * 100, by: 'thread ns' };
  return { percent: (ticksMs / ms) * 100, by: 'ticks' };
}

/** Nanoseconds on a CPU between two looks, summed over threads; undefined unless the same threads were at both. */
function threadNs(a: Look, b: Look): number | undefined {
  if (!a.ns || !b.ns || a.ns.size !== b.ns.size) return undefined;
  let sum = 0;
  for (const [tid, ns] of b.ns) {
    const before = a.ns.get(tid);
    if (before === undefined) return undefined;
    sum += ns.runNs - before.runNs;
  }
  return sum;
}

/** The most any one thread was on a CPU or waiting for one between two looks, percent of the time between them. */
function maxReadyPercent(a: Look, b: Look): number {
  let most = 0;
  for (const [tid, ns] of b.ns ?? []) {
    const before = a.ns?.get(tid);
    if (before) most = Math.max(most, ns.runNs - before.runNs + ns.waitNs - before.waitNs);
  }
  return b.at > a.at ? (most / 1e6 / (b.at - a.at)) * 100 : 0;
}

/** CPU use over a short window: thread nanoseconds (schedstat), or utime + stime of /proc/PID/stat. */
export const probe: Probe = {
  meta: {
    id: 'cpu',
    description: `CPU use over ${WINDOW_MS} ms (per-thread schedstat), ${TICKS_WINDOW_MS} ms of /proc/PID/stat ticks when threads come and go, ${BUSY_WINDOW_MS} ms when busy`,
    runtime: 'any',
    timeoutMs: 2000,
    facts: {
      'cpu.percent': { unit: 'percent', description: 'CPU used, percent of one core (200 = two cores busy)' },
      'cpu.hostCores': { unit: 'cores', description: 'CPUs available on the host' },
      'cpu.maxThreadPercent': {
        unit: 'percent',
        description: `CPU of the busiest thread, percent of one core (measured when the process uses ${BUSY_PERCENT}% or more)`,
      },
      'cpu.maxThreadReadyPercent': {
        unit: 'percent',
        description: 'time the busiest thread was on a CPU or waiting in a run queue for one, percent of the window (schedstat)',
      },
      'cpu.maxThreadUserPercent': {
        unit: 'percent',
        description: "share of the busiest thread's CPU time spent in its own code (user mode) rather than in the kernel (tick-sampled)",
      },
      'cpu.maxThreadIoCallsPerCpuSecond': {
        unit: 'count',
        description: 'read and write system calls of the busiest thread (/proc/PID/task/TID/io), per second it spent on a CPU',
      },
    },
    evidence: {
      'cpu.busiestThread': 'the busiest thread over the window: {tid, name, percent, readyPercent, userPercent, ioCallsPerCpuSecond}',
      'cpu.window': 'how cpu.percent was measured: {ms, by: "thread ns" (schedstat) or "ticks" (/proc/PID/stat)}',
    },
  },
  async run({ proc, pid, sources }): Promise<ProbeOutput> {
    if (!proc.live) return { metrics: {}, skipped: say('cpu.recordedTree') };
    const now = () => look(proc.cpuSample(pid));
    const waitUntil = (at: number) => sleep(Math.max(0, at - performance.now()));
    // the command may have sampled at its start (see ProcFs.headStart): of this process, not a reused PID
    const early = proc.firstCpuSample(pid);
    const first = early && look(early);
    const a = first?.start === sources.stat().starttimeTicks ? first : now();
    await waitUntil(a.at + (a.ns ? WINDOW_MS : TICKS_WINDOW_MS));
    let b = now();
    let m = used(a, b);
    if (m.by === 'ticks' && b.at - a.at < TICKS_WINDOW_MS) {
      await waitUntil(a.at + TICKS_WINDOW_MS);
      b = now();
      m = used(a, b);
    }
    // a busy process is watched longer, thread by thread: one thread pinned at a core is
    // saturation (a Node event loop, a single-threaded server) however many cores the host has.
    // So is one that a busy host keeps waiting for its core: what it was ready to run counts
    let threads: Busiest | undefined;
    if (m.percent >= BUSY_PERCENT || maxReadyPercent(a, b) >= BUSY_PERCENT) {
      const before = threadTimes(proc, pid);
      await sleep(Math.max(BUSY_WINDOW_MS - (b.at - a.at), BUSY_WINDOW_MS / 2));
      threads = busiest(before, threadTimes(proc, pid));
      b = now();
      m = used(a, b);
    }
    const metrics: Record<string, number> = { 'cpu.percent': tenths(m.percent), 'cpu.hostCores': availableParallelism() };
    const evidence: Record<string, unknown> = { 'cpu.window': { ms: Math.round(b.at - a.at), by: m.by } };
    if (threads) {
      metrics['cpu.maxThreadPercent'] = threads.percent;
      if (threads.readyPercent !== undefined) metrics['cpu.maxThreadReadyPercent'] = threads.readyPercent;
      if (threads.userPercent !== undefined) metrics['cpu.maxThreadUserPercent'] = threads.userPercent;
      if (threads.ioCallsPerCpuSecond !== undefined) metrics['cpu.maxThreadIoCallsPerCpuSecond'] = threads.ioCallsPerCpuSecond;
      evidence['cpu.busiestThread'] = threads;
    }
    return { metrics, evidence };
  },
};

/** Threads past this many are not sampled one by one (the cost grows with each). */
const MAX_THREADS = 2000;

interface Busiest {
  tid: number;
  name: string;
  /** on a CPU, percent of one core */
  percent: number;
  /** on a CPU or waiting in a run queue for one, percent of the window: what it would take if the host let it */
  readyPercent?: number;
  /**
   * user mode, percent of its CPU time. Tick-sampled, and the kernel keeps each of utime and
   * stime from going backwards, so over a short window a thread with few ticks can read 0 or 100
   */
  userPercent?: number;
  /** read and write system calls per second on a CPU: exact where userPercent is sampled */
  ioCallsPerCpuSecond?: number;
}

interface ThreadTime {
  name: string;
  ticks: number;
  userTicks: number;
  sched?: { runNs: number; waitNs: number };
  ioCalls?: number;
}

/** Each thread's CPU time so far, with the time of the read; undefined when the threads cannot be listed. */
function threadTimes(proc: ProcFs, pid: number): { at: number; threads: Map<number, ThreadTime> } | undefined {
  let tids: string[];
  try {
    tids = proc.readdir(pid, 'task');
  } catch {
    return undefined;
  }
  if (tids.length > MAX_THREADS) return undefined;
  const threads = new Map<number, ThreadTime>();
  for (const tid of tids) {
    let s;
    try {
      s = parseProcStat(proc.read(pid, `task/${tid}/stat`));
    } catch {
      continue; // the thread ended meanwhile
    }
    const t: ThreadTime = { name: s.comm, ticks: s.utimeTicks + s.stimeTicks, userTicks: s.utimeTicks };
    try {
      t.sched = parseSchedstat(proc.read(pid, `task/${tid}/schedstat`));
    } catch {
      // it ended since, or this kernel keeps no schedstat: its ticks alone
    }
    try {
      t.ioCalls = parseIoCalls(proc.read(pid, `task/${tid}/io`));
    } catch {
      // it ended since, or this kernel keeps no I/O accounting
    }
    threads.set(Number(tid), t);
  }
  return { at: performance.now(), threads };
}

function busiest(a: ReturnType<typeof threadTimes>, b: ReturnType<typeof threadTimes>): Busiest | undefined {
  if (!a || !b || b.at <= a.at) return undefined;
  const ms = b.at - a.at;
  let best: Busiest | undefined;
  for (const [tid, now] of b.threads) {
    const then = a.threads.get(tid);
    if (!then) continue;
    const ticks = now.ticks - then.ticks;
    const ns = now.sched && then.sched ? { run: now.sched.runNs - then.sched.runNs, wait: now.sched.waitNs - then.sched.waitNs } : undefined;
    // nanoseconds where the kernel keeps them, exact; else 10 ms ticks
    const cpuMs = ns ? ns.run / 1e6 : (ticks * 1000) / CLK_TCK;
    const percent = tenths((cpuMs / ms) * 100);
    if (best && percent <= best.percent) continue;
    best = { tid, name: now.name, percent };
    if (now.ioCalls !== undefined && then.ioCalls !== undefined && cpuMs > 0)
      best.ioCallsPerCpuSecond = Math.round(((now.ioCalls - then.ioCalls) / cpuMs) * 1000);
    // a wait is added to schedstat when the thread gets its CPU: one in progress at either end can push past 100
    if (ns) best.readyPercent = Math.min(100, tenths(((ns.run + ns.wait) / 1e6 / ms) * 100));
    if (ticks > 0) best.userPercent = tenths(((now.userTicks - then.userTicks) / ticks) * 100);
  }
  return best;
}

const tenths = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
