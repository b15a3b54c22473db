/**
 * What the three steps of the node probe (connect.ts, measure.ts, close.ts) share: the part of
 * the probe's context they read, what they fill in, and the connection they pass along.
 * Declared here, not imported from the engine: the probe passes its context, which has all of it.
 */
import type { ProcFs } from '../procfs/procfs.js';
import type { TargetSources } from '../engine/sources.js';
import type { Coded, MessageId } from '../messages.js';
import type { Budget, Attached, LoopBlocked } from './attach.js';
import type { DeadMan, Guard, Opened } from './activate.js';

export interface NodeOptions {
  inspect?: string | boolean;
  activateInspector?: boolean;
  allowRemote?: boolean;
  trustPeer?: boolean;
  ownEndpoints?: Set<string>;
  notify?: (line: string) => void;
  heapSnapshot?: string;
  report?: string;
  force?: boolean;
  overwrite?: boolean;
}

export interface NodeTarget {
  pid: number;
  proc: ProcFs;
  sources: TargetSources;
  options: NodeOptions;
  signal: AbortSignal;
}

/** An unknown: coded (the words in src/messages.ts), or the message of an error the transports raised. */
export type NodeUnknown = { metric?: string; probe?: string; reason: string; hint?: string } | ({ metric?: string; probe?: string; hint?: MessageId | Coded } & Coded);

export interface NodeOut {
  metrics: Record<string, number | string>;
  evidence: Record<string, unknown>;
  unknowns: NodeUnknown[];
  /** the run's own list: kept by the runner even when the probe is cut off by its deadline */
  actions: string[];
  partial?: string;
}

/** The inspector session and everything opened on the way to it: what the close step undoes. */
export interface Connection {
  budget: Budget;
  attached?: Attached;
  blocked?: LoopBlocked;
  /** the inspector we opened with SIGUSR1 */
  opened?: Opened;
  guard?: Guard;
  deadman?: DeadMan;
  dropInterrupt?: () => void;
  /** how the inspector was found, for the report */
  how: string;
  /** connected although not proven the target's own socket (--trust-peer) */
  trusted: boolean;
}
