/**
 * End to end, on real misbehaving processes: the bundled sample services are started for real
 * and the built CLI diagnoses them. Counts are cross-checked against what the kernel shows
 * through independent tools (ls /proc/PID/fd, ss).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningService } from '../../src/demo/launch.js';
import { cleanup, finding, problems, runCli, runJson, sh, startService, which } from '../helpers/processes.js';

let closeWait: RunningService, rotation: RunningService, deletedLog: RunningService, healthy: RunningService;

before(async () => {
  [closeWait, rotation, deletedLog, healthy] = (await Promise.all(['close-wait', 'rotation', 'deleted-log', 'healthy'].map((name) => startService(name)))) as [
    RunningService,
    RunningService,
    RunningService,
    RunningService,
  ];
});
after(cleanup);

/** `ls /proc/PID/fd | wc -l`, as an operator would count. */
function lsFdCount(pid: number): number {
  return Number(sh(`ls /proc/${pid}/fd | wc -l`).trim());
}

describe('close-wait service', () => {
  test('close-wait-leak is critical and names the upstream ip:port with the count; exit 2', async () => {
    const { res, report } = await runJson([String(closeWait.pid)]);
    assert.equal(res.code, 2, res.stderr);
    assert.equal(report.status, 'critical');
    const t = report.targets[0];
    assert.equal(t.pid, closeWait.pid);
    assert.equal(t.runtime, 'node');
    const f = finding(t, 'close-wait-leak');
    assert.ok(f, `no close-wait-leak finding: ${JSON.stringify(t.findings.map((x: any) => x.id))}`);
    assert.equal(f.severity, 'critical');
    assert.equal(t.metrics['sockets.tcp.closeWait'], 150);
    assert.equal(closeWait.info.count, 150);
    assert.deepEqual(f.evidence['sockets.peers.closeWait'][0], { endpoint: closeWait.info.peer, count: 150 });
    assert.match(f.summary, new RegExp(`most to ${String(closeWait.info.peer).replace(/\./g, '\\.')} \\(150\\)`));
    assert.ok(
      f.nextSteps.some((s: { text: string }) => s.text.includes(`dst ${closeWait.info.peer}`)),
      'a next step filters on the peer',
    );
    // the source case in words a user can read, not a reference to a document they cannot open
    assert.match(f.seed, /unclosed HTTP response bodies/);
    // nothing else is wrong with it
    assert.deepEqual(
      problems(t).map((x: any) => x.id),
      ['close-wait-leak'],
    );
    assert.ok(
      t.probes.every((p: any) => p.status === 'ok' || p.status === 'skipped'),
      JSON.stringify(t.probes),
    );
    assert.equal(t.metrics['fd.open'], lsFdCount(closeWait.pid), 'fd.open agrees with ls /proc/PID/fd');
  });

  test('CLOSE_WAIT count and peer agree with ss', async (t) => {
    if (!which('ss')) return t.skip('ss (iproute2) is not installed');
    const { report } = await runJson([String(closeWait.pid)]);
    const rows = sh('ss -tanp state close-wait')
      .split('\n')
      .filter((l) => l.includes(`pid=${closeWait.pid},`));
    assert.equal(rows.length, report.targets[0].metrics['sockets.tcp.closeWait']);
    assert.ok(
      rows.every((l) => l.split(/\s+/)[3] === closeWait.info.peer),
      `every row's peer is ${closeWait.info.peer}`,
    );
  });

  test('table output (the default) shows the verdict, the finding and the peer', async () => {
    const res = await runCli([String(closeWait.pid)]);
    assert.equal(res.code, 2);
    assert.match(res.stdout, /CRITICAL/);
    assert.match(res.stdout, /close-wait-leak/);
    assert.ok(res.stdout.includes(String(closeWait.info.peer)));
    assert.ok(!res.stdout.includes('\x1b'), 'no colour codes when stdout is not a terminal');
    assert.equal(res.stderr, '');
  });

  test('--format markdown renders a ticket-ready report', async () => {
    const res = await runCli([String(closeWait.pid), '--format', 'markdown']);
    assert.equal(res.code, 2);
    assert.match(res.stdout, /^## proctriage: .* CRITICAL/m);
    assert.match(res.stdout, /`close-wait-leak`/);
    assert.ok(res.stdout.includes(String(closeWait.info.peer)));
    // commands in code blocks, one each; advice as prose outside them; no HTML, no tables
    const { report } = await runJson([String(closeWait.pid)]);
    const steps: { kind: string; text: string }[] = finding(report.targets[0], 'close-wait-leak').nextSteps;
    assert.ok(steps.some((s) => s.kind === 'command') && steps.some((s) => s.kind === 'advice'), JSON.stringify(steps));
    const blocks = [...res.stdout.matchAll(/^```sh\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!);
    for (const s of steps.filter((x) => x.kind === 'command')) assert.ok(blocks.includes(s.text), `"${s.text}" is a code block of its own`);
    for (const s of steps.filter((x) => x.kind === 'advice')) {
      assert.ok(!blocks.some((b) => b.includes(s.text.slice(0, 30))), `advice "${s.text}" is not in a code block`);
      assert.ok(
        res.stdout.split('\n').some((l) => l.startsWith(s.text.slice(0, 20))),
        `advice "${s.text}" is a paragraph`,
      );
    }
    for (const b of blocks) assert.equal(b.split('\n').length, 1, `one command a block: ${b}`);
    assert.doesNotMatch(res.stdout, /<details>|<summary>|^\|/m);
    assert.doesNotMatch(res.stdout, /\\[\\/`*_[\]<>|#]/, 'no backslash escapes: paths are code spans');
    assert.match(res.stdout, /^\*\*Decision path\*\*$/m);
  });

  test('--json: each next step says whether it is a command or advice', async () => {
    const { report } = await runJson([String(closeWait.pid)]);
    for (const f of report.targets[0].findings) {
      for (const s of f.nextSteps) {
        assert.deepEqual(Object.keys(s).sort(), ['kind', 'text'], JSON.stringify(s));
        assert.ok(s.kind === 'command' || s.kind === 'advice');
      }
    }
    const steps = finding(report.targets[0], 'close-wait-leak').nextSteps;
    assert.equal(steps.find((s: { text: string }) => s.text.startsWith('ss -tn state close-wait dst')).kind, 'command');
    assert.equal(steps.find((s: { text: string }) => s.text.startsWith('Find the code')).kind, 'advice');
  });

  test('--format json equals --json in shape', async () => {
    const res = await runCli([String(closeWait.pid), '--format', 'json']);
    assert.equal(res.code, 2);
    const r = JSON.parse(res.stdout);
    assert.equal(r.schemaVersion, 2);
    assert.equal(r.exitCode, 2);
    assert.equal(r.targets[0].metrics['sockets.tcp.closeWait'], 150);
  });
});

describe('rotation service (fd limit 256)', () => {
  test('fd-exhaustion critical and file-handle-pileup warning; exit 2', async () => {
    const { res, report } = await runJson([String(rotation.pid)]);
    assert.equal(res.code, 2, res.stderr);
    const t = report.targets[0];
    assert.equal(t.metrics['fd.limit'], 256);
    assert.equal(t.metrics['fd.limitHard'], 256);
    assert.ok(t.metrics['fd.open'] >= 245 && t.metrics['fd.open'] < 256, `fd.open ${t.metrics['fd.open']}`);
    assert.equal(t.metrics['fd.open'], lsFdCount(rotation.pid), 'fd.open agrees with ls /proc/PID/fd');
    assert.ok(t.metrics['fd.utilization'] >= 0.95);

    const ex = finding(t, 'fd-exhaustion');
    assert.equal(ex?.severity, 'critical');
    assert.equal(ex.evidence['fd.limit'], 256);
    assert.equal(ex.evidence['fd.open'], t.metrics['fd.open']);

    const pile = finding(t, 'file-handle-pileup');
    assert.equal(pile?.severity, 'warning');
    const top = pile.evidence['fd.filePatterns'][0];
    assert.equal(top.count, rotation.info.files);
    assert.equal(t.metrics['fd.byType.file'] >= Number(rotation.info.files), true);
    assert.ok(top.pattern.endsWith('/app-<date>.log'), top.pattern);
    assert.match(top.example, /\/app-\d{4}-\d{2}-\d{2}-\d{4}\.log$/);
    assert.deepEqual(
      problems(t)
        .map((x: any) => x.id)
        .sort(),
      ['fd-exhaustion', 'file-handle-pileup'],
    );
  });
});

describe('deleted-log service', () => {
  test('deleted-files-held warning with the path and size; exit 1', async () => {
    const { res, report } = await runJson([String(deletedLog.pid)]);
    assert.equal(res.code, 1, res.stderr);
    assert.equal(report.status, 'warning');
    const t = report.targets[0];
    const f = finding(t, 'deleted-files-held');
    assert.equal(f?.severity, 'warning');
    assert.equal(t.metrics['fd.deleted'], 1);
    assert.ok(t.metrics['fd.deletedBytes'] >= 20 * 2 ** 20, `fd.deletedBytes ${t.metrics['fd.deletedBytes']}`);
    const held = f.evidence['fd.deletedFiles'][0];
    assert.equal(held.path, deletedLog.info.path);
    assert.ok(held.bytes >= 20 * 2 ** 20);
    // the same fd, as ls shows it
    const ls = sh(`ls -l /proc/${deletedLog.pid}/fd | grep '(deleted)'`);
    assert.ok(ls.includes(` ${held.fd} -> ${deletedLog.info.path} (deleted)`), ls);
    assert.ok(f.nextSteps.some((s: { text: string }) => s.text.includes(`/proc/${deletedLog.pid}/fd/${held.fd}`)));
    assert.deepEqual(
      problems(t).map((x: any) => x.id),
      ['deleted-files-held'],
    );
    assert.equal(t.metrics['fd.open'], lsFdCount(deletedLog.pid));
  });
});

describe('healthy service', () => {
  test('no warning or critical finding, exit 0 (three runs: false positives are bugs)', async () => {
    for (let i = 0; i < 3; i++) {
      const { res, report } = await runJson([String(healthy.pid)]);
      const t = report.targets[0];
      assert.deepEqual(
        problems(t).map((f: any) => `${f.id} (${f.severity}): ${f.summary}`),
        [],
      );
      assert.equal(res.code, 0, res.stderr);
      assert.equal(report.status, 'ok');
      assert.ok(
        t.findings.every((f: any) => f.id === 'recent-deploy'),
        JSON.stringify(t.findings.map((f: any) => f.id)),
      );
      assert.ok(t.metrics['sockets.tcp.established'] >= 2, 'the keep-alive connection is seen from both ends');
      assert.equal(t.metrics['sockets.tcp.closeWait'], 0);
      assert.ok(
        t.probes.every((p: any) => p.status === 'ok' || p.status === 'skipped'),
        JSON.stringify(t.probes),
      );
    }
  });

  test('table output says OK', async () => {
    const res = await runCli([String(healthy.pid)]);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /^ OK {2}pid \d+/);
    assert.match(res.stdout, /no problems found/);
  });
});

describe('several PIDs in one call', () => {
  test('one report, one target per PID in order, the worst status wins', async () => {
    const pids = [healthy.pid, deletedLog.pid, closeWait.pid];
    const { res, report } = await runJson(pids.map(String));
    assert.equal(res.code, 2);
    assert.equal(report.status, 'critical');
    assert.deepEqual(
      report.targets.map((t: any) => t.pid),
      pids,
    );
    assert.deepEqual(
      report.targets.map((t: any) => t.status),
      ['ok', 'warning', 'critical'],
    );
  });

  test('warning and ok give warning (exit 1); the table ends with an overall line', async () => {
    const res = await runCli([String(healthy.pid), String(deletedLog.pid)]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /WARNING\s+overall: 2 targets/);
  });
});
