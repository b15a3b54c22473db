/**
 * End to end: `proctriage demo` runs the bundled sample services, prints a diagnosis for each,
 * exits 0 when each got the status it should, and leaves no process behind, both on a normal
 * run and when a --keep run is interrupted with SIGINT or SIGTERM. The Go sample (busy-wait) is
 * built with the Go toolchain: the verdict names the function it spins in; with no `go` on PATH
 * it is shown as skipped with the reason and the rest of the demo is unchanged.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO, cleanup, procState, runCli, spawnTracked, waitFor } from '../helpers/processes.js';
import { goUnavailable } from '../fixtures/go-service/service.js';

const SERVICES_DIR = `${REPO}dist/src/demo/services/`;
/** where the demo keeps the Go sample it built */
const GO_BINARY = /^\/.*\/proctriage-go-busy-wait-[^/]+\/busy-wait\0/;
const seen = new Set<number>();
const noGo = goUnavailable();
if (noGo) console.log(`# the Go sample is expected to be skipped: ${noGo}`);
/** services the demo starts here (busy-wait only with Go), and the pids it reports (plus the upstream) */
const STARTED = noGo ? 5 : 6;
const emptyDir = mkdtempSync(join(tmpdir(), 'proctriage-demo-nopath-'));

after(async () => {
  await cleanup();
  for (const pid of seen) if (isService(pid)) process.kill(pid, 'SIGKILL');
  rmSync(emptyDir, { recursive: true, force: true });
});

/** PIDs the demo reported on stderr: each service and the close-wait upstream. */
function reportedPids(stderr: string): number[] {
  const pids = [...stderr.matchAll(/ready: [\w-]+ \(pid (\d+)(?:[^)]*)\)(?:.*upstream, pid (\d+))?/g)]
    .flatMap((m) => [m[1], m[2]])
    .filter(Boolean)
    .map(Number);
  pids.forEach((p) => seen.add(p));
  return pids;
}

/** Still a live sample service (not gone, not a zombie, not a reused PID)? */
function isService(pid: number): boolean {
  const state = procState(pid);
  if (state === undefined || state === 'Z') return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(SERVICES_DIR) || GO_BINARY.test(cmdline);
  } catch {
    return false;
  }
}

describe('proctriage demo', () => {
  test('diagnoses the six samples as expected, exit 0, nothing left behind', async () => {
    const res = await runCli(['demo', '--no-color'], { timeoutMs: 180_000 });
    assert.equal(res.code, 0, `stderr:\n${res.stderr}\nstdout:\n${res.stdout.slice(-2000)}`);
    assert.match(res.stdout, /^1\/6 close-wait: a client that never closes response sockets \(as a payment API did with its fraud-check calls\)$/m);
    assert.match(res.stdout, /^2\/6 rotation: .*\(as a log ingester did with its daily files\)$/m);
    assert.match(res.stdout, /^3\/6 deleted-log: .*\(as a rotation race did to a service's old logs\)$/m);
    assert.match(
      res.stdout,
      /^4\/6 timer-leak: a poller that starts an interval per upstream and never clears the old ones \(as tickers started in a loop and never stopped do\)$/m,
    );
    assert.match(res.stdout, /^5\/6 busy-wait: a Go worker that spins on a flag while it waits for a job, pinning a core \(.*\)$/m);
    if (noGo) {
      assert.match(res.stdout, /^skipped: needs the Go toolchain to build it: /m);
      assert.match(res.stdout, /^ {2}busy-wait +SKIPPED +needs the Go toolchain/m);
    } else {
      // the Go sample is found through its own pprof listener, and its CPU profile names the spinning function
      assert.match(res.stderr, /ready: busy-wait \(pid \d+\): spinning in main\.waitForJob, net\/http\/pprof on 127\.0\.0\.1:\d+/);
      const section = res.stdout.slice(res.stdout.indexOf('5/6 busy-wait'), res.stdout.indexOf('6/6 healthy'));
      assert.match(section, /^\$ proctriage \d+$/m, 'a plain one-shot diagnosis, no flags');
      assert.match(section, /cpu-saturation/);
      assert.match(section, /^ +1\. main\.waitForJob \(\S*main\.go:\d+\): \d+% of the sampled time/m);
      assert.match(res.stdout, /^ {2}busy-wait +WARNING +✓ as expected/m);
    }
    // the Node.js sample is read through its inspector, and the verdict names the function behind the leak
    assert.match(res.stdout, /^\$ proctriage \d+ --inspect \d+$/m);
    assert.match(res.stdout, /1,200 of the timers call pollUpstream \(\S*timer-leak\.js:\d+\)/);
    assert.match(res.stdout, /^ {2}timer-leak +WARNING +✓ as expected/m);
    assert.match(res.stdout, /^6\/6 healthy: /m);
    for (const id of ['close-wait-leak', 'fd-exhaustion', 'file-handle-pileup', 'deleted-files-held']) assert.ok(res.stdout.includes(id), id);
    assert.match(res.stdout, /^ {2}close-wait +CRITICAL +✓ as expected/m);
    assert.match(res.stdout, /^ {2}rotation +CRITICAL +✓ as expected/m);
    assert.match(res.stdout, /^ {2}deleted-log +WARNING +✓ as expected/m);
    assert.match(res.stdout, /^ {2}healthy +OK +✓ as expected/m);
    assert.ok(!res.stdout.includes('\x1b') && !res.stderr.includes('\x1b'), '--no-color');
    assert.ok(!res.stdout.includes('demo:'), 'progress goes to stderr only');

    const pids = reportedPids(res.stderr);
    assert.equal(pids.length, STARTED + 1, `${STARTED} services and the upstream: ${res.stderr}`);
    assert.deepEqual(pids.filter(isService), [], 'every sample process is gone');
    assert.match(res.stderr, new RegExp(`stopped ${STARTED} sample services`));
    const dirs = [/log files open in (\/\S+),/.exec(res.stderr)?.[1], /largest (\/\S+)\/app\.log,/.exec(res.stdout)?.[1]];
    assert.ok(
      dirs.every((d) => d?.includes('/proctriage-')),
      `the rotation and deleted-log directories are named: ${dirs}`,
    );
    assert.deepEqual(
      dirs.filter((d) => existsSync(d!)),
      [],
      'temporary directories removed',
    );
  });

  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`--keep leaves the samples running until ${sig}, then stops them and exits ${code}`, async () => {
      const { child: demo } = spawnTracked(process.execPath, [CLI, 'demo', '--keep', '--no-color'], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
        stopSignal: 'SIGKILL',
      });
      let stderr = '';
      demo.stdout!.resume();
      demo.stderr!.setEncoding('utf8').on('data', (s: string) => {
        stderr += s;
      });
      const exited = new Promise<number | null>((resolve) => demo.once('exit', (c) => resolve(c)));

      await waitFor(() => /until you press Ctrl-C/.test(stderr) && / healthy +pid \d+/.test(stderr), 30_000, `the --keep message:\n${stderr}`);
      const pids = reportedPids(stderr);
      assert.equal(pids.length, STARTED + 1);
      assert.equal(pids.filter(isService).length, STARTED + 1, 'still running while the demo waits');
      for (const name of ['close-wait', 'rotation', 'deleted-log', 'timer-leak', ...(noGo ? [] : ['busy-wait']), 'healthy']) {
        assert.match(stderr, new RegExp(`${name} +pid \\d+ +proctriage \\d+`));
      }
      // a user can diagnose one of them by hand meanwhile
      const closeWaitPid = Number(/ close-wait +pid (\d+)/.exec(stderr)![1]);
      const res = await runCli([String(closeWaitPid)]);
      assert.equal(res.code, 2);

      demo.kill(sig);
      let timer: NodeJS.Timeout | undefined;
      const status = await Promise.race([
        exited,
        new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), 15_000);
        }),
      ]);
      clearTimeout(timer);
      assert.equal(status, code, stderr);
      assert.match(stderr, new RegExp(`${sig}: stopping the sample services`));
      assert.deepEqual(pids.filter(isService), [], 'every sample process is gone');
    });
  }

  test('without go on PATH the Go sample is skipped with the reason in one line; the rest and the exit code are unchanged', { skip: noGo }, async () => {
    // an empty PATH: the demo runs its services with its own Node.js and /bin/sh by absolute path
    const res = await runCli(['demo', '--no-color'], { timeoutMs: 120_000, env: { PATH: emptyDir } });
    assert.equal(res.code, 0, `stderr:\n${res.stderr}\nstdout:\n${res.stdout.slice(-2000)}`);
    assert.match(res.stderr, /^demo: skipped: busy-wait \(needs the Go toolchain to build it: not installed\)$/m);
    assert.match(res.stdout, /^5\/6 busy-wait: .*\n+skipped: needs the Go toolchain to build it: not installed$/m);
    assert.match(res.stdout, /^ {2}busy-wait +SKIPPED +needs the Go toolchain to build it: not installed$/m);
    for (const name of ['close-wait', 'rotation', 'deleted-log', 'timer-leak', 'healthy'])
      assert.match(res.stdout, new RegExp(`^ {2}${name} +[A-Z]+ +✓ as expected`, 'm'));
    assert.match(res.stdout, /Every sample that ran got the diagnosis it should \(1 skipped/);
    const pids = reportedPids(res.stderr);
    assert.equal(pids.length, 6, `five services and the upstream: ${res.stderr}`);
    assert.deepEqual(pids.filter(isService), [], 'every sample process is gone');
    assert.match(res.stderr, /stopped 5 sample services/);
  });
});
