/** /proc/PID/cmdline: NUL-separated argv (a trailing NUL is usual; some processes rewrite it with spaces). */
export function parseCmdline(buf: Buffer | string): string[] {
  const s = typeof buf === 'string' ? buf : buf.toString('utf8');
  const parts = s.split('\0');
  // trailing NULs: the usual terminator, or the rest of an argv area the process overwrote (setproctitle)
  while (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** /proc/PID/environ: NUL-separated KEY=value. Never printed: callers read single keys. */
export function parseEnviron(buf: Buffer | string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of parseCmdline(buf)) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}
