/**
 * Is an address loopback? One answer for every transport (the inspector and pprof clients
 * both gate on it before any socket is created). IPv6 is read into its 16 bytes, so every
 * spelling of ::1 and of a v4-mapped 127/8 address (::ffff:127.0.0.1, ::ffff:7f00:1,
 * 0:0:0:0:0:ffff:127.0.0.1) gives the same answer.
 */
import { isIP } from 'node:net';

/** The 16 bytes of an IPv6 literal (no zone id), or undefined when it is not one. */
export function ipv6Bytes(text: string): number[] | undefined {
  const a = text.toLowerCase();
  if (isIP(a) !== 6) return undefined;
  let head = a,
    v4: number[] = [];
  const [, before, dotted] = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(a) ?? [];
  if (before !== undefined && dotted !== undefined) {
    head = before.endsWith('::') ? before : before.slice(0, -1);
    v4 = dotted.split('.').map(Number);
  }
  const groupsWanted = 8 - v4.length / 2;
  const [l, r] = head.includes('::') ? head.split('::') : [head, undefined];
  const left = l ? l.split(':') : [];
  const right = r === undefined ? [] : r ? r.split(':') : [];
  const groups = r === undefined ? left : [...left, ...Array<string>(groupsWanted - left.length - right.length).fill('0'), ...right];
  if (groups.length !== groupsWanted) return undefined;
  const bytes: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  return [...bytes, ...v4];
}

/** 127.0.0.0/8, ::1, and v4-mapped 127/8, in any spelling; brackets allowed. Names are not addresses. */
export function isLoopbackAddress(ip: string): boolean {
  const a = ip.replace(/^\[|\]$/g, '');
  if (isIP(a) === 4) return a.startsWith('127.');
  const b = ipv6Bytes(a);
  if (!b) return false;
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return true;
  return b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff && b[12] === 127;
}

/** A loopback address, or the name localhost (which both clients map to loopback only). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || isLoopbackAddress(h);
}

/**
 * Where to connect to reach a listener from this host over loopback: itself when loopback, the
 * loopback of its family for a wildcard bind (0.0.0.0, ::); undefined when loopback cannot reach it.
 */
export function connectHost(ip: string): string | undefined {
  if (ip === '0.0.0.0') return '127.0.0.1';
  if (ip === '::') return '::1';
  return isLoopbackAddress(ip) ? ip : undefined;
}
