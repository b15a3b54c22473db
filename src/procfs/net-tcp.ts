import { ParseError } from '../errors.js';

export const TCP_STATES: Record<string, TcpState> = {
  '01': 'established', '02': 'synSent', '03': 'synRecv', '04': 'finWait1', '05': 'finWait2',
  '06': 'timeWait', '07': 'close', '08': 'closeWait', '09': 'lastAck', '0A': 'listen',
  '0B': 'closing', '0C': 'newSynRecv',
};
export type TcpState =
  | 'established' | 'synSent' | 'synRecv' | 'finWait1' | 'finWait2' | 'timeWait' | 'close'
  | 'closeWait' | 'lastAck' | 'listen' | 'closing' | 'newSynRecv';

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
 * /proc/PID/net/{tcp,tcp6,udp,udp6}. Addresses are little-endian 32-bit hex words
 * (0100007F = 127.0.0.1), ports big-endian hex; the inode is the 10th column.
 */
export function parseNetInet(text: string, file = '/proc/net/tcp'): InetRow[] {
  const lines = text.split('\n');
  if (!/^\s*sl\s+local_address/.test(lines[0] ?? '')) throw new ParseError(file, 'no header line');
  const rows: InetRow[] = [];
  // a table has many rows but few distinct addresses: convert each address once
  const ips = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) continue;
    // 10 fields are all we use (a row has 17). Plain indexing, not destructuring: this loop
    // runs once per socket on the host, mostly before the JIT has warmed up.
    const f = line.trim().split(/\s+/, 10);
    if (f.length < 10) throw new ParseError(file, `line ${i + 1} has ${f.length} fields`);
    const state = TCP_STATES[f[3].toUpperCase()];
    const queues = f[4].split(':');
    const tx = queues[0], rx = queues[1];
    if (!state || rx === undefined) throw new ParseError(file, `line ${i + 1}: bad state or queue`);
    rows.push({
      local: parseEndpoint(f[1], file, ips),
      remote: parseEndpoint(f[2], file, ips),
      state,
      txQueue: parseInt(tx, 16),
      rxQueue: parseInt(rx, 16),
      uid: Number(f[7]),
      inode: Number(f[9]),
    });
  }
  return rows;
}

function parseEndpoint(s: string, file: string, ips: Map<string, string>): Endpoint {
  const parts = s.split(':');
  const addr = parts[0], port = parts[1];
  if (port === undefined || !/^[0-9A-Fa-f]{1,4}$/.test(port)) throw new ParseError(file, `bad address "${s}"`);
  let ip = ips.get(addr);
  if (ip === undefined) {
    if (!/^[0-9A-Fa-f]+$/.test(addr)) throw new ParseError(file, `bad address "${s}"`);
    ip = hexToIp(addr, file);
    ips.set(addr, ip);
  }
  return { ip, port: parseInt(port, 16) };
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
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return compressIpv6(groups);
}

function le32(hex: string): number[] {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

function compressIpv6(groups: string[]): string {
  // longest run of zero groups (length ≥ 2) becomes "::"
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
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
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].trim().split(/\s+/);
    if (f.length < 6 || !f[0]) continue;
    // Some kernels/fixtures omit the inode column; skip such rows rather than guess.
    if (f.length < 7 || !/^\d+$/.test(f[6])) continue;
    rows.push({ type: parseInt(f[4], 16), state: parseInt(f[5], 16), inode: Number(f[6]), path: f[7] });
  }
  return rows;
}
