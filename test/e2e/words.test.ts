/**
 * What the CLI says: a misspelt command is named as one, with commander's suggestion (the default
 * command takes PIDs, so it used to read as a bad PID); `help <command>`; errno codes reach the
 * user as words; counts agree with their nouns.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, runCli, type CliResult } from '../helpers/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'pt-words-'));
after(async () => {
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

function oneLineError(res: CliResult, pattern: RegExp): void {
  assert.equal(res.code, 3, res.stderr);
  assert.equal(res.stdout, '');
  const lines = res.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, res.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(res.stderr, /internal error|\n\s+at /);
}

describe('misspelt commands', () => {
  const cases: [string[], RegExp][] = [
    [['wathc', '4123'], /^proctriage: unknown command 'wathc': did you mean watch\?/],
    [['playbok', 'show'], /^proctriage: unknown command 'playbok': did you mean playbook\?/],
    [['playbook', 'shwo'], /^proctriage: unknown command 'shwo': did you mean show\?/],
    [['snapshto', '1', '-o', 'x.json'], /^proctriage: unknown command 'snapshto': did you mean snapshot\?/],
    [['help', 'wacth'], /^proctriage: unknown command 'wacth': did you mean watch\?/],
    [['frobnicate'], /^proctriage: unknown command 'frobnicate' \(run proctriage --help for usage\)$/],
    [['--jsn', '1'], /^proctriage: unknown option '--jsn': did you mean --json\?/],
  ];
  for (const [args, pattern] of cases) {
    test(args.join(' '), async () => oneLineError(await runCli(args), pattern));
  }

  test('a malformed PID is still a PID error', async () => {
    oneLineError(await runCli(['12abc']), /"12abc" is not a process id/);
  });

  test("help <command> prints that command's help, exit 0", async () => {
    const res = await runCli(['help', 'watch']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Usage: proctriage watch \[options\] <pid>/);
    assert.match(res.stdout, /--interval <duration>/);
  });
});

describe('errno codes in words', () => {
  test('a playbook that does not exist, is a directory, or sits under a file', async () => {
    const file = join(tmp, 'plain');
    writeFileSync(file, 'x');
    const dir = join(tmp, 'dir');
    mkdirSync(dir);
    for (const [path, words] of [
      [join(tmp, 'absent.yaml'), /no such file/],
      [dir, /is a directory/],
      [join(file, 'x.yaml'), /not a directory/],
    ] as const) {
      const res = await runCli(['playbook', 'validate', path]);
      oneLineError(res, words);
      assert.doesNotMatch(res.stderr, /\bE[A-Z]{3,}\b/, 'no raw errno code');
    }
  });

  test('a snapshot into a directory that does not exist, or under a file', async () => {
    const file = join(tmp, 'plain2');
    writeFileSync(file, 'x');
    for (const [out, words] of [
      [join(tmp, 'nodir', 's.json'), /no such (file or )?directory/],
      [join(file, 's.json'), /not a directory/],
    ] as const) {
      const res = await runCli(['snapshot', String(process.pid), '-o', out]);
      oneLineError(res, words);
      assert.doesNotMatch(res.stderr, /\bE[A-Z]{3,}\b/, 'no raw errno code');
    }
  });
});
