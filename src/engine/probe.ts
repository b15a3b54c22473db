import type { ProcFs } from '../procfs/procfs.js';
import type { NodeOptions } from '../node/run.js';
import type { TargetSources } from './sources.js';
import type { Coded, MessageId } from '../messages.js';

export type MetricValue = number | string;
export type Metrics = Record<string, MetricValue>;

/** `multiple`: a value against a reference (a replica against its peers' median): 3.2 is "3.2×" */
export type Unit = 'count' | 'bytes' | 'ratio' | 'multiple' | 'seconds' | 'ms' | 'percent' | 'cores' | 'string';

/** A fact a probe may report: the metric key (part of the JSON contract), its unit and meaning. */
export interface FactSpec {
  unit: Unit;
  description: string;
}

export interface Unknown {
  metric?: string;
  probe?: string;
  reason: string;
  hint?: string;
}

/** What a probe returns as unknown: a coded reason and hint (words in src/messages.ts), or for the runtime probes still the sentence. */
export type ProbeUnknown = Unknown | ({ metric?: string; probe?: string; hint?: MessageId | Coded } & Coded);

export interface ProbeMeta {
  id: string;
  description: string;
  runtime: 'any' | 'node' | 'go';
  /** every metric key the probe may emit (keys ending in ".*" are families, e.g. fd.byType.*) */
  facts: Record<string, FactSpec>;
  /** evidence keys the probe may emit, with their meaning */
  evidence?: Record<string, string>;
  /** the probe's own deadline */
  timeoutMs: number;
  /** a failed core probe means the process could not really be examined (status unknown) */
  core?: boolean;
  /**
   * the options that ask for this probe explicitly (--inspect, --pprof): when one was given and
   * the probe yields nothing, the user's question went unanswered (status unknown)
   */
  requestedBy?: (keyof ProbeOptions)[];
  /**
   * keys the probe produces only when the verdict needs them, because they cost the target
   * something (a CPU profile, a forced GC): metrics (also in `facts`) that a rule level cannot be
   * decided without, and evidence keys (also in `evidence`) that a raised finding lists under
   * `attribution:`. The runner's follow-up phase calls followUp() with the missing ones.
   */
  onDemand?: string[];
}

/** Whether a metric key is one the probe declares (a family "x.*" covers every "x.…"). */
export function declares(meta: ProbeMeta, key: string): boolean {
  return Object.keys(meta.facts).some((f) => (f.endsWith('.*') ? key.startsWith(f.slice(0, -1)) : f === key));
}

/**
 * What the CLI asks of the probes. The Node.js options are declared where the node steps use them
 * (src/node/run.ts: the node layer may not import the engine); the rest are the Go probe's.
 */
export interface ProbeOptions extends NodeOptions {
  pprof?: string;
  /** false: do not ask the Go target's own loopback listeners for a pprof endpoint (--no-discover) */
  discover?: boolean;
}

export interface ProbeContext {
  pid: number;
  proc: ProcFs;
  sources: TargetSources;
  options: ProbeOptions;
  /** aborted when the probe's deadline passes: network probes must honour it */
  signal: AbortSignal;
  /** when the signal aborts (Date.now() clock): what a timed measurement (a CPU profile) must fit in */
  deadline?: number;
  /** what the probe did to the target, recorded as it happens so a deadline cannot hide it */
  actions: string[];
}

export interface ProbeOutput {
  metrics: Metrics;
  evidence?: Record<string, unknown>;
  unknowns?: ProbeUnknown[];
  /** set when only part of what the probe reads was readable */
  partial?: string;
  /** set when the probe does not apply to this target (e.g. a Node probe on a Go process) */
  skipped?: string;
  /** things the probe did to the target that the report must say (e.g. "opened and closed the inspector") */
  actions?: string[];
}

export interface Probe {
  meta: ProbeMeta;
  run(ctx: ProbeContext): Promise<ProbeOutput> | ProbeOutput;
  /**
   * watch only: begin what spans the whole window (a first heap profile to diff, a sampling
   * profiler), after the first sample. Undefined when there is nothing to do for this target.
   */
  window?(ctx: ProbeContext): Promise<ProbeWindow | undefined>;
  /**
   * Produce the meta.onDemand keys asked for, after a first judgement: the metrics a rule level
   * hinges on, then the attributions of the findings raised (warning or critical). Called at most
   * once per round, target and diagnosis (a watch: after its last sample), within what is left
   * of the deadline. Evidence it declares may come with what was asked (one profile serving both).
   */
  followUp?(keys: string[], ctx: ProbeContext): Promise<FollowUpOutput>;
}

/** What a probe's window() began: ended once after the last sample, or cancelled. */
export interface ProbeWindow {
  /** the window's result, judged with the last sample (attributions over the window) */
  end(ctx: ProbeContext): Promise<WindowOutput>;
  /** stop without a result (the process gone, the watch failed): releases everything, never throws */
  cancel(): Promise<void>;
}

export type WindowOutput = Pick<ProbeOutput, 'evidence' | 'unknowns' | 'actions'>;

/** What a follow-up returns: a window's output, and the on-demand metrics asked for. */
export type FollowUpOutput = WindowOutput & { metrics?: Metrics };

export type ProbeStatus = 'ok' | 'partial' | 'denied' | 'error' | 'skipped';

export interface ProbeRun {
  id: string;
  status: ProbeStatus;
  durationMs: number;
  error?: string;
}
