/**
 * The one owner of the bpftrace child: starts it in a process group of its own, opens the window
 * when the program says it is ready, stops it at the end of the window (SIGINT: it prints its maps
 * and detaches), and kills the whole group on every other way out: a start that never becomes
 * ready, output past its cap, an abort (Ctrl-C, SIGTERM), a tracer that does not stop when told,
 * and proctriage's own exit. The program also ends itself at its deadline, so a proctriage killed
 * outright (SIGKILL) leaves nothing attached past it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { TRACE_LIMITS } from './limits.js';

export type EndedBy = 'duration' | 'exit' | 'cap' | 'interrupt' | 'deadline';

export interface TracerRun {
  stdout: string;
  /** bpftrace's own messages, its harmless RLIMIT_MEMLOCK warning left out */
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  ready: boolean;
  /** ms from ready to the end of the window */
  windowMs: number;
  endedBy?: EndedBy;
  outputTruncated: boolean;
  /** the tracer did not start (or say ready) within its start deadline */
  startTimedOut: boolean;
  /** spawn failed (ENOENT: no bpftrace) */
  spawnError?: NodeJS.ErrnoException;
}

export interface TracerOptions {
  pid: number;
  windowMs: number;
  signal?: AbortSignal;
  /** called as the window ends, before the tracer is told to stop (read the fd table now) */
  atWindowEnd?: () => void;
  /** called when the window opens */
  onReady?: () => void;
  bpftrace?: string;
}

const NOISE = /couldn't set RLIMIT_MEMLOCK|^Attaching \d+ probes|^\s*$/;

/**
 * bpftrace 0.17 and older keep the symbol tables they read only when ASLR is off: with it on,
 * they read the target's whole table again for every frame they name (node's: 50 s to name
 * the stacks of a 3 s trace, 5 s with the cache). Told to cache (0 or 1 there), they key a table by
 * executable, which is right here: the program keeps the stacks of one process only. Later
 * versions cache per process by default and take other values, so only the old ones are told.
 */
export function symbolCacheEnv(versionText: string): Record<string, string> {
  const m = /\bv?(\d+)\.(\d+)\.\d+/.exec(versionText);
  return m && Number(m[1]) === 0 && Number(m[2]) <= 17 ? { BPFTRACE_CACHE_USER_SYMBOLS: '1' } : {};
}

function bpftraceVersion(bpftrace: string): string {
  const r = spawnSync(bpftrace, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return typeof r.stdout === 'string' ? r.stdout : '';
}

export function runTracer(script: string, o: TracerOptions): Promise<TracerRun> {
  return new Promise((resolve) => {
    const bpftrace = o.bpftrace ?? 'bpftrace';
    const child = spawn(bpftrace, ['-f', 'json', '-p', String(o.pid), '-'], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: String(TRACE_LIMITS.mapKeys), ...symbolCacheEnv(bpftraceVersion(bpftrace)) },
    });
    const r: TracerRun = { stdout: '', stderr: '', code: null, signal: null, ready: false, windowMs: 0, outputTruncated: false, startTimedOut: false };
    let readyAt = 0;
    let stderr = '';
    let stopping = false;
    const timers: NodeJS.Timeout[] = [];
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // gone
      }
    };
    const onExit = () => killGroup('SIGKILL');
    process.once('exit', onExit);
    /** end the window: take the last look, ask the tracer to print its maps, kill it if it does not */
    const stop = (why: EndedBy) => {
      if (stopping) return;
      stopping = true;
      r.endedBy ??= why;
      if (r.ready) r.windowMs = Date.now() - readyAt;
      try {
        o.atWindowEnd?.();
      } finally {
        killGroup('SIGINT');
        timers.push(setTimeout(() => killGroup('SIGKILL'), TRACE_LIMITS.stopMs));
      }
    };
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (r.stdout.length + s.length > TRACE_LIMITS.outputBytes) {
        r.outputTruncated = true;
        killGroup('SIGKILL');
        return;
      }
      r.stdout += s;
      pending += s;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{"type": "printf"')) continue;
        if (line.includes('"ready\\n"') && !r.ready) {
          r.ready = true;
          readyAt = Date.now();
          o.onReady?.();
          timers.push(setTimeout(() => stop('duration'), o.windowMs));
        } else if (line.includes('"exit\\n"') || line.includes('"cap\\n"') || line.includes('"deadline\\n"')) {
          // the program ends itself and prints its maps: no signal needed, the last look comes too late
          const why: EndedBy = line.includes('exit') ? 'exit' : line.includes('cap') ? 'cap' : 'deadline';
          r.endedBy ??= why;
          if (r.ready && !stopping) r.windowMs = Date.now() - readyAt;
          stopping = true;
          timers.push(setTimeout(() => killGroup('SIGKILL'), TRACE_LIMITS.stopMs));
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < 64 * 1024) stderr += s;
    });
    child.stdin.on('error', () => {
      /* it exited before reading the program: its stderr says why */
    });
    child.stdin.end(script);
    timers.push(
      setTimeout(() => {
        if (!r.ready) {
          r.startTimedOut = true;
          stopping = true;
          killGroup('SIGKILL');
        }
      }, TRACE_LIMITS.startMs),
    );
    const abort = () => (r.ready ? stop('interrupt') : ((stopping = true), (r.endedBy = 'interrupt'), killGroup('SIGKILL')));
    if (o.signal?.aborted) abort();
    o.signal?.addEventListener('abort', abort, { once: true });
    const finish = () => {
      for (const t of timers) clearTimeout(t);
      o.signal?.removeEventListener('abort', abort);
      process.removeListener('exit', onExit);
      r.stderr = stderr
        .split('\n')
        .filter((l) => !NOISE.test(l))
        .map((l) => `${l}\n`)
        .join('');
      // whatever it left in its group (nothing, normally) goes with it
      killGroup('SIGKILL');
      resolve(r);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      r.spawnError = err;
      finish();
    });
    child.once('close', (code, signal) => {
      r.code = code;
      r.signal = signal;
      if (r.ready && !r.windowMs) r.windowMs = Date.now() - readyAt;
      finish();
    });
  });
}
