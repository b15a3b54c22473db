import { ProcFs } from '../procfs/procfs.js';
import { parseCmdline } from '../procfs/proc-cmdline.js';
import { parseProcStat, PF_KTHREAD } from '../procfs/proc-stat.js';
import { UsageError } from '../errors.js';
import { parsePid } from './options.js';

/** PIDs from the arguments, or every process whose comm or command line matches --name. */
export function resolveTargets(proc: ProcFs, pids: string[], name?: string): number[] {
  if (name !== undefined) {
    if (pids.length) throw new UsageError('give PIDs or --name, not both');
    let re: RegExp;
    try {
      re = new RegExp(name);
    } catch {
      throw new UsageError(`--name "${name}" is not a valid regular expression`);
    }
    const self = ancestry(proc);
    const found = proc.pids().filter((pid) => !self.has(pid) && matches(proc, pid, re));
    if (!found.length) throw new UsageError(`no process matches --name "${name}"`);
    return found;
  }
  if (!pids.length) throw new UsageError('give at least one PID (or --name <pattern>)', 'try: proctriage demo');
  return [...new Set(pids.map(parsePid))];
}

/** Our own process and its ancestors (npx, the shell): never targets of --name. */
function ancestry(proc: ProcFs): Set<number> {
  const out = new Set<number>();
  for (let pid = process.pid; pid > 1 && !out.has(pid); ) {
    out.add(pid);
    try {
      pid = parseProcStat(proc.read(pid, 'stat')).ppid;
    } catch {
      break;
    }
  }
  return out;
}

function matches(proc: ProcFs, pid: number, re: RegExp): boolean {
  try {
    const stat = parseProcStat(proc.read(pid, 'stat'));
    if (stat.flags & PF_KTHREAD || stat.state === 'Z') return false;
    return re.test(stat.comm) || re.test(parseCmdline(proc.readBuffer(pid, 'cmdline')).join(' '));
  } catch {
    return false; // gone or unreadable
  }
}
