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
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { FD_SIZES } from '../procfs/procfs.js';
import { parseCmdline, parseEnviron } from '../procfs/proc-cmdline.js';
import { MAX_SCAN, redactArgv, redactLines, redactText } from '../engine/redact.js';
import { SnapshotInvalid, UsageError } from '../errors.js';
import { SCHEMA_VERSION } from '../engine/schema-version.js';
import type { Recorded } from './procfs.js';

export const MANIFEST = 'manifest.json';
export const DENIED = 'denied.json';
export const BUNDLE_KIND = 'proctriage-capture';

/**
 * The only environment variables a bundle keeps (what the probes look at). Everything else in
 * /proc/PID/environ — where credentials usually live — never reaches the disk.
 */
export const ENV_KEEP = ['NODE_OPTIONS', 'GOMEMLIMIT', 'GOGC', 'GOMAXPROCS', 'GODEBUG', 'GOTRACEBACK'];

export interface ManifestEntry {
  sha256: string;
  bytes: number;
  /** set for symlinks: the link text (hashed instead of content) */
  symlink?: string;
}

export interface Manifest {
  kind: typeof BUNDLE_KIND;
  schemaVersion: number;
  tool: { name: 'proctriage'; version: string };
  capturedAt: string;
  host: { hostname: string; kernel: string; cgroupVersion: string };
  pid: number;
  startTicks?: number;
  comm: string;
  redacted: boolean;
  notes: string[];
  files: Record<string, ManifestEntry>;
}

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

/** Check that `dir` can receive a bundle (absent or empty) and create it. */
export function prepareDir(dir: string): void {
  let entries: string[] | undefined;
  try {
    entries = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UsageError(`--dir ${dir} is a file, not a directory`);
    if (code !== 'ENOENT') throw new UsageError(`--dir ${dir}: ${code ?? (err as Error).message}`);
  }
  if (entries?.length) throw new UsageError(`--dir ${dir} is not empty`, 'give a new directory: a bundle never overwrites files');
  mkdirSync(dir, { recursive: true });
}

/** Redact a recorded file by what it is; undefined when it must not be written at all. */
function redactFile(key: string, data: Buffer, redact: boolean): Buffer | undefined {
  if (/^\/proc\/.*\/environ$/.test(key)) {
    const env = parseEnviron(data);
    const kept = ENV_KEEP.filter((k) => k in env).map((k) => {
      const v = redact ? redactText(env[k]) : env[k];
      return `${k}=${v}\0`;
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
    }
    else if (r.kind === 'dir') mkdirSync(join(dir, rel(key)), { recursive: true });
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
      input.redact ? `every file is redacted (command lines, link targets, runtime dumps: --password …, key=value, headers, URL credentials, token shapes; lines cut at ${MAX_SCAN} characters)` : 'REDACTION WAS OFF: command lines and paths are as they were',
      `proc/${input.pid}/${FD_SIZES} holds the sizes of deleted-but-open files (a symlink here cannot be followed to them)`,
      'every file but this manifest is listed below with its sha256 (for a symlink: of its target text)',
    ],
    files,
  };
  writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { flag: 'wx' });
  return manifest;
}

/** Every file and symlink under dir, as bundle-relative posix paths. */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...walk(p, base));
    else out.push(relative(base, p).split(sep).join(posix.sep));
  }
  return out;
}

/**
 * Read and verify a bundle: a manifest of ours, of a version we read, and every file matching
 * its sha256, with nothing missing and nothing added. Any failure is a SnapshotInvalid (exit 3).
 */
export function openBundle(dir: string): { manifest: Manifest; denied: Set<string> } {
  let text: string;
  try {
    text = readFileSync(join(dir, MANIFEST), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      let isDir = false;
      try { isDir = lstatSync(dir).isDirectory(); } catch { /* reported below */ }
      throw new SnapshotInvalid(dir, isDir ? 'not a capture bundle (no manifest.json): incomplete, or not made by proctriage capture' : 'no such directory');
    }
    if (code === 'ENOTDIR') throw new SnapshotInvalid(dir, 'not a directory: a capture bundle is a directory made by proctriage capture');
    throw new SnapshotInvalid(dir, `cannot read manifest.json (${code ?? (err as Error).message})`);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch {
    throw new SnapshotInvalid(dir, 'manifest.json is not valid JSON (corrupt or truncated)');
  }
  if (!manifest || typeof manifest !== 'object' || manifest.kind !== BUNDLE_KIND) {
    throw new SnapshotInvalid(dir, 'manifest.json is not a proctriage capture manifest');
  }
  if (typeof manifest.schemaVersion !== 'number' || manifest.schemaVersion > SCHEMA_VERSION) {
    throw new SnapshotInvalid(dir, `bundle schemaVersion ${manifest.schemaVersion} is newer than this proctriage reads (${SCHEMA_VERSION}): upgrade proctriage`);
  }
  if (!Number.isInteger(manifest.pid) || !manifest.files || typeof manifest.files !== 'object') {
    throw new SnapshotInvalid(dir, 'manifest.json lacks the pid or the file list');
  }
  const present = new Set(walk(dir).filter((p) => p !== MANIFEST));
  for (const [path, entry] of Object.entries(manifest.files)) {
    if (!present.has(path)) throw new SnapshotInvalid(dir, `${path} is listed in manifest.json but missing`);
    present.delete(path);
    const p = join(dir, ...path.split('/'));
    const st = lstatSync(p);
    let actual: string;
    if (entry.symlink !== undefined) {
      if (!st.isSymbolicLink()) throw new SnapshotInvalid(dir, `${path} should be a symlink`);
      const target = readlinkSync(p);
      actual = target === entry.symlink ? sha256(target) : '';
    } else {
      if (!st.isFile()) throw new SnapshotInvalid(dir, `${path} should be a regular file`);
      actual = sha256(readFileSync(p));
    }
    if (actual !== entry.sha256) throw new SnapshotInvalid(dir, `${path} does not match its sha256 in manifest.json: the bundle was modified or is corrupt`);
  }
  const extra = [...present];
  if (extra.length) throw new SnapshotInvalid(dir, `${extra[0]} is not listed in manifest.json: the bundle was modified${extra.length > 1 ? ` (${extra.length} such files)` : ''}`);
  let denied = new Set<string>();
  if (manifest.files[DENIED]) {
    try {
      denied = new Set(JSON.parse(readFileSync(join(dir, DENIED), 'utf8')) as string[]);
    } catch {
      throw new SnapshotInvalid(dir, `${DENIED} is not valid JSON`);
    }
  }
  return { manifest, denied };
}
