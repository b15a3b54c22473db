/**
 * The live watch screen on a real terminal: `watch PID --interval 250ms --duration 3s` inside
 * tmux at 80×24 on a child that leaks fds. The screen shows the series redrawn in place, ends
 * with the report, the cursor is shown again (the raw output, recorded by script(1), holds the
 * \x1b[?25h after the last \x1b[?25l), and no line is longer than the 80 columns. Skipped with
 * the reason when tmux or script cannot run here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cleanup, waitFor, which } from '../helpers/processes.js';
import { FD_LEAK, startChild, type Child } from '../helpers/time.js';

const tmp = mkdtempSync(join(tmpdir(), 'proctriage-live-'));
const SOCKET = `proctriage-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, '-f', join(tmp, 'tmux.conf'), ...args], { encoding: 'utf8', timeout: 10_000 });

after(async () => {
  tmux('kill-server');
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

const why = !which('tmux') ? 'tmux is not installed' : !which('script') ? 'script (util-linux) is not installed' : undefined;

describe('watch on a terminal (tmux, 80×24)', { skip: why }, () => {
  let child: Child, raw: string, live: string, final: string, history: string[];

  before(async () => {
    child = await startChild(FD_LEAK, { fdLimit: 1024 });
    // no config of the user's; clearing a screen must not push a frame into the history, so
    // the history shows what a user scrolling back would see
    writeFileSync(join(tmp, 'tmux.conf'), 'set -g history-limit 5000\nset -gq scroll-on-clear off\n');
    const log = join(tmp, 'raw.log');
    const cmd = `script -qfec '"${process.execPath}" "${CLI}" watch ${child.pid} --interval 250ms --duration 3s' '${log}'; echo "DONE:$?"; exec sleep 60`;
    const started = tmux('new-session', '-d', '-x', '80', '-y', '24', '-s', 'watch', cmd);
    if (started.status !== 0) throw new Error(`tmux cannot start a session here: ${started.stderr}`);
    const pane = (...a: string[]) => tmux('capture-pane', '-p', '-t', 'watch', ...a).stdout;
    live = await waitFor(
      () => {
        const s = pane();
        return /watching pid \d+ .* [4-9] samples/.test(s) && s;
      },
      15_000,
      'the live screen with a few samples',
    );
    final = await waitFor(
      () => {
        const s = pane('-J', '-S', '-');
        return /DONE:\d+/.test(s) && s;
      },
      20_000,
      'watch to end',
    );
    history = final.split('\n');
    raw = readFileSync(log, 'latin1');
  });

  test('the live screen shows the series: one row per resource, a sparkline, the sample count', () => {
    assert.match(live, new RegExp(`^watching pid ${child.pid} node · \\d+ samples every 250ms · `, 'm'));
    assert.match(live, /^ {2}resource {6}now {8}trend/m);
    assert.match(live, /^ {2}open fds {6}\d+ +[▁▂▃▄▅▆▇█]{4,}/m);
    assert.match(live, /^ {2}memory /m);
    // redrawn in place: one frame on the screen, not one per sample
    assert.equal(live.match(/watching pid/g)?.length, 1, live);
  });

  test('it ends with the report after the last frame, and exits as the report says', () => {
    const frames = history.filter((l) => l.startsWith('watching pid'));
    assert.equal(frames.length, 1, 'the last frame stays, the earlier ones were redrawn over');
    const last = history.findIndex((l) => l.startsWith('watching pid'));
    const report = history.slice(last).join('\n');
    assert.match(report, new RegExp(`pid ${child.pid} node`));
    assert.match(report, /^growth$/m);
    assert.match(report, /open fds: \+[\d,]+\/h over \d+ samples/);
    assert.match(report, /^decision path$/m);
    assert.match(report, /DONE:[0-3]\b/);
  });

  test('the cursor is shown again: \\x1b[?25h after the last \\x1b[?25l', () => {
    const hidden = raw.lastIndexOf('\x1b[?25l');
    assert.ok(hidden >= 0, 'the cursor was hidden while drawing');
    assert.ok(raw.indexOf('\x1b[?25h', hidden) > hidden, 'and shown again at the end');
  });

  test('the live frame fits in 80 columns (cut with an ellipsis, never wrapped)', () => {
    const frame = live.split('\n').filter((l) => l.trim());
    for (const l of frame) assert.ok([...l].length <= 80, `${[...l].length}: ${l}`);
    const joined = history.slice(
      history.findIndex((l) => l.startsWith('watching pid')),
      history.findIndex((l) => l.startsWith('watching pid')) + 7,
    );
    for (const l of joined) assert.ok([...l].length <= 80, `wrapped: ${l}`);
  });

  test('the report after it fits in 80 columns too (no line wraps mid-word)', () => {
    const last = history.findIndex((l) => l.startsWith('watching pid'));
    const long = history.slice(last).filter((l) => [...l].length > 80);
    assert.deepEqual(long, []);
  });
});
