/**
 * Team playbooks end to end: `playbook validate` and `playbook show` (text and --markdown) on a
 * valid team file and on each way a file can be wrong, and `--playbook <file>` changing the
 * verdict on a real process (30 % of its fd limit: OK built in, WARNING with a team threshold).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, runCli, runJson } from '../helpers/processes.js';
import { expectOneLineFailure as oneLineFailure } from '../helpers/processes.js';
import { startChild, type Child } from '../helpers/time.js';

const tmp = mkdtempSync(join(tmpdir(), 'proctriage-playbook-'));
after(async () => {
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

/** The built-in fd-exhaustion finding with its warning level moved from 0.80 to `warnAt`. */
const fdExhaustion = (warnAt: number, id = 'fd-exhaustion', step = 'fds') => `  - id: ${id}
    title: File descriptors near the limit
    step: ${step}
    requires: [fd.utilization]
    levels:
      - { severity: critical, when: { metric: fd.utilization, op: ">=", value: 0.95 } }
      - { severity: warning, when: { metric: fd.utilization, op: ">=", value: ${warnAt} } }
    summary: "{fd.open} of {fd.limit} file descriptors in use ({fd.utilization:pct})"
    likelyCauses: [A leak of the dominant fd type]
    nextSteps: ["ls -l /proc/{pid}/fd"]
    seed: our postmortem
`;
const header = (extra = 'extends: default\n') => `schemaVersion: 1\nname: team\n${extra}findings:\n`;

function write(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe('playbook validate and show', () => {
  let team: string;
  before(() => {
    team = write('team.yaml', header() + fdExhaustion(0.25));
  });

  test('a team playbook that extends the default with one changed threshold is valid (exit 0)', async () => {
    const res = await runCli(['playbook', 'validate', team]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    // same steps and findings as the built-in one: the finding was replaced, not added
    const builtin = await runJson(['playbook', 'show']);
    assert.match(
      res.stdout,
      new RegExp(`^.*team\\.yaml: valid playbook "team" \\(${builtin.report.steps.length} steps, ${builtin.report.findings.length} findings\\)\\n$`),
    );
  });

  test('show --playbook reflects the change, in text, --markdown and --json; the built-in one is untouched', async () => {
    const [text, md, json, base, baseMd] = await Promise.all([
      runCli(['playbook', 'show', '--playbook', team]),
      runCli(['playbook', 'show', '--playbook', team, '--markdown']),
      runJson(['playbook', 'show', '--playbook', team]),
      runCli(['playbook', 'show']),
      runCli(['playbook', 'show', '--markdown']),
    ]);
    for (const r of [text, md, base, baseMd]) assert.equal(r.code, 0, r.stderr);
    const block = (out: string) => out.slice(out.indexOf('fd-exhaustion:'), out.indexOf('close-wait-leak:'));
    assert.match(text.stdout, /^team\b/);
    assert.match(block(text.stdout), /warning\s+when fd\.utilization >= 25%/);
    assert.doesNotMatch(block(text.stdout), / 80%/);
    assert.match(block(base.stdout), /warning\s+when fd\.utilization >= 80%/);
    const row = (out: string) => out.split('\n').find((l) => l.startsWith('| `fd-exhaustion`'));
    assert.match(row(md.stdout) ?? '', /\*\*warning\*\* when fd\.utilization >= 25%/);
    assert.match(row(md.stdout) ?? '', /our postmortem/);
    assert.match(row(baseMd.stdout) ?? '', /\*\*warning\*\* when fd\.utilization >= 80%/);
    const f = json.report.findings.find((x: { id: string }) => x.id === 'fd-exhaustion');
    assert.equal(f.levels[1].when.value, 0.25);
    // the rest of the built-in tree is kept
    assert.ok(json.report.findings.some((x: { id: string }) => x.id === 'close-wait-leak'));
  });

  test('each invalid playbook is one line on stderr and exit 3, for validate and for show', async () => {
    const deep = `${'{ not: '.repeat(100)}{ metric: fd.open, op: ">", value: 1 }${' }'.repeat(100)}`;
    const cases: [string, string, RegExp][] = [
      ['syntax.yaml', 'schemaVersion: 1\nname: [unclosed\n', /syntax\.yaml is invalid: not valid YAML/],
      [
        'condition.yaml',
        header() + fdExhaustion(0.25).replace('op: ">=", value: 0.25', 'op: "about", value: 0.25'),
        /findings\.0\.levels\.1\.when: not a condition: use \{metric, op/,
      ],
      ['step.yaml', header() + fdExhaustion(0.25, 'fd-exhaustion', 'fdz'), /unknown step "fdz"/],
      ['duplicate.yaml', header() + fdExhaustion(0.25, 'team-fds') + fdExhaustion(0.5, 'team-fds'), /duplicate finding id "team-fds"/],
      [
        'misspelt.yaml',
        header() + fdExhaustion(0.25).replace('requires: [fd.utilization]', 'requires: [sockets.tcp.closeWiat]'),
        /unknown metric "sockets\.tcp\.closeWiat" \(did you mean "sockets\.tcp\.closeWait"\?\)/,
      ],
      ['deep.yaml', header() + fdExhaustion(0.25).replace('{ metric: fd.utilization, op: ">=", value: 0.25 }', deep), /nested deeper than \d+ levels/],
    ];
    for (const [name, text, pattern] of cases) {
      const file = write(name, text);
      oneLineFailure(await runCli(['playbook', 'validate', file]), pattern);
      oneLineFailure(await runCli(['playbook', 'show', '--playbook', file]), pattern);
    }
  });

  test('a fifo and a directory are refused at once, one line, exit 3 (the fifo never blocks the read)', async (t) => {
    const fifo = join(tmp, 'pipe.yaml');
    const mk = spawnSync('mkfifo', [fifo]);
    if (mk.status !== 0) return t.skip('mkfifo is not available');
    const dir = join(tmp, 'dir.yaml');
    mkdirSync(dir);
    oneLineFailure(await runCli(['playbook', 'validate', fifo], { timeoutMs: 5000 }), /pipe\.yaml is a fifo, not a regular file: refused/);
    oneLineFailure(await runCli(['playbook', 'validate', dir], { timeoutMs: 5000 }), /dir\.yaml is a directory, not a file/);
    oneLineFailure(await runCli(['playbook', 'validate', join(tmp, 'nowhere.yaml')], { timeoutMs: 5000 }), /nowhere\.yaml/);
  });

  test('a finding listed twice under extends: default is refused like any other duplicate', async () => {
    const file = write('duplicate-builtin.yaml', header() + fdExhaustion(0.25) + fdExhaustion(0.5));
    oneLineFailure(await runCli(['playbook', 'validate', file]), /duplicate finding id "fd-exhaustion"/);
  });
});

describe('--playbook on a diagnosis of a real process', () => {
  let child: Child, team: string;
  before(async () => {
    team = write('lower-fd-warning.yaml', header() + fdExhaustion(0.25));
    // 60 of 200 fds in use: 30 %, under the built-in warning (80 %), over the team's (25 %)
    child = await startChild(
      `const fs=require('fs');const held=[];while(fs.readdirSync('/proc/self/fd').length-1<60)held.push(fs.openSync('/dev/null','r'));setInterval(()=>{},1e9);console.log('ready')`,
      { fdLimit: 200 },
    );
  });

  test('the built-in playbook: OK (exit 0); the team playbook: fd-exhaustion WARNING (exit 1)', async () => {
    const builtin = await runJson([String(child.pid)]);
    const t0 = builtin.report.targets[0];
    assert.equal(t0.metrics['fd.limit'], 200);
    assert.ok(Math.abs(t0.metrics['fd.utilization'] - 0.3) < 0.02, String(t0.metrics['fd.utilization']));
    assert.equal(t0.status, 'ok', JSON.stringify(t0.findings.map((f: { id: string; severity: string }) => `${f.id}:${f.severity}`)));
    assert.equal(builtin.res.code, 0);
    assert.equal(builtin.report.playbook, 'default');

    const tuned = await runJson([String(child.pid), '--playbook', team]);
    const t1 = tuned.report.targets[0];
    assert.equal(tuned.report.playbook, 'team');
    assert.equal(t1.status, 'warning');
    assert.equal(t1.findings.find((f: { id: string }) => f.id === 'fd-exhaustion')?.severity, 'warning');
    assert.equal(tuned.res.code, 1);
    const table = await runCli([String(child.pid), '--playbook', team]);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /fd-exhaustion/);
  });

  test('an invalid --playbook stops the diagnosis before it starts: one line, exit 3', async () => {
    const bad = write('bad-for-diagnosis.yaml', header() + fdExhaustion(0.25).replace('fd.utilization]', 'fd.utilisation]'));
    oneLineFailure(await runCli([String(child.pid), '--playbook', bad]), /unknown metric "fd\.utilisation" \(did you mean "fd\.utilization"\?\)/);
  });
});
