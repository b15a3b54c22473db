/**
 * The speed of a live scan, in one place: reading many fd links fast, reading the big TCP tables
 * ahead, and what a command starts before its modules load. Each ProcFs holds one; only a live
 * one uses its tricks (a recorded tree gets the plain reads). Nothing outside src/procfs knows it exists, and what it returns is exactly what a
 * plain read returns, only sooner.
 *
 * - A second thread (helper-thread.ts, private to this module) shares a big link scan and reads
 *   the TCP tables meanwhile, on a machine with a spare CPU.
 * - The head start: the helper of a big target, and the first CPU sample, taken when the command
 *   starts, 20–40 ms before the diagnosis modules are loaded.
 * - Links are read by absolute path: the working directory is never moved (it is process-wide:
 *   a relative path of an async write elsewhere would land in /proc/PID/fd). By bare name from
 *   inside the directory a readlink costs a fifth less (≈ 0.5 µs), some 5 ms at 19 000 fds split
 *   over two threads: not worth state that every other module would have to know about.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { HelperThread, type HelperLink } from './helper-thread.js';
import { parseSockstatTcpRows } from './net-sockets.js';
import { readCpuSample, type CpuSample } from './cpu-sample.js';

export type { HelperLink as LinkRead };

/**
 * V8 flags the helper sets once it is up; they hold for the whole process, for the rest of the
 * run. `--max-opt=1` keeps V8 to its baseline compiler: a scan this big makes V8 optimize its hot
 * loops on background threads, a fifth of all CPU time on a 19 000-fd target, taken from the two
 * scanning threads on a two-CPU machine, for code that arrives too late to pay back (a run lasts
 * a fraction of a second). The helper sets it, not the command at start, because any flag change
 * voids the code cache of Node's built-in modules: the helper's own start-up, which loads many of
 * them, then took 70 ms instead of 30. Only a scan big enough for the helper changes it.
 */
const SCAN_V8_FLAGS = '--max-opt=1';

/** A helper pays off from about 8 000 fds: it needs some 35 ms to start … */
const MIN_FD_SLOTS = 8192;
/** … and the TCP tables are worth its reading from a few thousand rows. */
const MIN_TCP_ROWS = 2000;
/** Below this many links one thread is as fast: the helper would start too late to take any. */
const SHARED_SCAN_MIN = 4096;
/** How often a scan without the helper calls `between`, in links. */
const BETWEEN_EVERY = 256;

export class FastReads {
  private readonly helpers = new Map<number, HelperThread | undefined>();
  private readonly firstSamples = new Map<number, CpuSample>();

  /** `path(pid, rel)`: where /proc/PID/rel is, under the ProcFs root; `live`: of a running system (else plain reads). */
  constructor(
    private readonly path: (pid: number, rel: string) => string,
    private readonly live: boolean,
  ) {}

  /** At command start: the helper of a big target, and its first CPU sample (see firstCpuSample). */
  headStart(pid: number): void {
    if (!this.live || this.firstSamples.has(pid)) return; // the earliest sample is kept
    this.helperFor(pid);
    try {
      this.firstSamples.set(pid, readCpuSample(this.path, pid));
    } catch {
      // gone or denied: the scan says so
    }
  }

  /** The CPU sample taken at the head start, handed out once. */
  firstCpuSample(pid: number): CpuSample | undefined {
    const s = this.firstSamples.get(pid);
    this.firstSamples.delete(pid);
    return s;
  }

  /** A file of this process read ahead, handed out once; undefined when it was not (read it as usual). */
  take(pid: number, path: string): string | undefined {
    return this.helpers.get(pid)?.take(path);
  }

  /** Whether a file of this process was read ahead and can be taken now without waiting. */
  ready(pid: number, path: string): boolean {
    return this.helpers.get(pid)?.delivered(path) ?? false;
  }

  /**
   * Read links `dir/name(i)` for i below `count` (name(i) = names ? names[i] : i), giving each
   * to `accept` once, with its target or errno code; `between` is called now and then. A big
   * scan is shared with the helper thread of this process, when one pays.
   */
  readLinks(pid: number, dir: string, names: string[] | undefined, count: number, accept: (i: number, link: HelperLink) => void, between?: () => void): void {
    const prefix = `${dir}/`;
    const readHere = (i: number) => accept(i, readLink(prefix + (names ? names[i] : String(i))));
    const helper = this.helperFor(pid);
    try {
      if (helper && count >= SHARED_SCAN_MIN) {
        helper.shareLinks({ prefix, ...(names ? { names } : {}), count }, readHere, accept, between);
        return;
      }
      for (let i = 0; i < count; i++) {
        readHere(i);
        if (between && i % BETWEEN_EVERY === 0) between();
      }
    } finally {
      helper?.noLinks(); // it must not wait for a list that is not coming
    }
  }

  /**
   * The helper for a scan of this process, started on the first call, or undefined when it would
   * not pay: one CPU, or an fd table with fewer than 8 192 slots (FDSize, a power of two above the
   * highest fd ever open). Its files are the TCP tables when the namespace has at least 2 000 TCP
   * rows. Exported for the tests of the helper itself.
   */
  helperFor(pid: number): HelperThread | undefined {
    if (!this.live) return undefined;
    if (!this.helpers.has(pid)) this.helpers.set(pid, this.plan(pid));
    return this.helpers.get(pid);
  }

  private plan(pid: number): HelperThread | undefined {
    if (availableParallelism() < 2) return undefined;
    try {
      const slots = /^FDSize:\s*(\d+)/m.exec(readFileSync(this.path(pid, 'status'), 'utf8'))?.[1];
      if (Number(slots ?? 0) < MIN_FD_SLOTS) return undefined;
    } catch {
      return undefined; // gone or denied: the scan reports that
    }
    let bigTables = false;
    try {
      bigTables = parseSockstatTcpRows(readFileSync(this.path(pid, 'net/sockstat'), 'utf8')) >= MIN_TCP_ROWS;
    } catch {
      // no size hint: the tables are read the usual way
    }
    return HelperThread.start(bigTables ? [this.path(pid, 'net/tcp'), this.path(pid, 'net/tcp6')] : [], SCAN_V8_FLAGS);
  }
}

/** A link's target, or the errno code of a failed readlink. */
export function readLink(path: string): HelperLink {
  try {
    return readlinkSync(path);
  } catch (err) {
    return { code: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
}
