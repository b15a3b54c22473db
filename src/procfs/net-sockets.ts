/**
 * Parsers of the kernel's socket tables: /proc/PID/net/tcp and tcp6, udp and udp6, unix (pure).
 */
import { ParseError } from '../errors.js';

export const TCP_STATES: Record<string, TcpState> = {
  '01': 'established',
  '02': 'synSent',
  '03': 'synRecv',
  '04': 'finWait1',
  '05': 'finWait2',
  '06': 'timeWait',
  '07': 'close',
  '08': 'closeWait',
  '09': 'lastAck',
  '0A': 'listen',
  '0B': 'closing',
  '0C': 'newSynRecv',
};
export type TcpState =
  'established' | 'synSent' | 'synRecv' | 'finWait1' | 'finWait2' | 'timeWait' | 'close' | 'closeWait' | 'lastAck' | 'listen' | 'closing' | 'newSynRecv';

export interface Endpoint {
  ip: string;
  port: number;
}
export interface InetRow {
  local: Endpoint;
  remote: Endpoint;
  state: TcpState;
  txQueue: number;
  rxQueue: number;
  uid: number;
  inode: number;
}

/**
 * One row of /proc/PID/net/{tcp,tcp6,udp,udp6}: "sl: local remote st tx:rx tr:tm retrnsmt uid
 * timeout inode …" (17 fields; the ten up to the inode are all we use). One anchored regex per
 * row: several times faster than splitting, and the table has a row per socket of the host.
 */
const INET_ROW =
  /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{1,4})\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{1,4})\s+([0-9A-Fa-f]{2})\s+([0-9A-Fa-f]+):([0-9A-Fa-f]+)\s+\S+\s+\S+\s+(\d+)\s+\S+\s+(\d+)(?:\s|$)/;

/**
 * /proc/PID/net/{tcp,tcp6,udp,udp6}. Addresses are little-endian 32-bit hex words
 * (0100007F = 127.0.0.1), ports big-endian hex.
 */
export function parseNetInet(text: string, file = '/proc/net/tcp'): InetRow[] {
  const lines = text.split('\n');
  if (!/^\s*sl\s+local_address/.test(lines[0] ?? '')) throw new ParseError(file, 'no header line');
  const rows: InetRow[] = [];
  // a table has many rows but few distinct addresses: convert each address once
  const ips = new Map<string, string>();
  const endpoint = (addr: string, port: string): Endpoint => {
    let ip = ips.get(addr);
    if (ip === undefined) ips.set(addr, (ip = hexToIp(addr, file)));
    return { ip, port: parseInt(port, 16) };
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const m = INET_ROW.exec(line);
    if (!m) {
      if (!line.trim()) continue;
      throw new ParseError(file, `line ${i + 1} is not a socket row`);
    }
    // every group of INET_ROW is mandatory, so a match has all nine
    const state = TCP_STATES[m[5]!.toUpperCase()];
    if (!state) throw new ParseError(file, `line ${i + 1}: unknown state ${m[5]}`);
    rows.push({
      local: endpoint(m[1]!, m[2]!),
      remote: endpoint(m[3]!, m[4]!),
      state,
      txQueue: parseInt(m[6]!, 16),
      rxQueue: parseInt(m[7]!, 16),
      uid: Number(m[8]),
      inode: Number(m[9]),
    });
  }
  return rows;
}

export function hexToIp(hex: string, file = '/proc/net/tcp'): string {
  if (hex.length === 8) return le32(hex).join('.');
  if (hex.length !== 32) throw new ParseError(file, `bad address "${hex}"`);
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) bytes.push(...le32(hex.slice(w * 8, w * 8 + 8)));
  // v4-mapped ::ffff:a.b.c.d is shown as IPv4: it is the same peer
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return bytes.slice(12).join('.');
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return compressIpv6(groups);
}

function le32(hex: string): number[] {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

function compressIpv6(groups: string[]): string {
  // longest run of zero groups (length ≥ 2) becomes "::"
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return groups.slice(0, best).join(':') + '::' + groups.slice(best + bestLen).join(':');
}

export function formatEndpoint(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

export interface UnixRow {
  inode: number;
  type: number;
  state: number;
  path?: string;
}

/** /proc/PID/net/unix: "Num RefCount Protocol Flags Type St Inode Path". */
export function parseNetUnix(text: string, file = '/proc/net/unix'): UnixRow[] {
  const lines = text.split('\n');
  if (!/^Num\s+RefCount/.test(lines[0] ?? '')) throw new ParseError(file, 'no header line');
  const rows: UnixRow[] = [];
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    const [num, , , , type = '', st = '', inode = '', path] = f;
    if (f.length < 6 || !num) continue;
    // Some kernels/fixtures omit the inode column; skip such rows rather than guess.
    if (!/^\d+$/.test(inode)) continue;
    rows.push({ type: parseInt(type, 16), state: parseInt(st, 16), inode: Number(inode), path });
  }
  return rows;
}

/**
 * /proc/PID/net/sockstat, line "TCP: inuse 9502 orphan 0 tw 612 alloc 9502 mem 112": the IPv4
 * TCP sockets of the namespace (in use plus TIME_WAIT), i.e. the size of its tcp table.
 */
export function parseSockstatTcpRows(text: string, file = '/proc/net/sockstat'): number {
  const line = /^TCP:(.*)$/m.exec(text)?.[1];
  const fields = line?.trim().split(/\s+/) ?? [];
  const value = (key: string) => {
    const i = fields.indexOf(key);
    return i >= 0 && /^\d+$/.test(fields[i + 1] ?? '') ? Number(fields[i + 1]) : undefined;
  };
  const inuse = value('inuse'),
    tw = value('tw');
  if (inuse === undefined || tw === undefined) throw new ParseError(file, 'no "TCP: inuse N … tw N" line');
  return inuse + tw;
}
