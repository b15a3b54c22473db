import { availableParallelism } from 'node:os';
import type { Probe, ProbeOutput } from '../src/engine/probe.js';
import type { ProcFs } from '../src/procfs/procfs.js';
import { say } from '../src/messages.js';
import { parseProcStat } from '../src/procfs/proc-stat.js';
import { CLK_TCK } from '../src/engine/sources.js';

/**
 * Sampling window. It starts at command start when the command took a first sample (ProcFs.headStart),
 * and the other probes run while it elapses, so it costs little wall time.
 */
const WINDOW_MS = 100;
/**
 * A busy target is sampled longer: 100 ms holds only ten clock ticks, so one burst could pass for
 * saturation. At half a core or more the window grows to this, for a steadier figure.
 */
const BUSY_WINDOW_MS = 500;
const BUSY_PERCENT = 50;

/** CPU use over a short window, from reads of utime + stime in /proc/PID/stat. */
export const probe: Probe = {
  meta: {
    id: 'cpu',
    description: `CPU use over ${WINDOW_MS} ms, ${BUSY_WINDOW_MS} ms when busy (/proc/PID/stat deltas)`,
    runtime: 'any',
    timeoutMs: 2000,
    facts: {
      'cpu.percent': { unit: 'percent', description: 'CPU used, percent of one core (200 = two cores busy)' },
      'cpu.hostCores': { unit: 'cores', description: 'CPUs available on the host' },
      'cpu.maxThreadPercent': {
        unit: 'percent',
        description: `CPU of the busiest thread, percent of one core (measured when the process uses ${BUSY_PERCENT}% or more)`,
      },
    },
    evidence: { 'cpu.busiestThread': 'the busiest thread over the window: {tid, name, percent}' },
  },
  async run({ proc, pid, sources }): Promise<ProbeOutput> {
    const sample = (text: string, at: number) => {
      const s = parseProcStat(text);
      return { t: s.utimeTicks + s.stimeTicks, at, start: s.starttimeTicks };
    };
    const ticks = () => sample(proc.read(pid, 'stat'), performance.now());
    // the command may have sampled at its start (see ProcFs.headStart): of this process, not a reused PID
    const early = proc.firstStat(pid);
    const first = early && sample(early.text, early.at);
    const percent = (a: { t: number; at: number }, b: { t: number; at: number }) => {
      const seconds = (b.at - a.at) / 1000;
      return seconds > 0 ? ((b.t - a.t) / CLK_TCK / seconds) * 100 : 0;
    };
    const a = first?.start === sources.stat().starttimeTicks ? first : ticks();
    if (!proc.live) return { metrics: {}, skipped: say('cpu.recordedTree') };
    await sleep(Math.max(0, WINDOW_MS - (performance.now() - a.at)));
    let b = ticks();
    const elapsed = b.at - a.at;
    // a busy process is watched longer, thread by thread: one thread pinned at a core is
    // saturation (a Node event loop, a single-threaded server) however many cores the host has
    let threads: ThreadTicks | undefined;
    if (percent(a, b) >= BUSY_PERCENT) {
      const before = threadTicks(proc, pid);
      await sleep(Math.max(BUSY_WINDOW_MS - elapsed, BUSY_WINDOW_MS / 2));
      threads = busiest(before, threadTicks(proc, pid));
      b = ticks();
    }
    const out: ProbeOutput = { metrics: { 'cpu.percent': Math.round(percent(a, b) * 10) / 10, 'cpu.hostCores': availableParallelism() } };
    if (threads) {
      out.metrics['cpu.maxThreadPercent'] = threads.percent;
      out.evidence = { 'cpu.busiestThread': threads };
    }
    return out;
  },
};

/** Threads past this many are not sampled one by one (the cost grows with each). */
const MAX_THREADS = 2000;

interface ThreadTicks {
  tid: number;
  name: string;
  percent: number;
}

/** utime + stime per thread, with the time of the read; undefined when the threads cannot be listed. */
function threadTicks(proc: ProcFs, pid: number): { at: number; ticks: Map<number, { t: number; name: string }> } | undefined {
  let tids: string[];
  try {
    tids = proc.readdir(pid, 'task');
  } catch {
    return undefined;
  }
  if (tids.length > MAX_THREADS) return undefined;
  const ticks = new Map<number, { t: number; name: string }>();
  for (const tid of tids) {
    try {
      const s = parseProcStat(proc.read(pid, `task/${tid}/stat`));
      ticks.set(Number(tid), { t: s.utimeTicks + s.stimeTicks, name: s.comm });
    } catch {
      // the thread ended meanwhile
    }
  }
  return { at: performance.now(), ticks };
}

function busiest(a: ReturnType<typeof threadTicks>, b: ReturnType<typeof threadTicks>): ThreadTicks | undefined {
  if (!a || !b || b.at <= a.at) return undefined;
  const seconds = (b.at - a.at) / 1000;
  let best: ThreadTicks | undefined;
  for (const [tid, now] of b.ticks) {
    const then = a.ticks.get(tid);
    if (!then) continue;
    const percent = Math.round(((now.t - then.t) / CLK_TCK / seconds) * 1000) / 10;
    if (!best || percent > best.percent) best = { tid, name: now.name, percent };
  }
  return best;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
