/**
 * The memory of a target's cgroup, v2 or v1: the effective limit (minimum over ancestors) and
 * the usage where it is set. Read by the cgroup probe for its facts, and by the node probe for
 * a heap snapshot's headroom, from the same files with the same rules.
 */
import type { ProcFs } from './procfs.js';
import { ancestors, parseKeyValues, parseLimitValue, parseMountinfo, parseProcCgroup, resolveCgroupDirs, type CgroupDir } from './cgroup.js';

export interface CgroupMemory {
  dirs: ReturnType<typeof resolveCgroupDirs>;
  /** the directory of the memory controller, when there is one */
  memDir?: CgroupDir;
  metrics: Record<string, number>;
  evidence: Record<string, unknown>;
  unknowns: { metric: string; code: 'cgroup.noMemoryController' }[];
}

export function readCgroupMemory(proc: ProcFs, pid: number): CgroupMemory {
  const lines = parseProcCgroup(proc.read(pid, 'cgroup'));
  const dirs = resolveCgroupDirs(lines, parseMountinfo(proc.read('self', 'mountinfo')));
  const metrics: Record<string, number> = {};
  const evidence: Record<string, unknown> = { 'cgroup.version': String(dirs.version) };
  const unknowns: CgroupMemory['unknowns'] = [];
  const { num, kv } = cgroupFileReaders(proc);

  const v2mem = dirs.v2 && proc.readHostOptional(dirs.v2.dir + '/memory.max') !== undefined;
  const memDir = v2mem ? dirs.v2 : dirs.v1.memory;
  if (v2mem && dirs.v2) memoryV2(dirs.v2, metrics, evidence, num, kv);
  else if (dirs.v1.memory) memoryV1(dirs.v1.memory, metrics, evidence, num, kv);
  else unknowns.push({ metric: 'cgroup.memory.limit', code: 'cgroup.noMemoryController' });
  return { dirs, ...(memDir ? { memDir } : {}), metrics, evidence, unknowns };
}

type Num = (path: string) => number | undefined;
type Kv = (path: string) => Record<string, number> | undefined;

/** Readers of one cgroup file, undefined when it is absent: a single value ("max" or a number), or key-value lines. */
export function cgroupFileReaders(proc: ProcFs): { num: Num; kv: Kv } {
  return {
    num: (path) => {
      const t = proc.readHostOptional(path);
      return t === undefined ? undefined : parseLimitValue(t, path);
    },
    kv: (path) => {
      const t = proc.readHostOptional(path);
      return t === undefined ? undefined : parseKeyValues(t, path);
    },
  };
}

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
  ev['cgroup.memory.accounting'] = ['memory.max', 'memory.current', 'memory.events', 'memory.stat'].map((f) => `${at}/${f}`);
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
    file: atStat?.total_cache ?? atStat?.cache,
    shmem: atStat?.total_shmem ?? atStat?.shmem,
    inactiveFile: atStat?.total_inactive_file ?? atStat?.inactive_file,
  });
  const oomKills = [d.dir, at].map((dir) => kv(dir + '/memory.oom_control')?.oom_kill ?? 0);
  m['cgroup.memory.oomKills'] = Math.max(...oomKills);
  m['cgroup.memory.events.max'] = num(at + '/memory.failcnt') ?? 0;
  if (found) ev['cgroup.memory.limitSource'] = at;
  ev['cgroup.memory.accounting'] = ['memory.limit_in_bytes', 'memory.usage_in_bytes', 'memory.failcnt', 'memory.oom_control', 'memory.stat'].map(
    (f) => `${at}/${f}`,
  );
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

/** The smallest value over a cgroup and its ancestors, and the cgroup that sets it (the first one when none does). */
export function minOver(dirs: readonly [string, ...string[]], read: (dir: string) => number | undefined): { value: number; source: string } {
  let value = Infinity,
    source = dirs[0];
  for (const dir of dirs) {
    const v = read(dir);
    if (v !== undefined && v < value) {
      value = v;
      source = dir;
    }
  }
  return { value, source };
}
