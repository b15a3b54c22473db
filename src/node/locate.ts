/**
 * Where a Node.js process's inspector is (or would open), read from /proc only:
 * the --inspect* flags on its command line and in NODE_OPTIONS, and the TCP sockets it
 * listens on (its fds joined with the LISTEN rows of its network namespace).
 */
import type { ProcFs } from '../procfs/procfs.js';
import { parseNetInet, type InetRow } from '../procfs/net-sockets.js';
import { classifyFdLink } from '../procfs/fd.js';
import { ProctriageError } from '../errors.js';
import { connectHost } from '../transports/loopback.js';
import { say } from '../messages.js';

export const DEFAULT_INSPECTOR_PORT = 9229;

export interface InspectFlags {
  /** an --inspect, --inspect-brk or --inspect-wait flag is present: the inspector opened at start */
  atStart: boolean;
  /** host the inspector binds to (default 127.0.0.1) */
  host: string;
  /** its port (0 = a random port chosen at start) */
  port: number;
  /** --disable-sigusr1 was given */
  sigusr1Disabled: boolean;
  /** the flags seen, for the report */
  seen: string[];
}

/** Node options that take their value as the next argument (so it is not mistaken for the script). */
const VALUE_OPTIONS = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-e',
  '--eval',
  '-p',
  '--print',
  '--inspect-port',
  '--debug-port',
  '-C',
  '--conditions',
  '--title',
  '--env-file',
  '--input-type',
  '--stack-trace-limit',
  '--max-old-space-size',
  '--max-semi-space-size',
  '--redirect-warnings',
  '--diagnostic-dir',
  '--report-dir',
  '--report-directory',
  '--report-filename',
  '--report-signal',
  '--cpu-prof-dir',
  '--heap-prof-dir',
  '--icu-data-dir',
  '--openssl-config',
  '--tls-cipher-list',
  '--secure-heap',
  '--secure-heap-min',
  '--unhandled-rejections',
  '--experimental-policy',
  '--watch-path',
  '--dns-result-order',
  '--disable-warning',
  '--experimental-sea-config',
  '--localstorage-file',
]);

/**
 * The node options of a command line: the arguments between the executable and the script
 * (what follows the script belongs to the application and is never read as a node flag).
 */
export function nodeArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!; // i < argv.length
    if (a === '--' || !a.startsWith('-') || a === '-') break;
    out.push(a);
    const value = argv[i + 1];
    if (VALUE_OPTIONS.has(a) && value !== undefined) {
      out.push(value);
      i++;
    }
  }
  return out;
}

/** `[host:]port` as Node accepts it after --inspect= / --inspect-port=. */
export function parseHostPort(v: string): { host?: string; port?: number } | undefined {
  let m: RegExpExecArray | null;
  if (/^\d+$/.test(v)) return { port: Number(v) };
  if ((m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(v))) return { host: m[1], ...(m[2] !== undefined ? { port: Number(m[2]) } : {}) };
  if ((m = /^([^:\s[\]]+)(?::(\d+))?$/.exec(v))) return { host: m[1], ...(m[2] !== undefined ? { port: Number(m[2]) } : {}) };
  return undefined;
}

/**
 * The inspector settings from NODE_OPTIONS (applied first) and the command line (wins).
 */
export function parseInspectFlags(argv: string[], nodeOptions?: string): InspectFlags {
  const f: InspectFlags = { atStart: false, host: '127.0.0.1', port: DEFAULT_INSPECTOR_PORT, sigusr1Disabled: false, seen: [] };
  const apply = (args: string[]) => {
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!; // i < args.length
      const m = /^--(inspect|inspect-brk|inspect-wait|inspect-port|debug-port|disable-sigusr1)(?:=(.*))?$/.exec(a);
      if (!m) continue;
      f.seen.push(a);
      if (m[1] === 'disable-sigusr1') {
        f.sigusr1Disabled = true;
        continue;
      }
      let value = m[2];
      const next = args[i + 1];
      if ((m[1] === 'inspect-port' || m[1] === 'debug-port') && value === undefined && next !== undefined && !next.startsWith('-')) {
        value = next;
        i++;
        f.seen[f.seen.length - 1] += ` ${value}`;
      }
      if (m[1] === 'inspect' || m[1] === 'inspect-brk' || m[1] === 'inspect-wait') f.atStart = true;
      if (value === undefined) continue;
      const hp = parseHostPort(value);
      if (!hp) continue;
      if (hp.host !== undefined) f.host = hp.host;
      if (hp.port !== undefined && hp.port >= 0 && hp.port <= 65535) f.port = hp.port;
    }
  };
  if (nodeOptions) apply(nodeOptions.split(/\s+/).filter(Boolean));
  apply(nodeArgs(argv));
  return f;
}

export interface Listener {
  ip: string;
  port: number;
  inode: number;
}

/** TCP LISTEN rows (or those `keep` selects) of the target's network namespace (fresh reads, v4 and v6). */
export function listenRows(proc: ProcFs, pid: number, keep: (r: InetRow) => boolean = (r) => r.state === 'listen'): InetRow[] {
  const rows: InetRow[] = [];
  for (const file of ['tcp', 'tcp6'] as const) {
    let text: string;
    try {
      text = proc.read(pid, `net/${file}`);
    } catch (err) {
      if (err instanceof ProctriageError && err.code === 'NO_SUCH_PROCESS' && file === 'tcp6') continue; // no IPv6
      throw err;
    }
    rows.push(...parseNetInet(text, `/proc/${pid}/net/${file}`).filter(keep));
  }
  return rows;
}

/** Socket inodes held by the target (fresh read); throws AccessDenied when fd/ is unreadable. */
export function socketInodes(proc: ProcFs, pid: number): Set<number> {
  const out = new Set<number>();
  for (const t of proc.readFdLinks(pid, (_, link) => classifyFdLink(link))) {
    if (t.type === 'socket' && t.inode) out.add(t.inode);
  }
  return out;
}

/** The TCP sockets the target itself listens on; undefined when its fds cannot be read. */
export function ownListeners(proc: ProcFs, pid: number): Listener[] | undefined {
  let inodes: Set<number>;
  try {
    inodes = socketInodes(proc, pid);
  } catch (err) {
    if (err instanceof ProctriageError && err.code === 'ACCESS_DENIED') return undefined;
    throw err;
  }
  return listenRows(proc, pid)
    .filter((r) => inodes.has(r.inode))
    .map((r) => ({ ip: r.local.ip, port: r.local.port, inode: r.inode }));
}

/** The same join from already-read tables (the fd table and net rows the other probes share). */
export function listenersFrom(inodes: Set<number>, rows: InetRow[]): Listener[] {
  return rows.filter((r) => r.state === 'listen' && inodes.has(r.inode)).map((r) => ({ ip: r.local.ip, port: r.local.port, inode: r.inode }));
}

export interface Candidate {
  host: string;
  port: number;
  /** why this address was tried */
  source: string;
  /** the target holds this LISTEN socket (kernel-verified ownership) */
  owned: boolean;
}

export interface CandidateSearch {
  candidates: Candidate[];
  /** listeners that might be the inspector but are not on loopback */
  remoteOnly: Candidate[];
}

/**
 * Addresses worth asking GET /json/list, best first. Without readable fds only the address
 * the flags name is tried; with them, only sockets the target itself listens on, and other
 * ports than the expected one only when the flags say an inspector opened at start (for
 * --inspect=0, a random port). A port the target does not hold is never probed when its fds
 * are readable.
 */
export function inspectorCandidates(flags: InspectFlags, listeners: Listener[] | undefined, max = 6): CandidateSearch {
  const candidates: Candidate[] = [];
  const remoteOnly: Candidate[] = [];
  const add = (c: Candidate) => {
    if (candidates.some((x) => x.port === c.port && x.host === c.host)) return;
    candidates.push(c);
  };
  if (!listeners) {
    if (flags.atStart && flags.port > 0) {
      const ip = flags.host === 'localhost' ? '127.0.0.1' : flags.host;
      const host = connectHost(ip);
      (host ? candidates : remoteOnly).push({ host: host ?? ip, port: flags.port, source: say('node.source.flagPort'), owned: false });
    }
    return { candidates, remoteOnly };
  }
  const byPort = [...listeners].sort((a, b) => Number(b.port === flags.port) - Number(a.port === flags.port) || a.port - b.port);
  for (const l of byPort) {
    const expected = flags.port > 0 && l.port === flags.port;
    if (!expected && !(flags.atStart && flags.port === 0)) continue;
    const host = connectHost(l.ip);
    const source = expected ? (flags.atStart ? say('node.source.flagPort') : say('node.source.sigusr1Port')) : say('node.source.listening');
    const c = { host: host ?? l.ip, port: l.port, source, owned: true };
    if (host) add(c);
    else remoteOnly.push(c);
    if (candidates.length >= max) break;
  }
  return { candidates, remoteOnly };
}

/** Does the target hold a LISTEN socket on this port (any address)? undefined when unknowable. */
export function ownsListenPort(proc: ProcFs, pid: number, port: number): boolean | undefined {
  try {
    const l = ownListeners(proc, pid);
    return l === undefined ? undefined : l.some((x) => x.port === port);
  } catch {
    return undefined;
  }
}
