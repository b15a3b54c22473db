/**
 * Test target: opens --count files (default 25) in --dir whose names carry a terminal escape
 * sequence (ESC [31m) and a newline, all sharing one dated name pattern, and keeps them open.
 */
import { openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fail, intOption, options, ready, stayAlive, today } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('odd-names');

const opts = options(['dir', 'count']);
if (!opts.dir) fail(new Error('--dir is required'));
const count = intOption(opts.count, 25, 1000, '--count');
const held: number[] = [];
const names: string[] = [];
for (let i = 1; i <= count; i++) {
  const name = `evil-\x1b[31mred\nline-${today()}-${String(i).padStart(4, '0')}.log`;
  const fd = openSync(join(opts.dir, name), 'a');
  writeSync(fd, 'x\n');
  held.push(fd);
  names.push(name);
}
ready('odd-names', { files: held.length, example: names[0] });
stayAlive();
