/**
 * The one harness of the tests: run the built CLI (hard kill bound, optional SIGINT, stdin
 * closed), start child processes (each tracked, so that cleanup() stops every one of them even
 * when a test fails), start sample services and wait for ready lines with a deadline, and poll
 * for a condition with bounds.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceSpec } from '../../src/demo/catalog.js';
import { ServiceProcess, startService as launch, type RunningService } from '../../src/demo/launch.js';

/** The repository root (this file runs from dist/test/helpers). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO, 'bin', 'proctriage.js');
export const TARGETS = fileURLToPath(new URL('./targets/', import.meta.url));

/** Anything cleanup() can stop: a spawned child or a sample service. */
interface Stoppable {
  stop(): Promise<void>;
  /** last resort in an exit handler: synchronous SIGKILL */
  killNow(): void;
}

const tracked = new Set<Stoppable>();
const killAll = () => {
  for (const p of tracked) p.killNow();
};
process.on('exit', killAll);
// the test runner stops a file that runs too long with a signal, which skips 'exit' handlers:
// kill what we started, then let the signal take its course
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  const onSignal = () => {
    killAll();
    process.off(sig, onSignal);
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  process.on(sig, onSignal);
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** resolves once the child has exited, with how */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** `signal` (SIGTERM unless told), SIGKILL after graceMs; safe to call more than once */
  stop(): Promise<void>;
}

/**
 * Start any child process, tracked until it has exited or been stopped. `detached` children are
 * signalled as a process group. Every child process of the tests starts here or in ServiceProcess.
 */
export function spawnTracked(command: string, args: string[], o: SpawnOptions & { stopSignal?: NodeJS.Signals; graceMs?: number } = {}): Spawned {
  const { stopSignal = 'SIGTERM', graceMs = 2000, ...spawnOptions } = o;
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
  const isDone = () => child.exitCode !== null || child.signalCode !== null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const kill = (sig: NodeJS.Signals) => {
    try {
      if (o.detached && child.pid !== undefined) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // gone
    }
  };
  let stopping: Promise<void> | undefined;
  const entry: Stoppable = {
    stop: () =>
      (stopping ??= (async () => {
        if (child.pid !== undefined && !isDone()) {
          kill(stopSignal);
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            exited,
            new Promise<void>((r) => {
              timer = setTimeout(() => {
                kill('SIGKILL');
                r();
              }, graceMs);
            }),
          ]);
          clearTimeout(timer);
          await exited;
        }
        tracked.delete(entry);
      })()),
    killNow: () => {
      if (!isDone()) kill('SIGKILL');
    },
  };
  tracked.add(entry);
  void exited.then(() => {
    if (!o.detached) tracked.delete(entry);
  });
  return {
    child,
    pid: child.pid!,
    exited,
    alive: () => !isDone() && existsSync(`/proc/${child.pid}`),
    stop: entry.stop,
  };
}

/** Track a process started elsewhere (a real server, a load generator): cleanup() stops it. */
export function track<T extends Stoppable>(proc: T): T {
  tracked.add(proc);
  return proc;
}

/** Start a bundled sample service by name and wait until it is ready. */
export async function startService(name: string, o: { args?: string[]; timeoutMs?: number } = {}): Promise<RunningService> {
  return launch(serviceSpec(name), { ...o, onSpawn: (sp) => tracked.add(sp) });
}

export interface Target {
  pid: number;
  info: Record<string, unknown>;
  proc: ServiceProcess;
  stop(): Promise<void>;
}

/** Spawn any command that prints a JSON ready line; tracked for cleanup. */
export async function startTarget(command: string, args: string[], o: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Target> {
  const proc = new ServiceProcess(command, args, undefined, o.env);
  tracked.add(proc);
  try {
    const info = await proc.ready(o.timeoutMs ?? 10_000);
    return { pid: proc.pid!, info, proc, stop: () => proc.stop() };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/** A compiled test target from test/helpers/targets, run with node. */
export function startNodeTarget(name: string, args: string[] = [], o: { timeoutMs?: number } = {}): Promise<Target> {
  return startTarget(process.execPath, [join(TARGETS, `${name}.js`), ...args], o);
}

/** Stop every process the helpers started (register with `after(cleanup)`). */
export async function cleanup(): Promise<void> {
  await Promise.all([...tracked].map((p) => p.stop()));
  tracked.clear();
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** stdout parsed as JSON, when it parses */
  report?: any;
}

export interface CliOptions {
  /** hard bound: SIGKILL after this long (a hung CLI fails the test, it never hangs it) */
  timeoutMs?: number;
  /** send SIGINT after this long, as Ctrl-C would */
  sigintAfterMs?: number;
  /** a command to run it through (e.g. setpriv, unshare -n) that then execs node */
  prefix?: string[];
  env?: NodeJS.ProcessEnv;
  /** run bin/proctriage.js itself, as an installed command is run (its sh line, then `node` from PATH) */
  direct?: boolean;
  /** run this installed command instead of the clone's bin/proctriage.js (implies direct) */
  bin?: string;
  /** the working directory (the repository by default): where relative paths in the arguments land */
  cwd?: string;
}

/** Run the built CLI (`node bin/proctriage.js ...args`) with its stdin closed and NO_COLOR set. */
export async function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const direct = o.direct ?? o.bin !== undefined;
  const argv = [...(o.prefix ?? []), ...(direct ? [] : [process.execPath]), o.bin ?? CLI, ...args];
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...o.env };
  if (direct) env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
  const started = performance.now();
  const p = spawnTracked(argv[0]!, argv.slice(1), { cwd: o.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '',
    stderr = '';
  p.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  p.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const kill = setTimeout(() => p.child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
  const int = o.sigintAfterMs !== undefined ? setTimeout(() => p.child.kill('SIGINT'), o.sigintAfterMs) : undefined;
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      p.child.once('error', reject);
      p.child.once('close', (code, signal) => resolve({ code, signal }));
    });
    let report: any;
    try {
      report = JSON.parse(stdout);
    } catch {
      report = undefined;
    }
    return { code, signal, stdout, stderr, ms: Math.round(performance.now() - started), report };
  } finally {
    clearTimeout(kill);
    if (int) clearTimeout(int);
  }
}

/** Run the CLI with --json and parse the report. */
export async function runJson(args: string[], o: CliOptions = {}): Promise<{ res: CliResult; report: any }> {
  const res = await runCli([...args, '--json'], o);
  let report: any;
  try {
    report = JSON.parse(res.stdout);
  } catch (err) {
    throw new Error(`--json output does not parse (${(err as Error).message}); exit ${res.code}, stderr: ${res.stderr}`);
  }
  return { res, report };
}

/**
 * Poll until check() returns (or resolves to) a value other than undefined/false, at most
 * timeoutMs; `what` names the condition in the error (a function: described when it fails).
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string | (() => string),
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000; i++) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
}

/** A pause that is itself the measurement (an interval between two looks), never a wait for readiness. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Is a command on PATH? */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

/** Run a shell pipeline (as in the runbook) and return its stdout. */
export function sh(script: string): string {
  const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`sh -c ${script}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Process state letter from /proc/PID/stat, or undefined when it is gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** A PID that is not in use right now. */
export function unusedPid(): number {
  // The kernel hands out PIDs upward from the last one, wrapping at pid_max (32 768 on some
  // machines), so a free PID just behind the last one is the last to be handed out again.
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const last = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
  for (let back = 1; back < Math.min(max, 10_000); back++) {
    const pid = (last - back + max) % max;
    // not listed in /proc, but there: a thread id is a PID too
    if (pid > 300 && !existsSync(`/proc/${pid}`)) return pid;
  }
  throw new Error('no free PID found');
}

/** PIDs of live (non-zombie) processes whose command line contains a string. */
export function pidsWithCmdline(fragment: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${n}/cmdline`, 'utf8');
      if (cmd.includes(fragment) && procState(Number(n)) !== 'Z') out.push(Number(n));
    } catch {
      // gone
    }
  }
  return out;
}

/** A finding by id from a target report (undefined when absent). */
export function finding(target: any, id: string): any {
  return target.findings.find((f: any) => f.id === id);
}

/** Findings at warning or critical level. */
export function problems(target: any): any[] {
  return target.findings.filter((f: any) => f.severity === 'warning' || f.severity === 'critical');
}

/** An expected refusal: exit 3, one line on stderr naming the problem, no stack trace, nothing on stdout. */
export function expectOneLineFailure(res: CliResult, pattern: RegExp): void {
  assert.equal(res.code, 3, res.stderr);
  assert.equal(res.stdout, '');
  const lines = res.stderr.trim().split('\n');
  assert.equal(lines.length, 1, res.stderr);
  assert.match(lines[0]!, /^proctriage: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(res.stderr, /internal error|\n\s+at /);
}
