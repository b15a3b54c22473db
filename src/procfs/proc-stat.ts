import { ParseError } from '../errors.js';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  flags: number;
  utimeTicks: number;
  stimeTicks: number;
  numThreads: number;
  starttimeTicks: number;
  rssPages: number;
}

/** PF_KTHREAD in /proc/PID/stat flags: the task is a kernel thread. */
export const PF_KTHREAD = 0x00200000;
/** PF_EXITING: the task is exiting (its fds may already be closed, before it turns zombie). */
export const PF_EXITING = 0x00000004;

/** /proc/PID/stat. comm may contain spaces and parentheses: split after the LAST ')'. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new ParseError('/proc/PID/stat', 'no (comm) field');
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state); field N is rest[N - 3]
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) throw new ParseError('/proc/PID/stat', `field ${n} is not a number`);
    return v;
  };
  const [state] = rest;
  if (state === undefined || rest.length < 22) throw new ParseError('/proc/PID/stat', `only ${rest.length + 2} fields`);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state,
    ppid: field(4),
    flags: field(9),
    utimeTicks: field(14),
    stimeTicks: field(15),
    numThreads: field(20),
    starttimeTicks: field(22),
    rssPages: field(24),
  };
}

/** btime (boot time, epoch seconds) from /proc/stat. */
export function parseBootTime(text: string): number {
  const m = /^btime\s+(\d+)/m.exec(text);
  if (!m) throw new ParseError('/proc/stat', 'no btime line');
  return Number(m[1]);
}

/** Seconds since boot from /proc/uptime. */
export function parseUptime(text: string): number {
  const v = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(v)) throw new ParseError('/proc/uptime', 'not a number');
  return v;
}
