import { posix } from 'node:path';
import { ParseError } from '../errors.js';

export interface CgroupLine {
  hierarchyId: number;
  controllers: string[]; // empty for the v2 line "0::/path"
  path: string;
}

/** /proc/PID/cgroup: "4:memory:/a/b" (v1) and "0::/a/b" (v2). */
export function parseProcCgroup(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [, id, controllers, path] = /^(\d+):([^:]*):(.*)$/.exec(line) ?? [];
    if (id === undefined || controllers === undefined || path === undefined) throw new ParseError('/proc/PID/cgroup', `bad line "${line}"`);
    out.push({ hierarchyId: Number(id), controllers: controllers ? controllers.split(',') : [], path });
  }
  return out;
}

export interface Mount {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** /proc/self/mountinfo; fields after " - " are fstype, source, super options. */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) throw new ParseError('/proc/self/mountinfo', `no " - " separator`);
    const [, , , root, mountPoint] = line.slice(0, sep).split(' ');
    const [fsType, , superOptions] = line.slice(sep + 3).split(' ');
    if (root === undefined || mountPoint === undefined || fsType === undefined || superOptions === undefined) {
      throw new ParseError('/proc/self/mountinfo', 'too few fields');
    }
    out.push({ root: unescapeMount(root), mountPoint: unescapeMount(mountPoint), fsType, superOptions: superOptions.split(',') });
  }
  return out;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface CgroupDirs {
  version: 1 | 2 | 'hybrid';
  /** the target's unified (v2) directory, if a cgroup2 mount covers it */
  v2?: CgroupDir;
  /** v1 directory per controller (memory, cpu, pids …) */
  v1: Record<string, CgroupDir>;
}

export interface CgroupDir {
  dir: string;
  /** where the hierarchy is mounted: walking up for ancestor limits stops here */
  mountPoint: string;
}

/** The directory and its ancestors up to the mount point, nearest first. */
export function ancestors(d: CgroupDir): [string, ...string[]] {
  const out: [string, ...string[]] = [d.dir];
  let cur = d.dir;
  while (cur !== d.mountPoint && cur.startsWith(d.mountPoint + '/')) {
    cur = posix.dirname(cur);
    out.push(cur);
  }
  return out;
}

/**
 * Map the target's cgroup paths to directories through OUR mountinfo:
 * dir = mountPoint + (path relative to the mount's root).
 */
export function resolveCgroupDirs(lines: CgroupLine[], mounts: Mount[]): CgroupDirs {
  const v1: Record<string, CgroupDir> = {};
  let v2: CgroupDir | undefined;
  for (const line of lines) {
    if (line.hierarchyId === 0 && line.controllers.length === 0) {
      const m = mounts.find((mt) => mt.fsType === 'cgroup2' && covers(mt.root, line.path));
      if (m) v2 = { dir: join(m, line.path), mountPoint: m.mountPoint };
      continue;
    }
    for (const c of line.controllers) {
      const name = c.replace(/^name=/, '');
      const m = mounts.find((mt) => mt.fsType === 'cgroup' && mt.superOptions.includes(c) && covers(mt.root, line.path));
      if (m) v1[name] = { dir: join(m, line.path), mountPoint: m.mountPoint };
    }
  }
  const hasV1 = Object.keys(v1).some((k) => k !== 'systemd');
  return { version: hasV1 ? (v2 ? 'hybrid' : 1) : 2, v2, v1 };
}

function covers(root: string, path: string): boolean {
  return root === '/' || path === root || path.startsWith(root + '/');
}

function join(m: Mount, path: string): string {
  const rel = posix.relative(m.root, path);
  return rel ? posix.join(m.mountPoint, rel) : m.mountPoint;
}

/** "key value" lines (memory.stat, memory.events, cpu.stat, memory.oom_control). */
export function parseKeyValues(text: string, file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [k, v] = line.trim().split(/\s+/);
    const n = Number(v);
    if (!k || !Number.isFinite(n)) throw new ParseError(file, `bad line "${line}"`);
    out[k] = n;
  }
  return out;
}

/** v1 reports "no limit" as a huge page-aligned sentinel (≈ 2^63). */
export const V1_UNLIMITED = 2 ** 60;

/** A single-number cgroup file: bytes, "max" (v2) or the v1 sentinel → Infinity. */
export function parseLimitValue(text: string, file: string): number {
  const s = text.trim();
  if (s === 'max' || s === '-1') return Infinity;
  const n = s === '' ? NaN : Number(s); // Number('') is 0: an empty file is not a zero limit
  if (!Number.isFinite(n)) throw new ParseError(file, `"${s}" is not a number`);
  return n >= V1_UNLIMITED ? Infinity : n;
}

/** v2 cpu.max: "$QUOTA $PERIOD" with "max" = unlimited → cores (Infinity when unlimited). */
export function parseCpuMax(text: string, file = 'cpu.max'): number {
  const [q, p] = text.trim().split(/\s+/);
  if (q === 'max') return Infinity;
  const quota = Number(q),
    period = Number(p);
  if (!Number.isFinite(quota) || !Number.isFinite(period) || period <= 0) throw new ParseError(file, `bad value "${text.trim()}"`);
  return quota / period;
}
