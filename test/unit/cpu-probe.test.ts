import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcFs } from '../../src/procfs/procfs.js';
import { HostSources, TargetSources } from '../../src/engine/sources.js';
import { headStart, takeFirstStat } from '../../src/procfs/head-start.js';
import { probe } from '../../probes/cpu.js';

const children: ChildProcess[] = [];
after(() => { for (const c of children) c.kill('SIGKILL'); });

function start(code: string): number {
  // bounded: the child ends by itself after 20 s even if this test is killed
  const c = spawn(process.execPath, ['-e', `setTimeout(() => process.exit(0), 20000); ${code}`], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

async function runProbe(pid: number): Promise<{ percent: number; ms: number }> {
  const proc = new ProcFs();
  const started = performance.now();
  const out = await probe.run({ pid, proc, sources: new TargetSources(proc, pid, new HostSources(proc)), options: {}, actions: [] } as never);
  return { percent: out.metrics['cpu.percent'] as number, ms: performance.now() - started };
}

test('the sampling window starts at the head start: an idle target costs no extra wait', async () => {
  const pid = start('');
  await sleep(100);
  headStart(pid);
  await sleep(150); // longer than the window: the probe needs only its second sample
  const { percent, ms } = await runProbe(pid);
  assert.equal(percent, 0);
  assert.ok(ms < 90, `the probe waited ${ms.toFixed(0)} ms`);
  assert.equal(takeFirstStat(pid), undefined, 'the first sample is handed out once');
});

test('a busy target measured from the head start still reads about one core', async () => {
  const pid = start('for (;;) {}');
  await sleep(200);
  headStart(pid);
  const { percent } = await runProbe(pid);
  assert.ok(percent >= 50 && percent <= 150, `cpu.percent ${percent}`);
});
