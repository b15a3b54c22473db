/**
 * Go build-info detection in ELF executables: synthetic binaries (section and segment forms,
 * 64- and 32-bit), real non-Go binaries, damaged input. The real Go binary is checked in the
 * end-to-end test that builds one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILDINFO_MAGIC, goBuildInfoFromBuffer, goBuildInfoOfPid, readGoBuildInfo } from '../../src/go/buildinfo.js';

function blob(version?: string): Buffer {
  const head = Buffer.alloc(32);
  BUILDINFO_MAGIC.copy(head, 0);
  head[14] = 8; // pointer size
  head[15] = version ? 2 : 0; // 2: inline strings (Go 1.18+)
  if (!version) return head;
  const v = Buffer.from(version);
  return Buffer.concat([head, Buffer.from([v.length]), v, Buffer.from([0])]);
}

/** ELF64 (or ELF32) little-endian with a .go.buildinfo section, or only a writable PT_LOAD when sections=false. */
function elf(o: { version?: string; sections?: boolean; bits?: 32 | 64; magic?: boolean } = {}): Buffer {
  const is64 = (o.bits ?? 64) === 64;
  const data = o.magic === false ? Buffer.alloc(64, 7) : blob(o.version);
  const names = Buffer.from('\0.go.buildinfo\0.shstrtab\0.text\0');
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const phentsize = is64 ? 56 : 32;
  const dataOff = 0x100;
  const namesOff = 0x200;
  const tableOff = 0x300;
  const buf = Buffer.alloc(0x600);
  buf.write('\x7fELF', 0, 'latin1');
  buf[4] = is64 ? 2 : 1;
  buf[5] = 1;
  buf[6] = 1;
  data.copy(buf, o.sections === false ? dataOff + 32 : dataOff);
  names.copy(buf, namesOff);
  if (o.sections !== false) {
    const sec = (i: number, name: number, type: number, off: number, size: number) => {
      const at = tableOff + i * shentsize;
      buf.writeUInt32LE(name, at);
      buf.writeUInt32LE(type, at + 4);
      if (is64) {
        buf.writeBigUInt64LE(BigInt(off), at + 24);
        buf.writeBigUInt64LE(BigInt(size), at + 32);
      } else {
        buf.writeUInt32LE(off, at + 16);
        buf.writeUInt32LE(size, at + 20);
      }
    };
    sec(0, 0, 0, 0, 0);
    sec(1, 25, 1, 0x10, 16); // .text
    sec(2, 1, 1, dataOff, data.length); // .go.buildinfo
    sec(3, 15, 3, namesOff, names.length); // .shstrtab
    if (is64) {
      buf.writeBigUInt64LE(BigInt(tableOff), 0x28);
      buf.writeUInt16LE(shentsize, 0x3a);
      buf.writeUInt16LE(4, 0x3c);
      buf.writeUInt16LE(3, 0x3e);
    } else {
      buf.writeUInt32LE(tableOff, 0x20);
      buf.writeUInt16LE(shentsize, 0x2e);
      buf.writeUInt16LE(4, 0x30);
      buf.writeUInt16LE(3, 0x32);
    }
  } else {
    const ph = (i: number, type: number, flags: number, off: number, size: number) => {
      const at = tableOff + i * phentsize;
      buf.writeUInt32LE(type, at);
      if (is64) {
        buf.writeUInt32LE(flags, at + 4);
        buf.writeBigUInt64LE(BigInt(off), at + 8);
        buf.writeBigUInt64LE(BigInt(size), at + 32);
      } else {
        buf.writeUInt32LE(off, at + 4);
        buf.writeUInt32LE(size, at + 16);
        buf.writeUInt32LE(flags, at + 24);
      }
    };
    ph(0, 1, 5, 0, 0x100); // PT_LOAD r-x
    ph(1, 1, 6, dataOff, 0x100); // PT_LOAD rw-
    if (is64) {
      buf.writeBigUInt64LE(BigInt(tableOff), 0x20);
      buf.writeUInt16LE(phentsize, 0x36);
      buf.writeUInt16LE(2, 0x38);
    } else {
      buf.writeUInt32LE(tableOff, 0x1c);
      buf.writeUInt16LE(phentsize, 0x2a);
      buf.writeUInt16LE(2, 0x2c);
    }
  }
  void ehsize;
  return buf;
}

test('.go.buildinfo section with an inline version (Go 1.18+)', () => {
  assert.deepEqual(goBuildInfoFromBuffer(elf({ version: 'go1.22.1' })), { version: 'go1.22.1', via: 'section' });
  assert.deepEqual(goBuildInfoFromBuffer(elf({ version: 'go1.19.8', bits: 32 })), { version: 'go1.19.8', via: 'section' });
});

test('older build info (pointer form) is still a Go binary, without a version', () => {
  assert.deepEqual(goBuildInfoFromBuffer(elf({})), { via: 'section' });
});

test('no section headers: the start of the first writable segment', () => {
  assert.deepEqual(goBuildInfoFromBuffer(elf({ version: 'go1.23.0', sections: false })), { version: 'go1.23.0', via: 'segment' });
  assert.deepEqual(goBuildInfoFromBuffer(elf({ version: 'go1.23.0', sections: false, bits: 32 })), { version: 'go1.23.0', via: 'segment' });
});

test('not Go: other ELF files, other files, damaged headers', () => {
  assert.equal(goBuildInfoFromBuffer(elf({ magic: false })), undefined);
  assert.equal(goBuildInfoFromBuffer(Buffer.from('#!/bin/sh\necho hi\n')), undefined);
  assert.equal(goBuildInfoFromBuffer(Buffer.alloc(0)), undefined);
  const good = elf({ version: 'go1.22.1' });
  for (let n = 0; n < good.length; n += 17) goBuildInfoFromBuffer(good.subarray(0, n)); // never throws
  const huge = Buffer.from(good);
  huge.writeUInt16LE(0xffff, 0x3c); // absurd section count
  assert.doesNotThrow(() => goBuildInfoFromBuffer(huge));
});

test('real executables on disk: node and /bin/sh are not Go; reading them is quick', () => {
  const t0 = performance.now();
  assert.equal(readGoBuildInfo(process.execPath), undefined);
  assert.equal(goBuildInfoOfPid('/bin/sh'), undefined);
  assert.equal(goBuildInfoOfPid(`/proc/${process.pid}/exe`), undefined);
  assert.equal(goBuildInfoOfPid('/nonexistent/binary'), undefined);
  assert.ok(performance.now() - t0 < 500, 'headers only, not the whole binary');
  const dir = mkdtempSync(join(tmpdir(), 'proctriage-buildinfo-'));
  try {
    const f = join(dir, 'svc');
    writeFileSync(f, elf({ version: 'go1.21.5' }));
    assert.deepEqual(readGoBuildInfo(f), { version: 'go1.21.5', via: 'section' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
