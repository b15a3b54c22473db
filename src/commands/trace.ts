/**
 * `proctriage trace <pid> [--duration 30s]`: which code opened the descriptors a process holds.
 * bpftrace traces the target's descriptor-creating and closing system calls for the window and
 * keeps the user stack of every descriptor still open at its end; the fd table, read as the
 * window closes, gives their types and what they point to.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { KernelThread, NoSuchProcess, ProctriageError, Refused, UsageError, ZombieProcess } from '../errors.js';
import { clean } from '../engine/redact.js';
import { say } from '../messages.js';
import { VERSION } from '../version.js';
import { classifyFdLink, type FdTarget } from '../procfs/fd.js';
import { formatEndpoint, parseNetInet, parseNetUnix } from '../procfs/net-sockets.js';
import { exportedFunctions } from '../node/elf.js';
import { goBuildInfoOfPid } from '../go/buildinfo.js';
import { generateScript, LIBC_CREATORS } from '../trace/script.js';
import { parseTraceOutput, stackFrames } from '../trace/parse.js';
import { runTracer } from '../trace/runner.js';
import { haveAddr2line, parseMaps, symbolise, type Location, type Mapping } from '../trace/symbolise.js';
import { TRACE_LIMITS } from '../trace/limits.js';
import { buildTraceReport, runtimeOf } from '../engine/trace.js';
import { renderTraceMarkdown, renderTraceText } from '../render/trace.js';
import { outputFormat, parseDuration, parsePid, warnIfUnredacted, type OutputOptions } from './options.js';

export interface TraceOptions extends OutputOptions {
  duration?: string;
}

/** The longest window: past an hour, a watch or a snapshot diff answers better. */
const MAX_WINDOW_MS = 3_600_000;
const CAP_BPF = 39n,
  CAP_PERFMON = 38n,
  CAP_SYS_ADMIN = 21n;

export async function run(pidArg: string, o: TraceOptions): Promise<number> {
  const pid = parsePid(pidArg);
  const windowMs = parseDuration(o.duration ?? '30s', '--duration');
  if (windowMs > MAX_WINDOW_MS) throw new UsageError(`--duration ${o.duration} is too long for a trace: at most 1h`);
  const format = outputFormat(o);
  if (format !== 'table' && format !== 'json' && format !== 'markdown') throw new UsageError(`trace prints table, json or markdown, not ${format}`);
  const report = await trace(pid, windowMs, o.redact !== false);
  warnIfUnredacted(o);
  const text =
    format === 'json'
      ? JSON.stringify(report.report, null, 2) + '\n'
      : format === 'markdown'
        ? renderTraceMarkdown(report.report)
        : renderTraceText(report.report);
  process.stdout.write(text);
  return report.signal ? 128 + report.signal : 0;
}

export function checkPrerequisites(): void {
  if (!onPath('bpftrace')) throw new Refused(say('trace.noBpftrace'));
  if (!privileged()) throw new Refused(say('trace.notPrivileged'));
  if (!['/sys/kernel/tracing/events/syscalls', '/sys/kernel/debug/tracing/events/syscalls'].some((p) => existsSync(p))) {
    throw new Refused(say('trace.noTracefs'));
  }
}

/** The trace itself, for `trace` and `capture --trace`: the report, and the signal that cut it short. */
export async function trace(pid: number, windowMs: number, redact: boolean): Promise<{ report: ReturnType<typeof buildTraceReport>; signal?: number }> {
  checkPrerequisites();
  const comm = readTarget(pid, 'comm').trim();
  const stat = readTarget(pid, 'stat');
  if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) throw new ZombieProcess(pid);
  const mapsText = readTarget(pid, 'maps');
  // a kernel thread maps no memory of its own and has no command line: there is no user code to trace
  if (!mapsText.trim() && !readTarget(pid, 'cmdline')) throw new KernelThread(pid, clean(comm));
  const startMaps = parseMaps(mapsText);
  const libc = libcEntryPoints(pid, startMaps);
  const script = generateScript({ pid, libc, deadlineSeconds: Math.ceil(windowMs / 1000) + TRACE_LIMITS.marginSeconds + TRACE_LIMITS.startMs / 1000 });

  const ac = new AbortController();
  let signal: number | undefined;
  const onSignal = (sig: NodeJS.Signals, n: number) => () => {
    // a second one does not wait for the stacks: the tracer's group is killed on the way out
    if (signal) process.exit(128 + n);
    signal = n;
    process.stderr.write(`proctriage: ${sig}: stopping the trace\n`);
    ac.abort();
  };
  const handlers = [
    ['SIGINT', onSignal('SIGINT', 2)],
    ['SIGTERM', onSignal('SIGTERM', 15)],
  ] as const;
  for (const [s, h] of handlers) process.on(s, h);
  let fdLinks: Map<number, string> | undefined;
  let endMaps: Mapping[] | undefined;
  let run;
  try {
    run = await runTracer(script, {
      pid,
      windowMs,
      signal: ac.signal,
      onReady: () => process.stderr.write(`proctriage: tracing pid ${pid} for ${Math.round(windowMs / 1000)} s\n`),
      atWindowEnd: () => {
        process.stderr.write('proctriage: window over: bpftrace is naming the stacks\n');
        fdLinks = readFdLinks(pid);
        try {
          endMaps = parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8'));
        } catch {
          // gone: the maps from the start serve
        }
      },
    });
  } finally {
    for (const [s, h] of handlers) process.removeListener(s, h);
  }
  if (run.spawnError) {
    throw run.spawnError.code === 'ENOENT'
      ? new Refused(say('trace.noBpftrace'))
      : new ProctriageError('TARGET_UNREACHABLE', say('trace.failed', { why: run.spawnError.message }));
  }
  if (!run.ready) {
    if (signal) throw new ProctriageError('TARGET_UNREACHABLE', 'interrupted before the trace began');
    if (!existsSync(`/proc/${pid}`)) throw new NoSuchProcess(pid);
    if (run.startTimedOut) throw new ProctriageError('TIMEOUT', say('trace.startTimeout', { seconds: TRACE_LIMITS.startMs / 1000 }));
    const why =
      run.stderr
        .split('\n')
        .find((l) => /ERROR/.test(l))
        ?.replace(/^ERROR:\s*/, '') ??
      (run.stderr.trim().split('\n')[0] || `exit ${run.code ?? run.signal}`);
    throw new ProctriageError('TARGET_UNREACHABLE', say('trace.failed', { why }));
  }
  const later = readFdLinks(pid);
  const output = parseTraceOutput(run.stdout);
  const stacks = [...output.opens.keys()].map(stackFrames);
  const maps = endMaps ?? startMaps;
  const noAddr2line = !haveAddr2line();
  const locations = noAddr2line ? new Map<string, Location>() : symbolise(pid, stacks, maps, 10_000);
  const goBinary = !!goBuildInfoOfPid(`/proc/${pid}/exe`) || stacks.some((s) => s.some((f) => /^runtime\.(goexit|main)\b/.test(f.symbol ?? '')));
  let exe = '';
  try {
    exe = basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    // gone
  }
  const modules = [...new Set(maps.map((m) => m.path).filter((p): p is string => !!p))];
  const exited = run.endedBy === 'exit' || output.events.includes('exit');
  const report = buildTraceReport({
    pid,
    comm,
    runtime: runtimeOf(exe, modules, goBinary),
    requestedMs: windowMs,
    windowMs: run.windowMs,
    endedBy: run.endedBy ?? 'duration',
    output,
    fdTable: exited || !fdLinks ? undefined : describeFds(pid, fdLinks, [...output.example.values()]),
    laterTable: exited || !later ? undefined : describeFds(pid, later, [...output.example.values()]),
    locations,
    redact,
    version: VERSION,
    now: new Date(),
    outputTruncated: run.outputTruncated,
    noAddr2line,
  });
  return { report, signal };
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((d) => d && existsSync(`${d}/${cmd}`));
}

/** root, or CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN) in our effective set. */
export function privileged(status = readFileSync('/proc/self/status', 'utf8')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
  if (!m) return false;
  const eff = BigInt(`0x${m[1]}`);
  const has = (bit: bigint) => ((eff >> bit) & 1n) === 1n;
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

function readTarget(pid: number, rel: string): string {
  try {
    return readFileSync(`/proc/${pid}/${rel}`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw new NoSuchProcess(pid);
    throw new ProctriageError('ACCESS_DENIED', `/proc/${pid}/${rel}: ${(err as Error).message.replace(/^E[A-Z]+: /, '')}`);
  }
}

/** The libc entry points to probe: those of LIBC_CREATORS the target's own libc exports. */
function libcEntryPoints(pid: number, maps: Mapping[]): string[] {
  const libc = maps.find((m) => m.offset === 0n && !!m.path && /\/libc(\.so\.\d+|-[\d.]+\.so)$/.test(m.path));
  if (!libc) return [];
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/map_files/${libc.range}`, 'r');
    const f = fd;
    const readAt = (offset: number, length: number) => {
      const buf = Buffer.alloc(length);
      const n = readSync(f, buf, 0, length, offset);
      return buf.subarray(0, n);
    };
    const found = exportedFunctions(readAt, LIBC_CREATORS);
    return LIBC_CREATORS.filter((n) => found.has(n));
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readFdLinks(pid: number): Map<number, string> | undefined {
  try {
    const out = new Map<number, string>();
    for (const n of readdirSync(`/proc/${pid}/fd`)) {
      try {
        out.set(Number(n), readlinkSync(`/proc/${pid}/fd/${n}`));
      } catch {
        // closed meanwhile
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Types of every fd; the socket peers of the example fds (one read of the namespace's tables). */
function describeFds(pid: number, links: Map<number, string>, examples: number[]): Map<number, FdTarget & { peer?: string }> {
  const out = new Map<number, FdTarget & { peer?: string }>();
  for (const [fd, link] of links) out.set(fd, classifyFdLink(link));
  const wanted = new Map<number, FdTarget & { peer?: string }>();
  for (const fd of examples) {
    const t = out.get(fd);
    if (t?.type === 'socket' && t.inode) wanted.set(t.inode, t);
  }
  if (wanted.size) {
    for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
      try {
        for (const row of parseNetInet(readFileSync(`/proc/${pid}/net/${table}`, 'utf8'))) {
          const t = wanted.get(row.inode);
          if (t)
            t.peer =
              row.state === 'listen'
                ? `${table} listening on ${formatEndpoint(row.local)}`
                : `${table} ${formatEndpoint(row.local)} → ${formatEndpoint(row.remote)} ${row.state}`;
        }
      } catch {
        // that table is not there (no IPv6)
      }
    }
    try {
      for (const row of parseNetUnix(readFileSync(`/proc/${pid}/net/unix`, 'utf8'))) {
        const t = wanted.get(row.inode);
        if (t && !t.peer) t.peer = row.path ? `unix ${row.path}` : 'unix socket';
      }
    } catch {
      // not readable
    }
  }
  return out;
}
