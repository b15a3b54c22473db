import type { Probe } from '../src/engine/probe.js';
import { statusNumber } from '../src/procfs/proc-status.js';
import { identify } from '../src/engine/sources.js';

/** Identity, uptime, threads and context switches from /proc/PID/stat and status. */
export const probe: Probe = {
  meta: {
    id: 'process',
    description: 'uptime, threads and context switches (/proc/PID/stat, status)',
    runtime: 'any',
    core: true,
    timeoutMs: 2000,
    facts: {
      'process.uptimeSeconds': { unit: 'seconds', description: 'time since the process started' },
      threads: { unit: 'count', description: 'threads in the process' },
      'ctxSwitches.voluntary': { unit: 'count', description: 'voluntary context switches since start (waiting on I/O or locks)' },
      'ctxSwitches.involuntary': { unit: 'count', description: 'involuntary context switches since start (preempted: CPU contention)' },
    },
  },
  run({ sources }) {
    const id = identify(sources);
    const status = sources.status();
    const metrics: Record<string, number> = {
      'process.uptimeSeconds': id.uptimeSeconds,
      threads: sources.stat().numThreads,
    };
    const vol = statusNumber(status, 'voluntary_ctxt_switches');
    const invol = statusNumber(status, 'nonvoluntary_ctxt_switches');
    if (vol !== undefined) metrics['ctxSwitches.voluntary'] = vol;
    if (invol !== undefined) metrics['ctxSwitches.involuntary'] = invol;
    return { metrics };
  },
};
