/**
 * Test target: holds an fd on a file whose path is longer than PATH_MAX (its /proc/PID/fd link
 * cannot be read: ENAMETOOLONG), then opens /dev/null until its fd limit says no. The deep
 * directories are made with relative mkdir/chdir under argv[2], which the test removes.
 */
import { mkdirSync, openSync } from 'node:fs';
import { ready, stayAlive } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('long-path');

const base = process.argv[2]!;
const segment = 'd'.repeat(200);
process.chdir(base);
let length = base.length;
while (length <= 4200) {
  mkdirSync(segment);
  process.chdir(segment);
  length += segment.length + 1;
}
const held = [openSync('deep-file', 'w')];
process.chdir(base);
try {
  for (;;) held.push(openSync('/dev/null', 'r'));
} catch {
  // EMFILE: at the limit, where the test wants it
}
ready('long-path', { pathLength: length + '/deep-file'.length, held: held.length });
stayAlive();
