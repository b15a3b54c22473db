import { closeSync, constants, openSync, readFileSync, readSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { AccessDenied, fromFsError } from '../errors.js';
import { readFileBounded } from '../files.js';
import { FastReads, readLink, type LinkRead } from './fast-reads.js';
import { readCpuSample, type CpuSample } from './cpu-sample.js';

/** Sidecar of a capture bundle: sizes of the files behind fds (see fdTargetSize). */
export const FD_SIZES = 'fd-sizes.json';

/** From this many open fds the table is read by number rather than listed (see readFdLinks). */
const NUMBERED_MIN = 2048;

export type { CpuSample };

/**
 * Files of the scanned process the caller reads right after its fd table (the TCP tables): during
 * a long scan each is handed to `use` as soon as it can be read without waiting, so it can be
 * parsed while the links are still being read. One that is not ready is simply not handed over.
 */
export interface ScanAlongside {
  files: string[];
  use: (rel: string) => void;
}

export interface ProcFsOptions {
  /**
   * Whether the root shows a running system (default: when the root is /). A live ProcFs can be
   * rooted elsewhere, e.g. at /host in a debug pod where the host's / is mounted: every probe
   * runs. A recorded tree (a capture bundle, a fixture) is not live: it is read as untrusted
   * files, and what needs the running process (CPU deltas, an inspector, pprof) is skipped.
   */
  live?: boolean;
  /** false: a live system read the plain way, one read at a time (what the fast reads are checked against) */
  fast?: boolean;
}

/**
 * Read access to /proc and the cgroup hierarchy (/sys), rooted at a configurable directory:
 * the live host seen from elsewhere (a host root), recorded fixture trees and capture bundles
 * are read exactly like the live system. Reads are synchronous on purpose: for /proc they are
 * faster than libuv's pool. A live ProcFs reads big scans fast (see fast-reads.ts).
 */
export class ProcFs {
  readonly live: boolean;
  private readonly fast: FastReads;

  constructor(
    readonly root: string = '/',
    opts: ProcFsOptions = {},
  ) {
    this.live = opts.live ?? root === '/';
    this.fast = new FastReads((pid, rel) => this.procPath(pid, rel), this.live && opts.fast !== false);
  }

  /**
   * At command start, before the diagnosis modules load: start what a scan of this process
   * needs early (a big target's second thread, the first CPU sample). Nothing when not live.
   */
  headStart(pid: number): void {
    this.fast.headStart(pid);
  }

  /** The CPU sample taken at the head start, handed out once (see headStart). */
  firstCpuSample(pid: number): CpuSample | undefined {
    return this.fast.firstCpuSample(pid);
  }

  /** A look at the CPU time charged to the process so far (see CpuSample). */
  cpuSample(pid: number): CpuSample {
    try {
      return readCpuSample((p, rel) => this.procPath(p, rel), pid);
    } catch (err) {
      throw fromFsError(err, this.procPath(pid, 'stat'), pid);
    }
  }

  /**
   * Our own network namespace ("net:[…]"), for comparing with a target's. Read from our own
   * /proc, never under the root: `self` in a procfs mount names the reader as its pid namespace
   * sees it. At / (on the host, or in a container's own /proc) that is us. Under a host root
   * (/host/proc, the host's procfs) /host/proc/self is us as well, by our host pid, and the link
   * names the same namespace; but a /proc of a pid namespace we are not in has no `self` for us
   * at all. Our own /proc always has. Undefined when unreadable, or when not live (a recorded
   * tree holds no namespace of ours).
   */
  ownNetNamespace(): string | undefined {
    if (!this.live) return undefined;
    try {
      return readlinkSync('/proc/self/ns/net');
    } catch {
      return undefined;
    }
  }

  /** Is the target in our network namespace? true / false when both links are readable, undefined when one is not. */
  sameNetNamespace(pid: number): boolean | undefined {
    try {
      const theirs = this.readlinkOrGone(pid, 'ns/net');
      const ours = this.ownNetNamespace();
      if (!theirs || !ours) return undefined;
      return theirs === ours;
    } catch {
      return undefined;
    }
  }

  /** Is the target in our cgroup namespace? undefined when a link is unreadable or the tree is not live. */
  sameCgroupNamespace(pid: number): boolean | undefined {
    if (!this.live) return undefined;
    try {
      const theirs = this.readlinkOrGone(pid, 'ns/cgroup');
      const ours = readlinkSync('/proc/self/ns/cgroup');
      return theirs ? theirs === ours : undefined;
    } catch {
      return undefined;
    }
  }

  /** Does the target see the same root directory as we do (/proc/PID/root against ours, by device and inode)? */
  sameRoot(pid: number): boolean | undefined {
    if (!this.live) return undefined;
    try {
      const theirs = statSync(this.procPath(pid, 'root'));
      const ours = statSync('/proc/self/root');
      return theirs.dev === ours.dev && theirs.ino === ours.ino;
    } catch {
      return undefined;
    }
  }

  /** A live system seen through a host root (a debug pod's /host): not our own /. */
  get hostRooted(): boolean {
    return this.live && this.root !== '/';
  }

  /**
   * /proc/1/mountinfo under a host root (the host's init: cgroup mount points as the host has
   * them, read under the root), else ours.
   */
  private hostMountinfo(): string {
    for (const pid of [1, 'self'] as const) {
      try {
        return this.load(this.procPath(pid, 'mountinfo')).toString('utf8');
      } catch (err) {
        if (pid === 'self') throw fromFsError(err, this.procPath(pid, 'mountinfo'));
      }
    }
    throw new AccessDenied(this.procPath(1, 'mountinfo'));
  }

  /**
   * Our own pid as this root's /proc numbers it (under a host root: our host pid, read from
   * its `self`), or undefined when that procfs has no `self` for us: it is then the /proc of a
   * pid namespace we are not in, and its pids cannot be signalled from here.
   */
  selfPid(): number | undefined {
    if (!this.hostRooted) return process.pid;
    try {
      const n = Number(readlinkSync(this.procPath(null, 'self')));
      return Number.isSafeInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** Can a signal we send reach the pids of this root (the same pid namespace as ours)? */
  signalsReach(): boolean {
    return this.selfPid() === process.pid;
  }

  /** Host path (e.g. /sys/fs/cgroup/memory/x/memory.stat) under the root. */
  host(absPath: string): string {
    return this.root === '/' ? absPath : this.root.replace(/\/$/, '') + absPath;
  }

  procPath(pid: number | 'self' | null, rel: string): string {
    return this.host(pid === null ? `/proc/${rel}` : `/proc/${pid}/${rel}`);
  }

  /**
   * A file's bytes. A recorded tree (a capture bundle from anywhere) is read as untrusted: a
   * regular file of bounded size, never through a symlink. /proc files report no size: read whole.
   */
  private load(p: string): Buffer {
    return this.live ? readFileSync(p) : readFileBounded(p, { noFollow: true, keepErrno: true });
  }

  read(pid: number | 'self' | null, rel: string): string {
    // the host's mount table under a host root: its cgroup mount points, not the ones of our pod
    if (pid === 'self' && rel === 'mountinfo' && this.hostRooted) return this.hostMountinfo();
    const p = this.procPath(pid, rel);
    const early = typeof pid === 'number' ? this.fast.take(pid, p) : undefined;
    if (early !== undefined) return early;
    try {
      return this.load(p).toString('utf8');
    } catch (err) {
      throw fromFsError(err, p, typeof pid === 'number' ? pid : undefined);
    }
  }

  readBuffer(pid: number, rel: string): Buffer {
    const p = this.procPath(pid, rel);
    try {
      return this.load(p);
    } catch (err) {
      throw fromFsError(err, p, pid);
    }
  }

  readHost(absPath: string): string {
    const p = this.host(absPath);
    try {
      return this.load(p).toString('utf8');
    } catch (err) {
      throw fromFsError(err, p);
    }
  }

  /** Like readHost, but undefined when the file does not exist (optional cgroup files). */
  readHostOptional(absPath: string): string | undefined {
    try {
      return this.load(this.host(absPath)).toString('utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw fromFsError(err, this.host(absPath));
    }
  }

  /**
   * The kernel log records still in the ring buffer (/dev/kmsg: one record per read, EAGAIN at the
   * end), bounded; undefined where it cannot be read (not root, no CAP_SYSLOG, a recorded tree).
   */
  readKernelLog(maxBytes = 4 << 20): string | undefined {
    if (!this.live) return undefined;
    let fd: number;
    try {
      fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    const buf = Buffer.alloc(16384);
    const parts: string[] = [];
    let total = 0;
    try {
      while (total < maxBytes) {
        let n: number;
        try {
          n = readSync(fd, buf, 0, buf.length, null);
        } catch (err) {
          // EPIPE: records were overwritten while we read; go on from the next one
          if ((err as NodeJS.ErrnoException).code === 'EPIPE') continue;
          break; // EAGAIN: the end
        }
        if (n <= 0) break;
        parts.push(buf.toString('utf8', 0, n));
        total += n;
      }
    } finally {
      closeSync(fd);
    }
    return parts.join('');
  }

  readdir(pid: number | null, rel: string): string[] {
    const p = this.procPath(pid, rel);
    try {
      return readdirSync(p);
    } catch (err) {
      throw fromFsError(err, p, pid ?? undefined);
    }
  }

  /**
   * Every open fd of a process with its link target, mapped by `each`, in fd order; an fd closed
   * mid-scan is absent. `alongside` names files the caller reads next (see ScanAlongside).
   *
   * - A big table is not listed: since Linux 6.2 the size of /proc/PID/fd is the number of open
   *   fds, and fds are handed out lowest first, so fds 0 to that count (plus some slack) are read
   *   by number, which spares a directory listing of the whole table. If that finds fewer than
   *   the count (a hole beyond the slack, or fds closed meanwhile), the listing is read after all
   *   and the fds beyond the numbers tried are read too.
   * - A live scan reads its links fast (fast-reads.ts).
   * - A link that cannot be read (a path longer than PATH_MAX, EACCES on one fd …) is given to
   *   `unreadable` with its errno code, and the scan goes on; without `unreadable` it fails the
   *   scan. When every link is denied, the table is denied (AccessDenied), not a table of unknowns.
   */
  readFdLinks<T>(pid: number, each: (fd: string, link: string) => T, alongside?: ScanAlongside, unreadable?: (fd: string, code: string) => T): T[] {
    const dir = this.procPath(pid, 'fd');
    let denied = 0;
    /** an fd's entry, or undefined when it is gone (closed mid-scan) */
    const entry = (name: string, link: LinkRead): T | undefined => {
      if (typeof link === 'string') return each(name, link);
      if (link.code === 'ENOENT') return undefined;
      link = { code: this.linkError(pid, name, link.code) };
      const fail = () => fromFsError(Object.assign(new Error(link.code), { code: link.code }), `${dir}/${name}`, pid);
      if (!unreadable) throw fail();
      if (link.code === 'EACCES' || link.code === 'EPERM') denied++;
      return unreadable(name, link.code);
    };
    const open = this.live ? openFdCount(dir) : 0;
    const numbered = open >= NUMBERED_MIN;
    const names = numbered ? undefined : this.readdir(pid, 'fd').sort(byNumber);
    const count = names ? names.length : open + numberedSlack(open);

    const found = new Array<T>(count);
    const got = new Uint8Array(count);
    let hits = 0;
    const accept = (i: number, link: LinkRead) => {
      const e = entry(names?.[i] ?? String(i), link);
      if (e === undefined) return;
      found[i] = e;
      got[i] = 1;
      hits++;
    };
    const handed = new Set<string>();
    const between =
      alongside &&
      (() => {
        for (const rel of alongside.files) {
          if (handed.has(rel) || !this.fast.ready(pid, this.procPath(pid, rel))) continue;
          handed.add(rel);
          alongside.use(rel);
        }
      });
    this.fast.readLinks(pid, dir, names, count, accept, between);
    const out: T[] = [];
    // got[i] marks the slots accept() filled
    for (let i = 0; i < count; i++) if (got[i]) out.push(found[i] as T);
    if (numbered && hits < open) {
      // fds beyond the numbers tried: only a listing finds them
      for (const name of this.readdir(pid, 'fd')
        .filter((n) => Number(n) >= count)
        .sort(byNumber)) {
        const e = entry(name, readLink(`${dir}/${name}`));
        if (e !== undefined) out.push(e);
      }
    }
    if (denied > 0 && denied === out.length) throw new AccessDenied(dir);
    return out;
  }

  /** The errno code an unreadable fd link counts as (a capture bundle replays its denials). */
  protected linkError(_pid: number, _fd: string, code: string): string {
    return code;
  }

  /** readlink that returns undefined when the entry vanished (fd closed mid-scan). */
  readlinkOrGone(pid: number | 'self', rel: string): string | undefined {
    try {
      return readlinkSync(this.procPath(pid, rel));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw fromFsError(err, this.procPath(pid, rel), typeof pid === 'number' ? pid : undefined);
    }
  }

  /**
   * Size of what an fd points at (follows the magic link), undefined if gone or unknowable.
   * A capture bundle cannot follow its fd symlinks (they name files of the captured host):
   * it records the sizes in proc/PID/fd-sizes.json ({"<fd>": bytes}), read here when not live.
   */
  fdTargetSize(pid: number, fd: string): number | undefined {
    if (!this.live) {
      // the links name files of the recorded host: following them would stat this machine's files
      const sizes = this.readHostOptional(`/proc/${pid}/${FD_SIZES}`);
      if (sizes === undefined) return undefined;
      const v = (JSON.parse(sizes) as Record<string, unknown>)[fd];
      return typeof v === 'number' ? v : undefined;
    }
    try {
      return statSync(this.procPath(pid, `fd/${fd}`)).size;
    } catch {
      return undefined;
    }
  }

  exists(pid: number): boolean {
    try {
      statSync(this.procPath(pid, ''));
      return true;
    } catch {
      return false;
    }
  }

  /** PIDs listed under /proc (numeric entries only). */
  pids(): number[] {
    return this.readdir(null, '')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  }
}

/** Open fds as the size of /proc/PID/fd (Linux 6.2 and later); 0 where the kernel does not tell. */
function openFdCount(dir: string): number {
  try {
    return statSync(dir).size;
  } catch {
    return 0; // the listing that follows says why
  }
}

/** Numbers tried beyond the open count: fds opened at the top of the table while it is read. */
function numberedSlack(open: number): number {
  return 64 + (open >> 8);
}

const byNumber = (a: string, b: string) => Number(a) - Number(b);
