/**
 * What `proctriage PID…` starts before it loads the diagnosis modules (20–40 ms of loading):
 * the helper thread of a big target (see helperFor), and the first CPU sample of the target, so
 * that the cpu probe's sampling window has mostly passed by the time the probes run.
 */
import { readFileSync } from 'node:fs';
import { helperFor } from './helper-thread.js';

export interface StatSample {
  /** /proc/PID/stat as read */
  text: string;
  /** performance.now() of the read */
  at: number;
}

const firstStats = new Map<number, StatSample>();

export function headStart(pid: number): void {
  helperFor(pid);
  try {
    firstStats.set(pid, { text: readFileSync(`/proc/${pid}/stat`, 'utf8'), at: performance.now() });
  } catch {
    // gone or denied: the scan says so
  }
}

/** The /proc/PID/stat read at command start, handed out once. */
export function takeFirstStat(pid: number): StatSample | undefined {
  const s = firstStats.get(pid);
  firstStats.delete(pid);
  return s;
}
