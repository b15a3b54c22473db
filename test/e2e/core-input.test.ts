/**
 * End to end, the awkward cases: bad arguments, processes that cannot be diagnosed (gone,
 * zombie, kernel thread), a caller without permission, secrets on the command line, and file
 * names built to attack a terminal.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO, cleanup, finding, procState, runCli, runJson, startNodeTarget, startTarget, unusedPid, waitFor, which } from '../helpers/processes.js';

const dirs: string[] = [];
after(async () => {
  await cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One line on stderr, no stack trace. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.match(lines[0]!, /^proctriage: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
}

describe('bad input', () => {
  test('--version and -V print the package version alone', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    for (const args of [['--version'], ['-V']]) {
      const res = await runCli(args);
      assert.deepEqual([res.code, res.stdout, res.stderr], [0, `${version}\n`, '']);
    }
    const installed = await runCli(['--version'], { direct: true });
    assert.deepEqual([installed.code, installed.stdout, installed.stderr], [0, `${version}\n`, '']);
  });

  test('the installed command starts node without NODE_EXTRA_CA_CERTS, hands it over, and keeps every argument', () => {
    // a `node` first on PATH that prints what it was given
    const dir = mkdtempSync(join(tmpdir(), 'proctriage-fake-node-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'node'), '#!/bin/sh\nprintf "%s\\n" "ca=${NODE_EXTRA_CA_CERTS-unset}" "handed=${PROCTRIAGE_EXTRA_CA_CERTS-unset}" "$@"\n', {
      mode: 0o755,
    });
    const args = ['1', '--format', 'a b', '$HOME', "it's", '*'];
    const without = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.endsWith('EXTRA_CA_CERTS')));
    const run = (env: NodeJS.ProcessEnv) => spawnSync(CLI, args, { env: { ...env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' });
    const set = run({ ...without, NODE_EXTRA_CA_CERTS: '/etc/corp ca.pem' });
    assert.equal(set.stdout, ['ca=unset', 'handed=/etc/corp ca.pem', CLI, ...args, ''].join('\n'));
    const unset = run(without);
    assert.equal(unset.stdout, ['ca=unset', 'handed=unset', CLI, ...args, ''].join('\n'));
  });

  test('a non-numeric PID: exit 3, one line on stderr, nothing on stdout', async () => {
    const res = await runCli(['12abc']);
    assert.equal(res.code, 3);
    assertOneLineError(res.stderr, /"12abc" is not a process id/);
    assert.equal(res.stdout, '');
  });

  test('no such PID: exit 3 and says so', async () => {
    const pid = unusedPid();
    const res = await runCli([String(pid)]);
    assert.equal(res.code, 3);
    assert.match(res.stdout + res.stderr, new RegExp(`pid ${pid}: no such process`));
    assert.doesNotMatch(res.stderr, /^\s+at /m);
    const { res: jres, report } = await runJson([String(pid)]);
    assert.equal(jres.code, 3);
    assert.equal(report.status, 'unknown');
    assert.equal(report.targets[0].error.code, 'NO_SUCH_PROCESS');
  });

  test('a zombie: exit 3 with a zombie message naming its parent', async () => {
    // a shell that starts a short-lived child and does not reap it until its stdin closes
    const parent = await startTarget('/bin/sh', ['-c', 'sleep 0.2 & echo "{\\"ready\\":true,\\"zombie\\":$!}"; read x; wait']);
    const zombie = Number(parent.info.zombie);
    await waitFor(() => procState(zombie) === 'Z', 5000, `pid ${zombie} to become a zombie`);
    const res = await runCli([String(zombie)]);
    assert.equal(res.code, 3);
    assert.match(res.stdout + res.stderr, new RegExp(`pid ${zombie} is a zombie`));
    assert.match(res.stdout + res.stderr, new RegExp(`parent \\(pid ${parent.pid}\\)`));
    const { report } = await runJson([String(zombie)]);
    assert.equal(report.targets[0].error.code, 'ZOMBIE_PROCESS');
    await parent.stop(); // closing its stdin lets the shell reap the zombie
    await waitFor(() => procState(zombie) === undefined, 5000, `zombie ${zombie} to be reaped`);
  });

  test('a kernel thread: exit 3', async (t) => {
    const pid = kernelThread();
    if (pid === undefined) return t.skip('no kernel thread visible in /proc (a container without the host pid namespace?)');
    const res = await runCli([String(pid)]);
    assert.equal(res.code, 3);
    assert.match(res.stdout + res.stderr, /is a kernel thread/);
    const { report } = await runJson([String(pid)]);
    assert.equal(report.targets[0].error.code, 'KERNEL_THREAD');
  });

  test('a live process and a missing one: two targets, worst status (unknown), exit 3', async () => {
    const idle = await startNodeTarget('idle');
    const gone = unusedPid();
    const { res, report } = await runJson([String(idle.pid), String(gone)]);
    assert.equal(res.code, 3);
    assert.equal(report.status, 'unknown');
    assert.deepEqual(
      report.targets.map((t: any) => t.pid),
      [idle.pid, gone],
    );
    assert.equal(report.targets[0].status, 'ok');
    assert.equal(report.targets[1].error.code, 'NO_SUCH_PROCESS');
  });
});

describe('permission denied', () => {
  test('as an unprivileged user on a root process: partial report, fds/sockets denied, unknown, exit 3', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to start a root-owned target and switch to nobody');
    if (!which('setpriv')) return t.skip('setpriv (util-linux) is not installed');
    const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
    const check = spawnSync(asNobody[0]!, [...asNobody.slice(1), process.execPath, join(REPO, 'bin/proctriage.js'), '--version'], {
      encoding: 'utf8',
      timeout: 10_000,
      cwd: REPO,
    });
    if (check.status !== 0) return t.skip(`user 65534 cannot run the built CLI from ${REPO}: ${check.stderr.trim() || `exit ${check.status}`}`);

    const target = await startNodeTarget('idle');
    const { res, report } = await runJson([String(target.pid)], { prefix: asNobody });
    assert.equal(res.code, 3, res.stderr);
    assert.equal(report.status, 'unknown');
    const tr = report.targets[0];
    assert.equal(tr.error, undefined, 'a partial report, not a failed target');
    const status = Object.fromEntries(tr.probes.map((p: any) => [p.id, p.status]));
    assert.equal(status.fds, 'denied');
    assert.equal(status.sockets, 'denied');
    assert.equal(status.process, 'ok', 'what is world-readable is still read');
    assert.ok(tr.metrics.threads >= 1);
    assert.equal(tr.metrics['fd.open'], undefined, 'an unreadable metric is absent, not zero');
    const hints = tr.unknowns.filter((u: any) => u.probe === 'fds' || u.probe === 'sockets');
    assert.equal(hints.length, 2);
    for (const u of hints) assert.match(u.hint, /root|same user/);

    const table = await runCli([String(target.pid)], { prefix: asNobody });
    assert.equal(table.code, 3);
    assert.match(table.stdout, /UNKNOWN/);
    assert.match(table.stdout, /fds denied/);
    assert.match(table.stdout, /run as the same user as the target, or as root/);
  });
});

describe('secrets on the command line', () => {
  const secretArgs = ['--password=hunter2', '--db=postgres://app:s3cret@127.0.0.1/x'];

  test('redacted in table, json and markdown', async () => {
    const target = await startNodeTarget('idle', secretArgs);
    for (const format of ['table', 'json', 'markdown']) {
      const res = await runCli([String(target.pid), '--format', format]);
      assert.equal(res.code, 0, `${format}: ${res.stderr}`);
      const all = res.stdout + res.stderr;
      assert.ok(!all.includes('hunter2'), `${format} leaks the password`);
      assert.ok(!all.includes('s3cret'), `${format} leaks the URL credential`);
      assert.ok(res.stdout.includes('idle.js'), `${format} still shows the command line`);
      assert.ok(res.stdout.includes('postgres://app:'), `${format} keeps the non-secret part of the URL`);
    }
    const { report } = await runJson([String(target.pid)]);
    assert.equal(report.redacted, true);
    assert.match(report.targets[0].cmdline, /--password=\*\*\* --db=postgres:\/\/app:\*\*\*@127\.0\.0\.1\/x/);
  });

  test('--no-redact shows them, and warns on stderr', async () => {
    const target = await startNodeTarget('idle', secretArgs);
    for (const format of ['table', 'json', 'markdown']) {
      const res = await runCli([String(target.pid), '--format', format, '--no-redact']);
      assert.equal(res.code, 0, res.stderr);
      assert.ok(res.stdout.includes('hunter2') && res.stdout.includes('s3cret'), `${format} shows the secrets`);
      assert.match(res.stderr, /WARNING: --no-redact/);
    }
  });
});

describe('control characters in file names', () => {
  test('escaped in the table, valid in JSON, intact in the JSON data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proctriage-odd-'));
    dirs.push(dir);
    const target = await startNodeTarget('odd-names', ['--dir', dir, '--count', '25']);
    assert.equal(readdirSync(dir).length, 25);

    const table = await runCli([String(target.pid)]);
    assert.equal(table.code, 1, `${table.stderr}\n${table.stdout}`);
    assert.match(table.stdout, /file-handle-pileup/);
    assert.ok(!table.stdout.includes('\x1b'), 'no raw ESC reaches the terminal');
    assert.ok(table.stdout.includes('\\x1b[31m'), 'the escape is shown as visible text');
    assert.ok(table.stdout.includes('\\x0a'), 'the newline is shown as visible text');
    for (const line of table.stdout.split('\n')) assert.ok(!line.startsWith('line-'), `a file name broke a line: ${line}`);

    const { res, report } = await runJson([String(target.pid)]);
    assert.equal(res.code, 1, `${res.stderr}\n${JSON.stringify(report.targets[0].findings.map((f: any) => [f.id, f.severity]))}`);
    assert.ok(!res.stdout.includes('\x1b'), 'no raw ESC in the JSON text either');
    const f = finding(report.targets[0], 'file-handle-pileup');
    assert.equal(f.severity, 'warning');
    assert.equal(f.evidence['fd.filePatterns'][0].count, 25);
    assert.ok(f.evidence['fd.filePatterns'][0].example.includes('evil-\\x1b[31mred\\x0aline-'));

    const md = await runCli([String(target.pid), '--format', 'markdown']);
    assert.ok(!md.stdout.includes('\x1b'));
  });
});

/** pid 2 (kthreadd) when it is a kernel thread here, else any process flagged PF_KTHREAD. */
function kernelThread(): number | undefined {
  const isKthread = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
      return (flags & 0x00200000) !== 0;
    } catch {
      return false;
    }
  };
  if (isKthread(2)) return 2;
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .find(isKthread);
}
