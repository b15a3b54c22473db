import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cleanup, sleep, spawnTracked, waitFor } from '../helpers/processes.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { HostSources, TargetSources } from '../../src/engine/sources.js';
import { probe } from '../../probes/cpu.js';

after(cleanup);

/** A Node child that has finished starting (Node's own start-up burns CPU for 50–200 ms). */
async function start(code: string): Promise<number> {
  // bounded: the child ends by itself after 20 s even if this test is killed
  const { child: c } = spawnTracked(process.execPath, ['-e', `setTimeout(() => process.exit(0), 20000); console.log('up'); ${code}`], {
    stdio: ['ignore', 'pipe', 'ignore'],
    stopSignal: 'SIGKILL',
  });
  await new Promise((resolve, reject) => {
    c.stdout!.once('data', resolve);
    c.once('exit', () => reject(new Error('the child exited before it was up')));
  });
  return c.pid!;
}

/** utime + stime of a process, in clock ticks. */
function ticks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function runProbe(pid: number, proc = new ProcFs()): Promise<{ percent: number; ms: number }> {
  const started = performance.now();
  const out = await probe.run({ pid, proc, sources: new TargetSources(proc, pid, new HostSources(proc)), options: {}, actions: [] } as never);
  return { percent: out.metrics['cpu.percent'] as number, ms: performance.now() - started };
}

test('the sampling window starts at the head start: an idle target costs no extra wait', async () => {
  const pid = await start('');
  await waitFor(
    async () => {
      const a = ticks(pid);
      await sleep(30);
      return ticks(pid) === a;
    },
    5000,
    'the idle child to stop using CPU',
  );
  const proc = new ProcFs();
  proc.headStart(pid);
  await sleep(150); // longer than the window: the probe needs only its second sample
  const { percent, ms } = await runProbe(pid, proc);
  // one stray clock tick (a late GC) is 4 % of 250 ms; a wrong window would read far more or wait
  assert.ok(percent <= 10, `cpu.percent ${percent}`);
  assert.ok(ms < 90, `the probe waited ${ms.toFixed(0)} ms`);
  assert.equal(proc.firstStat(pid), undefined, 'the first sample is handed out once');
});

test('a busy target measured from the head start reads what the kernel charged it over the window', async (t) => {
  const pid = await start('for (;;) {}');
  await sleep(100); // a phase, not a wait: the window then holds the loop alone, none of Node's start-up
  const proc = new ProcFs();
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2)
      .split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const t0 = ticks(),
    at0 = performance.now();
  proc.headStart(pid);
  const { percent } = await runProbe(pid, proc);
  // the same window measured independently: a loaded machine may give the spinner little of a core
  const seen = ((ticks() - t0) / 100 / ((performance.now() - at0) / 1000)) * 100;
  if (seen < 20) return t.skip(`the machine gave the spinning child ${seen.toFixed(0)}% of a core: nothing to compare`);
  assert.ok(percent >= seen / 2 && percent <= 150, `cpu.percent ${percent}, the kernel charged ${seen.toFixed(0)}%`);
});

test('one thread pinned at a core is named, whatever the host has: the busiest thread and its share of a core', async () => {
  // the main thread spins; a worker thread sleeps: the process uses one core of the host's
  const pid = await start(`new (require('worker_threads').Worker)('setInterval(()=>{},1000)', { eval: true }); for (;;) {}`);
  const proc = new ProcFs();
  const out = await probe.run({ pid, proc, sources: new TargetSources(proc, pid, new HostSources(proc)), options: {}, actions: [] } as never);
  const percent = out.metrics['cpu.percent'] as number;
  const busiest = out.evidence?.['cpu.busiestThread'] as { tid: number; name: string; percent: number };
  // a loaded machine may give the spinner less than half a core: then nothing is sampled per thread
  if (percent < 50) return;
  assert.equal(busiest.tid, pid, 'the main thread');
  assert.equal(out.metrics['cpu.maxThreadPercent'], busiest.percent);
  assert.ok(busiest.percent >= percent * 0.8, `${busiest.percent}% of ${percent}%`);
});
