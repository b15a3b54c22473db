import { readFileSync, readdirSync } from 'node:fs';
import { ParseError } from '../errors.js';

/**
 * One look at what the kernel has charged a process for CPU: /proc/PID/stat (utime + stime, in
 * clock ticks of 10 ms, for the whole process, exited threads included) and, thread by thread,
 * /proc/PID/task/TID/schedstat (time on a CPU, and waiting for one, in nanoseconds). Two looks
 * 50 ms apart measure exactly with the nanoseconds, where ticks would be off by up to 20 ms; but
 * only while the same threads are there at both ends: a thread that exits takes its nanoseconds
 * with it.
 */
export interface CpuSample {
  /** /proc/PID/stat as read */
  stat: string;
  /** schedstat text by thread id; absent when the threads could not all be read, or are too many */
  threads?: Map<string, string>;
  /** performance.now() of the look */
  at: number;
}

/**
 * Past this many threads the nanoseconds are not read: a read costs about 11 µs a thread (1 000
 * threads: 12–19 ms a look, the first one before the command's modules load), more than the
 * 50 ms the shorter window saves. The ticks then decide over 100 ms.
 */
export const MAX_NS_THREADS = 256;

/** Take one look; `path(pid, rel)` locates /proc/PID/rel under the ProcFs root. Throws what reading stat throws. */
export function readCpuSample(path: (pid: number, rel: string) => string, pid: number): CpuSample {
  const stat = readFileSync(path(pid, 'stat'), 'utf8');
  let threads: Map<string, string> | undefined = new Map();
  try {
    const tids = readdirSync(path(pid, 'task'));
    if (tids.length > MAX_NS_THREADS) threads = undefined;
    else for (const tid of tids) threads.set(tid, readFileSync(path(pid, `task/${tid}/schedstat`), 'latin1'));
  } catch {
    threads = undefined; // a thread ended between the listing and its read, or no schedstat: ticks only
  }
  return { stat, at: performance.now(), ...(threads ? { threads } : {}) };
}

/**
 * /proc/PID/task/TID/schedstat: "on-CPU-ns wait-ns timeslices": the time on a CPU and the time
 * spent runnable in a run queue waiting for one, in nanoseconds.
 */
export function parseSchedstat(text: string): { runNs: number; waitNs: number } {
  const m = /^(\d{1,19}) (\d{1,19})/.exec(text);
  const [runNs, waitNs] = [Number(m?.[1]), Number(m?.[2])];
  if (!Number.isSafeInteger(runNs) || !Number.isSafeInteger(waitNs)) throw new ParseError('/proc/PID/task/TID/schedstat', 'no on-CPU and wait times');
  return { runNs, waitNs };
}
