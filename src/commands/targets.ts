import { createRequire } from 'node:module';
import type * as Re2 from 're2js';
import { ProcFs } from '../procfs/procfs.js';
import { parseCmdline } from '../procfs/proc-cmdline.js';
import { parseProcStat, PF_KTHREAD } from '../procfs/proc-stat.js';
import { UsageError } from '../errors.js';
import { clean } from '../engine/redact.js';
import { parsePid } from './options.js';

/** PIDs from the arguments, or every process whose comm or command line matches --name. */
export function resolveTargets(proc: ProcFs, pids: string[], name?: string): number[] {
  if (name !== undefined) {
    if (pids.length) throw new UsageError('give PIDs or --name, not both');
    const re = compile(name);
    const self = ancestry(proc);
    const found = proc.pids().filter((pid) => !self.has(pid) && matches(proc, pid, re));
    if (!found.length) throw new UsageError(`no process matches --name "${clean(name)}"`);
    return found;
  }
  if (!pids.length) throw new UsageError('give at least one PID (or --name <pattern>)', 'try: proctriage demo');
  return [...new Set(pids.map(parsePid))];
}

/** Our own process and its ancestors (npx, the shell): never targets of --name. */
function ancestry(proc: ProcFs): Set<number> {
  const out = new Set<number>();
  for (let pid = proc.selfPid() ?? 0; pid > 1 && !out.has(pid);) {
    out.add(pid);
    try {
      pid = parseProcStat(proc.read(pid, 'stat')).ppid;
    } catch {
      break;
    }
  }
  return out;
}

interface Matcher {
  test(s: string): boolean;
}

/**
 * The user's pattern runs over command lines any local user can set, so it runs on RE2
 * (re2js, pure JavaScript, ~10 ms to load, only here): linear time, no backtracking, so
 * `(a+)+$` over "aaaa…!" answers at once. RE2 has no lookaround or backreferences.
 */
function compile(name: string): Matcher {
  const { RE2JS } = createRequire(import.meta.url)('re2js') as typeof Re2;
  let re: Re2.RE2JS;
  try {
    re = RE2JS.compile(name);
  } catch (err) {
    const why = String((err as Error)?.message ?? err).replace(/^error parsing regexp: /, '');
    throw new UsageError(
      clean(`--name "${name}" is not a pattern proctriage can use: ${why}`),
      'RE2 syntax: no lookaround (?=…) (?<=…) and no backreferences \\1',
    );
  }
  return { test: (s) => re.matcher(s).find() };
}

/** Command lines are matched on their first MAX_NAME_SCAN characters (argv can be 2 MiB). */
const MAX_NAME_SCAN = 64 * 1024;

function matches(proc: ProcFs, pid: number, re: Matcher): boolean {
  try {
    const stat = parseProcStat(proc.read(pid, 'stat'));
    if (stat.flags & PF_KTHREAD || stat.state === 'Z') return false;
    return re.test(stat.comm) || re.test(parseCmdline(proc.readBuffer(pid, 'cmdline')).join(' ').slice(0, MAX_NAME_SCAN));
  } catch {
    return false; // gone or unreadable
  }
}
