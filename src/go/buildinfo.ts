/**
 * Is an executable a Go program? Go linkers write a build-info blob that starts with the magic
 * "\xff Go buildinf:" into the ELF section ".go.buildinfo" (Go 1.13+), at the start of the
 * first writable segment. We read the ELF header, the section headers and the section-name
 * table, then at most 64 KiB: never the whole (possibly huge) binary.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

export interface GoBuildInfo {
  /** e.g. "go1.19.8" (Go 1.18+ write it inline; older builds leave it out here) */
  version?: string;
  /** where the magic was found */
  via: 'section' | 'segment';
}

interface Reader {
  read(offset: number, length: number): Buffer;
}

const MAX_TABLE = 1 << 20;
const SEARCH = 64 * 1024;

/** Build info of the executable at `path` (e.g. /proc/PID/exe); undefined when it is not a Go ELF binary. Throws on I/O errors. */
export function readGoBuildInfo(path: string): GoBuildInfo | undefined {
  const fd = openSync(path, 'r');
  try {
    return goBuildInfoFrom({
      read(offset, length) {
        const buf = Buffer.alloc(length);
        const n = readSync(fd, buf, 0, length, offset);
        return buf.subarray(0, n);
      },
    });
  } finally {
    closeSync(fd);
  }
}

/** Same, over bytes in memory (tests, capture bundles). */
export function goBuildInfoFromBuffer(b: Buffer): GoBuildInfo | undefined {
  return goBuildInfoFrom({ read: (o, l) => b.subarray(o, Math.min(b.length, o + l)) });
}

function goBuildInfoFrom(r: Reader): GoBuildInfo | undefined {
  const h = r.read(0, 64);
  if (h.length < 52 || h[0] !== 0x7f || h.toString('latin1', 1, 4) !== 'ELF') return undefined;
  const is64 = h[4] === 2;
  const le = h[5] !== 2;
  if (is64 && h.length < 64) return undefined;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const word = (b: Buffer, o: number) => (is64 ? u64(b, o) : u32(b, o));

  const phoff = word(h, is64 ? 0x20 : 0x1c);
  const shoff = word(h, is64 ? 0x28 : 0x20);
  const phentsize = u16(h, is64 ? 0x36 : 0x2a);
  const phnum = u16(h, is64 ? 0x38 : 0x2c);
  const shentsize = u16(h, is64 ? 0x3a : 0x2e);
  const shnum = u16(h, is64 ? 0x3c : 0x30);
  const shstrndx = u16(h, is64 ? 0x3e : 0x32);

  // 1. the .go.buildinfo section
  let sectionsRead = false;
  if (shoff && shnum && shentsize >= (is64 ? 64 : 40) && shnum * shentsize <= MAX_TABLE && shstrndx < shnum) {
    const table = r.read(shoff, shnum * shentsize);
    if (table.length === shnum * shentsize) {
      sectionsRead = true;
      const sec = (i: number) => {
        const o = i * shentsize;
        return is64
          ? { name: u32(table, o), type: u32(table, o + 4), offset: u64(table, o + 24), size: u64(table, o + 32) }
          : { name: u32(table, o), type: u32(table, o + 4), offset: u32(table, o + 16), size: u32(table, o + 20) };
      };
      const strtab = sec(shstrndx);
      if (strtab.size > 0 && strtab.size <= MAX_TABLE) {
        const names = r.read(strtab.offset, strtab.size);
        for (let i = 0; i < shnum; i++) {
          const s = sec(i);
          if (s.type === 8 /* SHT_NOBITS */ || s.name >= names.length) continue;
          const end = names.indexOf(0, s.name);
          if (names.toString('latin1', s.name, end < 0 ? names.length : end) !== '.go.buildinfo') continue;
          const blob = r.read(s.offset, Math.min(s.size, SEARCH));
          const info = decode(blob, 0);
          if (info) return { ...info, via: 'section' };
        }
      }
    }
  }

  // 2. no section headers (stripped to the bone): the start of the first writable PT_LOAD segment.
  // With readable section headers and no .go.buildinfo it is not Go: no need to read further.
  if (sectionsRead) return undefined;
  if (phoff && phnum && phentsize >= (is64 ? 56 : 32) && phnum * phentsize <= MAX_TABLE) {
    const table = r.read(phoff, phnum * phentsize);
    for (let i = 0; i < phnum && (i + 1) * phentsize <= table.length; i++) {
      const o = i * phentsize;
      const type = u32(table, o);
      const flags = is64 ? u32(table, o + 4) : u32(table, o + 24);
      const offset = is64 ? u64(table, o + 8) : u32(table, o + 4);
      const filesz = is64 ? u64(table, o + 32) : u32(table, o + 16);
      if (type !== 1 /* PT_LOAD */ || !(flags & 2) /* PF_W */) continue;
      const blob = r.read(offset, Math.min(filesz, SEARCH));
      for (let at = 0; at + 32 <= blob.length; at += 16) {
        const info = decode(blob, at);
        if (info) return { ...info, via: 'segment' };
      }
      break;
    }
  }
  return undefined;
}

/** The 32-byte header at `at`: magic, pointer size, flags; Go 1.18+ (flags & 2) put the version inline after it. */
function decode(b: Buffer, at: number): Omit<GoBuildInfo, 'via'> | undefined {
  if (b.length < at + 32 || !b.subarray(at, at + 14).equals(BUILDINFO_MAGIC)) return undefined;
  const flags = b.readUInt8(at + 15);
  if (!(flags & 2)) return {};
  const v = uvarint(b, at + 32);
  if (!v || v.value <= 0 || v.value > 128 || v.next + v.value > b.length) return {};
  const version = b.toString('utf8', v.next, v.next + v.value);
  return /^go[0-9][\w.+-]*$|^devel /.test(version) ? { version } : {};
}

function uvarint(b: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let shift = 0;
  for (let i = at; i < b.length && i < at + 5; i++) {
    const byte = b.readUInt8(i);
    value += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return { value, next: i + 1 };
    shift += 7;
  }
  return undefined;
}

/**
 * Build info of a process's executable through /proc/PID/exe (works for a deleted or
 * replaced binary too). undefined when it is not a Go binary or cannot be read.
 */
export function goBuildInfoOfPid(exePath: string): GoBuildInfo | undefined {
  try {
    return readGoBuildInfo(exePath);
  } catch {
    return undefined;
  }
}
