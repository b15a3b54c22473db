/**
 * Files written for the user and files read from the user, done safely as root:
 * - a write goes to a temp file created O_CREAT|O_EXCL|O_NOFOLLOW (mode 0600) next to the
 *   destination, then takes the destination's name; only a missing destination, or a regular file
 *   with `overwrite`, is ever replaced (never a device, fifo, socket, directory or symlink), and
 *   the temp file is removed on every failure;
 * - a read opens without blocking (a fifo), refuses anything but a regular file (/dev/zero) and
 *   reads at most a limit, so a hostile file cannot fill the memory or stall the command.
 */
import {
  closeSync,
  constants as C,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errnoText, FileError, IsDirectory, UsageError } from './errors.js';

/** Generous for real use: a snapshot of a 20 000-fd process is a few MiB. */
export const READ_LIMIT = 64 * 2 ** 20;

const errno = (err: unknown): string => (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);

/** What a non-regular file is, in words. */
function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function why(err: unknown, path: string, verb: string): FileError {
  // a write fails on ENOENT only for want of the directory it goes into
  return new FileError('WRITE_FAILED', `cannot ${verb} ${path}: ${errno(err) === 'ENOENT' ? 'no such directory' : errnoText(err)}`);
}

/** Refuse a destination that is not a missing name or (with overwrite) a regular file. */
export function checkDestination(path: string, overwrite: boolean, flag = '--overwrite'): void {
  if (!path) throw new UsageError('the output file name is empty');
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return;
    throw why(err, path, 'write');
  }
  if (!st.isFile()) throw new FileError('FILE_NOT_REGULAR', `${path} is ${kindOf(st)}: refusing to replace it`, 'give the path of a new file');
  if (!overwrite) throw new FileError('FILE_EXISTS', `${path} already exists`, `give a new file name, or ${flag} to replace it`);
}

export interface TempFile {
  path: string;
  fd: number;
}

/** A new temp file beside `dest` that nobody else can have planted (O_EXCL|O_NOFOLLOW, 0600). */
export function openTemp(dest: string): TempFile {
  const path = join(dirname(dest), `.${basename(dest)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    return { path, fd: openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600) };
  } catch (err) {
    throw why(err, dest, 'write');
  }
}

/** Remove a temp file of ours (closed or not), quietly. */
export function discardTemp(t: TempFile, closed = false): void {
  if (!closed)
    try {
      closeSync(t.fd);
    } catch {
      /* already closed */
    }
  try {
    unlinkSync(t.path);
  } catch {
    /* never created */
  }
}

/**
 * Give a complete, closed temp file its final name. Without overwrite the name is taken with
 * link(2), which fails if anything appeared there meanwhile; with it, only a regular file is replaced.
 */
export function commitTemp(t: TempFile, dest: string, overwrite: boolean): void {
  try {
    checkDestination(dest, overwrite);
    if (!overwrite) {
      try {
        linkSync(t.path, dest);
        unlinkSync(t.path);
        return;
      } catch (err) {
        if (errno(err) === 'EEXIST') throw new FileError('FILE_EXISTS', `${dest} appeared while it was being written: left alone`);
        // a file system without hard links: the check above is the guard
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK'].includes(errno(err))) throw err;
      }
    }
    renameSync(t.path, dest);
  } catch (err) {
    discardTemp(t, true);
    throw err instanceof FileError ? err : why(err, dest, 'write');
  }
}

/**
 * Write `data` to `dest` through a temp file (see the top of this file); `mode` widens the 0600
 * for a file another user must read (node_exporter's textfile collector runs as its own user).
 */
export function writeFileSafely(dest: string, data: string | Buffer, o: { overwrite?: boolean; flag?: string; mode?: number } = {}): void {
  const overwrite = o.overwrite ?? false;
  checkDestination(dest, overwrite, o.flag); // fail before the work when we can
  const t = openTemp(dest);
  try {
    if (o.mode !== undefined) fchmodSync(t.fd, o.mode);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length;) off += writeSync(t.fd, buf, off, buf.length - off);
    closeSync(t.fd);
  } catch (err) {
    discardTemp(t);
    throw why(err, dest, 'write');
  }
  commitTemp(t, dest, overwrite);
}

export interface ReadOptions {
  /** bytes; READ_LIMIT unless said */
  limit?: number;
  /** refuse a symlink at the path itself (files inside a capture bundle) */
  noFollow?: boolean;
  /** what the file is, for messages ("snapshot", "playbook") */
  what?: string;
  /** rethrow a failed open as Node's error (its errno code), for callers that tell ENOENT apart */
  keepErrno?: boolean;
}

/** Read a regular file of at most `limit` bytes; anything else is a one-line FileError. */
export function readFileBounded(path: string, o: ReadOptions = {}): Buffer {
  const limit = o.limit ?? READ_LIMIT;
  const what = o.what ? `${o.what} ` : '';
  let fd: number;
  try {
    fd = openSync(path, C.O_RDONLY | C.O_NONBLOCK | (o.noFollow ? C.O_NOFOLLOW : 0));
  } catch (err) {
    const code = errno(err);
    if (code === 'ELOOP' && o.noFollow) throw new FileError('FILE_NOT_REGULAR', `${what}${path} is a symlink: refused`);
    if (o.keepErrno) throw err;
    if (code === 'ENOENT') throw new FileError('FILE_NOT_FOUND', `${what}${path}: no such file`);
    if (code === 'EACCES' || code === 'EPERM') throw new FileError('FILE_UNREADABLE', `${what}${path}: permission denied`);
    throw new FileError('FILE_UNREADABLE', `cannot read ${what}${path}: ${errnoText(err)}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new IsDirectory(`${what}${path} is a directory, not a file`);
    if (!st.isFile()) throw new FileError('FILE_NOT_REGULAR', `${what}${path} is ${kindOf(st)}, not a regular file: refused`);
    const tooBig = () => new FileError('FILE_TOO_LARGE', `${what}${path} is larger than ${Math.round(limit / 2 ** 20)} MiB: refused`);
    if (st.size > limit) throw tooBig();
    // read to the end even if it grew since fstat, but never past the limit
    const buf = Buffer.alloc(Math.min(limit + 1, Math.max(st.size + 1, 4096)));
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
    if (n > limit) throw tooBig();
    if (n === buf.length) {
      // it grew: read the rest in steps, still bounded
      const more: Buffer[] = [buf];
      for (let r, chunk = Buffer.alloc(1 << 20); (r = readSync(fd, chunk, 0, chunk.length, null)) > 0; chunk = Buffer.alloc(1 << 20)) {
        n += r;
        if (n > limit) throw tooBig();
        more.push(chunk.subarray(0, r));
      }
      return Buffer.concat(more, n);
    }
    return buf.subarray(0, n);
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new FileError('FILE_UNREADABLE', `cannot read ${what}${path}: ${errnoText(err)}`);
  } finally {
    closeSync(fd);
  }
}

/** Nesting deeper than this in a file we read is refused: nothing we write comes close. */
export const MAX_NESTING = 64;

/** Whether parsed data nests deeper than `limit` (iterative: a hostile file cannot overflow the stack here). */
export function nestedDeeperThan(value: unknown, limit = MAX_NESTING): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (d >= limit) return true;
    for (const x of Object.values(v)) if (x && typeof x === 'object') stack.push([x, d + 1]);
  }
  return false;
}

/**
 * A file written as it goes (watch --samples): created 0600 without following a symlink, and
 * refused when it exists unless `overwrite`, and then only if it is a regular file (truncated).
 */
export function openOutputFile(path: string, overwrite: boolean): number {
  checkDestination(path, overwrite);
  let fd: number;
  try {
    fd = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_NOFOLLOW | C.O_NONBLOCK | (overwrite ? 0 : C.O_EXCL), 0o600);
  } catch (err) {
    if (errno(err) === 'EEXIST') throw new FileError('FILE_EXISTS', `${path} appeared meanwhile: left alone`);
    throw why(err, path, 'write');
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new FileError('FILE_NOT_REGULAR', `${path} is ${kindOf(st)}: refusing to write to it`);
  }
  ftruncateSync(fd, 0);
  return fd;
}
