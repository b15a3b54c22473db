import type { Probe, ProbeOutput } from '../src/engine/probe.js';
import { statusBytes } from '../src/procfs/proc-status.js';
import { say } from '../src/messages.js';
import { parseSmapsRollup } from '../src/procfs/smaps-rollup.js';
import { ProctriageError } from '../src/errors.js';

/** Resident, peak and swapped memory (/proc/PID/status), proportional set size (smaps_rollup). */
export const probe: Probe = {
  meta: {
    id: 'memory',
    description: 'RSS, peak RSS, swap (/proc/PID/status) and PSS (/proc/PID/smaps_rollup)',
    runtime: 'any',
    timeoutMs: 2000,
    facts: {
      'memory.rss': { unit: 'bytes', description: 'resident set size' },
      'memory.hwm': { unit: 'bytes', description: 'peak resident set size since start' },
      'memory.swap': { unit: 'bytes', description: 'memory swapped out' },
      'memory.rssAnon': { unit: 'bytes', description: 'resident anonymous memory (heap, stacks)' },
      'memory.rssFile': { unit: 'bytes', description: 'resident file-backed memory' },
      'memory.pss': { unit: 'bytes', description: 'proportional set size (shared pages divided among sharers)' },
    },
  },
  run({ sources, proc, pid }) {
    const status = sources.status();
    const metrics: Record<string, number> = {};
    const keys: [string, string][] = [
      ['memory.rss', 'VmRSS'],
      ['memory.hwm', 'VmHWM'],
      ['memory.swap', 'VmSwap'],
      ['memory.rssAnon', 'RssAnon'],
      ['memory.rssFile', 'RssFile'],
    ];
    for (const [metric, key] of keys) {
      const v = statusBytes(status, key);
      if (v !== undefined) metrics[metric] = v;
    }
    const out: ProbeOutput = { metrics };
    try {
      const pss = parseSmapsRollup(proc.read(pid, 'smaps_rollup')).Pss;
      if (pss !== undefined) metrics['memory.pss'] = pss;
    } catch (err) {
      if (!(err instanceof ProctriageError) || err.code !== 'ACCESS_DENIED') throw err;
      out.partial = say('memory.smapsPartial');
      out.unknowns = [{ metric: 'memory.pss', code: 'memory.smapsDenied', hint: 'hint.sameUser' }];
    }
    return out;
  },
};
