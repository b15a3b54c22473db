/** Run options from the CLI's: diagnose, watch, capture and analyze build them here. */
import type { ProcFs } from '../procfs/procfs.js';
import type { RunOptions } from '../engine/runner.js';
import type { Playbook } from '../engine/playbook-schema.js';
import { PROBES } from '../../probes/index.js';
import { parseDuration } from './options.js';
import { VERSION } from '../version.js';
import type { InternalError } from '../errors.js';

export interface TargetCliOptions {
  inspect?: string;
  activateInspector?: boolean;
  allowRemote?: boolean;
  trustPeer?: boolean;
  pprof?: string;
  /** commander's --no-discover */
  discover?: boolean;
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
      inspect: o.inspect,
      activateInspector: o.activateInspector,
      allowRemote: o.allowRemote,
      trustPeer: o.trustPeer,
      pprof: o.pprof,
      discover: o.discover !== false,
      heapSnapshot: o.heapSnapshot,
      report: o.report,
      force: o.force,
      overwrite: o.overwrite,
      // proctriage's own connections, shared by every sample of a watch: never counted as the target's
      ownEndpoints: new Set(),
      ...(notify ? { notify } : {}),
    },
    timeoutMs: parseDuration(o.timeout ?? '10s', '--timeout'),
    redact: o.redact !== false,
    version: VERSION,
    onInternalError: showInternalError,
  };
}

/** A bug's stack goes to stderr under PROCTRIAGE_DEBUG=1; the report says it in one line either way. */
export function showInternalError(err: InternalError): void {
  if (!process.env.PROCTRIAGE_DEBUG) return;
  const stack = err.cause instanceof Error ? err.cause.stack : String(err.cause);
  process.stderr.write(`proctriage: ${err.message} (PROCTRIAGE_DEBUG)\n${stack}\n`);
}
