/**
 * End to end with real memory cgroups (v1 memory controller, as root): a process pushed to 94 %
 * of a 64 MiB limit, and a cgroup in which the kernel OOM-killed a process. Each cgroup is
 * created fresh and removed afterwards (processes killed first), even when a test fails.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, finding, runCli, runJson, spawnTracked, startTarget, TARGETS, waitFor } from '../helpers/processes.js';
import { cgroupPids, createMemoryCgroup, memoryCgroupUnavailable, removeAllCgroups } from '../helpers/cgroup.js';

const MiB = 2 ** 20;
const LIMIT = 64 * MiB;
const unavailable = memoryCgroupUnavailable();
if (unavailable) console.log(`# skipping the memory cgroup tests: ${unavailable}`);

after(async () => {
  await cleanup();
  await removeAllCgroups();
});

/** argv that joins the cgroup (and optionally sets its OOM score) before exec'ing node with a target. */
function inCgroup(dir: string, target: string, args: string[], oomScoreAdj?: number): [string, string[]] {
  const adj = oomScoreAdj === undefined ? '' : ` && echo ${oomScoreAdj} > /proc/self/oom_score_adj`;
  return ['/bin/sh', ['-c', `echo $$ > "$1/cgroup.procs"${adj} && shift && exec "$@"`, 'sh', dir, process.execPath, join(TARGETS, `${target}.js`), ...args]];
}

describe('memory cgroup (v1)', { skip: unavailable }, () => {
  test('a process at >= 90 % of a 64 MiB limit: memory-near-limit critical, exit 2', async () => {
    const cg = createMemoryCgroup(LIMIT);
    const [cmd, args] = inCgroup(cg, 'memory-hog', ['--cgroup', cg, '--ratio', '0.93']);
    const hog = await startTarget(cmd, args, { timeoutMs: 20_000 });
    assert.deepEqual(cgroupPids(cg), [hog.pid], 'the hog runs inside the test cgroup');

    const { res, report } = await runJson([String(hog.pid)]);
    assert.equal(res.code, 2, res.stderr);
    const t = report.targets[0];
    assert.equal(t.metrics['cgroup.memory.limit'], LIMIT);
    assert.ok(t.metrics['cgroup.memory.utilization'] >= 0.9, `utilization ${t.metrics['cgroup.memory.utilization']}`);
    const f = finding(t, 'memory-near-limit');
    assert.equal(f?.severity, 'critical');
    assert.equal(f.evidence['cgroup.memory.limit'], LIMIT);
    assert.equal(f.evidence['cgroup.memory.limitSource'], cg);
    assert.match(f.summary, /of its 64\.0 MiB limit/);
    // the next step shows the cgroup's own accounting, and runs as printed
    const step = f.nextSteps.find((s: { text: string }) => s.text.startsWith('tail -n +1 '));
    assert.equal(
      step?.text,
      `tail -n +1 ${['memory.limit_in_bytes', 'memory.usage_in_bytes', 'memory.failcnt', 'memory.oom_control', 'memory.stat'].map((n) => `${cg}/${n}`).join(' ')}`,
    );
    const shown = execFileSync('/bin/sh', ['-c', step.text], { encoding: 'utf8' });
    assert.match(shown, new RegExp(`^==> ${cg}/memory\\.limit_in_bytes <==\\n${LIMIT}$`, 'm'));
    assert.match(shown, /^==> .*\/memory\.stat <==\n(.*\n)*?total_rss \d+$/m);

    const table = await runCli([String(hog.pid)]);
    assert.equal(table.code, 2);
    assert.match(table.stdout, /memory-near-limit/);
    await hog.stop();
  });

  test('a child OOM-killed in the cgroup: oom-kills critical on the survivor, exit 2', async () => {
    const cg = createMemoryCgroup(LIMIT);
    const [scmd, sargs] = inCgroup(cg, 'idle', []);
    const survivor = await startTarget(scmd, sargs);

    // the victim volunteers for the OOM killer (raising oom_score_adj needs no privilege)
    const [vcmd, vargs] = inCgroup(cg, 'memory-hog', ['--mode', 'unbounded', '--max-mib', '2048'], 1000);
    const victim = spawnTracked(vcmd, vargs, {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
      stopSignal: 'SIGKILL',
      env: { ...process.env, PROCTRIAGE_SERVICE_WATCHDOG: 'none' },
    });
    let victimErr = '';
    victim.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      victimErr += s;
    });
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      victim.exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), 30_000);
      }),
    ]);
    clearTimeout(timer);
    if (!exit) {
      await victim.stop();
      assert.fail('the victim was not OOM-killed within 30 s');
    }
    await victim.stop(); // its process group
    assert.equal(exit.signal, 'SIGKILL', `victim exit: ${JSON.stringify(exit)} ${victimErr}`);
    const oomKills = await waitFor(
      () => {
        const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(cg, 'memory.oom_control'), 'utf8'));
        return m && Number(m[1]) > 0 ? Number(m[1]) : undefined;
      },
      5000,
      'oom_kill in memory.oom_control',
    );

    const { res, report } = await runJson([String(survivor.pid)]);
    assert.equal(res.code, 2, res.stderr);
    const t = report.targets[0];
    assert.equal(t.pid, survivor.pid);
    assert.equal(t.metrics['cgroup.memory.oomKills'], oomKills);
    const f = finding(t, 'oom-kills');
    assert.equal(f?.severity, 'critical');
    assert.equal(f.evidence['cgroup.memory.limit'], LIMIT);
    assert.equal(f.evidence['cgroup.memory.oomKills'], oomKills);
    assert.equal(finding(t, 'memory-near-limit'), undefined, 'the survivor itself is small');
    await survivor.stop();
  });
});
