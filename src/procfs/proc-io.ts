import { ParseError } from '../errors.js';

/**
 * /proc/PID/io (or /proc/PID/task/TID/io): "key: value" lines. Returns syscr + syscw, the
 * read-family and write-family system calls so far (read, readv, pread, write, writev,
 * sendfile …; not send/recv). Exact counts, unlike the tick-sampled user and system times.
 */
export function parseIoCalls(text: string): number {
  const r = /^syscr: (\d{1,19})$/m.exec(text);
  const w = /^syscw: (\d{1,19})$/m.exec(text);
  const calls = Number(r?.[1]) + Number(w?.[1]);
  if (!Number.isSafeInteger(calls)) throw new ParseError('/proc/PID/io', 'no syscr and syscw counts');
  return calls;
}
