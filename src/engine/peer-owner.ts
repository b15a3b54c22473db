/**
 * Does an address belong to the target? Only if the LISTEN socket that serves it, in the
 * target's own network namespace tables, has its inode in the target's fd table. What the
 * peer says about itself (a process.pid, a command line) is no proof: anyone on the host can
 * open a port and answer with the target's pid.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { isIP } from 'node:net';
import type { TargetSources } from './sources.js';
import type { InetRow } from '../procfs/net-sockets.js';
import { ipv6Bytes } from '../transports/loopback.js';
import { ProctriageError } from '../errors.js';

export type Ownership = { owned: true; inode: number } | { owned: false; reason: string };

/** An IP as 16 bytes (IPv4 as v4-mapped), or undefined for a name. */
function ipBytes(ip: string): number[] | undefined {
  const a = ip.replace(/^\[|\]$/g, '');
  if (isIP(a) === 4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...a.split('.').map(Number)];
  return ipv6Bytes(a);
}

/** Would a connection to host:port reach the socket of this LISTEN row? */
export function rowServes(row: InetRow, host: string, port: number): boolean {
  if (row.state !== 'listen' || row.local.port !== port) return false;
  const h = ipBytes(host),
    r = ipBytes(row.local.ip);
  if (!h || !r) return false;
  if (h.every((b, i) => b === r[i])) return true;
  const mapped = h.slice(0, 12).join() === '0,0,0,0,0,0,0,0,0,0,255,255';
  if (row.local.ip === '0.0.0.0') return mapped;
  return row.local.ip === '::'; // a dual-stack wildcard takes both families
}

/** Who holds this socket? Looks through the host's processes, bounded in time. */
function socketOwner(sources: TargetSources, inode: number, budgetMs = 300): number | undefined {
  const want = `socket:[${inode}]`;
  const t0 = performance.now();
  for (const pid of sources.proc.pids()) {
    if (performance.now() - t0 > budgetMs) return undefined;
    const dir = sources.proc.procPath(pid, 'fd');
    let fds: string[];
    try {
      fds = readdirSync(dir);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`${dir}/${fd}`) === want) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/**
 * Is host:port (an IP literal, or localhost) a listening socket the target holds? `inside`: the
 * connection is made from within the target's network namespace, so its tables answer even
 * when that namespace is not ours.
 */
export function peerOwnership(sources: TargetSources, host: string, port: number, o: { inside?: boolean } = {}): Ownership {
  const { pid } = sources;
  const shown = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const not = (why: string): Ownership => ({ owned: false, reason: `${shown} is not a socket of pid ${pid} (${why})` });
  const theirs = sources.netNamespace();
  // unknown: compared below as different
  const ours = sources.proc.ownNetNamespace() ?? '';
  // inside: the address is connected to from within the target's own namespace (a relay), where its tables apply
  if (!theirs || (theirs !== ours && !o.inside)) {
    return not(theirs ? 'the process is in another network namespace, where this address is not ours' : 'its network namespace is not readable');
  }
  let inodes: Set<number>;
  const rows: InetRow[] = [];
  try {
    inodes = sources.socketInodes();
    for (const f of ['tcp', 'tcp6'] as const) {
      try {
        rows.push(...sources.inet(f));
      } catch (err) {
        if (f === 'tcp') throw err; // no tcp6 table: IPv6 is off
      }
    }
  } catch (err) {
    if (err instanceof ProctriageError && err.code === 'ACCESS_DENIED') return not('its fd table is not readable, so this cannot be verified');
    throw err;
  }
  const hosts = host.toLowerCase() === 'localhost' ? ['127.0.0.1', '::1'] : [host];
  const serving = rows.filter((r) => hosts.some((h) => rowServes(r, h, port)));
  const own = serving.find((r) => inodes.has(r.inode));
  if (own) return { owned: true, inode: own.inode };
  const [first] = serving;
  if (!first) return not('nothing listens there in its network namespace');
  const owner = socketOwner(sources, first.inode);
  return not(owner !== undefined ? `it belongs to pid ${owner}` : 'it belongs to no process we can see');
}
