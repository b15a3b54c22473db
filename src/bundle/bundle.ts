/**
 * Capture bundles: the raw /proc and cgroup files a diagnosis read, redacted before anything
 * touches the disk, the report as JSON and markdown, and a manifest with the sha256 of every
 * file. A bundle is a /proc root: `new ProcFs(dir)` reads it like the live system.
 *
 * Layout:
 *   proc/<pid>/{stat,status,limits,cmdline,cgroup,smaps_rollup,environ,net/*}   files as read
 *   proc/<pid>/fd/<n>, exe, ns/net                                              symlinks, targets as read
 *   proc/<pid>/fd-sizes.json        sizes of the files behind deleted-but-open fds
 *   proc/self/mountinfo, proc/stat, proc/uptime, sys/fs/cgroup/…              as read
 *   denied.json                     reads that were denied at capture time (replayed offline; a denied
 *                                   entry of a listed directory is an empty placeholder file)
 *   report.json, report.md          the diagnosis at capture time
 *   manifest.json                   what this is, and sha256 of every other file
 */
import type * as Crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, statSync, symlinkSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join, posix, relative, resolve, sep } from 'node:path';
import { FD_SIZES } from '../procfs/procfs.js';
import { parseCmdline, parseEnviron } from '../procfs/proc-cmdline.js';
import { MAX_SCAN, clean, cleanDeep, redactArgv, redactLines, redactText } from '../engine/redact.js';
import { errnoText, FileError, SnapshotInvalid, UsageError } from '../errors.js';
import { readFileBounded } from '../files.js';
import { SCHEMA_VERSION } from '../engine/schema-version.js';
import type { Recorded } from './procfs.js';
import type { z } from 'zod';
import type { ManifestSchema } from '../engine/report-schema.js';

const MANIFEST = 'manifest.json';
const DENIED = 'denied.json';
const BUNDLE_KIND = 'proctriage-capture';

/**
 * The only environment variables a bundle keeps (what the probes look at). Everything else in
 * /proc/PID/environ — where credentials usually live — never reaches the disk.
 */
const ENV_KEEP = ['NODE_OPTIONS', 'GOMEMLIMIT', 'GOGC', 'GOMAXPROCS', 'GODEBUG', 'GOTRACEBACK'];

/** manifest.json, as ManifestSchema checks it when a bundle is opened. */
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestEntry = Manifest['files'][string];

export interface BundleInput {
  pid: number;
  records: Map<string, Recorded>;
  fdSizes: Map<number, Record<string, number | null>>;
  redact: boolean;
  reportJson: string;
  reportMarkdown: string;
  /** runtime evidence beyond /proc (a Go goroutine dump …): bundle path → text, redacted here */
  runtimeFiles?: Record<string, string>;
  manifest: Omit<Manifest, 'kind' | 'schemaVersion' | 'files' | 'notes' | 'redacted'>;
}

/**
 * Claim a place for a bundle at `dir`, before the diagnosis runs, so an impossible --dir fails
 * at once: `dir` must be a new name or an empty directory (not a symlink). The bundle is written
 * into the private directory returned (created beside `dir`, mode 0700), and publishBundleDir
 * then moves it into place in one rename: a bundle is never seen half-written, and of two
 * captures into one directory exactly one wins while the other's files stay in its own staging
 * directory (removed by its caller).
 */
export function stageBundleDir(dir: string): string {
  if (!dir.trim()) throw new UsageError('--dir is empty: give the directory to create for the bundle');
  let st: Stats | undefined;
  try {
    st = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw cannot(err, dir);
  }
  if (st?.isSymbolicLink()) throw new FileError('FILE_NOT_REGULAR', `--dir ${dir} is a symlink: refused`, 'give the real directory');
  if (st && !st.isDirectory()) throw new FileError('FILE_EXISTS', `--dir ${dir} is a file, not a directory`);
  if (st && readdirSync(dir).length) throw new FileError('FILE_EXISTS', `--dir ${dir} is not empty`, 'give a new directory: a bundle never overwrites files');
  const parent = dirname(resolve(dir));
  makeParents(parent);
  try {
    return mkdtempSync(join(parent, `.${basename(resolve(dir))}.capture-`));
  } catch (err) {
    throw cannot(err, dir);
  }
}

/** Move a complete staged bundle to `dir` (a new name, or an empty directory it replaces). */
export function publishBundleDir(staging: string, dir: string): void {
  try {
    renameSync(staging, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST')
      throw new FileError('FILE_EXISTS', `--dir ${dir} was filled by someone else meanwhile (another capture?): left alone, no bundle written`);
    if (code === 'ENOTDIR') throw new FileError('FILE_EXISTS', `--dir ${dir} became a file meanwhile: left alone, no bundle written`);
    throw cannot(err, dir);
  }
}

function cannot(err: unknown, dir: string): FileError {
  const code = (err as NodeJS.ErrnoException).code;
  // mkdir in /proc or /sys says ENOENT although the parent exists; a mount point cannot be renamed over
  const words =
    code === 'ENOENT' ? 'this file system does not allow new directories' : code === 'EBUSY' || code === 'EXDEV' ? 'it is a mount point' : errnoText(err);
  return new FileError('WRITE_FAILED', `cannot create the bundle directory ${dir}: ${words}`);
}

/** mkdir -p, one level at a time: Node's recursive mkdir spins where mkdir says ENOENT (/proc). */
function makeParents(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      if (!statSync(d).isDirectory()) throw new FileError('WRITE_FAILED', `cannot create the bundle directory: ${d} is not a directory`);
      break;
    } catch (err) {
      if (err instanceof FileError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || d === dirname(d)) throw cannot(err, dir);
      missing.push(d);
    }
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot(err, d);
    }
  }
}

/** Redact a recorded file by what it is; undefined when it must not be written at all. */
function redactFile(key: string, data: Buffer, redact: boolean): Buffer | undefined {
  if (/^\/proc\/.*\/environ$/.test(key)) {
    const env = parseEnviron(data);
    const kept = ENV_KEEP.flatMap((k) => {
      const v = env[k];
      return v === undefined ? [] : [`${k}=${redact ? redactText(v) : v}\0`];
    });
    return Buffer.from(kept.join(''));
  }
  if (!redact) return data;
  if (/^\/proc\/.*\/cmdline$/.test(key)) {
    const argv = parseCmdline(data);
    return Buffer.from(argv.length ? redactArgv(argv).join('\0') + '\0' : '');
  }
  return redactBytes(data);
}

/**
 * Any other file as read (mountinfo, status, net/unix …): line by line, byte for byte where
 * nothing is redacted (latin1 keeps every byte; the shapes looked for are ASCII).
 */
function redactBytes(data: Buffer): Buffer {
  const text = data.toString('latin1');
  const red = redactLines(text);
  return red === text ? data : Buffer.from(red.replaceAll('…', '...'), 'latin1');
}

// crypto (≈ 6 ms to load) only for the commands that write or check a bundle
const load = createRequire(import.meta.url);

function sha256(data: Buffer | string): string {
  return (load('node:crypto') as typeof Crypto).createHash('sha256').update(data).digest('hex');
}

/** Write the bundle (files first, manifest last: no manifest means an incomplete bundle). */
export function writeBundle(dir: string, input: BundleInput): Manifest {
  const files: Record<string, ManifestEntry> = {};
  const denied: string[] = [];
  const put = (rel: string, data: Buffer) => {
    const p = join(dir, ...rel.split('/'));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data, { flag: 'wx' });
    files[rel] = { sha256: sha256(data), bytes: data.length };
  };
  const rel = (key: string) => key.replace(/^\/+/, '');
  // a recorded path must stay inside the bundle
  const safe = (key: string) => key.startsWith('/') && !key.split('/').some((s) => s === '..' || s === '.');

  for (const [key, r] of [...input.records.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!safe(key)) continue;
    if (r.kind === 'denied') {
      denied.push(key);
      // an entry of a recorded listing (an fd whose link was denied) must still be listed offline
      const parent = input.records.get(posix.dirname(key));
      if (parent?.kind === 'dir' && parent.entries.includes(posix.basename(key))) put(rel(key), Buffer.alloc(0));
    } else if (r.kind === 'dir') mkdirSync(join(dir, rel(key)), { recursive: true });
    else if (r.kind === 'file') {
      const data = redactFile(key, r.data, input.redact);
      if (data !== undefined) put(rel(key), data);
    } else {
      const target = input.redact ? redactText(r.target) : r.target;
      const p = join(dir, rel(key));
      mkdirSync(dirname(p), { recursive: true });
      symlinkSync(target, p);
      files[rel(key)] = { sha256: sha256(target), bytes: Buffer.byteLength(target), symlink: target };
    }
  }
  for (const [pid, sizes] of input.fdSizes) put(`proc/${pid}/${FD_SIZES}`, Buffer.from(JSON.stringify(sizes) + '\n'));
  if (denied.length) put(DENIED, Buffer.from(JSON.stringify(denied, null, 2) + '\n'));
  for (const [path, text] of Object.entries(input.runtimeFiles ?? {})) {
    put(path, Buffer.from(input.redact ? redactLines(text) : text));
  }
  put('report.json', Buffer.from(input.reportJson));
  put('report.md', Buffer.from(input.reportMarkdown));

  const manifest: Manifest = {
    kind: BUNDLE_KIND,
    schemaVersion: SCHEMA_VERSION,
    ...input.manifest,
    redacted: input.redact,
    notes: [
      'Raw /proc and cgroup files exactly as the probes read them at capture time; analyse with: proctriage analyze <this directory>',
      `proc/${input.pid}/environ keeps only ${ENV_KEEP.join(', ')}${input.redact ? ', with secret-looking values redacted' : ''}; nothing else of the environment was written`,
      input.redact
        ? `every file is redacted (command lines, link targets, runtime dumps: --password …, key=value, headers, URL credentials, token shapes; lines cut at ${MAX_SCAN} characters)`
        : 'REDACTION WAS OFF: command lines and paths are as they were',
      `proc/${input.pid}/${FD_SIZES} holds the sizes of deleted-but-open files (a symlink here cannot be followed to them)`,
      'every file but this manifest is listed below with its sha256 (for a symlink: of its target text)',
    ],
    files,
  };
  writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { flag: 'wx' });
  return manifest;
}

/** A bundle's limits: a capture of a 20 000-fd process is some 25 MiB in 20 000 entries. */
const BUNDLE_MAX_BYTES = 1024 * 2 ** 20;
const BUNDLE_MAX_ENTRIES = 500_000;
const BUNDLE_MAX_DEPTH = 32;

/** The only symlinks a bundle holds: links the probes read as text, never follow. */
const BUNDLE_LINK = /^proc\/\d+\/(fd\/\d+|exe|cwd|root|ns\/[a-z_]+)$/;

/** Every file and symlink under dir, as bundle-relative posix paths (directories are never followed as links). */
function walk(dir: string, refuse: (path: string, why: string) => never, base = dir, depth = 0, out: string[] = []): string[] {
  if (depth > BUNDLE_MAX_DEPTH) refuse(relative(base, dir), 'is nested too deep for a bundle');
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (out.length >= BUNDLE_MAX_ENTRIES) refuse('.', `holds more than ${BUNDLE_MAX_ENTRIES} entries`);
    if (lstatSync(p).isDirectory()) walk(p, refuse, base, depth + 1, out);
    else out.push(relative(base, p).split(sep).join(posix.sep));
  }
  return out;
}

/** A manifest path must name a place inside the bundle. */
function insideBundle(path: string): boolean {
  return path.length > 0 && !path.includes('\0') && !path.includes('\\') && path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/**
 * Read and verify a bundle: a manifest of ours (zod-checked), of a version we read, and every file
 * matching its sha256, with nothing missing and nothing added. Nothing reaches outside the bundle:
 * its paths stay inside, its files are regular files read without following a symlink, its only
 * symlinks are the fd, exe and namespace links (read as text). Any failure is a SnapshotInvalid
 * (exit 3) naming the file.
 */
export async function openBundle(dir: string): Promise<{ manifest: Manifest; denied: Set<string> }> {
  const refuse = (path: string, why: string): never => {
    throw new SnapshotInvalid(dir, `${clean(path)} ${why}`);
  };
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (err) {
    throw new SnapshotInvalid(dir, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : `cannot read it: ${errnoText(err)}`);
  }
  if (!st.isDirectory()) throw new SnapshotInvalid(dir, 'not a directory: a capture bundle is a directory made by proctriage capture');
  const read = (path: string): Buffer => {
    const full = join(dir, ...path.split('/'));
    try {
      return readFileBounded(full, { noFollow: true });
    } catch (err) {
      if (err instanceof FileError && err.code === 'FILE_NOT_FOUND' && path === MANIFEST) {
        return refuse(dir, 'is not a capture bundle (no manifest.json): incomplete, or not made by proctriage capture');
      }
      if (err instanceof FileError) return refuse(path, err.message.split(full).join('it').replace(/^it /, ''));
      throw err;
    }
  };
  let data: unknown;
  try {
    data = JSON.parse(read(MANIFEST).toString('utf8'));
  } catch (err) {
    if (err instanceof SnapshotInvalid) throw err;
    throw new SnapshotInvalid(dir, 'manifest.json is not valid JSON (corrupt or truncated)');
  }
  const m = data as Partial<Manifest> | null;
  if (!m || typeof m !== 'object' || m.kind !== BUNDLE_KIND) throw new SnapshotInvalid(dir, 'manifest.json is not a proctriage capture manifest');
  if (typeof m.schemaVersion === 'number' && m.schemaVersion > SCHEMA_VERSION) {
    throw new SnapshotInvalid(dir, `bundle schemaVersion ${m.schemaVersion} is newer than this proctriage reads (${SCHEMA_VERSION}): upgrade proctriage`);
  }
  const { ManifestSchema } = await import('../engine/report-schema.js');
  const parsed = ManifestSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SnapshotInvalid(
      dir,
      `manifest.json does not match the manifest schema (${clean(issue?.path.length ? issue.path.join('.') : 'top level')}: ${issue?.message ?? 'invalid'})`,
    );
  }
  const manifest = parsed.data;
  let total = 0;
  for (const [path, entry] of Object.entries(manifest.files)) {
    if (!insideBundle(path)) refuse(path, 'is a path outside the bundle: refused');
    if (entry.symlink !== undefined && !BUNDLE_LINK.test(path)) refuse(path, 'is listed as a symlink where a bundle has none: refused');
    if ((total += entry.bytes) > BUNDLE_MAX_BYTES) refuse(dir, `is larger than ${BUNDLE_MAX_BYTES / 2 ** 20} MiB: refused`);
  }
  const present = new Set(walk(dir, refuse).filter((p) => p !== MANIFEST));
  for (const [path, entry] of Object.entries(manifest.files)) {
    if (!present.has(path)) refuse(path, 'is listed in manifest.json but missing');
    present.delete(path);
    const p = join(dir, ...path.split('/'));
    const st = lstatSync(p);
    let actual: string;
    if (entry.symlink !== undefined) {
      if (!st.isSymbolicLink()) refuse(path, 'should be a symlink');
      const target = readlinkSync(p);
      actual = target === entry.symlink ? sha256(target) : '';
    } else {
      if (st.isSymbolicLink()) refuse(path, 'is a symlink: refused (a bundle never points outside itself)');
      actual = sha256(read(path));
    }
    if (actual !== entry.sha256) refuse(path, 'does not match its sha256 in manifest.json: the bundle was modified or is corrupt');
  }
  const extra = [...present];
  const [first] = extra;
  if (first !== undefined) refuse(first, `is not listed in manifest.json: the bundle was modified${extra.length > 1 ? ` (${extra.length} such files)` : ''}`);
  let denied = new Set<string>();
  if (manifest.files[DENIED]) {
    try {
      const list: unknown = JSON.parse(read(DENIED).toString('utf8'));
      if (!Array.isArray(list) || !list.every((x): x is string => typeof x === 'string')) throw new Error('not a list of paths');
      denied = new Set(list);
    } catch (err) {
      if (err instanceof SnapshotInvalid) throw err;
      throw new SnapshotInvalid(dir, `${DENIED} is not valid JSON`);
    }
  }
  // what the manifest says is shown to a terminal: escapes stay visible
  return { manifest: cleanDeep(manifest, false), denied };
}
