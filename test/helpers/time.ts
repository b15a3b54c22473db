/**
 * Shared by the time-* end-to-end tests: run the built CLI, start real misbehaving children
 * (ended whatever happens), put a child in a memory cgroup of its own when the machine allows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseMountinfo, parseProcCgroup, resolveCgroupDirs } from '../../src/procfs/cgroup.js';

export const CLI = fileURLToPath(new URL('../../../bin/proctriage.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI; killed after `timeoutMs` (a hung CLI fails the test, it never hangs it). */
export function runCli(args: string[], opts: { timeoutMs?: number; sigintAfterMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...opts.env } });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const kill = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    const int = opts.sigintAfterMs !== undefined ? setTimeout(() => p.kill('SIGINT'), opts.sigintAfterMs) : undefined;
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(kill);
      if (int) clearTimeout(int);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Child {
  pid: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

const children = new Set<Child>();

/**
 * Start `node -e code` through sh (for ulimit and the cgroup move, which must happen before the
 * child allocates), wait for it to print "ready". The child's pid is the node process itself.
 */
export function startChild(code: string, o: { args?: string[]; env?: Record<string, string>; fdLimit?: number; cgroupProcs?: string; nodeFlags?: string[] } = {}): Promise<Child> {
  const pre: string[] = [];
  if (o.fdLimit) pre.push(`ulimit -n ${o.fdLimit}`);
  if (o.cgroupProcs) pre.push(`echo $$ > '${o.cgroupProcs}'`);
  const script = `${pre.join(' && ')}${pre.length ? ' && ' : ''}exec "$0" "$@"`;
  const argv = ['-c', script, process.execPath, ...(o.nodeFlags ?? []), '-e', code, ...(o.args?.length ? ['--', ...o.args] : [])];
  const proc = spawn('/bin/sh', argv, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...o.env } });
  const child: Child = {
    pid: proc.pid!,
    proc,
    stop: () => new Promise((resolve) => {
      children.delete(child);
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    }),
  };
  children.add(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void child.stop(); reject(new Error('child did not start within 5 s')); }, 5000);
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready')) { clearTimeout(timer); resolve(child); }
    });
    proc.once('exit', (c) => { clearTimeout(timer); reject(new Error(`child exited early (${c})`)); });
  });
}

/** End every child still running (call from after()). */
export async function stopChildren(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A memory cgroup below our own with `limit` bytes, or undefined when this machine does not let
 * us make one (not root, no memory controller). v1 and v2.
 */
export function memoryCgroup(name: string, limit: number): { procs: string; remove(): void } | undefined {
  try {
    const dirs = resolveCgroupDirs(parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')), parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')));
    const v1 = dirs.v1.memory?.dir;
    const base = v1 ?? dirs.v2?.dir;
    if (!base) return undefined;
    const dir = `${base}/${name}-${process.pid}`;
    mkdirSync(dir);
    try {
      writeFileSync(`${dir}/${v1 ? 'memory.limit_in_bytes' : 'memory.max'}`, String(limit));
    } catch {
      rmdirSync(dir);
      return undefined;
    }
    return {
      procs: `${dir}/cgroup.procs`,
      remove() {
        for (let i = 0; i < 20; i++) {
          try {
            rmdirSync(dir);
            return;
          } catch {
            // the killed child may take a moment to leave the cgroup
            const until = Date.now() + 50;
            while (Date.now() < until) { /* bounded wait */ }
          }
        }
      },
    };
  } catch {
    return undefined;
  }
}

/** A child that leaks one fd every 250 ms (4 per second, 14 400 per hour). */
export const FD_LEAK = `const fs=require('fs');const held=[];setInterval(()=>held.push(fs.openSync('/dev/null','r')),250);console.log('ready')`;
/**
 * A child that does some work but holds its resources steady. It first churns through its young
 * generation so V8 has committed those pages: a fresh Node process otherwise gains RSS page by
 * page for minutes.
 */
export const STEADY = `for(let i=0;i<3e5;i++)JSON.stringify({a:[i,2,3],b:'x'.repeat(50)});setInterval(()=>JSON.stringify({a:[1,2,3]}),50);console.log('ready')`;
/** GC-style memory: allocate 4 MiB every 100 ms, free it all every 0.9 s (run with --expose-gc). */
export const SAWTOOTH = `const b=[];setInterval(()=>{if(b.length>=8){b.length=0;global.gc()}else b.push(Buffer.alloc(4<<20,1))},100);console.log('ready')`;
