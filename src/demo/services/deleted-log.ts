/**
 * Sample service: a log file that was deleted (rotated away) while the process still holds it
 * open (seed 003 story 10). It writes --mib MiB (default 20) to app.log in --dir, unlinks the
 * file and keeps writing to the open descriptor: the disk space stays in use, invisible to ls.
 */
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail, intOption, options, ready, stayAlive } from './common.js';

const opts = options(['dir', 'mib']);
const mib = intOption(opts.mib, 20, 1024, '--mib');
const ownDir = opts.dir === undefined;
const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'proctriage-deleted-'));
const path = join(dir, 'app.log');

let fd = -1;
try {
  fd = openSync(path, 'w');
  const line = Buffer.from(`${'x'.repeat(99)}\n`);
  const chunk = Buffer.alloc(1 << 20);
  for (let off = 0; off < chunk.length; off += line.length) line.copy(chunk, off);
  for (let i = 0; i < mib; i++) writeSync(fd, chunk);
  unlinkSync(path); // "rotation" removes the file, but the descriptor stays open
} catch (err) {
  fail(err);
}
const writer = setInterval(() => writeSync(fd, `${new Date().toISOString()} still writing\n`), 1000);
ready('deleted-log', { dir, path, bytes: mib << 20 });
stayAlive([
  () => clearInterval(writer),
  () => closeSync(fd),
  () => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  },
]);
