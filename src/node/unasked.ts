/**
 * What the node probe says about a Node.js target when no flag asks for its inspector: whether
 * one is open (from its flags and its own LISTEN sockets) and what would read it. Nothing is sent
 * to the target. Kept apart from connect.ts so that a diagnosis without --inspect loads none of
 * the inspector's code.
 */
import { say, words } from '../messages.js';
import type { InetRow } from '../procfs/net-sockets.js';
import { inspectorCandidates, listenersFrom, ownListeners, type InspectFlags, type Listener } from './locate.js';
import { checkActivation } from './activate.js';
import type { NodeTarget, NodeUnknown } from './run.js';

/** The unknown of a target whose inspector no flag asked for: open (add --inspect) or not (how to get one). */
export function notAsked(t: NodeTarget, flags: InspectFlags): NodeUnknown {
  const listeners = targetListeners(t);
  const { candidates } = inspectorCandidates(flags, listeners);
  return flags.atStart || candidates.length > 0
    ? { metric: 'node.*', probe: 'node', code: 'node.notReadUnasked', hint: 'node.hint.addInspect' }
    : { metric: 'node.*', probe: 'node', code: 'node.notReadNoneOpen', hint: hintFor(t, flags, listeners !== undefined) };
}

export function targetListeners(t: NodeTarget): Listener[] | undefined {
  try {
    // the fd table and net rows the fds and sockets probes read too (memoized per run)
    return listenersFrom(t.sources.socketInodes(), netRows(t));
  } catch {
    try {
      return ownListeners(t.proc, t.pid);
    } catch {
      return undefined;
    }
  }
}

function netRows(t: NodeTarget): InetRow[] {
  const rows = [...t.sources.inet('tcp')];
  try {
    rows.push(...t.sources.inet('tcp6'));
  } catch {
    // no IPv6 in the namespace
  }
  return rows;
}

export function noInspectorReason(flags: InspectFlags): string {
  if (flags.atStart) return say('node.startedNoSocket', { flags: flags.seen.join(' ') });
  return say('node.noneOpen');
}

/** What to do next when no inspector was read, for this target and these flags. */
export function hintFor(t: NodeTarget, flags: InspectFlags, listenersKnown: boolean): { code: 'worded'; args: { text: string } } {
  const port = flags.port > 0 ? flags.port : 9229;
  const restart = say('node.hint.restart', { port });
  const text = (() => {
    if (typeof t.options.inspect === 'string') return say('node.hint.passAddress', { restart });
    if (t.options.activateInspector) return restart;
    const v = checkActivationSafe(t, flags);
    if (v && !v.ok) return say('node.hint.cannotActivate', { restart, why: v.reason ? words(v.reason) : '' });
    const activate = say('node.hint.activate', { port });
    return listenersKnown ? say('node.hint.addActivate', { activate, restart }) : say('node.hint.inspectOrActivate', { port, activate });
  })();
  return { code: 'worded', args: { text } };
}

function checkActivationSafe(t: NodeTarget, flags: InspectFlags) {
  try {
    // only to word a hint: reuse the tables this run already read
    return checkActivation(
      t.proc,
      t.pid,
      flags,
      {
        listenRows: () => netRows(t).filter((r) => r.state === 'listen'),
        socketInodes: () => t.sources.socketInodes(),
      },
      false,
    );
  } catch {
    return undefined;
  }
}
