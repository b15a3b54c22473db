/** What watch, capture and analyze share: run options from the CLI options, and report assembly. */
import type { ProcFs } from '../procfs/procfs.js';
import type { RunOptions } from '../engine/runner.js';
import type { Playbook } from '../engine/playbook-schema.js';
import { EXIT, overallStatus, type Report, type TargetReport } from '../engine/report.js';
import { SCHEMA_VERSION } from '../engine/schema-version.js';
import { PROBES } from '../../probes/index.js';
import { parseDuration } from '../commands/options.js';
import { VERSION } from '../version.js';

export interface TargetCliOptions {
  inspect?: string;
  activateInspector?: boolean;
  allowRemote?: boolean;
  trustPeer?: boolean;
  pprof?: string;
  heapSnapshot?: string;
  report?: string;
  force?: boolean;
  overwrite?: boolean;
  timeout?: string;
  redact?: boolean;
}

/** The one builder of run options from the CLI's: every command that examines a target uses it. */
export function runOptions(o: TargetCliOptions, proc: ProcFs, playbook: Playbook, notify?: (line: string) => void): RunOptions {
  return {
    proc,
    playbook,
    probes: PROBES,
    probeOptions: {
      inspect: o.inspect, activateInspector: o.activateInspector, allowRemote: o.allowRemote, trustPeer: o.trustPeer, pprof: o.pprof,
      heapSnapshot: o.heapSnapshot, report: o.report, force: o.force, overwrite: o.overwrite,
      // proctriage's own connections, shared by every sample of a watch: never counted as the target's
      ownEndpoints: new Set(),
      ...(notify ? { notify } : {}),
    },
    timeoutMs: parseDuration(o.timeout ?? '10s', '--timeout'),
    redact: o.redact !== false,
    version: VERSION,
  };
}

/** A report around target reports built outside diagnose() (watch, analyze). */
export function assembleReport(targets: TargetReport[], opts: Pick<RunOptions, 'playbook' | 'redact' | 'version'>,
  host: Report['host'], capturedAt = new Date().toISOString()): Report {
  const status = overallStatus(targets.map((t) => t.status));
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'proctriage', version: opts.version },
    capturedAt,
    host,
    status,
    exitCode: EXIT[status],
    redacted: opts.redact,
    playbook: opts.playbook.name,
    targets,
  };
}
