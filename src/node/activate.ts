/**
 * --activate-inspector: open a Node.js process's inspector with SIGUSR1, and close it again.
 *
 * SIGUSR1 terminates a process that does not catch it, so the signal is sent only when
 * /proc/PID/exe is a node binary, SIGUSR1 is in SigCgt (caught) and not in SigBlk (blocked,
 * as with --disable-sigusr1), and the port the inspector would take is free. Whether a
 * LISTEN socket existed before is remembered, so that only what we opened is closed.
 */
import { basename } from 'node:path';
import type { ProcFs } from '../procfs/procfs.js';
import { hasSignal, parseProcStatus } from '../procfs/proc-status.js';
import { parseProcStat } from '../procfs/proc-stat.js';
import { ProctriageError } from '../errors.js';
import type { InetRow } from '../procfs/net-tcp.js';
import { connectHost, listenRows, sameNetNamespace, socketInodes, type InspectFlags, type Listener } from './locate.js';

const SIGUSR1 = 10;

export interface Verdict {
  ok: boolean;
  /** why SIGUSR1 is not sent (when !ok) */
  reason?: string;
  hint?: string;
}

/** Is the executable a node binary? Only /proc/PID/exe counts: argv[0] and comm can be anything. */
export function isNodeExe(exe: string): boolean {
  return /^(node|nodejs)(\d+)?$/.test(basename(exe.replace(/ \(deleted\)$/, '')));
}

/** Every condition under which SIGUSR1 is safe and useful. Reads /proc only. */
/**
 * Reads the check may take from what this run already read (only to word a hint); an actual
 * activation always reads afresh.
 */
export interface SharedReads {
  listenRows: () => InetRow[];
  socketInodes: () => Set<number>;
}

export function checkActivation(proc: ProcFs, pid: number, flags: InspectFlags, shared?: SharedReads): Verdict {
  let exe: string | undefined;
  try {
    exe = proc.readlinkOrGone(pid, 'exe');
  } catch (err) {
    if (err instanceof ProctriageError && err.code === 'ACCESS_DENIED') {
      return { ok: false, reason: `cannot read /proc/${pid}/exe to verify that the target is Node.js, and SIGUSR1 kills a process that does not handle it`, hint: 'run as the same user as the target, or as root' };
    }
    throw err;
  }
  if (!exe) return { ok: false, reason: `pid ${pid} has no executable link (exited, or a kernel thread)` };
  if (!isNodeExe(exe)) {
    return { ok: false, reason: `pid ${pid} is not Node.js (its executable is ${basename(exe)}): SIGUSR1 would terminate it, so it was not sent` };
  }
  const stat = parseProcStat(proc.read(pid, 'stat'));
  if (stat.state === 'Z') return { ok: false, reason: `pid ${pid} is a zombie` };
  if (stat.state === 'T' || stat.state === 't') {
    return { ok: false, reason: `pid ${pid} is stopped (state ${stat.state}): it cannot act on SIGUSR1 until it is continued` };
  }
  const status = parseProcStatus(proc.read(pid, 'status'));
  if (flags.sigusr1Disabled || hasSignal(status, 'SigBlk', SIGUSR1)) {
    return {
      ok: false,
      reason: `pid ${pid} blocks SIGUSR1 (started with --disable-sigusr1): SIGUSR1 cannot open its inspector`,
      hint: 'restart it with --inspect=127.0.0.1:9229 (or --inspect-port) to be able to probe its runtime',
    };
  }
  if (!hasSignal(status, 'SigCgt', SIGUSR1)) {
    return {
      ok: false,
      reason: `pid ${pid} does not catch SIGUSR1 (SigCgt ${status.SigCgt}): the signal would terminate it, so it was not sent`,
      hint: 'restart it with --inspect=127.0.0.1:9229 to be able to probe its runtime',
    };
  }
  const same = sameNetNamespace(proc, pid);
  if (same === false) {
    return {
      ok: false,
      reason: `pid ${pid} is in another network namespace (a container): its inspector would open on its own loopback, out of reach from here`,
      hint: `run proctriage inside it: nsenter -t ${pid} -n proctriage ${pid} --activate-inspector`,
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
      const ours = mine && rows.some((r) => mine!.has(r.inode));
      return ours
        ? { ok: false, reason: `pid ${pid} already listens on port ${flags.port}, but it did not answer as an inspector`, hint: `pass --inspect ${flags.port} to try that port explicitly` }
        : { ok: false, reason: `port ${flags.port} is already taken by another process: the target's inspector could not open there (it would only log "address already in use")`, hint: 'restart the target with --inspect-port set to a free port, or free the port' };
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

/**
 * Send SIGUSR1 and wait for the new LISTEN socket held by the target. Re-checks the target's
 * identity (start time, executable, signal masks) immediately before signalling.
 */
export async function sendSigusr1AndWait(
  proc: ProcFs, pid: number, flags: InspectFlags, startTicks: number, waitMs: number,
): Promise<{ opened?: Opened; sent: boolean; reason?: string }> {
  const before = new Set(listenRows(proc, pid).map((r) => r.inode));
  // last look right before the signal: the same process (not a reused pid), still Node, still catching SIGUSR1
  const again = checkActivation(proc, pid, flags);
  if (!again.ok) return { sent: false, reason: again.reason };
  if (parseProcStat(proc.read(pid, 'stat')).starttimeTicks !== startTicks) return { sent: false, reason: `pid ${pid} was replaced by another process` };
  try {
    process.kill(pid, 'SIGUSR1');
  } catch (err) {
    return { sent: false, reason: `could not signal pid ${pid}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
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
      const h = connectHost(row.local.ip);
      return { sent: true, opened: { listener: { ip: row.local.ip, port: row.local.port, inode: row.inode }, host: h.host, waitedMs: Math.round(performance.now() - t0) } };
    }
  }
  return {
    sent: true,
    reason: `sent SIGUSR1 but no inspector opened within ${waitMs} ms (the application may handle SIGUSR1 itself, which keeps Node from opening the inspector)`,
  };
}

/** Clients connected to the inspector port (server-side ESTABLISHED sockets held by the target). */
export function inspectorClients(proc: ProcFs, pid: number, port: number): number | undefined {
  try {
    const mine = socketInodes(proc, pid);
    let n = 0;
    for (const file of ['tcp', 'tcp6'] as const) {
      let text: string;
      try {
        text = proc.read(pid, `net/${file}`);
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10 || f[3] !== '01') continue;
        const lport = parseInt(f[1].split(':')[1] ?? '', 16);
        if (lport === port && mine.has(Number(f[9]))) n++;
      }
    }
    return n;
  } catch {
    return undefined;
  }
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
