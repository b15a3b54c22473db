/**
 * file:line for the frames of a trace, from the DWARF of the binaries they lie in (binutils'
 * addr2line; Go's DWARF reads with it too). The binary is read through /proc/PID/map_files, the
 * exact file the target mapped (in its own mount namespace, even if deleted since), so no path
 * from the target is ever opened or passed on. Without the target alive, or without DWARF, a
 * frame keeps its function name only.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import type { Frame } from './parse.js';

export interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  /** "start-end" in hex without leading zeros: the name of the map_files link */
  range: string;
  path?: string;
}

/** /proc/PID/maps: "start-end perms offset dev inode path". Pure. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
    if (!m) continue;
    const path = m[4]!.trim();
    out.push({
      start: BigInt(`0x${m[1]}`),
      end: BigInt(`0x${m[2]}`),
      offset: BigInt(`0x${m[3]}`),
      range: `${BigInt(`0x${m[1]}`).toString(16)}-${BigInt(`0x${m[2]}`).toString(16)}`,
      ...(path ? { path } : {}),
    });
  }
  return out;
}

interface Load {
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
}

/** The PT_LOAD segments of an ELF file (64-bit little-endian only: x86-64, arm64). */
export function loadSegments(head: Buffer): Load[] | undefined {
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return undefined;
  const phoff = Number(head.readBigUInt64LE(0x20));
  const phentsize = head.readUInt16LE(0x36);
  const phnum = head.readUInt16LE(0x38);
  if (phentsize < 56 || phnum > 256 || phoff + phnum * phentsize > head.length) return undefined;
  const loads: Load[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (head.readUInt32LE(o) !== 1) continue;
    loads.push({ offset: head.readBigUInt64LE(o + 8), vaddr: head.readBigUInt64LE(o + 16), filesz: head.readBigUInt64LE(o + 32) });
  }
  return loads;
}

/** The address in the file's own numbering (what addr2line takes), or undefined. Pure. */
export function fileAddress(addr: bigint, m: Mapping, loads: Load[]): bigint | undefined {
  const fileOffset = addr - m.start + m.offset;
  const seg = loads.find((l) => fileOffset >= l.offset && fileOffset < l.offset + l.filesz);
  return seg ? fileOffset - seg.offset + seg.vaddr : undefined;
}

export interface Location {
  file?: string;
  line?: number;
  function?: string;
  module?: string;
}

/** "/src/leak.c:12" or "/src/leak.c:12 (discriminator 3)" → file and line; "??:0" → undefined. Pure. */
export function parseAddr2lineLine(line: string): { file: string; line: number } | undefined {
  const m = /^(.*):(\d+)(?: \(discriminator \d+\))?$/.exec(line.trim());
  if (!m || m[1] === '??' || m[2] === '0') return undefined;
  return { file: m[1]!, line: Number(m[2]) };
}

/** `addr2line -a -f -i` output: per address, the outermost location (undefined where unknown). Pure. */
export function parseAddr2lineBlocks(text: string): (Location | undefined)[] {
  const out: (Location | undefined)[] = [];
  let last: string | undefined;
  let fn: string | undefined;
  let started = false;
  const flush = () => {
    if (!started) return;
    const loc: Location = { ...(last !== undefined ? parseAddr2lineLine(last) : undefined), ...(fn && fn !== '??' ? { function: fn } : {}) };
    out.push(Object.keys(loc).length ? loc : undefined);
  };
  let pairLine = 0;
  for (const line of text.split('\n')) {
    if (/^0x[0-9a-f]+$/.test(line)) {
      flush();
      started = true;
      last = fn = undefined;
      pairLine = 0;
    } else if (started && line) {
      // function, location, function, location …: the last pair is the outermost
      if (pairLine++ % 2 === 1) last = line;
      else fn = line;
    }
  }
  flush();
  return out;
}

const HEAD_BYTES = 64 * 1024;

/**
 * file:line of each frame (keyed by `key(frame, index)`), for the frames whose binary is still
 * mapped by the target and has line tables. A return address points after its call: the line
 * of the call is that of the byte before it (every frame but the first).
 */
export function symbolise(pid: number, stacks: Frame[][], maps: Mapping[], deadlineMs: number): Map<string, Location> {
  const started = Date.now();
  const out = new Map<string, Location>();
  // per mapped file: the addresses asked, in the file's numbering
  const perFile = new Map<string, { mapping: Mapping; asks: Map<string, string> }>();
  const loadsOf = new Map<string, Load[] | undefined>();
  for (const frames of stacks) {
    frames.forEach((f, i) => {
      const addr = BigInt(`0x${f.address}`) - (i > 0 ? 1n : 0n);
      const m = maps.find((x) => x.path !== undefined && addr >= x.start && addr < x.end);
      if (!m?.path?.startsWith('/')) return;
      // one binary, several mappings: the one at file offset 0 holds the headers
      const base = maps.find((x) => x.path === m.path && x.offset === 0n) ?? m;
      let loads = loadsOf.get(base.range);
      if (!loadsOf.has(base.range)) {
        loads = readLoads(`/proc/${pid}/map_files/${base.range}`);
        loadsOf.set(base.range, loads);
      }
      if (!loads) return;
      const fa = fileAddress(addr, m, loads);
      if (fa === undefined) return;
      // a frame bpftrace could not place (the return address kept at a libc entry) learns its file
      if (!f.module) out.set(frameKey(f, i), { module: m.path });
      const entry = perFile.get(base.range) ?? { mapping: base, asks: new Map<string, string>() };
      entry.asks.set(frameKey(f, i), `0x${fa.toString(16)}`);
      perFile.set(base.range, entry);
    });
  }
  for (const [range, { asks }] of perFile) {
    const left = deadlineMs - (Date.now() - started);
    if (left <= 0) break;
    const keys = [...asks.keys()];
    // -a -f -i: each address, then (function, file:line) from the innermost inlined call out;
    // the outermost is the function the frame is in
    const r = spawnSync('addr2line', ['-a', '-f', '-i', '-e', `/proc/${pid}/map_files/${range}`], {
      input: keys.map((k) => asks.get(k)).join('\n') + '\n',
      encoding: 'utf8',
      timeout: left,
      maxBuffer: 16 << 20,
    });
    if (r.status !== 0 || typeof r.stdout !== 'string') continue;
    const blocks = parseAddr2lineBlocks(r.stdout);
    keys.forEach((k, i) => {
      const loc = blocks[i];
      if (loc) out.set(k, { ...out.get(k), ...loc });
    });
  }
  return out;
}

/** A frame's identity for the symboliser: its position matters (a return address is looked up one byte back). */
export function frameKey(f: Frame, index: number): string {
  return `${index > 0 ? 'r' : 'p'}${f.address}`;
}

function readLoads(path: string): Load[] | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, 0);
    return loadSegments(buf.subarray(0, n));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Is addr2line there (binutils)? */
export function haveAddr2line(): boolean {
  const r = spawnSync('addr2line', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0;
}
