/**
 * Start a sample service as its own process group, wait for its ready line (with a deadline),
 * and stop it again: close its stdin, then SIGTERM, then SIGKILL to the whole group. The
 * scripts are found under the package's own folder, so it works from any checkout or install.
 */
import type * as ChildProcesses from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import type { ServiceSpec } from './catalog.js';
import { buildGoService } from './go-build.js';

// child_process only when a service starts (the demo and the tests), not at every command's start
const load = createRequire(import.meta.url);

function serviceScript(name: string): string {
  // each service runs as its own process, from the compiled file (not the bundled command)
  return join(PACKAGE_ROOT, 'dist', 'src', 'demo', 'services', `${name}.js`);
}

export interface StartOptions {
  /** how long to wait for the ready line */
  timeoutMs?: number;
  /** replaces the spec's arguments */
  args?: string[];
  /** called right after the process is spawned (before it is ready): register cleanup here */
  onSpawn?: (service: ServiceProcess) => void;
  /** how long building a Go sample may take (when its binary is not cached yet) */
  buildTimeoutMs?: number;
  /** called when a Go sample is being built (not when its binary was cached) */
  onBuilding?: (spec: ServiceSpec) => void;
}

/** A sample that could not be started here for a reason of the host (no Go toolchain): not a failure of the demo. */
export class ServiceSkipped extends Error {}

export interface RunningService {
  spec: ServiceSpec;
  pid: number;
  /** the parsed ready line */
  info: Record<string, unknown>;
  child: ChildProcess;
  dir?: string;
  /** stop the service and everything it started; safe to call more than once */
  stop(): Promise<void>;
}

/**
 * A spawned process that announces readiness with a JSON line ({"ready":true,...}) on stdout.
 * `dir`, when set (or adopted from the ready line), is removed once the process has stopped.
 */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private stderrTail = '';
  private stopping?: Promise<void>;
  private stopped = false;

  constructor(
    command: string,
    args: string[],
    public dir?: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.child = (load('node:child_process') as typeof ChildProcesses).spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // its own process group: one kill reaches the service and its children
      env: { ...env, PROCTRIAGE_SERVICE_WATCHDOG: 'stdin' },
    });
    this.exited = new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    this.child.on('error', () => {}); // spawn failures surface through ready()
    this.child.stdin!.on('error', () => {}); // EPIPE once it has exited
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-2000);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolve with the first stdout line parsed as JSON with ready:true; reject on exit, bad line or deadline. */
  ready(timeoutMs: number): Promise<Record<string, unknown>> {
    const child = this.child;
    return new Promise((resolve, reject) => {
      let buf = '';
      const done = (err?: Error, info?: Record<string, unknown>) => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
        child.stdout!.resume(); // keep draining: a full pipe would block the service
        if (err) reject(err);
        else resolve(info!);
      };
      const onData = (s: string) => {
        buf += s;
        const nl = buf.indexOf('\n');
        if (nl < 0) {
          if (buf.length > 65536) done(new Error('ready line too long'));
          return;
        }
        const line = buf.slice(0, nl);
        try {
          const info = JSON.parse(line) as Record<string, unknown>;
          if (info.ready !== true) throw new Error('not ready');
          // a service removes its own temporary directory on exit; this covers a SIGKILL
          if (
            this.dir === undefined &&
            typeof info.dir === 'string' &&
            info.dir.startsWith(join(tmpdir(), 'proctriage-')) &&
            !info.dir.slice(tmpdir().length + 1).includes(sep)
          ) {
            this.dir = info.dir;
          }
          done(undefined, info);
        } catch {
          done(new Error(`unexpected output instead of a ready line: ${line.slice(0, 200)}`));
        }
      };
      const onExit = (code: number | null, signal: string | null) =>
        setTimeout(
          () => done(new Error(`exited before it was ready (${signal ?? `exit code ${code}`})${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`)),
          50,
        );
      const onError = (err: Error) => done(err);
      const timer = setTimeout(() => done(new Error(`not ready within ${timeoutMs} ms${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`)), timeoutMs);
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
  }

  /**
   * Close its stdin (the services' watchdog, and a polite hint to any other child), then SIGTERM
   * (the services clean up and reap their own children), then SIGKILL to the group after graceMs.
   */
  stop(graceMs = 3000): Promise<void> {
    this.stopping ??= (async () => {
      const pid = this.child.pid;
      this.child.stdin?.end();
      if (pid !== undefined && !(await within(this.exited, 300))) {
        signal(pid, 'SIGTERM');
        if (!(await within(this.exited, graceMs))) {
          signal(-pid, 'SIGKILL');
          await within(this.exited, 2000);
        }
      }
      // anything left in the group (a child the service did not get to reap)
      if (pid !== undefined) signal(-pid, 'SIGKILL');
      this.child.stdin?.destroy();
      this.child.stdout?.destroy();
      this.child.stderr?.destroy();
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
      this.stopped = true;
    })();
    return this.stopping;
  }

  /** Last resort in an exit handler: synchronous SIGKILL to the group. */
  killNow(): void {
    if (this.stopped) return;
    if (this.child.pid !== undefined) signal(-this.child.pid, 'SIGKILL');
    if (this.dir) {
      try {
        rmSync(this.dir, { recursive: true, force: true });
      } catch {
        // nothing more we can do while exiting
      }
    }
  }
}

/** Spawn a sample service (under its fd limit when it has one); a Go sample from its built binary. */
function spawnService(spec: ServiceSpec, args = spec.args, go?: { bin: string; dir?: string }): ServiceProcess {
  if (go) return new ServiceProcess(go.bin, args, go.dir);
  const argv = [...(spec.nodeArgs ?? []), serviceScript(spec.name), ...args];
  if (spec.fdLimit) {
    // lower both limits in a shell that then becomes the service (same PID)
    return new ServiceProcess('/bin/sh', ['-c', `ulimit -n ${spec.fdLimit} && exec "$0" "$@"`, process.execPath, ...argv]);
  }
  return new ServiceProcess(process.execPath, argv);
}

/** Spawn a service and wait until it is ready; on failure it is stopped before the error is thrown. */
export async function startService(spec: ServiceSpec, o: StartOptions = {}): Promise<RunningService> {
  let go: { bin: string; dir?: string } | undefined;
  if (spec.go) {
    const built = await buildGoService(spec.name, spec.go.source, { timeoutMs: o.buildTimeoutMs ?? 120_000, onBuilding: () => o.onBuilding?.(spec) });
    if ('skipped' in built) throw new ServiceSkipped(built.skipped);
    go = built;
  }
  const sp = spawnService(spec, o.args ?? spec.args, go);
  o.onSpawn?.(sp);
  try {
    const info = await sp.ready(o.timeoutMs ?? 15_000);
    return { spec, pid: sp.pid!, info, child: sp.child, dir: sp.dir, stop: () => sp.stop() };
  } catch (err) {
    await sp.stop();
    throw new Error(`${spec.name}: ${(err as Error).message}`);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const r = await Promise.race([p.then(() => true), t]);
  clearTimeout(timer);
  return r;
}
