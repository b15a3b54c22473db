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
import type { NetnsRelay } from '../transports/netns-relay.js';

/** Heavy tools (--heap-snapshot, --report) are bounded by the overall --timeout only. */
export const HEAVY_TIMEOUT_MS = 30 * 60_000;

/** The options the node steps read; the engine's ProbeOptions extends them. */
export interface NodeOptions {
  /** an address, or true (bare --inspect): look for the target's own open inspector */
  inspect?: string | boolean;
  activateInspector?: boolean;
  allowRemote?: boolean;
  /** accept an --inspect / --pprof address that is not the target's own socket (a port forward, a container) */
  trustPeer?: boolean;
  /** filled by the inspector and pprof transports: the local end of each connection they make ("127.0.0.1:54321") */
  ownEndpoints?: Set<string>;
  /** tells the user at once what was done to the target (stderr), whatever happens next */
  notify?: (line: string) => void;
  /** write a V8 heap snapshot to this file template ({pid} = process id) */
  heapSnapshot?: string;
  /** write its redacted diagnostic report to this file template */
  report?: string;
  /** take the heap snapshot even when the memory headroom looks too small */
  force?: boolean;
  /** replace an existing --heap-snapshot / --report regular file */
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
export type NodeUnknown =
  { metric?: string; probe?: string; reason: string; hint?: string } | ({ metric?: string; probe?: string; hint?: MessageId | Coded } & Coded);

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
  /** the relay into the target's network namespace (conn.budget.route is it), ended by close.ts */
  relay?: NetnsRelay;
}
