/**
 * --activate-inspector: open a Node.js process's inspector with SIGUSR1, and close it again.
 *
 * SIGUSR1 terminates a process that does not catch it, so the signal is sent only when the
 * executable behind /proc/PID/exe is Node.js by its ELF dynamic symbols (not by its name),
 * SIGUSR1 is in SigCgt (caught) and not in SigBlk (blocked, as with --disable-sigusr1), and
 * the port the inspector would take is free. Whether a LISTEN socket existed before is
 * remembered, so that only what we opened is closed; a guard process started before the
 * signal closes it if proctriage itself does not live to (see guard.ts).
 */
import { EMBEDDED } from '../paths.js';
import { enterPrivilegeMissing, findNsenter } from '../transports/netns-relay.js';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { say, type Coded } from '../messages.js';
import type { ProcFs } from '../procfs/procfs.js';
import { hasSignal, parseProcStatus } from '../procfs/proc-status.js';
import { parseProcStat } from '../procfs/proc-stat.js';
import { errnoText, fromFsError, ProctriageError } from '../errors.js';
import type { InetRow } from '../procfs/net-sockets.js';
import { exportedFunctions, NotElf } from './elf.js';
import type { CdpSession } from '../transports/inspector.js';
import { evaluate } from './attach.js';
import { ARM_DEADMAN_EXPRESSION, DEADMAN_REARM_MS, DISARM_DEADMAN_EXPRESSION } from './expressions.js';
import { listenRows, socketInodes, type InspectFlags, type Listener } from './locate.js';
import { connectHost } from '../transports/loopback.js';

const SIGUSR1 = 10;

export interface Verdict {
  ok: boolean;
  /** why SIGUSR1 is not sent (when !ok) */
  reason?: Coded;
  hint?: Coded;
}

/**
 * Functions only Node.js exports (N-API and the addon registry), present in the official
 * builds of every major: a copy of another program named "node" has neither.
 */
export const NODE_SYMBOLS = ['napi_create_function', 'node_module_register'] as const;

/** Read the target's executable (through /proc/PID/exe, whatever its name or mount namespace) and check its exports. */
export function exeIsNode(proc: ProcFs, pid: number): { node: boolean; why?: string } {
  const path = proc.procPath(pid, 'exe');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw fromFsError(err, path, pid);
  }
  try {
    const size = fstatSync(fd).size;
    const readAt = (offset: number, length: number): Buffer => {
      const len = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    };
    const found = exportedFunctions(readAt, NODE_SYMBOLS);
    const missing = NODE_SYMBOLS.filter((s) => !found.has(s));
    return missing.length ? { node: false, why: say('node.exeExportsNo', { symbols: missing.join(' or ') }) } : { node: true };
  } catch (err) {
    if (err instanceof NotElf) return { node: false, why: say('node.exeIs', { what: err.message }) };
    throw fromFsError(err, path, pid);
  } finally {
    closeSync(fd);
  }
}

/**
 * Every condition under which SIGUSR1 is safe and useful (reads /proc and the executable only).
 * Reads the check may take from what this run already read (only to word a hint); an actual
 * activation always reads afresh.
 */
export interface SharedReads {
  listenRows: () => InetRow[];
  socketInodes: () => Set<number>;
}

export function checkActivation(proc: ProcFs, pid: number, flags: InspectFlags, shared?: SharedReads, readElf = true): Verdict {
  let exe: string | undefined;
  try {
    exe = proc.readlinkOrGone(pid, 'exe');
  } catch (err) {
    if (err instanceof ProctriageError && err.code === 'ACCESS_DENIED') {
      return { ok: false, reason: { code: 'node.exeUnreadable', args: { pid } }, hint: { code: 'hint.sameUser' } };
    }
    throw err;
  }
  if (!exe) return { ok: false, reason: { code: 'node.activate.noExe', args: { pid } } };
  const name =
    exe
      .replace(/ \(deleted\)$/, '')
      .split('/')
      .pop() || exe;
  let elf: { node: boolean; why?: string } = { node: true };
  try {
    // a hint skips the read of the executable's symbols (megabytes); an activation never does
    if (readElf) elf = exeIsNode(proc, pid);
  } catch (err) {
    if (err instanceof ProctriageError && err.code === 'ACCESS_DENIED') {
      return { ok: false, reason: { code: 'node.executableUnreadable', args: { pid } }, hint: { code: 'hint.sameUser' } };
    }
    throw err;
  }
  if (!elf.node) {
    return {
      ok: false,
      reason: { code: 'node.activate.notNode', args: { pid, why: elf.why ?? '', name } },
      hint: { code: 'node.activate.hint.embeds' },
    };
  }
  const stat = parseProcStat(proc.read(pid, 'stat'));
  if (stat.state === 'Z') return { ok: false, reason: { code: 'node.activate.zombie', args: { pid } } };
  if (stat.state === 'T' || stat.state === 't') {
    return { ok: false, reason: { code: 'node.activate.stopped', args: { pid, state: stat.state } } };
  }
  const status = parseProcStatus(proc.read(pid, 'status'));
  if (flags.sigusr1Disabled || hasSignal(status, 'SigBlk', SIGUSR1)) {
    return {
      ok: false,
      reason: { code: 'node.activate.blocksSigusr1', args: { pid } },
      hint: { code: 'node.activate.hint.restartOrPort' },
    };
  }
  if (!hasSignal(status, 'SigCgt', SIGUSR1)) {
    return {
      ok: false,
      reason: { code: 'node.activate.catchesNoSigusr1', args: { pid, sigCgt: String(status.SigCgt) } },
      hint: { code: 'node.activate.hint.restart' },
    };
  }
  if (!proc.signalsReach()) {
    return {
      ok: false,
      reason: { code: 'node.activate.otherPidns', args: { pid } },
      hint: { code: 'node.activate.hint.hostPid' },
    };
  }
  const same = proc.sameNetNamespace(pid);
  const missing = same === false ? (enterPrivilegeMissing() ?? (findNsenter() ? undefined : say('netns.noNsenter'))) : undefined;
  if (missing) {
    return {
      ok: false,
      reason: { code: 'node.activate.otherNetns', args: { pid, missing } },
      hint: { code: 'node.activate.hint.enterNetns', args: { pid } },
    };
  }
  if (flags.port > 0) {
    const rows = (shared ? shared.listenRows() : listenRows(proc, pid)).filter((r) => r.local.port === flags.port);
    if (rows.length) {
      let mine: Set<number> | undefined;
      try {
        mine = shared ? shared.socketInodes() : socketInodes(proc, pid);
      } catch {
        mine = undefined;
      }
      const ours = mine && rows.some((r) => mine.has(r.inode));
      return ours
        ? {
            ok: false,
            reason: { code: 'node.activate.portIsOurs', args: { pid, port: flags.port } },
            hint: { code: 'node.activate.hint.tryPort', args: { port: flags.port } },
          }
        : { ok: false, reason: { code: 'node.activate.portTaken', args: { port: flags.port } }, hint: { code: 'node.activate.hint.freePort' } };
    }
  }
  return { ok: true };
}

export interface Opened {
  listener: Listener;
  host: string;
  /** ms from the signal to the LISTEN socket */
  waitedMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What became of the process after our SIGUSR1, in words for the report. */
export function fateAfterSignal(proc: ProcFs, pid: number, startTicks: number): { alive: boolean; words: string } {
  let text: string;
  try {
    text = proc.read(pid, 'stat');
  } catch {
    return { alive: false, words: say('node.fate.exitedToParent') };
  }
  const st = parseProcStat(text);
  if (st.starttimeTicks !== startTicks) return { alive: false, words: say('node.fate.pidReused') };
  if (st.state === 'Z' || st.state === 'X') {
    // field 52, exit_code, as waitpid() would report it
    const code = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[49]);
    const how = !Number.isInteger(code) ? {} : code & 0x7f ? { signal: code & 0x7f } : { exitCode: code >> 8 };
    return { alive: false, words: say('node.fate.exited', how) };
  }
  return { alive: true, words: say('node.fate.running') };
}

/**
 * The guard: a detached process started before SIGUSR1 that closes the inspector if this
 * process ends (Ctrl-C, SIGKILL, a crash) without saying it is done. Its stdin is a pipe from
 * us: end of file without "done" is the order to close.
 */
export class Guard {
  private constructor(private readonly child: ChildProcess) {}

  /** `inside`: the target is in another network namespace: the guard runs in it (nsenter --net), where its inspector listens */
  static async start(
    pid: number,
    startTicks: number,
    port: number,
    before: Iterable<number>,
    waitMs = 3000,
    inside?: { nsFile: string; nsenter: string },
    root = '/',
  ): Promise<Guard> {
    const { spawn } = await import('node:child_process'); // only when activating
    // the single-file build is its own guard: `proctriage.mjs --internal-guard …` (scripts/bundle-single.ts)
    const script = EMBEDDED ? fileURLToPath(import.meta.url) : fileURLToPath(new URL('./guard.js', import.meta.url));
    // a minimal environment: NODE_OPTIONS (--inspect, --require …) must not reach the guard
    const args = [script, ...(EMBEDDED ? ['--internal-guard'] : []), String(pid), String(startTicks), String(port), [...before].join(',') || '-', root];
    const child = spawn(inside ? inside.nsenter : process.execPath, inside ? ['--net=' + inside.nsFile, '--', process.execPath, ...args] : args, {
      detached: true, // its own session: a Ctrl-C to our process group does not reach it
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    child.stdin.on('error', () => {});
    const ready = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), waitMs);
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('ready\n')) {
          clearTimeout(t);
          resolve(true);
        }
      });
      child.once('exit', () => {
        clearTimeout(t);
        resolve(false);
      });
      child.once('error', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    child.stdout.destroy();
    if (!ready) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
      throw new ProctriageError('TARGET_UNREACHABLE', say('node.guardNotStarted', { ms: waitMs }));
    }
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    return new Guard(child);
  }

  /** Tell it which socket we opened (it then needs no search). */
  listening(l: Listener, host: string): void {
    this.write(`listen ${l.inode} ${host} ${l.port}\n`);
  }
  /** Our own close is confirmed: the guard exits without touching anything. */
  done(): void {
    this.write('done\n');
    this.child.stdin!.end();
  }
  /** Hand over: the guard makes sure the inspector is closed (used when ours is not confirmed). */
  release(): void {
    this.child.stdin!.end();
  }
  private write(line: string): void {
    try {
      this.child.stdin!.write(line);
    } catch {
      // the guard is gone: the dead-man timer in the target still closes the inspector
    }
  }
}

export interface Activation {
  opened?: Opened;
  sent: boolean;
  /** why nothing opened: not sent, or sent and no inspector came */
  reason?: Coded;
  /** set once the signal was sent: what became of the process, in words */
  fate?: string;
  alive?: boolean;
  guard?: Guard;
}

/**
 * Send SIGUSR1 and wait for the new LISTEN socket held by the target. Re-checks the target's
 * identity (start time, executable, signal masks) immediately before signalling, and starts
 * the guard first. `onSent` runs the moment the signal is sent (the report must say it even
 * if nothing else happens).
 */
export async function sendSigusr1AndWait(
  proc: ProcFs,
  pid: number,
  flags: InspectFlags,
  startTicks: number,
  waitMs: number,
  onSent?: () => void,
): Promise<Activation> {
  const before = new Set(listenRows(proc, pid).map((r) => r.inode));
  let guard: Guard;
  try {
    const nsenter = proc.sameNetNamespace(pid) === false ? findNsenter() : undefined;
    guard = await Guard.start(pid, startTicks, flags.port, before, 3000, nsenter ? { nsFile: proc.procPath(pid, 'ns/net'), nsenter } : undefined, proc.root);
  } catch (err) {
    return { sent: false, reason: { code: 'node.sigusr1NotSentBecause', args: { why: (err as Error).message } } };
  }
  // last look right before the signal: the same process (not a reused pid), still Node, still catching SIGUSR1
  const again = checkActivation(proc, pid, flags);
  const replaced = again.ok && parseProcStat(proc.read(pid, 'stat')).starttimeTicks !== startTicks;
  if (!again.ok || replaced) {
    guard.done();
    return { sent: false, ...(replaced ? { reason: { code: 'node.activate.replaced', args: { pid } } } : again.reason ? { reason: again.reason } : {}) };
  }
  try {
    process.kill(pid, 'SIGUSR1');
  } catch (err) {
    guard.done();
    return { sent: false, reason: { code: 'node.activate.signalFailed', args: { pid, error: errnoText(err) } } };
  }
  onSent?.();
  const t0 = performance.now();
  // keep watching even past the probe's deadline: an inspector that opens late must still be closed
  while (performance.now() - t0 < waitMs) {
    await sleep(20);
    let fresh;
    try {
      fresh = listenRows(proc, pid).filter((r) => !before.has(r.inode) && (flags.port === 0 || r.local.port === flags.port));
    } catch {
      break; // the process is gone
    }
    if (!fresh.length) continue;
    let mine: Set<number>;
    try {
      mine = socketInodes(proc, pid);
    } catch {
      break;
    }
    const row = fresh.find((r) => mine.has(r.inode));
    if (row) {
      const host = connectHost(row.local.ip) ?? row.local.ip;
      const listener = { ip: row.local.ip, port: row.local.port, inode: row.inode };
      guard.listening(listener, host);
      return { sent: true, guard, alive: true, fate: say('node.fate.running'), opened: { listener, host, waitedMs: Math.round(performance.now() - t0) } };
    }
  }
  const fate = fateAfterSignal(proc, pid, startTicks);
  if (!fate.alive) guard.done();
  else guard.release(); // an inspector that opens after we stop looking is the guard's to close
  return {
    sent: true,
    alive: fate.alive,
    fate: fate.words,
    reason: fate.alive
      ? { code: 'node.activate.noneOpened', args: { ms: waitMs } }
      : { code: 'node.activate.handlerEnded', args: { pid, fate: fate.words.replace(/^it /, '') } },
  };
}

/** Clients connected to the inspector port (server-side ESTABLISHED sockets held by the target). */
export function inspectorClients(proc: ProcFs, pid: number, port: number): number | undefined {
  try {
    const mine = socketInodes(proc, pid);
    return allRows(proc, pid).filter((r) => r.state === 'established' && r.local.port === port && mine.has(r.inode)).length;
  } catch {
    return undefined;
  }
}

function allRows(proc: ProcFs, pid: number): InetRow[] {
  return listenRows(proc, pid, () => true);
}

/** Wait until the target no longer holds the LISTEN socket; true when it is gone. */
export async function waitListenerGone(proc: ProcFs, pid: number, inode: number, waitMs: number): Promise<boolean> {
  const t0 = performance.now();
  for (;;) {
    try {
      if (!listenRows(proc, pid).some((r) => r.inode === inode)) return true;
    } catch {
      return true; // the process exited: nothing is listening
    }
    if (performance.now() - t0 >= waitMs) return false;
    await sleep(20);
  }
}

/**
 * The dead-man timer in a target whose inspector we opened: armed the moment we connect,
 * re-armed every DEADMAN_REARM_MS; when we stop (killed, crashed), the target closes its
 * inspector DEADMAN_MS later on its own. Paused around heavy tools that stall the target's
 * loop (the guard process still watches then).
 */
export class DeadMan {
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  constructor(private readonly session: CdpSession) {}

  start(): void {
    this.arm();
    this.timer = setInterval(() => {
      if (!this.paused) this.arm();
    }, DEADMAN_REARM_MS);
    this.timer.unref();
  }
  async pause(): Promise<void> {
    this.paused = true;
    await evaluate(this.session, DISARM_DEADMAN_EXPRESSION, { timeoutMs: 1000 }).catch(() => undefined);
  }
  resume(): void {
    this.paused = false;
    this.arm();
  }
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
  private arm(): void {
    if (this.session.closed) return this.stop();
    // not awaited: a busy target answers when it can, and the timer cannot fire while it is busy either
    evaluate(this.session, ARM_DEADMAN_EXPRESSION, { timeoutMs: DEADMAN_REARM_MS * 2 }).catch(() => undefined);
  }
}
