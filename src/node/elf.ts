/**
 * Which functions an ELF executable exports, from its dynamic symbol table. Only the ELF
 * header, the section headers and the .dynsym/.dynstr sections are read, each with a size
 * cap: a hostile or huge file costs a bounded read, never the whole file.
 */

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ReadAt = (offset: number, length: number) => Buffer;

export const ELF_LIMITS = { sections: 4096, dynsymBytes: 32 * 2 ** 20, dynstrBytes: 64 * 2 ** 20 };

export class NotElf extends Error {}

const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STB_GLOBAL = 1;
const STB_WEAK = 2;

/**
 * The names among `wanted` that the file defines and exports as functions (a global or weak
 * FUNC symbol with a section: an import of the same name does not count). Throws NotElf.
 */
export function exportedFunctions(readAt: ReadAt, wanted: readonly string[], limits = ELF_LIMITS): Set<string> {
  const h = readAt(0, 64);
  if (h.length < 52 || h.readUInt32BE(0) !== 0x7f454c46) throw new NotElf('not an ELF file');
  const is64 = h[4] === 2;
  if (!is64 && h[4] !== 1) throw new NotElf('unknown ELF class');
  if (h[5] !== 1 && h[5] !== 2) throw new NotElf('unknown ELF byte order');
  const le = h[5] === 1;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
  if (is64 && h.length < 64) throw new NotElf('truncated ELF header');
  const shoff = word(h, is64 ? 0x28 : 0x20);
  const shentsize = u16(h, is64 ? 0x3a : 0x2e);
  const shnum = u16(h, is64 ? 0x3c : 0x30);
  if (!shoff || !shnum) throw new NotElf('no section headers (stripped of them)');
  if (shnum > limits.sections || shentsize < (is64 ? 64 : 40)) throw new NotElf('implausible section headers');
  const sh = readAt(shoff, shnum * shentsize);
  if (sh.length < shnum * shentsize) throw new NotElf('truncated section headers');
  const section = (i: number) => {
    const o = i * shentsize;
    return is64
      ? { type: u32(sh, o + 4), offset: word(sh, o + 24), size: word(sh, o + 32), link: u32(sh, o + 40) }
      : { type: u32(sh, o + 4), offset: u32(sh, o + 16), size: u32(sh, o + 20), link: u32(sh, o + 24) };
  };
  let dynsym;
  for (let i = 0; i < shnum && !dynsym; i++) if (section(i).type === SHT_DYNSYM) dynsym = section(i);
  if (!dynsym) return new Set(); // a static executable exports nothing
  if (dynsym.link >= shnum) throw new NotElf('.dynsym links to no string table');
  const dynstr = section(dynsym.link);
  if (dynsym.size > limits.dynsymBytes || dynstr.size > limits.dynstrBytes) throw new NotElf('dynamic symbol table larger than any Node.js binary');
  const strs = readAt(dynstr.offset, dynstr.size);
  // string offsets naming a wanted symbol (a table may share suffixes, so every occurrence counts)
  const byOffset = new Map<number, string>();
  for (const name of wanted) {
    const needle = Buffer.from(name + '\0');
    for (let at = strs.indexOf(needle); at >= 0; at = strs.indexOf(needle, at + 1)) byOffset.set(at, name);
  }
  const found = new Set<string>();
  if (!byOffset.size) return found;
  const syms = readAt(dynsym.offset, dynsym.size);
  const entsize = is64 ? 24 : 16;
  for (let o = 0; o + entsize <= syms.length; o += entsize) {
    const name = byOffset.get(u32(syms, o));
    if (name === undefined) continue;
    const info = syms.readUInt8(o + (is64 ? 4 : 12));
    const shndx = u16(syms, o + (is64 ? 6 : 14));
    const bind = info >> 4;
    if ((info & 0xf) === STT_FUNC && (bind === STB_GLOBAL || bind === STB_WEAK) && shndx !== 0) found.add(name);
  }
  return found;
}
