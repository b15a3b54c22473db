import { availableParallelism } from 'node:os';
import type { Probe, ProbeOutput } from '../src/engine/probe.js';
import { parseProcStat } from '../src/procfs/proc-stat.js';
import { CLK_TCK } from '../src/engine/sources.js';

/** Sampling window. The other probes run while it elapses, so it costs no wall time on big targets. */
const WINDOW_MS = 100;

/** CPU use over a short window, from two reads of utime + stime in /proc/PID/stat. */
export const probe: Probe = {
  meta: {
    id: 'cpu',
    description: `CPU use over ${WINDOW_MS} ms (/proc/PID/stat deltas)`,
    runtime: 'any',
    timeoutMs: 2000,
    facts: {
      'cpu.percent': { unit: 'percent', description: 'CPU used, percent of one core (200 = two cores busy)' },
      'cpu.hostCores': { unit: 'cores', description: 'CPUs available on the host' },
    },
  },
  async run({ proc, pid }): Promise<ProbeOutput> {
    const ticks = () => {
      const s = parseProcStat(proc.read(pid, 'stat'));
      return { t: s.utimeTicks + s.stimeTicks, at: performance.now() };
    };
    const a = ticks();
    if (!proc.live) return { metrics: {}, skipped: 'a recorded tree has no CPU deltas' };
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const b = ticks();
    const seconds = (b.at - a.at) / 1000;
    const percent = seconds > 0 ? ((b.t - a.t) / CLK_TCK / seconds) * 100 : 0;
    return { metrics: { 'cpu.percent': Math.round(percent * 10) / 10, 'cpu.hostCores': availableParallelism() } };
  },
};
