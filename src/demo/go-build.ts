/**
 * Build a Go sample service from the source it ships as (a string in its module): write it to a
 * private temporary directory, `go build -trimpath` it there under a deadline, and keep the
 * binary in a cache directory of ours under the OS temp dir, keyed by a hash of the source and
 * the Go version, so a second demo starts at once. The binary is moved into the cache with one
 * rename: a concurrent build never sees half a file. A cache directory that is not ours alone
 * (another user's, a symlink, writable by others) is not used: the binary then lives in the
 * build directory, which goes when the service stops.
 *
 * Without a Go toolchain (or when the build fails) the result says why in a few words instead
 * of throwing: the demo shows the service as skipped and goes on.
 */
import type * as ChildProcesses from 'node:child_process';
import type * as Crypto from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// child_process and crypto only when a Go sample is built: this module is in every command's start chunk
const load = createRequire(import.meta.url);

export type GoBuild =
  /** `dir`, when set, holds the binary and is removed once the service has stopped */
  { bin: string; dir?: string } | { skipped: string };

const TOOLCHAIN = 'needs the Go toolchain to build it';

/** go commands running now, and the build directories in use: ended and removed by abandonBuilds(). */
const children = new Set<ChildProcesses.ChildProcess>();
const buildDirs = new Set<string>();

/** Last resort when the demo leaves mid-build (a signal): kill the go commands, remove their directories. Synchronous. */
export function abandonBuilds(): void {
  for (const c of children) c.kill('SIGKILL');
  for (const d of buildDirs) rmSync(d, { recursive: true, force: true });
}

/** The environment for the go command: local toolchain only, no network, no cgo (no C compiler needed). */
export function goBuildEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, GOTOOLCHAIN: 'local', GOFLAGS: '', GOPROXY: 'off', GO111MODULE: 'auto', CGO_ENABLED: '0' };
  // without a home directory the go command has nowhere for its caches
  if (!env.HOME || !existsSync(env.HOME)) {
    env.GOCACHE ??= join(tmpdir(), `proctriage-go-cache-${uid()}`);
    env.GOPATH ??= join(tmpdir(), `proctriage-go-path-${uid()}`);
  }
  return env;
}

/** Build `source` (one file, package main) as `name`, within `timeoutMs`. */
export async function buildGoService(
  name: string,
  source: string,
  o: { timeoutMs: number; env?: NodeJS.ProcessEnv; onBuilding?: () => void },
): Promise<GoBuild> {
  const env = goBuildEnv(o.env);
  const started = Date.now();
  const version = await run('go', ['version'], { env, timeoutMs: Math.min(o.timeoutMs, 15_000) });
  if ('error' in version) return { skipped: `${TOOLCHAIN}: ${version.missing ? 'not installed' : `go version failed (${version.error})`}` };
  const goVersion = /\bgo\d[\w.+-]*/.exec(version.stdout)?.[0] ?? version.stdout.trim();

  const key = (load('node:crypto') as typeof Crypto).createHash('sha256').update(source).update('\0').update(goVersion).digest('hex').slice(0, 16);
  const cache = privateDir(join(tmpdir(), `proctriage-go-${name}-${uid()}-${key}`));
  if (cache && existsSync(join(cache, name))) return { bin: join(cache, name) };

  const dir = mkdtempSync(join(tmpdir(), `proctriage-go-build-`)); // mode 0700
  buildDirs.add(dir);
  try {
    writeFileSync(join(dir, 'main.go'), source, { mode: 0o600 });
    o.onBuilding?.();
    const left = o.timeoutMs - (Date.now() - started);
    const built = await run('go', ['build', '-trimpath', '-o', name, 'main.go'], { env, cwd: dir, timeoutMs: left });
    if ('error' in built) {
      rmSync(dir, { recursive: true, force: true });
      if (built.missing) return { skipped: `${TOOLCHAIN}: not installed` };
      if (built.timedOut) return { skipped: `go build did not finish within ${Math.round(o.timeoutMs / 1000)} s` };
      return { skipped: `go build failed: ${built.error}` };
    }
    rmSync(join(dir, 'main.go'), { force: true });
    if (!cache) return { bin: join(dir, name), dir }; // the service's own directory from here on
    renameSync(join(dir, name), join(cache, name)); // atomic: the same file system
    rmSync(dir, { recursive: true, force: true });
    return { bin: join(cache, name) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { skipped: `could not build it: ${(err as Error).message}` };
  } finally {
    buildDirs.delete(dir);
  }
}

/** `path` as a directory of ours alone (created 0700 if absent), or undefined when it is not one. */
function privateDir(path: string): string | undefined {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  try {
    const st = lstatSync(path);
    const mine = process.getuid === undefined || st.uid === process.getuid();
    return st.isDirectory() && mine && (st.mode & 0o077) === 0 ? path : undefined;
  } catch {
    return undefined;
  }
}

function uid(): string {
  return process.getuid ? String(process.getuid()) : 'user';
}

type Ran = { stdout: string } | { error: string; missing?: boolean; timedOut?: boolean };

/** Run a command to completion within a deadline (killed past it); its first error line, not a stack. */
function run(command: string, args: string[], o: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<Ran> {
  const { execFile } = load('node:child_process') as typeof ChildProcesses;
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { env: o.env, cwd: o.cwd, timeout: Math.max(1, o.timeoutMs), killSignal: 'SIGKILL', maxBuffer: 1 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        children.delete(child);
        if (!err) return resolve({ stdout });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
        if (e.code === 'ENOENT') return resolve({ error: 'not installed', missing: true });
        if (e.killed || e.signal === 'SIGKILL') return resolve({ error: 'timed out', timedOut: true });
        const line = stderr.split('\n').find((l) => l.trim() && !l.startsWith('#')) ?? e.message;
        resolve({ error: line.trim().slice(0, 200) });
      },
    );
    children.add(child);
  });
}
