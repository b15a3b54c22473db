/**
 * The message catalogue is the one place user-facing sentences live: every message id the code
 * names (say('…'), words(…), a coded unknown's code or hint) is in it, and the sentences that
 * were once repeated in several places are written once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MESSAGES } from '../../src/messages.js';
import { repoPath } from './paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const files = ['src', 'probes'].flatMap((d) => sources(repoPath(d)));
// say('id' …), and { code: 'id' } / { hint: 'id' } where the id has a catalogue namespace (a dot)
const USES = /\bsay\(\s*'([^']+)'|\b(?:code|hint):\s*'([a-z]+\.[A-Za-z0-9.]+|worded)'/g;

test('every message id used in src/ and probes/ is in the catalogue', () => {
  const used = new Map<string, string>();
  for (const file of files) {
    if (file.endsWith('/messages.ts')) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(USES)) used.set((m[1] ?? m[2])!, file);
  }
  // the scan itself must see the code's uses (a pattern that matched nothing would pass vacuously)
  assert.ok(used.size > 100, `only ${used.size} ids found`);
  assert.ok(used.has('node.activate.notNode') && used.has('hint.sameUser') && used.has('netns.noNsenter'));
  const missing = [...used].filter(([id]) => !(id in MESSAGES)).map(([id, file]) => `${id} (${file})`);
  assert.deepEqual(missing, []);
});

test('"run as the same user as the target, or as root" is written once', () => {
  const hits = files.filter((f) => readFileSync(f, 'utf8').includes('same user as the target'));
  assert.deepEqual(
    hits.map((f) => f.replace(/.*\/(src|probes)\//, '$1/')),
    ['src/messages.ts'],
  );
  assert.equal(readFileSync(repoPath('src/messages.ts'), 'utf8').split('same user as the target').length, 2);
});

test('the activation refusals, the relay and the inspector sources speak through the catalogue', () => {
  for (const rel of [
    'src/node/activate.ts',
    'src/node/locate.ts',
    'src/node/connect.ts',
    'src/node/close.ts',
    'src/node/guard.ts',
    'src/transports/netns-relay.ts',
  ]) {
    const code = readFileSync(repoPath(rel), 'utf8')
      .split('\n')
      .filter((l) => !/^\s*(\/\/|\*|\/\*\*)/.test(l))
      .join('\n');
    // a sentence: a quoted string of four or more words, outside comments (the guard's protocol lines aside)
    const inline = [...code.matchAll(/(['`])([A-Za-z][^'`\n]*?(?: [^'`\n ]+){3,}[^'`\n]*)\1/g)].map((m) => m[2]!).filter((t) => !t.endsWith('\\n')); // a line of the guard's protocol is not a sentence
    assert.deepEqual(inline, [], rel);
  }
});
