import type { Probe, ProbeOutput } from '../src/engine/probe.js';
import {
  ancestors, parseCpuMax, parseKeyValues, parseLimitValue, parseMountinfo, parseProcCgroup, resolveCgroupDirs,
  type CgroupDir,
} from '../src/procfs/cgroup.js';
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
      'cgroup.memory.unreclaimable': { unit: 'bytes', description: 'what the kernel cannot drop to stay under the limit: usage minus page cache (tmpfs and shared memory stay) and reclaimable slab' },
      'cgroup.memory.pageCache': { unit: 'bytes', description: 'page cache charged to the cgroup that the kernel can drop before it OOM-kills' },
      'cgroup.memory.workingSet': { unit: 'bytes', description: 'usage minus inactive file cache (the Kubernetes working set: active page cache included)' },
      'cgroup.memory.high': { unit: 'bytes', description: 'v2 memory.high throttling threshold (absent when unset)' },
      'cgroup.memory.utilization': { unit: 'ratio', description: 'unreclaimable memory / limit' },
      'cgroup.memory.oomKills': { unit: 'count', description: 'processes OOM-killed in the cgroup since it was created' },
      'cgroup.memory.oomKillsDated': { unit: 'count', description: "those OOM kills found in the kernel log, with their time (absent where the log is not readable)" },
      'cgroup.memory.oomKillsSinceStart': { unit: 'count', description: 'OOM kills in the cgroup after the target started (absent where the log is not readable)' },
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
      'cgroup.memory.lastOomKill': 'the last OOM kill of the cgroup in the kernel log: {at, agoSeconds, victim, pid, beforeTargetStarted}',
    },
  },
  run({ proc, pid, sources }) {
    const lines = parseProcCgroup(proc.read(pid, 'cgroup'));
    const dirs = resolveCgroupDirs(lines, parseMountinfo(proc.read('self', 'mountinfo')));
    const metrics: Record<string, number> = {};
    const evidence: Record<string, unknown> = { 'cgroup.version': String(dirs.version) };
    const out: ProbeOutput = { metrics, evidence };
    const num = (path: string) => { const t = proc.readHostOptional(path); return t === undefined ? undefined : parseLimitValue(t, path); };
    const kv = (path: string) => { const t = proc.readHostOptional(path); return t === undefined ? undefined : parseKeyValues(t, path); };

    const v2mem = dirs.v2 && proc.readHostOptional(dirs.v2.dir + '/memory.max') !== undefined;
    const memDir = v2mem ? dirs.v2 : dirs.v1.memory;
    if (v2mem && dirs.v2) memoryV2(dirs.v2, metrics, evidence, num, kv);
    else if (dirs.v1.memory) memoryV1(dirs.v1.memory, metrics, evidence, num, kv);
    else out.unknowns = [{ metric: 'cgroup.memory.limit', code: 'cgroup.noMemoryController' }];
    if (memDir && metrics['cgroup.memory.oomKills'] > 0) {
      const started = sources.stat().starttimeTicks / CLK_TCK;
      datedOomKills(sources.host.oomKills(), memDir, evidence['cgroup.memory.limitSource'] as string | undefined, started, sources.host.uptime(), metrics, evidence, out);
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
        const q = num(d + '/cpu.cfs_quota_us'), p = num(d + '/cpu.cfs_period_us');
        return q === undefined || p === undefined || !Number.isFinite(q) ? undefined : q / p;
      });
      if (Number.isFinite(value)) metrics['cgroup.cpu.quotaCores'] = value;
      throttled(kv(cpu.dir + '/cpu.stat'), metrics);
    } else if (dirs.v2) {
      const { value } = minOver(ancestors(dirs.v2), (d) => {
        const t = proc.readHostOptional(d + '/cpu.max');
        return t === undefined ? undefined : parseCpuMax(t, d + '/cpu.max');
      });
      if (Number.isFinite(value)) metrics['cgroup.cpu.quotaCores'] = value;
      throttled(kv(dirs.v2.dir + '/cpu.stat'), metrics);
    }
    evidence['cgroup.path'] = (dirs.v1.memory ?? dirs.v2)?.dir;
    return out;
  },
};

type Num = (path: string) => number | undefined;
type Kv = (path: string) => Record<string, number> | undefined;

function memoryV2(d: CgroupDir, m: Record<string, number>, ev: Record<string, unknown>, num: Num, kv: Kv) {
  const { value: limit, source } = minOver(ancestors(d), (dir) => num(dir + '/memory.max'));
  const { value: high } = minOver(ancestors(d), (dir) => num(dir + '/memory.high'));
  // where no limit is set, usage is read from the target's own cgroup
  const at = Number.isFinite(limit) ? source : d.dir;
  const usage = num(at + '/memory.current');
  const stat = kv(at + '/memory.stat');
  const events = kv(at + '/memory.events');
  const ownEvents = at === d.dir ? events : kv(d.dir + '/memory.events');
  usageMetrics(m, limit, usage, { file: stat?.file, shmem: stat?.shmem, inactiveFile: stat?.inactive_file, slabReclaimable: stat?.slab_reclaimable });
  if (Number.isFinite(high)) m['cgroup.memory.high'] = high;
  m['cgroup.memory.oomKills'] = Math.max(events?.oom_kill ?? 0, ownEvents?.oom_kill ?? 0);
  m['cgroup.memory.events.high'] = events?.high ?? 0;
  m['cgroup.memory.events.max'] = events?.max ?? 0;
  if (Number.isFinite(limit)) ev['cgroup.memory.limitSource'] = source;
}

function memoryV1(d: CgroupDir, m: Record<string, number>, ev: Record<string, unknown>, num: Num, kv: Kv) {
  // memory.stat's hierarchical_memory_limit is the effective limit; find which ancestor sets it
  const stat = kv(d.dir + '/memory.stat');
  const { value: walked, source } = minOver(ancestors(d), (dir) => num(dir + '/memory.limit_in_bytes'));
  const hier = stat?.hierarchical_memory_limit;
  const limit = hier !== undefined && hier < 2 ** 60 ? hier : walked;
  // a limit above the visible hierarchy (inside a container) has no directory we can name
  const found = Number.isFinite(limit) && limit === walked;
  const at = found ? source : d.dir;
  const atStat = at === d.dir ? stat : kv(at + '/memory.stat');
  usageMetrics(m, limit, num(at + '/memory.usage_in_bytes'), {
    file: atStat?.total_cache ?? atStat?.cache, shmem: atStat?.total_shmem ?? atStat?.shmem, inactiveFile: atStat?.total_inactive_file ?? atStat?.inactive_file,
  });
  const oomKills = [d.dir, at].map((dir) => kv(dir + '/memory.oom_control')?.oom_kill ?? 0);
  m['cgroup.memory.oomKills'] = Math.max(...oomKills);
  m['cgroup.memory.events.max'] = num(at + '/memory.failcnt') ?? 0;
  if (found) ev['cgroup.memory.limitSource'] = at;
}

/**
 * Usage split into what the kernel can drop (page cache: file pages less tmpfs/shared memory,
 * which have nowhere to go without swap) and what it cannot. Memory pressure is the latter
 * against the limit: a cgroup full of clean cache is not about to be OOM-killed.
 */
function usageMetrics(m: Record<string, number>, limit: number, usage: number | undefined, cache: PageCache) {
  if (Number.isFinite(limit)) m['cgroup.memory.limit'] = limit;
  if (usage === undefined) return;
  m['cgroup.memory.usage'] = usage;
  m['cgroup.memory.workingSet'] = Math.max(0, usage - (cache.inactiveFile ?? 0));
  const pageCache = cache.file === undefined ? undefined : Math.max(0, cache.file - (cache.shmem ?? 0));
  const unreclaimable = Math.max(0, usage - (pageCache ?? cache.inactiveFile ?? 0) - (cache.slabReclaimable ?? 0));
  if (pageCache !== undefined) m['cgroup.memory.pageCache'] = pageCache;
  m['cgroup.memory.unreclaimable'] = unreclaimable;
  if (Number.isFinite(limit) && limit > 0) m['cgroup.memory.utilization'] = unreclaimable / limit;
}

interface PageCache {
  file?: number;
  shmem?: number;
  inactiveFile?: number;
  slabReclaimable?: number;
}

/**
 * Date the cgroup's OOM kills from the kernel log. A kill belongs to this cgroup when its victim
 * was in it or the limit hit was this cgroup's (or the ancestor's that sets the limit). Kills
 * before the target started are history: the finding then says so instead of "exit 2, restart".
 */
function datedOomKills(kills: OomKill[] | undefined, d: CgroupDir, limitSource: string | undefined, startedAt: number, uptime: number,
  m: Record<string, number>, ev: Record<string, unknown>, out: ProbeOutput) {
  if (!kills) {
    (out.unknowns ??= []).push({ metric: 'cgroup.memory.oomKillsSinceStart', probe: 'cgroup', code: 'cgroup.kmsgUnreadable', hint: 'hint.rootForKmsg' });
    return;
  }
  const rel = (dir: string) => dir.slice(d.mountPoint.length) || '/';
  const paths = new Set([rel(d.dir), ...(limitSource ? [rel(limitSource)] : [])]);
  const ours = kills.filter((k) => (k.taskMemcg && paths.has(k.taskMemcg)) || (k.oomMemcg && paths.has(k.oomMemcg)));
  m['cgroup.memory.oomKillsDated'] = ours.length;
  m['cgroup.memory.oomKillsSinceStart'] = ours.filter((k) => k.at >= startedAt).length;
  const last = ours[ours.length - 1];
  if (!last) return;
  const ago = Math.max(0, Math.round(uptime - last.at));
  m['cgroup.memory.lastOomKillAgoSeconds'] = ago;
  ev['cgroup.memory.lastOomKill'] = {
    at: new Date(Date.now() - ago * 1000).toISOString(), agoSeconds: ago, victim: last.task, pid: last.pid, beforeTargetStarted: last.at < startedAt,
  };
}

function throttled(stat: Record<string, number> | undefined, m: Record<string, number>) {
  if (stat?.nr_periods) m['cgroup.cpu.throttledRatio'] = (stat.nr_throttled ?? 0) / stat.nr_periods;
}

/** Minimum of a per-directory value over directories (nearest first) and the directory that sets it. */
function minOver(dirs: string[], read: (dir: string) => number | undefined): { value: number; source: string } {
  let value = Infinity, source = dirs[0];
  for (const dir of dirs) {
    const v = read(dir);
    if (v !== undefined && v < value) { value = v; source = dir; }
  }
  return { value, source };
}
