/**
 * `--name <pattern>` on real processes: it selects exactly the processes whose command line
 * matches (targets started with a unique marker argument), never proctriage itself nor the shell
 * that started it (both carry the marker in their own command lines); no match and --name with
 * PIDs are one-line usage errors, exit 3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CLI, cleanup, REPO, runCli, runJson, startNodeTarget, type Target } from '../helpers/processes.js';
import { expectOneLineFailure as oneLineFailure } from '../helpers/processes.js';

after(cleanup);

const MARKER = `pt-name-marker-${randomBytes(4).toString('hex')}`;

describe('--name', () => {
  let marked: Target[], other: Target;
  before(async () => {
    marked = [];
    for (let i = 0; i < 3; i++) marked.push(await startNodeTarget('idle', [`--${MARKER}`, `--n=${i}`]));
    other = await startNodeTarget('idle', ['--some-other-argument']);
  });

  test('selects exactly the processes whose command line matches', async () => {
    const { res, report } = await runJson(['--name', MARKER]);
    assert.equal(res.code, 0, res.stderr);
    const pids = report.targets.map((t: { pid: number }) => t.pid).sort((a: number, b: number) => a - b);
    assert.deepEqual(
      pids,
      marked.map((t) => t.pid).sort((a, b) => a - b),
    );
    assert.ok(!pids.includes(other.pid));
  });

  test('a regular expression over the command line: one of the three by its argument', async () => {
    const { report } = await runJson(['--name', `${MARKER} --n=1$`]);
    assert.deepEqual(
      report.targets.map((t: { pid: number }) => t.pid),
      [marked[1]!.pid],
    );
  });

  test('never proctriage itself nor the shell that runs it, though both carry the marker', () => {
    // the shell stays (no exec of the last command: `; true`), its command line holds the marker
    const script = `echo "$$"; "${process.execPath}" "${CLI}" --name "${MARKER}" --json; echo "rc=$?"; true`;
    const r = spawnSync('/bin/sh', ['-c', script, MARKER], { cwd: REPO, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const [first, ...rest] = r.stdout.split('\n');
    const shellPid = Number(first);
    const rc = /rc=(\d+)/.exec(r.stdout)?.[1];
    assert.equal(rc, '0', r.stderr);
    const report = JSON.parse(rest.join('\n').replace(/rc=\d+\s*$/, ''));
    const pids: number[] = report.targets.map((t: { pid: number }) => t.pid);
    assert.ok(shellPid > 0 && !pids.includes(shellPid), `the parent shell ${shellPid} is a target`);
    assert.ok(!pids.includes(process.pid));
    assert.deepEqual(
      [...pids].sort((a, b) => a - b),
      marked.map((t) => t.pid).sort((a, b) => a - b),
    );
    for (const t of report.targets) assert.doesNotMatch(t.cmdline ?? t.command ?? '', /proctriage\.js/);
  });

  test('no match is a one-line error, exit 3 (its own command line does not count)', async () => {
    oneLineFailure(await runCli(['--name', `${MARKER}-nothing-has-this`]), /no process matches --name "pt-name-marker-[0-9a-f]+-nothing-has-this"/);
  });

  test('--name together with PIDs is refused, exit 3', async () => {
    oneLineFailure(await runCli(['--name', MARKER, String(marked[0]!.pid)]), /give PIDs or --name, not both/);
    oneLineFailure(await runCli(['diagnose', String(marked[0]!.pid), '--name', MARKER]), /give PIDs or --name, not both/);
  });
});
