import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cleanup, sleep, spawnTracked, waitFor } from '../helpers/processes.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { HostSources, TargetSources } from '../../src/engine/sources.js';
import { probe } from '../../probes/cpu.js';
import { parseSchedstat } from '../../src/procfs/cpu-sample.js';
import { parseIoCalls } from '../../src/procfs/proc-io.js';

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

/** utime + stime of a process (or of one of its threads), in clock ticks. */
function ticks(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function runProbe(pid: number, proc = new ProcFs()): Promise<{ percent: number; ms: number; window: { ms: number; by: string } }> {
  const started = performance.now();
  const out = await probe.run({ pid, proc, sources: new TargetSources(proc, pid, new HostSources(proc)), options: {}, actions: [] } as never);
  return { percent: out.metrics['cpu.percent'] as number, ms: performance.now() - started, window: out.evidence?.['cpu.window'] as { ms: number; by: string } };
}

test('schedstat: the time on a CPU and the time waiting for one, in nanoseconds', () => {
  assert.deepEqual(parseSchedstat('377144765 85912477 341\n'), { runNs: 377144765, waitNs: 85912477 });
  assert.throws(() => parseSchedstat(''), /schedstat/);
  assert.throws(() => parseSchedstat('x 1 2\n'), /schedstat/);
  assert.throws(() => parseSchedstat('377144765\n'), /schedstat/);
  assert.throws(() => parseSchedstat('99999999999999999999 1 2\n'), /schedstat/);
});

test('task io: the read and write calls so far, exact counts', () => {
  // as an nginx worker's /proc/PID/task/TID/io reads
  const io = 'rchar: 81517433\nwchar: 120770049\nsyscr: 110522\nsyscw: 110521\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n';
  assert.equal(parseIoCalls(io), 221043);
  assert.throws(() => parseIoCalls(''), /\/proc\/PID\/io/);
  assert.throws(() => parseIoCalls('rchar: 1\nsyscr: 2\n'), /syscr and syscw/);
  assert.throws(() => parseIoCalls('syscr: 99999999999999999999\nsyscw: 1\n'), /syscr and syscw/);
});

test('an idle target with steady threads is measured in thread nanoseconds over 50 ms', async () => {
  const pid = await start('');
  const { percent, window } = await runProbe(pid);
  assert.equal(window.by, 'thread ns');
  assert.ok(window.ms >= 50, `window ${window.ms} ms`);
  assert.ok(percent < 50, `cpu.percent ${percent}`);
});

test('a process with more threads than are worth reading one by one is measured by its ticks, over 100 ms', async () => {
  const { child } = spawnTracked(
    'python3',
    [
      '-c',
      'import threading, time\nfor _ in range(300): threading.Thread(target=time.sleep, args=(20,), daemon=True).start()\nprint("up", flush=True)\ntime.sleep(20)',
    ],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
      stopSignal: 'SIGKILL',
    },
  );
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const { window } = await runProbe(child.pid!);
  assert.equal(window.by, 'ticks');
  assert.ok(window.ms >= 100, `window ${window.ms} ms`);
});

test('CPU burnt in threads that come and go is not lost with them: the ticks of the whole process decide', async (t) => {
  // every thread spins 5 ms and exits, one after another: at any instant one is alive, never the same
  // one for long. Summing the nanoseconds of the threads seen at both ends would read almost nothing.
  const { child } = spawnTracked(
    'python3',
    [
      '-c',
      'import threading, time\nend = time.time() + 20\ndef spin():\n  t = time.time() + 0.005\n  while time.time() < t: pass\nwhile time.time() < end:\n  th = threading.Thread(target=spin); th.start(); th.join()',
    ],
    { stdio: 'ignore', stopSignal: 'SIGKILL' },
  );
  const pid = child.pid!;
  await sleep(200);
  const t0 = ticks(pid),
    at0 = performance.now();
  const { percent, window } = await runProbe(pid);
  const seen = ((ticks(pid) - t0) / 100 / ((performance.now() - at0) / 1000)) * 100;
  if (seen < 40) return t.skip(`the machine gave the spinning threads ${seen.toFixed(0)}% of a core: nothing to compare`);
  assert.equal(window.by, 'ticks');
  assert.ok(percent >= seen / 2, `cpu.percent ${percent}, the kernel charged ${seen.toFixed(0)}%`);
});

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
  assert.equal(proc.firstCpuSample(pid), undefined, 'the first sample is handed out once');
});

test('a busy target measured from the head start reads what the kernel charged it over the window', async (t) => {
  const pid = await start('for (;;) {}');
  await sleep(100); // a phase, not a wait: the window then holds the loop alone, none of Node's start-up
  const proc = new ProcFs();
  const t0 = ticks(pid),
    at0 = performance.now();
  proc.headStart(pid);
  const { percent } = await runProbe(pid, proc);
  // the same window measured independently: a loaded machine may give the spinner little of a core
  const seen = ((ticks(pid) - t0) / 100 / ((performance.now() - at0) / 1000)) * 100;
  if (seen < 20) return t.skip(`the machine gave the spinning child ${seen.toFixed(0)}% of a core: nothing to compare`);
  assert.ok(percent >= seen / 2 && percent <= 150, `cpu.percent ${percent}, the kernel charged ${seen.toFixed(0)}%`);
});

test('one thread pinned at a core is named, whatever the host has: the busiest thread and its share of a core', async () => {
  // the main thread spins; a worker thread sleeps: the process uses one core of the host's
  const worker = `require('worker_threads').parentPort.postMessage(0); setInterval(() => {}, 1000)`;
  const pid = await start(`new (require('worker_threads').Worker)(${JSON.stringify(worker)}, { eval: true }).once('message', () => { for (;;) {} });`);
  // a worker's start-up burns CPU on its own thread (a loaded CI machine saw the main thread at
  // 48 % of the process's 60 %): measure once the worker is up and the main thread spins
  await waitFor(
    async () => {
      const a = ticks(pid, pid);
      await sleep(50);
      return ticks(pid, pid) - a >= 2;
    },
    5000,
    'the main thread to spin',
  );
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
