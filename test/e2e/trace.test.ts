/**
 * `proctriage trace` on real processes, as root with bpftrace: a C program (gcc -g
 * -fno-omit-frame-pointer), a Go program and a Node.js one, each keeping descriptors from one
 * named function while another opens and closes them at a high rate. The leaking function must rank first with
 * its file:line, the churning one must not be reported as outstanding, and no bpftrace may be
 * left running afterwards — after a normal end, a target that exits, and Ctrl-C.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CLI,
  cleanup,
  expectOneLineFailure,
  pidsWithCmdline,
  runCli,
  runJson,
  spawnTracked,
  startTarget,
  unusedPid,
  waitFor,
  which,
} from '../helpers/processes.js';
import { goEnv, goUnavailable } from '../fixtures/go-service/service.js';
import { traceReady } from '../helpers/tracefs.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/trace/', import.meta.url));

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (eBPF)';
  if (!which('bpftrace')) return 'bpftrace is not installed (apt-get install bpftrace)';
  if (!which('gcc')) return 'gcc is not installed';
  return undefined;
}
const skip = unavailable();
if (skip) console.log(`# trace tests skipped: ${skip}`);
// two threads updating one stack's count at once need two CPUs
const twoCpus = availableParallelism() < 2 ? 'needs two CPUs' : false;

const threadCount = (pid: number) => Number(/^Threads:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

let dir = '';
let cBin = '';
let goBin = '';
let tracefs: ReturnType<typeof traceReady> | undefined;

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'proctriage-trace-'));
  // the kernel's tracing file system, if this machine has not mounted it (unmounted again after)
  tracefs = traceReady();
  cBin = join(dir, 'leaky');
  const cc = spawnSync('gcc', ['-g', '-O0', '-fno-omit-frame-pointer', '-o', cBin, join(FIXTURES, 'leaky.c')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(cc.status, 0, cc.stderr);
  if (!goUnavailable()) {
    goBin = join(dir, 'leakygo');
    const go = spawnSync('go', ['build', '-o', goBin, join(FIXTURES, 'leaky.go')], { encoding: 'utf8', timeout: 120_000, env: goEnv(), cwd: dir });
    assert.equal(go.status, 0, go.stderr);
  }
});
after(async () => {
  await cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
  tracefs?.release();
});

/** No bpftrace attached to this pid is left (they are killed before proctriage exits; the wait covers reaping). */
async function noTracerLeft(pid: number): Promise<void> {
  await waitFor(
    () => pidsWithCmdline(`-p\0${pid}\0`).length === 0,
    5000,
    () => `bpftrace for pid ${pid} to be gone: ${pidsWithCmdline(`-p\0${pid}\0`).join(' ')}`,
  );
}

/** A 60 s trace of pid, as JSON, once its window is open (the test then ends it its own way). */
async function traceRunning(pid: number) {
  const run = startTrace(['trace', String(pid), '--duration', '60s', '--json']);
  await waitFor(
    () => /tracing pid/.test(run.stderr()),
    40_000,
    () => `the trace to start: ${run.stderr()}`,
  );
  return run;
}

/** The CLI, started and left running: the test acts once the window is open. */
function startTrace(args: string[]) {
  const p = spawnTracked(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '',
    stderr = '';
  p.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  p.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  return { p, stdout: () => stdout, stderr: () => stderr };
}

const fns = (g: any): string[] => g.frames.map((f: any) => f.function ?? '');
const frameOf = (g: any, fn: string) => g.frames.find((f: any) => f.function === fn);

test('C: the function that keeps sockets ranks first, with file:line; the churning one is not outstanding', { skip }, async () => {
  const t = await startTarget(cBin, ['leak']);
  const { res, report } = await runJson(['trace', String(t.pid), '--duration', '3s'], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(report.kind, 'trace');
  assert.equal(report.exited, false);
  const top = report.outstanding[0];
  assert.ok(top, JSON.stringify(report).slice(0, 2000));
  const leak = frameOf(top, 'leak_socket');
  assert.ok(leak, `top stack: ${fns(top).join(' < ')}`);
  assert.match(leak.file, /leaky\.c$/);
  assert.ok(leak.line > 0);
  assert.equal(top.fdType, 'socket');
  assert.ok(top.outstanding >= 10, `${top.outstanding} outstanding`);
  assert.equal(top.truncated, false);
  for (const g of report.outstanding) assert.ok(!fns(g).includes('churn_file'), `churn_file reported as outstanding: ${fns(g).join(' < ')}`);
  const churn = report.churn.find((g: any) => fns(g).includes('churn_file'));
  assert.ok(churn && churn.opened > top.opened * 10, 'the churn is shown for contrast and dwarfs the leak');
  assert.ok(report.totals.predating >= 3, 'stdin, stdout and stderr predate the window');
  await noTracerLeft(t.pid);

  const text = await runCli(['trace', String(t.pid), '--duration', '2s'], { timeoutMs: 60_000 });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /#1 \d+ still open of \d+ opened \([\d.]+\/(s|min)\), socket\n\s+leak_socket \S*leaky\.c:\d+/);
  assert.match(text.stdout, /churn: opened and closed again[\s\S]*churn_file/);
  await noTracerLeft(t.pid);
  await t.stop();
});

test('C: descriptors opened on one thread and closed on another, as fast as two CPUs go, are none of them still open', { skip: skip ?? twoCpus }, async () => {
  // a number of them, not a time: a busy machine takes longer, with as many chances to lose an update
  const HANDOFFS = 2_000_000;
  const t = await startTarget(cBin, ['handoff', String(HANDOFFS)]);
  const run = await traceRunning(t.pid);
  t.proc.child.stdin!.write('go\n');
  // its closing thread ends once the churn is over and every descriptor of it is closed
  await waitFor(() => threadCount(t.pid) === 2, 10_000, 'the churn to start');
  await waitFor(() => threadCount(t.pid) === 1, 100_000, 'the churn to end');
  run.p.child.kill('SIGINT');
  const { code } = await run.p.exited;
  assert.equal(code, 130, run.stderr());
  const report = JSON.parse(run.stdout());
  const handoff = report.churn.find((g: any) => fns(g).includes('open_for_handoff'));
  assert.equal(handoff?.opened, HANDOFFS, JSON.stringify(report.totals));
  for (const g of report.outstanding) assert.ok(!fns(g).includes('open_for_handoff'), `${g.outstanding} of ${g.opened} reported still open`);
  assert.ok(!report.notes.some((n: any) => n.code === 'trace.countsLost'), JSON.stringify(report.notes));
  console.log(`# ${JSON.stringify(report.totals)}`);
  await noTracerLeft(t.pid);
  await t.stop();
});

test('Go: the function that keeps files ranks first, with file:line, in JSON and markdown', { skip: skip ?? (goBin ? false : goUnavailable()) }, async () => {
  const t = await startTarget(goBin, [], { env: { ...process.env, GOMAXPROCS: '2' } });
  const { res, report } = await runJson(['trace', String(t.pid), '--duration', '3s'], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(report.target.runtime, 'go');
  const top = report.outstanding[0];
  assert.ok(top, JSON.stringify(report).slice(0, 2000));
  const leak = frameOf(top, 'main.leakFiles');
  assert.ok(leak, `top stack: ${fns(top).join(' < ')}`);
  assert.match(leak.file, /leaky\.go$/);
  assert.equal(top.fdType, 'device');
  assert.equal(top.example, '/dev/null');
  for (const g of report.outstanding) assert.ok(!fns(g).includes('main.churnFiles'), `main.churnFiles reported as outstanding: ${fns(g).join(' < ')}`);
  assert.ok(report.churn.some((g: any) => fns(g).includes('main.churnFiles')));
  await noTracerLeft(t.pid);

  const md = await runCli(['trace', String(t.pid), '--duration', '2s', '--format', 'markdown'], { timeoutMs: 60_000 });
  assert.equal(md.code, 0, md.stderr);
  assert.match(md.stdout, /^\| 1 \| \d+ \| \d+ \| [^|]+ \| device \| `\/dev\/null` \| .*`main\.leakFiles \S*leaky\.go:\d+`/m);
  await noTracerLeft(t.pid);
  await t.stop();
});

test('Node.js: the leak is counted and typed, its JavaScript frames are [JIT] with a note naming --inspect', { skip }, async () => {
  const t = await startTarget(process.execPath, [join(FIXTURES, 'leaky.cjs')]);
  // bpftrace names the frames from node's symbol table after the window: 5-6 s here with its
  // symbol cache (50 s without); the limit is generous for a loaded machine
  const { res, report } = await runJson(['trace', String(t.pid), '--duration', '3s'], { timeoutMs: 180_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(report.target.runtime, 'node');
  const top = report.outstanding[0];
  assert.ok(top, JSON.stringify(report).slice(0, 2000));
  assert.equal(top.fdType, 'device');
  assert.equal(top.example, '/dev/null');
  // one kept every 20 ms: about 150 in 3 s, all of them still open
  assert.ok(report.totals.outstanding >= 100 && report.totals.outstanding <= 200, `${report.totals.outstanding} outstanding`);
  assert.ok(
    top.frames.some((f: any) => f.kind === 'jit'),
    `JavaScript frames are JIT frames: ${fns(top).join(' < ')}`,
  );
  assert.ok(
    report.notes.some((n: any) => /--inspect/.test(n.text ?? n)),
    JSON.stringify(report.notes),
  );
  assert.ok(report.churn[0]?.opened > report.totals.outstanding * 10, 'the churn is shown for contrast and dwarfs the leak');
  await noTracerLeft(t.pid);
  await t.stop();
});

test('a target that exits during the trace: what was seen, that it exited, no crash, well within the window', { skip }, async () => {
  const t = await startTarget(cBin, ['leak']);
  const run = await traceRunning(t.pid);
  t.proc.child.stdin!.end(); // it exits when its stdin closes
  const { code } = await run.p.exited;
  assert.equal(code, 0, run.stderr());
  const report = JSON.parse(run.stdout());
  assert.equal(report.exited, true);
  assert.equal(report.window.endedBy, 'exit');
  assert.ok(report.window.seconds < 60, `window ${report.window.seconds} s`);
  assert.ok(report.notes.some((n: any) => n.code === 'trace.exited'));
  assert.ok(report.totals.opened > 0, 'what it opened before exiting is counted');
  await noTracerLeft(t.pid);
});

test('a target with no leak: nothing outstanding, the churn shown', { skip }, async () => {
  const t = await startTarget(cBin, ['quiet']);
  const { res, report } = await runJson(['trace', String(t.pid), '--duration', '2s'], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(
    report.outstanding.map((g: any) => fns(g).join(' < ')),
    [],
  );
  assert.equal(report.totals.outstanding, 0);
  assert.ok(report.churn.some((g: any) => fns(g).includes('churn_file')));
  await noTracerLeft(t.pid);
  await t.stop();
});

test('Ctrl-C during the trace stops the tracer, prints what was seen and exits 130', { skip }, async () => {
  const t = await startTarget(cBin, ['leak']);
  const run = await traceRunning(t.pid);
  run.p.child.kill('SIGINT');
  const { code } = await run.p.exited;
  assert.equal(code, 130, run.stderr());
  const report = JSON.parse(run.stdout());
  assert.equal(report.window.endedBy, 'interrupt');
  assert.ok(report.window.seconds < 60);
  await noTracerLeft(t.pid);
  await t.stop();
});

test('refusals: one line, exit 3 (not privileged, no such process, a kernel thread, bad --duration)', { skip }, async () => {
  const t = await startTarget(cBin, ['quiet']);
  if (existsSync('/usr/bin/setpriv')) {
    const res = await runCli(['trace', String(t.pid), '--duration', '2s'], { prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] });
    expectOneLineFailure(res, /tracing needs root, or CAP_BPF and CAP_PERFMON/);
  }
  expectOneLineFailure(await runCli(['trace', String(unusedPid()), '--duration', '2s']), /no such process/);
  expectOneLineFailure(await runCli(['trace', '2', '--duration', '2s']), /kernel thread/);
  expectOneLineFailure(await runCli(['trace', String(t.pid), '--duration', 'soon']), /--duration "soon" is not a duration/);
  expectOneLineFailure(await runCli(['trace', String(t.pid), '--duration', '2h']), /too long/);
  expectOneLineFailure(await runCli(['trace', String(t.pid), '--format', 'nagios']), /--format must be/);
  await noTracerLeft(t.pid);
  await t.stop();
});

test('without bpftrace on PATH: "install bpftrace", exit 3', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const empty = mkdtempSync(join(tmpdir(), 'proctriage-nopath-'));
  try {
    const res = await runCli(['trace', String(process.pid)], { env: { PATH: empty } });
    expectOneLineFailure(res, /install bpftrace/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('capture --trace keeps the trace as trace.json in the bundle and its manifest; analyze shows it', { skip }, async () => {
  const t = await startTarget(cBin, ['leak']);
  const bundle = join(dir, 'bundle');
  const cap = await runCli(['capture', String(t.pid), '--dir', bundle, '--trace', '2s'], { timeoutMs: 60_000 });
  assert.equal(cap.code, 0, cap.stderr);
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
  assert.ok(
    manifest.files['trace.json'],
    Object.keys(manifest.files)
      .filter((f) => !f.startsWith('proc/'))
      .join(' '),
  );
  const traced = JSON.parse(readFileSync(join(bundle, 'trace.json'), 'utf8'));
  assert.ok(fns(traced.outstanding[0]).includes('leak_socket'));
  await noTracerLeft(t.pid);
  await t.stop();
  const res = await runCli(['analyze', bundle]);
  assert.match(res.stdout, /opened in the window and still open[\s\S]*leak_socket \S*leaky\.c:\d+/);
});
