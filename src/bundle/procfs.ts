/**
 * ProcFs variants for looking over time and offline:
 * - RecordingProcFs: the live system, remembering every file, directory listing, link and fd size
 *   the probes read, so a capture bundle holds exactly what the diagnosis saw;
 * - BundleProcFs: a capture bundle, replaying the reads that were denied at capture time;
 * - CachingProcFs: the live system, reading once what does not change while a process runs
 *   (command line, environment, cgroup membership, executable, namespace, mount table).
 */
import { ProcFs, type ScanAlongside } from '../procfs/procfs.js';
import { AccessDenied, ProctriageError } from '../errors.js';

export type Recorded = { kind: 'file'; data: Buffer } | { kind: 'dir'; entries: string[] } | { kind: 'link'; target: string } | { kind: 'denied' };

/** Host path of a /proc read (the key of every record): /proc/123/stat, /proc/self/mountinfo, /proc/stat. */
function procKey(pid: number | 'self' | null, rel: string): string {
  const p = pid === null ? `/proc/${rel}` : `/proc/${pid}/${rel}`;
  return p.replace(/\/+$/, '');
}

function isDenied(err: unknown): boolean {
  return err instanceof ProctriageError && err.code === 'ACCESS_DENIED';
}

export class RecordingProcFs extends ProcFs {
  /** host path → what was read there (the first read wins: it is the one the diagnosis used) */
  readonly records = new Map<string, Recorded>();
  /** pid → fd → size of the file behind it (deleted-but-open files) */
  readonly fdSizes = new Map<number, Record<string, number | null>>();

  /** the live system, at / or under a host root */
  constructor(root = '/') {
    super(root, { live: true });
  }

  private note(key: string, r: Recorded): void {
    if (!this.records.has(key)) this.records.set(key, r);
  }

  private track<T>(key: string, read: () => T, record: (v: T) => Recorded | undefined): T {
    try {
      const v = read();
      const r = record(v);
      if (r) this.note(key, r);
      return v;
    } catch (err) {
      if (isDenied(err)) this.note(key, { kind: 'denied' });
      throw err;
    }
  }

  override read(pid: number | 'self' | null, rel: string): string {
    return this.track(
      procKey(pid, rel),
      () => super.read(pid, rel),
      (v) => ({ kind: 'file', data: Buffer.from(v, 'utf8') }),
    );
  }
  override readBuffer(pid: number, rel: string): Buffer {
    return this.track(
      procKey(pid, rel),
      () => super.readBuffer(pid, rel),
      (v) => ({ kind: 'file', data: Buffer.from(v) }),
    );
  }
  override readHost(absPath: string): string {
    return this.track(
      absPath,
      () => super.readHost(absPath),
      (v) => ({ kind: 'file', data: Buffer.from(v, 'utf8') }),
    );
  }
  override readHostOptional(absPath: string): string | undefined {
    return this.track(
      absPath,
      () => super.readHostOptional(absPath),
      (v) => (v === undefined ? undefined : { kind: 'file', data: Buffer.from(v, 'utf8') }),
    );
  }
  override readdir(pid: number | null, rel: string): string[] {
    return this.track(
      procKey(pid, rel),
      () => super.readdir(pid, rel),
      (v) => ({ kind: 'dir', entries: [...v] }),
    );
  }
  override readlinkOrGone(pid: number, rel: string): string | undefined {
    return this.track(
      procKey(pid, rel),
      () => super.readlinkOrGone(pid, rel),
      (v) => (v === undefined ? undefined : { kind: 'link', target: v }),
    );
  }
  override readFdLinks<T>(pid: number, each: (fd: string, link: string) => T, alongside?: ScanAlongside, unreadable?: (fd: string, code: string) => T): T[] {
    // a big table is read by number, without a listing: the fds read make the listing
    const dir = procKey(pid, 'fd');
    const listed: string[] = [];
    const listing = () => this.note(dir, { kind: 'dir', entries: listed });
    // a link that could not be read is kept as a denied one: listed, and unreadable offline too
    const deny = (fd: string) => {
      listed.push(fd);
      this.note(procKey(pid, `fd/${fd}`), { kind: 'denied' });
    };
    try {
      const out = super.readFdLinks(
        pid,
        (fd, target) => {
          listed.push(fd);
          this.note(procKey(pid, `fd/${fd}`), { kind: 'link', target });
          return each(fd, target);
        },
        alongside,
        unreadable &&
          ((fd, code) => {
            deny(fd);
            return unreadable(fd, code);
          }),
      );
      listing();
      return out;
    } catch (err) {
      if (err instanceof AccessDenied && err.path === dir) this.note(dir, { kind: 'denied' });
      else if (err instanceof AccessDenied && err.path.startsWith(`${dir}/`)) {
        deny(err.path.slice(dir.length + 1));
        listing();
      }
      throw err;
    }
  }
  override fdTargetSize(pid: number, fd: string): number | undefined {
    const size = super.fdTargetSize(pid, fd);
    const m = this.fdSizes.get(pid) ?? {};
    if (!(fd in m)) m[fd] = size ?? null;
    this.fdSizes.set(pid, m);
    return size;
  }
}

/** A capture bundle as a /proc root. Reads denied at capture time are denied again. */
export class BundleProcFs extends ProcFs {
  constructor(
    root: string,
    private readonly denied: Set<string>,
  ) {
    super(root, { live: false });
  }

  private check(key: string): void {
    if (this.denied.has(key)) throw new AccessDenied(key);
  }

  override read(pid: number | 'self' | null, rel: string): string {
    this.check(procKey(pid, rel));
    return super.read(pid, rel);
  }
  override readBuffer(pid: number, rel: string): Buffer {
    this.check(procKey(pid, rel));
    return super.readBuffer(pid, rel);
  }
  override readHost(absPath: string): string {
    this.check(absPath);
    return super.readHost(absPath);
  }
  override readHostOptional(absPath: string): string | undefined {
    this.check(absPath);
    return super.readHostOptional(absPath);
  }
  override readdir(pid: number | null, rel: string): string[] {
    this.check(procKey(pid, rel));
    return super.readdir(pid, rel);
  }
  override readlinkOrGone(pid: number, rel: string): string | undefined {
    this.check(procKey(pid, rel));
    return super.readlinkOrGone(pid, rel);
  }
  // a link's placeholder is no symlink (EINVAL): it was unreadable at capture time
  protected override linkError(pid: number, fd: string, code: string): string {
    return this.denied.has(procKey(pid, `fd/${fd}`)) ? 'EACCES' : code;
  }

  override readFdLinks<T>(pid: number, each: (fd: string, link: string) => T, alongside?: ScanAlongside, unreadable?: (fd: string, code: string) => T): T[] {
    const denied = (fd: string) => this.denied.has(procKey(pid, `fd/${fd}`));
    // without `unreadable` a link denied at capture time (listed, as an empty file) fails the scan
    if (!unreadable) for (const name of this.readdir(pid, 'fd')) if (denied(name)) throw new AccessDenied(procKey(pid, `fd/${name}`));
    try {
      return super.readFdLinks(pid, each, alongside, unreadable);
    } catch (err) {
      // every link denied: said of the path as it was live
      if (err instanceof AccessDenied && err.path === this.procPath(pid, 'fd')) throw new AccessDenied(procKey(pid, 'fd'));
      throw err;
    }
  }
}

/** Files of a running process that do not change while it runs (per pid). */
const STATIC_PID_FILES = new Set(['cmdline', 'environ', 'cgroup']);
const STATIC_PID_LINKS = new Set(['exe', 'ns/net']);

/** The live system, with what cannot change between two samples read only once. */
export class CachingProcFs extends ProcFs {
  private cache = new Map<string, { value?: unknown; error?: Error }>();

  /** the live system, at / or under a host root */
  constructor(root = '/') {
    super(root, { live: true });
  }

  private once<T>(key: string, read: () => T): T {
    let hit = this.cache.get(key);
    if (!hit) {
      try {
        hit = { value: read() };
      } catch (err) {
        // only a denial is stable; a vanished process must be seen as such next time too
        if (!isDenied(err)) throw err;
        hit = { error: err as Error };
      }
      this.cache.set(key, hit);
    }
    if (hit.error) throw hit.error;
    return hit.value as T;
  }

  override read(pid: number | 'self' | null, rel: string): string {
    const fixed = (pid === 'self' && rel === 'mountinfo') || (typeof pid === 'number' && STATIC_PID_FILES.has(rel));
    return fixed ? this.once(`r:${procKey(pid, rel)}`, () => super.read(pid, rel)) : super.read(pid, rel);
  }
  override readBuffer(pid: number, rel: string): Buffer {
    return STATIC_PID_FILES.has(rel) ? this.once(`b:${procKey(pid, rel)}`, () => super.readBuffer(pid, rel)) : super.readBuffer(pid, rel);
  }
  override readlinkOrGone(pid: number, rel: string): string | undefined {
    return STATIC_PID_LINKS.has(rel) ? this.once(`l:${procKey(pid, rel)}`, () => super.readlinkOrGone(pid, rel)) : super.readlinkOrGone(pid, rel);
  }
}
