/**
 * Shared by the time-* and verdict-* end-to-end tests: start real misbehaving Node children
 * (through processes.ts, so they are ended whatever happens), put a child in a memory cgroup of
 * its own when the machine allows.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { parseMountinfo, parseProcCgroup, resolveCgroupDirs } from '../../src/procfs/cgroup.js';
import { spawnTracked, type Spawned } from './processes.js';

export type Child = Spawned;

/**
 * Start `node -e code` through sh (for ulimit and the cgroup move, which must happen before the
 * child allocates), wait for it to print "ready". The child's pid is the node process itself;
 * it is tracked by processes.ts (cleanup() ends it) and stopped with SIGKILL.
 */
export function startChild(
  code: string,
  o: { args?: string[]; env?: Record<string, string>; fdLimit?: number; cgroupProcs?: string; nodeFlags?: string[] } = {},
): Promise<Child> {
  const pre: string[] = [];
  if (o.fdLimit) pre.push(`ulimit -n ${o.fdLimit}`);
  if (o.cgroupProcs) pre.push(`echo $$ > '${o.cgroupProcs}'`);
  const script = `${pre.join(' && ')}${pre.length ? ' && ' : ''}exec "$0" "$@"`;
  const argv = ['-c', script, process.execPath, ...(o.nodeFlags ?? []), '-e', code, ...(o.args?.length ? ['--', ...o.args] : [])];
  const child = spawnTracked('/bin/sh', argv, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...o.env }, stopSignal: 'SIGKILL' });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void child.stop();
      reject(new Error('child did not start within 5 s'));
    }, 5000);
    let out = '';
    child.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.child.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`child exited early (${c})`));
    });
  });
}

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
            while (Date.now() < until) {
              /* bounded wait */
            }
          }
        }
      },
    };
  } catch {
    return undefined;
  }
}

/** A child that leaks one fd every 250 ms (4 per second, 14 400 per hour). */
/** Leaks one fd every 250 ms; at its limit it goes on running with its opens failing, as a leaking server does. */
export const FD_LEAK = `const fs=require('fs');const held=[];setInterval(()=>{try{held.push(fs.openSync('/dev/null','r'))}catch{}},250);console.log('ready')`;
/**
 * A child that does some work but holds its resources steady. It first churns through its young
 * generation so V8 has committed those pages: a fresh Node process otherwise gains RSS page by
 * page for minutes.
 */
export const STEADY = `for(let i=0;i<3e5;i++)JSON.stringify({a:[i,2,3],b:'x'.repeat(50)});setInterval(()=>JSON.stringify({a:[1,2,3]}),50);console.log('ready')`;
/** GC-style memory: allocate 4 MiB every 100 ms, free it all every 0.9 s (run with --expose-gc). */
export const SAWTOOTH = `const b=[];setInterval(()=>{if(b.length>=8){b.length=0;global.gc()}else b.push(Buffer.alloc(4<<20,1))},100);console.log('ready')`;
