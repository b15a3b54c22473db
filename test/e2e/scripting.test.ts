/**
 * The CLI in scripts: snapshot and capture exit 0 once they have written what they were asked
 * for, whatever the verdict (it is in the file), and say so in one stderr line; a --heap-snapshot
 * or --report that could not be made is said, with why, and is not exit 0; usage errors are one
 * line, conflicting output flags among them.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, runCli, startNodeTarget, startTarget, type CliResult } from '../helpers/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'pt-script-'));
after(async () => {
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

// a Node process that holds 60 of its 64 fds: fd-exhaustion, CRITICAL
const HOG = `const fs = require('fs'); for (let i = 0; i < 70; i++) { try { fs.openSync('/dev/null', 'r'); } catch { break; } }
for (let i = 0; i < 4; i++) try { fs.closeSync(fs.openSync('/dev/null', 'r') - 1 - i); } catch {}
process.stdout.write(JSON.stringify({ ready: true }) + '\\n'); setInterval(() => {}, 1000);`;
const critical = () => startTarget('sh', ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, HOG]);

function oneLine(res: CliResult): string {
  const lines = res.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, res.stderr);
  assert.doesNotMatch(res.stderr, /internal error|\n\s+at /);
  return lines[0]!;
}

describe('snapshot and capture exit 0 when written', () => {
  test('a CRITICAL target: the verdict is in the file, stdout is empty, one line on stderr', async () => {
    const t = await critical();
    try {
      const direct = await runCli([String(t.pid)]);
      assert.equal(direct.code, 2, 'the target really is critical');
      const file = join(tmp, 'crit.json');
      const res = await runCli(['snapshot', String(t.pid), '-o', file]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, '');
      assert.match(oneLine(res), new RegExp(`^proctriage: wrote ${file} \\(CRITICAL, pid ${t.pid} node\\)$`));
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).exitCode, 2);

      const dir = join(tmp, 'bundle');
      const cap = await runCli(['capture', String(t.pid), '--dir', dir, '--json']);
      assert.equal(cap.code, 0, cap.stderr);
      assert.equal(JSON.parse(cap.stdout).status, 'critical');
      assert.match(oneLine(cap), new RegExp(`^proctriage: wrote ${dir} \\(CRITICAL, pid ${t.pid} node; \\d+ files, \\d+ KiB\\)`));
      assert.equal(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).status, 'critical');
    } finally {
      await t.stop();
    }
  });

  test('nothing written is not 0: a refused destination, a process that is gone', async () => {
    const t = await startNodeTarget('idle');
    const file = join(tmp, 'kept.json');
    const first = await runCli(['snapshot', String(t.pid), '-o', file]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(oneLine(first), /^proctriage: wrote \S+ \(OK, pid \d+ node\)$/);
    const again = await runCli(['snapshot', String(t.pid), '-o', file]);
    assert.equal(again.code, 3);
    assert.match(oneLine(again), /exists/);
    await t.stop();
    const gone = await runCli(['snapshot', String(t.pid), '-o', join(tmp, 'gone.json')]);
    assert.equal(gone.code, 3);
    assert.match(oneLine(gone), /no snapshot written/);
    assert.ok(!existsSync(join(tmp, 'gone.json')));
  });
});

describe('a requested artifact that was not made', () => {
  test('--heap-snapshot and --report on a Node process without an inspector: the reason, exit 3, no file', async () => {
    const t = await startNodeTarget('idle');
    try {
      const heap = join(tmp, 'h-{pid}.heapsnapshot'),
        report = join(tmp, 'r.json');
      const res = await runCli([String(t.pid), '--heap-snapshot', heap, '--report', report]);
      assert.equal(res.code, 3, res.stderr);
      const line = oneLine(res);
      assert.match(line, /--heap-snapshot \S+ was not written: .*inspector/);
      assert.match(line, /--report \S+ was not written: .*inspector/);
      assert.ok(!existsSync(join(tmp, `h-${t.pid}.heapsnapshot`)) && !existsSync(report));
    } finally {
      await t.stop();
    }
  });

  test('a CRITICAL target keeps exit 2 and still says the file was not written', async () => {
    const t = await critical();
    try {
      const res = await runCli([String(t.pid), '--report', join(tmp, 'r2.json')]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(oneLine(res), new RegExp(`^proctriage: pid ${t.pid}: --report \\S+ was not written: `));
    } finally {
      await t.stop();
    }
  });
});

describe('an exit 3 says why on stderr', () => {
  const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
  const canDrop = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

  test('top as nobody, with a root process it cannot read: one line naming one and why', { skip: !canDrop && 'needs root and setpriv' }, async () => {
    const t = await startNodeTarget('idle'); // ours, as root: its fds are off limits to nobody
    try {
      for (const args of [['top'], ['top', '--json'], ['top', '--format', 'markdown']]) {
        const res = await runCli(args, { prefix: NOBODY });
        const statuses: string[] = (res.report?.targets ?? []).map((x: { status: string }) => x.status);
        if (res.code !== 3) {
          assert.ok(res.code === 1 || res.code === 2, res.stderr); // something worse is seen on this host
          assert.ok(!statuses.length || statuses.some((s) => s === 'warning' || s === 'critical'));
          continue;
        }
        assert.match(oneLine(res), /^proctriage: top: \d+ process(es)? could not be examined fully, e\.g\. pid \d+ \(.*\): .*access denied/);
      }
    } finally {
      await t.stop();
    }
  });

  test('a diagnosis as nobody of a root process: the reason on stderr, in every format', { skip: !canDrop && 'needs root and setpriv' }, async () => {
    const t = await startNodeTarget('idle');
    try {
      for (const format of ['table', 'json', 'markdown', 'nagios', 'prometheus']) {
        const res = await runCli([String(t.pid), '--format', format], { prefix: NOBODY });
        assert.equal(res.code, 3, res.stderr);
        assert.match(oneLine(res), new RegExp(`^proctriage: pid ${t.pid}: unknown: .*access denied`));
      }
    } finally {
      await t.stop();
    }
  });
});

describe('usage errors are one line', () => {
  for (const args of [['--json', '--format', 'markdown', '1'], ['--format', 'bogus', '1'], ['--bogus-flag'], ['snapshot', '1'], ['top', '--limit']]) {
    test(args.join(' '), async () => {
      const res = await runCli(args);
      assert.equal(res.code, 3, res.stderr);
      assert.equal(res.stdout, '');
      assert.match(oneLine(res), /^proctriage: /);
    });
  }
  test('--json with --format json agrees, and is not an error', async () => {
    const t = await startNodeTarget('idle');
    try {
      const res = await runCli([String(t.pid), '--json', '--format', 'json']);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(JSON.parse(res.stdout).targets[0].pid, t.pid);
    } finally {
      await t.stop();
    }
  });
});
