/**
 * Memory verdicts against the misbehaviour they name and the healthy process that looks like it,
 * in real v1 memory cgroups (root): page cache filling a cgroup is not pressure; an OOM kill
 * before the target started is history, one after it is critical.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, finding, REPO, runJson, spawnTracked, waitFor } from '../helpers/processes.js';
import { cgroupPids, createMemoryCgroup, memoryCgroupUnavailable, removeAllCgroups } from '../helpers/cgroup.js';
import { startChild } from '../helpers/time.js';

const MiB = 2 ** 20;
const unavailable = memoryCgroupUnavailable();
if (unavailable) console.log(`# skipping the memory verdict tests: ${unavailable}`);
// page cache must be on a disk file system: a file in tmpfs is shared memory, which cannot be dropped
const scratch = mkdtempSync(join(REPO, '.pt-pagecache-'));

after(async () => {
  await cleanup();
  await removeAllCgroups();
  rmSync(scratch, { recursive: true, force: true });
});

/** Run a process in the cgroup that allocates until the OOM killer ends it; resolves once the kill is counted. */
async function oomKillIn(cg: string): Promise<number> {
  const hog = `echo $$ > "${cg}/cgroup.procs" && echo 1000 > /proc/self/oom_score_adj && exec "${process.execPath}" -e 'const k=[];for(;;)k.push(Buffer.alloc(8<<20,1))'`;
  const victim = spawnTracked('/bin/sh', ['-c', hog], { stdio: 'ignore' });
  const exit = (await victim.exited).signal;
  assert.equal(exit, 'SIGKILL', 'the victim was OOM-killed');
  return waitFor(
    () => {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(cg, 'memory.oom_control'), 'utf8'));
      return m && Number(m[1]) > 0 ? Number(m[1]) : undefined;
    },
    5000,
    'oom_kill in memory.oom_control',
  );
}

describe('memory verdicts in real cgroups (v1)', { skip: unavailable }, () => {
  test('a cgroup full of page cache is not near its limit: nothing to OOM-kill, and an allocation then succeeds', async () => {
    const limit = 128 * MiB;
    const cg = createMemoryCgroup(limit);
    const file = join(scratch, 'data.bin');
    // the child writes the file itself (its page cache is charged to the cgroup that first touches
    // it), syncs it (clean pages), then reads it twice, so the pages are on the active list
    const child = await startChild(
      `const fs=require('fs');const b=Buffer.alloc(1<<20,7);const w=fs.openSync(process.env.PT_FILE,'w');for(let i=0;i<100;i++)fs.writeSync(w,b);fs.fsyncSync(w);fs.closeSync(w);` +
        `for(let r=0;r<2;r++){const fd=fs.openSync(process.env.PT_FILE,'r');while(fs.readSync(fd,b,0,b.length,null)>0);fs.closeSync(fd)}` +
        `process.on('SIGUSR2',()=>{global.big=Buffer.alloc(64<<20,1);console.log('allocated')});console.log('ready');setInterval(()=>{},1000)`,
      { cgroupProcs: join(cg, 'cgroup.procs'), env: { PT_FILE: file } },
    );
    assert.deepEqual(cgroupPids(cg), [child.pid]);
    const { res, report } = await runJson([String(child.pid)]);
    const t = report.targets[0];
    const usage = t.metrics['cgroup.memory.usage'];
    assert.ok(usage / limit >= 0.8, `the cgroup is full by its usage (${(usage / MiB).toFixed(0)} MiB): the old rule would have fired`);
    assert.ok(t.metrics['cgroup.memory.pageCache'] >= 80 * MiB, `page cache ${t.metrics['cgroup.memory.pageCache']}`);
    assert.ok(t.metrics['cgroup.memory.utilization'] < 0.5, `unreclaimable share ${t.metrics['cgroup.memory.utilization']}`);
    assert.equal(finding(t, 'memory-near-limit'), undefined);
    assert.equal(res.code, 0, res.stdout);
    // the kernel drops the cache: the process gets its memory and lives
    let out = '';
    child.child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    process.kill(child.pid, 'SIGUSR2');
    await waitFor(() => out.includes('allocated'), 10_000, 'the 64 MiB allocation');
    assert.equal(child.child.exitCode, null, 'still running');
    await child.stop();
  });

  test('an OOM kill before the target started is history: a dated warning, not a critical that restarts it', async (t) => {
    const cg = createMemoryCgroup(64 * MiB);
    const kills = await oomKillIn(cg);
    const target = await startChild(`console.log('ready');setInterval(()=>{},1000)`, { cgroupProcs: join(cg, 'cgroup.procs') });
    const { res, report } = await runJson([String(target.pid)]);
    const tr = report.targets[0];
    assert.equal(tr.metrics['cgroup.memory.oomKills'], kills);
    if (tr.metrics['cgroup.memory.oomKillsSinceStart'] === undefined) return t.skip('the kernel log is not readable here: kills cannot be dated');
    assert.equal(tr.metrics['cgroup.memory.oomKillsSinceStart'], 0);
    const f = finding(tr, 'oom-kills');
    assert.equal(f?.severity, 'warning');
    assert.match(f.summary, /before this process started: history/);
    assert.equal(f.evidence['cgroup.memory.lastOomKill'].beforeTargetStarted, true);
    assert.equal(f.evidence['cgroup.memory.lastOomKill'].victim, 'node');
    assert.equal(res.code, 1);

    // and a kill while it runs is critical: the cgroup is hitting its limit now
    await oomKillIn(cg);
    const again = await runJson([String(target.pid)]);
    const g = finding(again.report.targets[0], 'oom-kills');
    assert.equal(g?.severity, 'critical');
    assert.match(g.summary, /since this process started, the last \d+s ago \(node, pid \d+\)/);
    assert.equal(again.res.code, 2);
    await target.stop();
  });
});
