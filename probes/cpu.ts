import { availableParallelism } from 'node:os';
import type { Probe, ProbeOutput } from '../src/engine/probe.js';
import { parseProcStat } from '../src/procfs/proc-stat.js';
import { CLK_TCK } from '../src/engine/sources.js';
import { takeFirstStat } from '../src/procfs/head-start.js';

/**
 * Sampling window. It starts at command start when the command took a first sample (headStart),
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
    },
  },
  async run({ proc, pid, sources }): Promise<ProbeOutput> {
    const sample = (text: string, at: number) => {
      const s = parseProcStat(text);
      return { t: s.utimeTicks + s.stimeTicks, at, start: s.starttimeTicks };
    };
    const ticks = () => sample(proc.read(pid, 'stat'), performance.now());
    // the command may have sampled at its start (see headStart): of this process, not a reused PID
    const early = proc.live ? takeFirstStat(pid) : undefined;
    const first = early && sample(early.text, early.at);
    const percent = (a: { t: number; at: number }, b: { t: number; at: number }) => {
      const seconds = (b.at - a.at) / 1000;
      return seconds > 0 ? ((b.t - a.t) / CLK_TCK / seconds) * 100 : 0;
    };
    const a = first?.start === sources.stat().starttimeTicks ? first : ticks();
    if (!proc.live) return { metrics: {}, skipped: 'a recorded tree has no CPU deltas' };
    await sleep(Math.max(0, WINDOW_MS - (performance.now() - a.at)));
    let b = ticks();
    const elapsed = b.at - a.at;
    if (percent(a, b) >= BUSY_PERCENT && elapsed < BUSY_WINDOW_MS) {
      await sleep(BUSY_WINDOW_MS - elapsed);
      b = ticks();
    }
    return { metrics: { 'cpu.percent': Math.round(percent(a, b) * 10) / 10, 'cpu.hostCores': availableParallelism() } };
  },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
