/**
 * The table views on an 80-column terminal (script(1) gives the CLI a pseudo-terminal, stty sets
 * its width): no line is longer than 80 columns, several targets start with a worst-first summary,
 * the last line repeats the verdict; piped, the same report keeps its full lines. Skipped with the
 * reason when script cannot run here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CLI, REPO, cleanup, runCli, waitFor, which } from '../helpers/processes.js';
import { FD_LEAK, STEADY, startChild, type Child } from '../helpers/time.js';
import { readdirSync } from 'node:fs';

after(cleanup);

/** Run the CLI on a pseudo-terminal `cols` wide; its output with escape codes and CRs removed. */
function onTerminal(args: string[], cols = 80): { code: number | null; lines: string[] } {
  const cmd = `stty cols ${cols} rows 24; exec "${process.execPath}" "${CLI}" ${args.map((a) => `'${a}'`).join(' ')}`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: REPO, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  const text = r.stdout.replace(/\r/g, '').replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');
  return { code: r.status, lines: text.replace(/\n$/, '').split('\n') };
}

const why = !which('script') ? 'script (util-linux) is not installed' : undefined;

describe('the report fits an 80-column terminal', { skip: why }, () => {
  let healthy: Child, leaking: Child;
  const long = 'x'.repeat(300);

  before(async () => {
    healthy = await startChild(STEADY, { args: ['--name', long] });
    leaking = await startChild(FD_LEAK, { fdLimit: 64 });
    // past 90% of its 64 fds: critical
    await waitFor(() => readdirSync(`/proc/${leaking.pid}/fd`).length > 60, 20_000, 'the leaking child near its fd limit');
  });

  test('several targets: summary first, worst first; no line over 80 columns; the last line repeats the verdict', () => {
    const { code, lines } = onTerminal([String(healthy.pid), String(leaking.pid)]);
    assert.equal(code, 2, lines.join('\n'));
    const over = lines.filter((l) => [...l].length > 80);
    assert.deepEqual(over, [], 'every line fits');
    assert.equal(lines[0], 'summary');
    assert.match(lines[1]!, new RegExp(`^ +CRITICAL +pid ${leaking.pid} node: 1 critical`), 'the critical target first although named second');
    assert.match(lines[2]!, new RegExp(`^ +OK +pid ${healthy.pid} node: no problems found`));
    assert.match(lines.at(-1)!, /CRITICAL +overall: 2 targets, 1 critical, 1 ok$/);
    // the command line is cut to the width with an ellipsis, on one line
    const cmd = lines[lines.findIndex((l) => new RegExp(`OK +pid ${healthy.pid} node · `).test(l)) + 1];
    assert.ok(cmd && cmd.endsWith('…') && [...cmd].length === 80, cmd);
    // wrapped lines break between words: a continuation line starts indented, after a space
    const path = lines.findIndex((l) => /^ {2}2\. File descriptors/.test(l));
    assert.match(lines[path + 1]!, /^ {5}\S/, 'the decision path wraps under its text');
  });

  test('one target: the last line is its verdict', () => {
    const { lines } = onTerminal([String(leaking.pid)]);
    assert.match(lines.at(-1)!, new RegExp(`CRITICAL +pid ${leaking.pid} node: 1 critical`));
    assert.deepEqual(
      lines.filter((l) => [...l].length > 80),
      [],
    );
  });

  test('piped (no terminal), lines are kept whole: the command line and the decision path', async () => {
    const r = await runCli([String(healthy.pid), String(leaking.pid)]);
    assert.equal(r.code, 2);
    assert.ok(r.stdout.includes(`--name ${long}`), 'the whole command line');
    assert.match(r.stdout, /^ {2}2\. File descriptors: .{60,}$/m, 'a decision-path line longer than 80 columns, unwrapped');
  });
});
