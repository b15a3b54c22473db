/**
 * Sample service: log rotation that opens the next file without closing the previous one
 * (seed 000 case 4). Run it under a low fd limit (the demo uses `ulimit -n 256`): it "rotates"
 * app-YYYY-MM-DD-NNNN.log files in --dir until it holds --fds descriptors (default: the soft
 * limit minus 11), then keeps appending to the newest file.
 */
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail, intOption, options, ready, stayAlive, today } from './common.js';

const opts = options(['dir', 'fds']);
const softLimit = fdSoftLimit();
const target = intOption(opts.fds, Math.max(1, (softLimit ?? 256) - 11), 100_000, '--fds');
const ownDir = opts.dir === undefined;
const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'proctriage-rotation-'));

/** Open descriptors as seen from outside (the directory listing itself holds one while it runs). */
function openFds(): number {
  return readdirSync('/proc/self/fd').length - 1;
}

function fdSoftLimit(): number | undefined {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? Number(m[1]) : undefined;
}

const held: number[] = [];
let seq = 0;
function rotate(): void {
  seq++;
  const name = join(dir, `app-${today()}-${String(seq).padStart(4, '0')}.log`);
  const fd = openSync(name, 'a'); // the bug: the previous file's fd is never closed
  held.push(fd);
  writeSync(fd, `${new Date().toISOString()} rotated to ${name}\n`);
}

try {
  if (softLimit !== undefined && target >= softLimit) throw new Error(`--fds ${target} must stay below the fd limit ${softLimit}`);
  for (let i = 0; i < 100_000 && openFds() < target; i++) rotate();
} catch (err) {
  fail(err);
}
const writer = setInterval(() => {
  const current = held.at(-1); // none when the fd target was already reached before the first rotation
  if (current !== undefined) writeSync(current, `${new Date().toISOString()} request served\n`);
}, 1000);
ready('rotation', { dir, files: held.length, fds: openFds(), limit: softLimit ?? null });
stayAlive([
  () => clearInterval(writer),
  () => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  },
]);
