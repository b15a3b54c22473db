/**
 * Finding a Go target's pprof endpoint, and checking that a given one is really the target's.
 *
 * Discovery looks only at the target's own TCP listeners (fd socket inodes ∩ LISTEN rows of
 * /proc/PID/net/tcp{,6}) that are reachable on loopback, and sends each one GET /debug/pprof/
 * with a short deadline: nothing else.
 */
import type { InetRow } from '../procfs/net-sockets.js';
import { ProctriageError } from '../errors.js';
import { endpointUrl, getText } from '../transports/pprof.js';
import { connectHost } from '../transports/loopback.js';
import type { NetRoute } from '../transports/netns-relay.js';

export interface Listener {
  /** the address it listens on, as in /proc (127.0.0.1, ::1, 0.0.0.0, ::) */
  ip: string;
  port: number;
  /** where we connect to reach it over loopback */
  url: URL;
}

/** Ports tried first: the ones pprof is usually given. */
const PREFERRED = [6060, 6061, 8080, 9090, 8081];
export const MAX_CANDIDATES = 16;

/** What discovery reads of the target (the run's memoised reads: TargetSources provides them). */
export interface SocketReads {
  socketInodes(): Set<number>;
  inet(family: 'tcp' | 'tcp6'): InetRow[];
}

/** The target's LISTEN sockets reachable over loopback, preferred ports first. Throws AccessDenied when the fd table is unreadable. */
export function loopbackListeners(sources: SocketReads): Listener[] {
  const inodes = sources.socketInodes();
  const rows: InetRow[] = [];
  for (const f of ['tcp', 'tcp6'] as const) {
    try {
      rows.push(...sources.inet(f));
    } catch (err) {
      if (err instanceof ProctriageError && err.code === 'NO_SUCH_PROCESS') throw err;
      // a missing tcp6 table (IPv6 disabled) is not an error
    }
  }
  const seen = new Set<string>();
  const out: Listener[] = [];
  for (const r of rows) {
    if (r.state !== 'listen' || !inodes.has(r.inode)) continue;
    const host = connectHost(r.local.ip);
    if (!host) continue;
    const key = `${host}:${r.local.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ip: r.local.ip, port: r.local.port, url: new URL(`http://${host.includes(':') ? `[${host}]` : host}:${r.local.port}`) });
  }
  const rank = (p: number) => (PREFERRED.includes(p) ? PREFERRED.indexOf(p) : PREFERRED.length);
  return out.sort((a, b) => rank(a.port) - rank(b.port) || a.port - b.port);
}

/** Does a pprof index page answer here? (GET /debug/pprof/, short deadline, small cap.) */
export async function looksLikePprof(base: URL, timeoutMs: number, signal?: AbortSignal, ownEndpoints?: Set<string>, route?: NetRoute): Promise<boolean> {
  try {
    const r = await getText(endpointUrl(base, '/debug/pprof/'), { timeoutMs, maxBytes: 64 * 1024, signal, ownEndpoints, ...(route ? { route } : {}) });
    return r.status === 200 && /goroutine\?debug=1|Types of profiles available|\/debug\/pprof\/goroutine/.test(r.text);
  } catch {
    return false;
  }
}

/** Try the listeners concurrently; the first in preference order that serves pprof wins. */
export async function discover(
  listeners: Listener[],
  timeoutMs: number,
  signal?: AbortSignal,
  ownEndpoints?: Set<string>,
  route?: NetRoute,
): Promise<{ found?: Listener; tried: Listener[] }> {
  const tried = listeners.slice(0, MAX_CANDIDATES);
  const ok = await Promise.all(tried.map((l) => looksLikePprof(l.url, timeoutMs, signal, ownEndpoints, route)));
  const i = ok.indexOf(true);
  return { ...(i >= 0 ? { found: tried[i] } : {}), tried };
}

/** NUL-separated argv from /debug/pprof/cmdline compared with the target's. */
export function sameCmdline(served: string, argv: string[]): boolean {
  const a = served.replace(/\0+$/, '').split('\0');
  return a.length === argv.length && a.every((x, i) => x === argv[i]);
}
