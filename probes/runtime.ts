import { basename } from 'node:path';
import type { Probe, ProbeOutput } from '../src/engine/probe.js';
import { parseEnviron } from '../src/procfs/proc-cmdline.js';
import { say } from '../src/messages.js';
import { ProctriageError } from '../src/errors.js';
import { goBuildInfoOfPid, type GoBuildInfo } from '../src/go/buildinfo.js';
import type { TargetSources } from '../src/engine/sources.js';

/**
 * Which runtime runs the target, and the runtime memory settings from its command line and
 * environment. The environment is read for single keys only and never copied into the report.
 */
export const probe: Probe = {
  meta: {
    id: 'runtime',
    description: 'runtime (node, go, java, python) from exe/cmdline; heap and memory-limit settings from cmdline and environ',
    runtime: 'any',
    timeoutMs: 2000,
    facts: {
      runtime: { unit: 'string', description: 'node, go, java, python or unknown' },
      'node.maxOldSpaceSizeMb': { unit: 'count', description: '--max-old-space-size from the command line or NODE_OPTIONS (MB)' },
      'go.memLimitEnv': { unit: 'bytes', description: 'GOMEMLIMIT from the environment' },
    },
  },
  run({ sources }) {
    const out: ProbeOutput = { metrics: {} };
    const { runtime, argv, env } = identifyRuntime(sources);
    if (!env) {
      out.partial = say('runtime.environPartial');
      out.unknowns = [{ probe: 'runtime', code: 'runtime.environDenied', hint: 'hint.sameUser' }];
    }
    out.metrics.runtime = runtime;

    const nodeArgs = [...argv, ...(env?.NODE_OPTIONS?.split(/\s+/) ?? [])];
    const oldSpace = maxOldSpace(nodeArgs);
    if (runtime === 'node' && oldSpace !== undefined) out.metrics['node.maxOldSpaceSizeMb'] = oldSpace;
    const memLimit = env?.GOMEMLIMIT !== undefined ? parseGoBytes(env.GOMEMLIMIT) : undefined;
    if (memLimit !== undefined) out.metrics['go.memLimitEnv'] = memLimit;
    return out;
  },
};

export interface RuntimeIdentity {
  runtime: string;
  argv: string[];
  /** undefined when /proc/PID/environ is not readable */
  env?: Record<string, string>;
  /** Go build info of the executable (Go and unknown runtimes only) */
  build?: GoBuildInfo;
}

/**
 * The target's runtime, from exe, argv, comm, environment and Go build info: worked out once
 * per target and shared by the runtime, node and go probes. Unreadable parts (another user's
 * exe or environ) are simply not used.
 */
export function identifyRuntime(sources: TargetSources): RuntimeIdentity {
  return sources.once('runtime', () => {
    const { proc, pid } = sources;
    const tolerate = <T>(read: () => T): T | undefined => {
      try {
        return read();
      } catch (err) {
        if (err instanceof ProctriageError && err.code === 'ACCESS_DENIED') return undefined;
        throw err;
      }
    };
    const exe = tolerate(() => proc.readlinkOrGone(pid, 'exe')) ?? '';
    const env = tolerate(() => parseEnviron(proc.readBuffer(pid, 'environ')));
    const argv = tolerate(() => sources.cmdline()) ?? [];
    let runtime = detectRuntime(exe.replace(/ \(deleted\)$/, ''), argv, sources.stat().comm, env);
    // a Go binary carries build info ("\xff Go buildinf:") even when no GO* variable is set;
    // a recorded tree's exe link names a file of another host: never followed
    const build = proc.live && (runtime === 'unknown' || runtime === 'go') ? goBuildInfoOfPid(proc.procPath(pid, 'exe')) : undefined;
    if (build) runtime = 'go';
    return { runtime, argv, ...(env ? { env } : {}), ...(build ? { build } : {}) };
  });
}

function detectRuntime(exe: string, argv: string[], comm: string, env?: Record<string, string>): string {
  const names = [basename(exe), basename(argv[0] ?? ''), comm];
  if (names.some((n) => /^(node|nodejs)(\d+)?$/.test(n))) return 'node';
  if (names.some((n) => /^java$/.test(n))) return 'java';
  if (names.some((n) => /^python(\d(\.\d+)?)?$/.test(n))) return 'python';
  if (env && ('GOMEMLIMIT' in env || 'GOGC' in env || 'GOMAXPROCS' in env || 'GODEBUG' in env)) return 'go';
  return 'unknown';
}

/** The last --max-old-space-size wins, as in Node. */
function maxOldSpace(args: string[]): number | undefined {
  let v: number | undefined;
  for (const [i, arg] of args.entries()) {
    const m = /^--max[-_]old[-_]space[-_]size(?:=(\d+))?$/.exec(arg);
    if (!m) continue;
    const n = Number(m[1] ?? args[i + 1]);
    if (Number.isFinite(n)) v = n;
  }
  return v;
}

/** GOMEMLIMIT syntax: a byte count with optional B, KiB, MiB, GiB, TiB suffix; "off" = none. */
function parseGoBytes(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?\s*$/.exec(s);
  if (!m) return undefined;
  const mult: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };
  const unit = mult[m[2] ?? 'B'];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}
