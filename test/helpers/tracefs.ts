import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { which } from './processes.js';

const TRACEFS = '/sys/kernel/tracing';

/**
 * Why `proctriage trace` cannot run here, or undefined. The kernel's tracing file system is
 * mounted for the tests if this machine has not (root only); `release()` unmounts what was mounted.
 */
export function traceReady(): { unavailable?: string; release(): void } {
  if (process.getuid?.() !== 0) return { unavailable: 'needs root', release: () => undefined };
  if (!which('bpftrace')) return { unavailable: 'bpftrace is not installed (apt-get install bpftrace)', release: () => undefined };
  let mounted = false;
  if (!existsSync(`${TRACEFS}/events`)) mounted = spawnSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS]).status === 0;
  if (!existsSync(`${TRACEFS}/events`)) return { unavailable: `tracefs cannot be mounted at ${TRACEFS}`, release: () => undefined };
  return {
    release: () => {
      if (mounted) spawnSync('umount', [TRACEFS]);
    },
  };
}
