import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { fromFsError } from '../errors.js';
import { helperFor, type HelperLink, type HelperThread } from './helper-thread.js';

/** Sidecar of a capture bundle: sizes of the files behind fds (see fdTargetSize). */
export const FD_SIZES = 'fd-sizes.json';

/** Below this many links one thread is as fast: the helper would start too late to take any. */
const SHARED_SCAN_MIN = 4096;

/**
 * Read access to /proc and the cgroup hierarchy, rooted at a configurable directory so
 * that recorded fixture trees and capture bundles are read exactly like the live system.
 * Reads are synchronous on purpose: for /proc they are faster than libuv's pool.
 */
export class ProcFs {
  private helper?: HelperThread;
  constructor(readonly root: string = '/') {}

  /** Use the helper thread for a scan of this process, if it has one (see helperFor). */
  useHelperFor(pid: number): void {
    if (this.live) this.helper = helperFor(pid);
  }

  get live(): boolean {
    return this.root === '/';
  }

  /** Host path (e.g. /sys/fs/cgroup/memory/x/memory.stat) under the root. */
  host(absPath: string): string {
    return this.root === '/' ? absPath : this.root.replace(/\/$/, '') + absPath;
  }

  procPath(pid: number | 'self' | null, rel: string): string {
    return this.host(pid === null ? `/proc/${rel}` : `/proc/${pid}/${rel}`);
  }

  read(pid: number | 'self' | null, rel: string): string {
    const p = this.procPath(pid, rel);
    const early = this.helper?.take(p);
    if (early !== undefined) return early;
    try {
      return readFileSync(p, 'utf8');
    } catch (err) {
      throw fromFsError(err, p, typeof pid === 'number' ? pid : undefined);
    }
  }

  readBuffer(pid: number, rel: string): Buffer {
    const p = this.procPath(pid, rel);
    try {
      return readFileSync(p);
    } catch (err) {
      throw fromFsError(err, p, pid);
    }
  }

  readHost(absPath: string): string {
    const p = this.host(absPath);
    try {
      return readFileSync(p, 'utf8');
    } catch (err) {
      throw fromFsError(err, p);
    }
  }

  /** Like readHost, but undefined when the file does not exist (optional cgroup files). */
  readHostOptional(absPath: string): string | undefined {
    try {
      return readFileSync(this.host(absPath), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw fromFsError(err, this.host(absPath));
    }
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
   * Every entry of a directory of links (/proc/PID/fd), mapped with its target by `each`;
   * entries that vanish mid-scan (an fd closed) are absent. The links are read by their bare
   * names after a chdir into the directory, undone before returning: the kernel then looks up
   * one name per link instead of walking /proc/PID/fd/ again, a quarter less time on a large fd
   * table. The scan is synchronous, and async file I/O elsewhere uses absolute paths, so nothing
   * sees the change. A big directory is shared with the helper thread, when one was started.
   */
  readlinks<T>(pid: number, rel: string, each: (name: string, link: string) => T): T[] {
    const dir = this.procPath(pid, rel);
    const helper = this.helper;
    try {
      const names = this.readdir(pid, rel);
      const fail = (err: unknown, i: number) => fromFsError(err, `${dir}/${names[i]}`, pid);
      const links: (HelperLink | undefined)[] = inDir(dir, (prefix) => {
        const here = (i: number): string | undefined => {
          try {
            return readlinkSync(prefix + names[i]);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fail(err, i);
            return undefined;
          }
        };
        return helper && names.length >= SHARED_SCAN_MIN ? helper.shareLinks(dir, names, here) : names.map((_, i) => here(i));
      });
      const out: T[] = [];
      links.forEach((link, i) => {
        if (typeof link === 'string') out.push(each(names[i], link));
        else if (link && link.code !== 'ENOENT') throw fail(Object.assign(new Error(link.code), { code: link.code }), i);
      });
      return out;
    } finally {
      helper?.noLinks(); // it must not wait for a list that is not coming
    }
  }

  /** readlink that returns undefined when the entry vanished (fd closed mid-scan). */
  readlinkOrGone(pid: number, rel: string): string | undefined {
    try {
      return readlinkSync(this.procPath(pid, rel));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw fromFsError(err, this.procPath(pid, rel), pid);
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
    return this.readdir(null, '').filter((n) => /^\d+$/.test(n)).map(Number);
  }
}

/**
 * Run fn with the cwd moved into dir, where names need no prefix (''); the cwd is restored
 * after. Where it cannot move (cwd removed, or a worker thread) fn gets the prefix `${dir}/`.
 */
function inDir<T>(dir: string, fn: (prefix: string) => T): T {
  let home: string;
  try {
    home = process.cwd();
    process.chdir(dir);
  } catch {
    return fn(`${dir}/`);
  }
  try {
    return fn('');
  } finally {
    process.chdir(home);
  }
}
