import type { Probe, ProbeContext, ProbeOutput } from '../src/engine/probe.js';
import { cgroupAtNamespaceRoot } from '../src/procfs/container.js';
import { ancestors, parseCpuMax, type CgroupDir } from '../src/procfs/cgroup.js';
import { cgroupFileReaders, minOver, readCgroupMemory } from '../src/procfs/cgroup-memory.js';
import type { OomKill } from '../src/procfs/kmsg.js';
import { CLK_TCK } from '../src/engine/sources.js';

/**
 * The TARGET's cgroup (not ours), v2 or v1, resolved from /proc/PID/cgroup and our mountinfo.
 * A limit set on an ancestor applies to the whole subtree, so limits are the minimum over
 * ancestors and usage / OOM kills are read where the effective limit is set.
 */
export const probe: Probe = {
  meta: {
    id: 'cgroup',
    description: "memory limit/usage/OOM kills, pids, CPU quota and throttling of the target's cgroup (v1 and v2)",
    runtime: 'any',
    // an unreadable cgroup hides the memory limit: the verdict cannot be "ok"
    core: true,
    timeoutMs: 2000,
    facts: {
      'cgroup.memory.limit': { unit: 'bytes', description: 'effective memory limit (minimum over ancestors; absent when unlimited)' },
      'cgroup.memory.usage': { unit: 'bytes', description: 'memory charged to the limited cgroup, page cache included' },
      'cgroup.memory.unreclaimable': {
        unit: 'bytes',
        description: 'what the kernel cannot drop to stay under the limit: usage minus page cache (tmpfs and shared memory stay) and reclaimable slab',
      },
      'cgroup.memory.pageCache': { unit: 'bytes', description: 'page cache charged to the cgroup that the kernel can drop before it OOM-kills' },
      'cgroup.memory.workingSet': { unit: 'bytes', description: 'usage minus inactive file cache (the Kubernetes working set: active page cache included)' },
      'cgroup.memory.high': { unit: 'bytes', description: 'v2 memory.high throttling threshold (absent when unset)' },
      'cgroup.memory.utilization': { unit: 'ratio', description: 'unreclaimable memory / limit' },
      'cgroup.memory.oomKills': { unit: 'count', description: 'processes OOM-killed in the cgroup since it was created' },
      'cgroup.memory.oomKillsDated': {
        unit: 'count',
        description: 'those OOM kills found in the kernel log, with their time (absent where the log is not readable)',
      },
      'cgroup.memory.oomKillsSinceStart': {
        unit: 'count',
        description: 'OOM kills in the cgroup after the target started (absent where the log is not readable)',
      },
      'cgroup.memory.lastOomKillAgoSeconds': { unit: 'seconds', description: 'time since the last OOM kill in the kernel log' },
      'cgroup.memory.events.high': { unit: 'count', description: 'times usage went over memory.high (v2)' },
      'cgroup.memory.events.max': { unit: 'count', description: 'times usage hit the limit (v2 events max, v1 failcnt)' },
      'cgroup.pids.current': { unit: 'count', description: 'tasks (threads) in the cgroup' },
      'cgroup.pids.limit': { unit: 'count', description: 'pids.max (absent when unlimited)' },
      'cgroup.cpu.quotaCores': { unit: 'cores', description: 'CPU quota in cores (absent when unlimited)' },
      'cgroup.cpu.throttledRatio': { unit: 'ratio', description: 'share of CPU periods in which the cgroup was throttled' },
    },
    evidence: {
      'cgroup.path': 'the cgroup directory of the target (memory controller, or unified)',
      'cgroup.version': '1, 2 or hybrid',
      'cgroup.memory.limitSource': 'the directory whose limit is in force',
      'cgroup.memory.accounting':
        'the files the memory usage was read from (v2: memory.max, .current, .events, .stat; v1: memory.limit_in_bytes, .usage_in_bytes, .failcnt, .oom_control, .stat)',
      'cgroup.cpu.statFile': 'the cpu.stat the throttling was read from (v1 cpu controller, or unified)',
      'cgroup.memory.lastOomKill': 'the last OOM kill of the cgroup in the kernel log: {at, agoSeconds, victim, pid, beforeTargetStarted}',
    },
  },
  run({ proc, pid, sources }) {
    const { dirs, memDir, metrics, evidence, unknowns } = readCgroupMemory(proc, pid);
    const out: ProbeOutput = { metrics, evidence, ...(unknowns.length ? { unknowns } : {}) };
    const { num, kv } = cgroupFileReaders(proc);

    if (memDir && (metrics['cgroup.memory.oomKills'] ?? 0) > 0) {
      const started = sources.stat().starttimeTicks / CLK_TCK;
      datedOomKills(
        sources.host.oomKills(),
        memDir,
        evidence['cgroup.memory.limitSource'] as string | undefined,
        started,
        sources.host.uptime(),
        metrics,
        evidence,
        out,
      );
    }

    const pids = dirs.v1.pids ?? (dirs.v2 && proc.readHostOptional(dirs.v2.dir + '/pids.max') !== undefined ? dirs.v2 : undefined);
    if (pids) {
      const { value, source } = minOver(ancestors(pids), (d) => num(d + '/pids.max'));
      if (Number.isFinite(value)) metrics['cgroup.pids.limit'] = value;
      const cur = num(source + '/pids.current');
      if (cur !== undefined) metrics['cgroup.pids.current'] = cur;
    }

    const cpu = dirs.v1.cpu;
    if (cpu) {
      const { value } = minOver(ancestors(cpu), (d) => {
        const q = num(d + '/cpu.cfs_quota_us'),
          p = num(d + '/cpu.cfs_period_us');
        return q === undefined || p === undefined || !Number.isFinite(q) ? undefined : q / p;
      });
      if (Number.isFinite(value)) metrics['cgroup.cpu.quotaCores'] = value;
      throttled(kv(cpu.dir + '/cpu.stat'), metrics);
      evidence['cgroup.cpu.statFile'] = cpu.dir + '/cpu.stat';
    } else if (dirs.v2) {
      const { value } = minOver(ancestors(dirs.v2), (d) => {
        const t = proc.readHostOptional(d + '/cpu.max');
        return t === undefined ? undefined : parseCpuMax(t, d + '/cpu.max');
      });
      if (Number.isFinite(value)) metrics['cgroup.cpu.quotaCores'] = value;
      throttled(kv(dirs.v2.dir + '/cpu.stat'), metrics);
      evidence['cgroup.cpu.statFile'] = dirs.v2.dir + '/cpu.stat';
    }
    evidence['cgroup.path'] = (dirs.v1.memory ?? dirs.v2)?.dir;
    const hidden = hiddenContainer(proc, pid);
    if (hidden)
      (out.unknowns ??= []).push({
        metric: 'container',
        probe: 'cgroup',
        code: 'container.cgroupNamespace',
        args: { other: hidden },
        hint: 'container.hint.hostRoot',
      });
    return out;
  },
};

/**
 * Date the cgroup's OOM kills from the kernel log. A kill belongs to this cgroup when its victim
 * was in it or the limit hit was this cgroup's (or the ancestor's that sets the limit). Kills
 * before the target started are history: the finding then says so instead of "exit 2, restart".
 */
function datedOomKills(
  kills: OomKill[] | undefined,
  d: CgroupDir,
  limitSource: string | undefined,
  startedAt: number,
  uptime: number,
  m: Record<string, number>,
  ev: Record<string, unknown>,
  out: ProbeOutput,
) {
  if (!kills) {
    (out.unknowns ??= []).push({ metric: 'cgroup.memory.oomKillsSinceStart', probe: 'cgroup', code: 'cgroup.kmsgUnreadable', hint: 'hint.rootForKmsg' });
    return;
  }
  const rel = (dir: string) => dir.slice(d.mountPoint.length) || '/';
  const paths = new Set([rel(d.dir), ...(limitSource ? [rel(limitSource)] : [])]);
  const ours = kills.filter((k) => (k.taskMemcg && paths.has(k.taskMemcg)) || (k.oomMemcg && paths.has(k.oomMemcg)));
  m['cgroup.memory.oomKillsDated'] = ours.length;
  // the start time is whole clock ticks, rounded down: a kill in the tick the target started in
  // came before it (the restart that followed the kill), so "after" means a tick later
  const after = (k: OomKill) => k.at >= startedAt + 1 / CLK_TCK;
  m['cgroup.memory.oomKillsSinceStart'] = ours.filter(after).length;
  const last = ours[ours.length - 1];
  if (!last) return;
  const ago = Math.max(0, Math.round(uptime - last.at));
  m['cgroup.memory.lastOomKillAgoSeconds'] = ago;
  ev['cgroup.memory.lastOomKill'] = {
    at: new Date(Date.now() - ago * 1000).toISOString(),
    agoSeconds: ago,
    victim: last.task,
    pid: last.pid,
    beforeTargetStarted: !after(last),
  };
}

/**
 * A process whose cgroup paths all read "/" names no container; if it still runs in another root
 * or cgroup namespace than ours, the "/" is the root of the namespace we read from (an ephemeral
 * debug container sees its target so), not a host without containers. What differs, or undefined.
 */
function hiddenContainer(proc: ProbeContext['proc'], pid: number): string | undefined {
  if (!proc.live || proc.hostRooted) return undefined;
  let text: string;
  try {
    text = proc.read(pid, 'cgroup');
  } catch {
    return undefined;
  }
  if (!cgroupAtNamespaceRoot(text)) return undefined;
  const otherRoot = proc.sameRoot(pid) === false;
  const otherNs = proc.sameCgroupNamespace(pid) === false;
  if (otherRoot && otherNs) return 'a root directory and a cgroup namespace';
  return otherRoot ? 'a root directory' : otherNs ? 'a cgroup namespace' : undefined;
}

function throttled(stat: Record<string, number> | undefined, m: Record<string, number>) {
  if (stat?.nr_periods) m['cgroup.cpu.throttledRatio'] = (stat.nr_throttled ?? 0) / stat.nr_periods;
}

/** Minimum of a per-directory value over directories (nearest first) and the directory that sets it. */
