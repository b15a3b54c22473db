/**
 * `node dist/bench/redact.js`: what redaction and --name matching cost on hostile input, in
 * process (median of 5). The cases are the ones that took 15 to 35 s with the old quadratic
 * redaction: one 131 000-character argument (the longest one argv element can be), a
 * 40 MB line in a goroutine dump, and `--name '(a+)+$'` over "aaaa…!".
 */
import { createRequire } from 'node:module';
import type * as Re2 from 're2js';
import { redactArgv, redactLines, redactText } from '../src/engine/redact.js';
import { parseGoroutineProfile, topStacks } from '../src/go/goroutines.js';
import { cleanDeep } from '../src/engine/redact.js';

function ms(f: () => unknown, runs = 5): number {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    xs.push(performance.now() - t);
  }
  return Math.round(xs.sort((a, b) => a - b)[runs >> 1]! * 10) / 10;
}

const long = 131_000;
const rows: [string, number][] = [
  ['argv: 131 000 × "a"', ms(() => redactArgv(['app', 'a'.repeat(long)]))],
  ['argv: 131 000 of "a-"', ms(() => redactArgv(['app', 'a-'.repeat(long / 2)]))],
  ['argv: 131 000 of "x=y&"', ms(() => redactArgv(['app', 'x=y&'.repeat(long / 4)]))],
  ['argv: 131 000 of "eyJ-"', ms(() => redactArgv(['app', 'eyJ-'.repeat(long / 4)]))],
  ['text: 16 KiB of mixed secrets', ms(() => redactText('--password x a=b "c:d" https://u:p@h/ ?token=t Authorization: Bearer abcdefgh1 '.repeat(200)))],
];
const line = 'a'.repeat(40 * 2 ** 20);
const dump = `goroutine profile: total 1\n1 @ 0x1\n# labels: {"api_key":"${line}"}\n#\t0x1\tmain.${line}+0x1\t/x.go:1\n\n`;
rows.push(['goroutine dump, two 40 MB lines: bundle copy', ms(() => redactLines(dump), 3)]);
rows.push(['goroutine dump, two 40 MB lines: parse + evidence', ms(() => cleanDeep(topStacks(parseGoroutineProfile(dump).groups), true), 3)]);

const t = performance.now();
const { RE2JS } = createRequire(import.meta.url)('re2js') as typeof Re2;
rows.push(['re2js load (once, only for --name)', Math.round((performance.now() - t) * 10) / 10]);
const re = RE2JS.compile('(a+)+$');
rows.push(['--name (a+)+$ over 64 KiB "aaaa…!"', ms(() => re.matcher('a'.repeat(64 * 1024 - 1) + '!').find())]);

for (const [what, v] of rows) console.log(`${what.padEnd(52)} ${String(v).padStart(8)} ms`);
