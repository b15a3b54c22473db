import type { Probe, ProbeOutput } from '../src/engine/probe.js';
import { foldFileName, type FdType } from '../src/procfs/fd.js';
import { parseProcLimits } from '../src/procfs/proc-limits.js';

const TYPES: FdType[] = ['file', 'socket', 'pipe', 'eventpoll', 'eventfd', 'inotify', 'timerfd', 'signalfd', 'device', 'other'];
const TOP = 5;

/** Open fds by type against RLIMIT_NOFILE, deleted-but-open files, regular files grouped by name pattern. */
export const probe: Probe = {
  meta: {
    id: 'fds',
    description: 'file descriptors by type, limits, deleted-but-open files, file name patterns (/proc/PID/fd, limits)',
    runtime: 'any',
    core: true,
    timeoutMs: 5000,
    facts: {
      'fd.open': { unit: 'count', description: 'open file descriptors' },
      'fd.limit': { unit: 'count', description: 'soft RLIMIT_NOFILE (absent when unlimited)' },
      'fd.limitHard': { unit: 'count', description: 'hard RLIMIT_NOFILE (absent when unlimited)' },
      'fd.limitRaiseTo': { unit: 'count', description: 'the hard limit, when it is above the soft one (room to raise it live)' },
      'fd.limitRaiseAsRootTo': { unit: 'count', description: 'twice the hard limit, when the soft one already equals it (only CAP_SYS_RESOURCE can raise it)' },
      'fd.utilization': { unit: 'ratio', description: 'open fds / soft limit' },
      ...Object.fromEntries(TYPES.map((t) => [`fd.byType.${t}`, { unit: 'count' as const, description: `open fds of type ${t}` }])),
      'fd.deleted': { unit: 'count', description: 'open fds on files that were deleted (disk space not freed)' },
      'fd.deletedBytes': { unit: 'bytes', description: 'total size of deleted-but-open files' },
      'fd.deletedMaxBytes': { unit: 'bytes', description: 'size of the largest deleted-but-open file' },
      'fd.filePattern.maxCount': { unit: 'count', description: 'open regular files in the largest group sharing a name pattern' },
      'fd.filePattern.datedMaxCount': { unit: 'count', description: 'the same, counting only patterns with a date in the name (rotation)' },
    },
    evidence: {
      'fd.deletedFiles': 'largest deleted-but-open files: {fd, path, bytes}',
      'fd.filePatterns': 'largest groups of open files sharing a name pattern: {pattern, count, example}',
    },
  },
  run({ sources, proc, pid }) {
    const limits = parseProcLimits(proc.read(pid, 'limits'))['Max open files'];
    const table = sources.fdTable();
    const byType = Object.fromEntries(TYPES.map((t) => [t, 0])) as Record<FdType, number>;
    const deleted: { fd: string; path: string; bytes?: number }[] = [];
    const groups = new Map<string, { count: number; example: string }>();
    // leaked fds often share one path: fold each distinct path once (three regexes each)
    const patternOf = new Map<string, string>();
    const unreadable = new Map<string, number>();
    for (const t of table) {
      byType[t.type]++;
      if (t.unreadable) unreadable.set(t.unreadable, (unreadable.get(t.unreadable) ?? 0) + 1);
      if (t.type !== 'file' || !t.path) continue;
      if (t.deleted) deleted.push({ fd: t.fd, path: t.path, bytes: proc.fdTargetSize(pid, t.fd) });
      let pattern = patternOf.get(t.path);
      if (pattern === undefined) patternOf.set(t.path, (pattern = foldFileName(t.path)));
      const g = groups.get(pattern);
      if (g) g.count++;
      else groups.set(pattern, { count: 1, example: t.path });
    }
    const metrics: Record<string, number> = { 'fd.open': table.length };
    if (limits && Number.isFinite(limits.soft)) {
      metrics['fd.limit'] = limits.soft;
      metrics['fd.utilization'] = limits.soft > 0 ? table.length / limits.soft : 1;
    }
    if (limits && Number.isFinite(limits.hard)) metrics['fd.limitHard'] = limits.hard;
    // the soft limit can be raised without privilege only up to the hard one
    if (limits && limits.hard > limits.soft && Number.isFinite(limits.hard)) metrics['fd.limitRaiseTo'] = limits.hard;
    // at the hard limit only a privileged raise of both is left; doubling buys time without a guess
    else if (limits && limits.hard === limits.soft && Number.isFinite(limits.hard)) metrics['fd.limitRaiseAsRootTo'] = limits.hard * 2;
    for (const t of TYPES) metrics[`fd.byType.${t}`] = byType[t];

    const sizes = deleted.map((d) => d.bytes).filter((b): b is number => b !== undefined);
    metrics['fd.deleted'] = deleted.length;
    // sizes are only reported when every one is known: a partial sum would read as the whole
    if (sizes.length === deleted.length) {
      metrics['fd.deletedBytes'] = sizes.reduce((a, b) => a + b, 0);
      metrics['fd.deletedMaxBytes'] = sizes.length ? Math.max(...sizes) : 0;
    }

    const patterns = [...groups.entries()].map(([pattern, g]) => ({ pattern, count: g.count, example: g.example })).sort((a, b) => b.count - a.count);
    metrics['fd.filePattern.maxCount'] = patterns[0]?.count ?? 0;
    metrics['fd.filePattern.datedMaxCount'] = patterns.find((p) => p.pattern.includes('<date>'))?.count ?? 0;

    const out: ProbeOutput = {
      metrics,
      evidence: {
        'fd.deletedFiles': deleted.sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0)).slice(0, TOP),
        'fd.filePatterns': patterns.filter((p) => p.count > 1).slice(0, TOP),
      },
    };
    out.unknowns = [];
    if (unreadable.size) {
      // the count and the limit still stand: only what those fds point at is unknown
      const n = [...unreadable.values()].reduce((a, b) => a + b, 0);
      const why = [...unreadable].map(([code, k]) => `${code}${unreadable.size > 1 ? ` ×${k}` : ''}`).join(', ');
      out.unknowns.push({ metric: 'fd.byType.other', code: 'fds.linksUnreadable', args: { count: n, why } });
    }
    if (!limits) out.unknowns.push({ metric: 'fd.limit', code: 'fds.noLimitLine' });
    if (sizes.length < deleted.length) {
      out.unknowns.push({ metric: 'fd.deletedBytes', code: 'fds.deletedSizesUnknown', args: { count: deleted.length - sizes.length } });
    }
    return out;
  },
};
