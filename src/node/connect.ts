/**
 * Step 1 of the node probe: reach the target's inspector and prove it is the target's. The
 * address given with --inspect (only when it is one of the target's own sockets, or trusted),
 * else an inspector it already has open (its flags and its own LISTEN sockets), else, with
 * --activate-inspector, one opened with SIGUSR1 (guarded, and closed again by close.ts).
 * Each refusal leaves its unknown and sends nothing.
 */
import { say, words } from '../messages.js';
import { innermostPid } from '../procfs/proc-status.js';
import type { ProctriageError } from '../errors.js';
import { assertConnectAllowed, formatAddress, parseInspectAddress, type CdpSession, type InspectorAddress } from '../transports/inspector.js';
import { peerOwnership } from '../engine/peer-owner.js';
import { onInterrupt } from '../engine/interrupt.js';
import { inspectorCandidates, ownsListenPort, type InspectFlags } from './locate.js';
import { checkActivation, DeadMan, sendSigusr1AndWait } from './activate.js';
import { hintFor, noInspectorReason, notAsked, targetListeners } from './unasked.js';
import { attach, evaluate, listingsAsTheyCome, LoopBlocked, reasonOf } from './attach.js';
import { CLOSE_INSPECTOR_EXPRESSION } from './expressions.js';
import type { Connection, NodeOut, NodeTarget } from './run.js';
import { relayInto } from '../transports/netns-relay.js';

/** The key under which a run remembers where the target's open inspector was found (HostSources.remember). */
const FOUND_INSPECTOR = 'node.inspectorAt';

/** How long to watch for the inspector after SIGUSR1 (not cut short by the deadline: what opens is closed). */
const ACTIVATION_WAIT_MS = 2500;

/** What the search learnt on the way, for the unknown when nothing answered. */
interface Search {
  failures: string[];
  listenersKnown: boolean;
  /** the pid the target sees for itself (last NSpid field) */
  expectedPid: number;
}

/**
 * Fills `conn` (attached, or blocked, plus whatever was opened). Says in `out` why nothing was
 * reached; false when it refused (nothing was sent, nothing more to say).
 */
export async function connect(t: NodeTarget, flags: InspectFlags, conn: Connection, out: NodeOut): Promise<boolean> {
  const search: Search = { failures: [], listenersKnown: false, expectedPid: innermostPid(t.sources.status()) ?? t.pid };
  const explicit = typeof t.options.inspect === 'string' && t.options.inspect !== '' ? t.options.inspect : undefined;
  const went = explicit ? await connectGiven(t, explicit, conn, search, out) : await connectOwn(t, flags, conn, search, out);
  if (!went) return false;
  if (!conn.attached && !conn.blocked && (!out.unknowns.length || search.failures.length)) {
    const why = search.failures.length ? search.failures.join('; ') : noInspectorReason(flags);
    out.unknowns.push({ metric: 'node.*', probe: 'node', code: 'node.noInspector', args: { why }, hint: hintFor(t, flags, search.listenersKnown) });
    if (search.failures.length) out.partial = say('node.partial.noInspector');
  }
  return true;
}

/** Attach to one address; a loop too busy to answer counts when the target's own socket proves the identity. */
async function tryAttach(t: NodeTarget, conn: Connection, search: Search, addr: InspectorAddress, verifyOwned: boolean): Promise<void> {
  try {
    // an inspector we opened closes itself if we stop re-arming its dead-man timer
    const onOpen = conn.opened
      ? (s: CdpSession) => {
          conn.deadman = new DeadMan(s);
          conn.deadman.start();
        }
      : undefined;
    conn.attached = await attach(addr, conn.budget, {
      allowRemote: t.options.allowRemote === true,
      expectedPid: search.expectedPid,
      ...(onOpen ? { onOpen } : {}),
    });
  } catch (err) {
    if (err instanceof LoopBlocked) {
      // the target's own socket proves the identity that process.pid could not
      if (verifyOwned && addr.loopback && ownsListenPort(t.proc, t.pid, addr.port) === true) {
        conn.blocked = err;
        return;
      }
      err.session?.close();
    }
    search.failures.push(reasonOf(err));
  }
}

/** --inspect ADDRESS: only one of the target's own sockets, unless the user trusts the peer. */
async function connectGiven(t: NodeTarget, given: string, conn: Connection, search: Search, out: NodeOut): Promise<boolean> {
  let addr: InspectorAddress;
  try {
    addr = parseInspectAddress(given);
    assertConnectAllowed(addr, t.options.allowRemote === true);
  } catch (err) {
    const e = err as ProctriageError;
    out.unknowns.push({ metric: 'node.*', probe: 'node', reason: e.message, ...(e.hint ? { hint: e.hint } : {}) });
    out.partial = e.message;
    return false;
  }
  conn.how = say('node.howGiven');
  // a loopback address of a target in another network namespace is its own loopback: reached from inside
  const missing = addr.loopback ? enterNamespace(t, conn) : undefined;
  // the address must be one of the target's own sockets: what the peer says of itself proves nothing
  const own = peerOwnership(t.sources, addr.host, addr.port, { inside: conn.relay !== undefined });
  if (!own.owned && t.options.trustPeer !== true) {
    const why = missing ? `${own.reason}; ${say('node.otherNetns', { missing })}` : own.reason;
    out.unknowns.push({ metric: 'node.*', probe: 'node', code: 'node.inspectRefused', args: { why }, hint: 'hint.trustPeer' });
    out.partial = "--inspect address is not the target's";
    return false;
  }
  if (!own.owned) {
    conn.how = say('node.howTrusted', { how: conn.how, why: own.reason });
    conn.trusted = true;
  }
  if (conn.relay && !(await relayTo(t, conn, [addr], search, out))) return true;
  await tryAttach(t, conn, search, addr, own.owned);
  return true;
}

/** No address given: an inspector the target has open, or (--activate-inspector) one opened with SIGUSR1. */
async function connectOwn(t: NodeTarget, flags: InspectFlags, conn: Connection, search: Search, out: NodeOut): Promise<boolean> {
  const { pid, options } = t;
  // the inspector runs code in the target: without a flag asking for it, nothing is sent (the
  // probe says so before it loads this module; checked again here, where the sending starts)
  if (options.inspect !== true && !options.activateInspector) {
    out.unknowns.push(notAsked(t, flags));
    return false;
  }
  const listeners = targetListeners(t);
  search.listenersKnown = listeners !== undefined;
  const { candidates, remoteOnly } = inspectorCandidates(flags, listeners);
  // in another network namespace its loopback is reached from inside it, or not at all
  const missing = enterNamespace(t, conn);
  if (missing) {
    search.failures.push(say('node.otherNetns', { missing }));
    return true;
  }
  // without its fd table a port cannot be proven the target's: tried only when the user trusts it
  const trustPeer = options.trustPeer === true;
  if (!trustPeer) {
    for (const c of candidates.filter((x) => !x.owned)) search.failures.push(say('node.unverified', { address: formatAddress(c), source: c.source, pid }));
  }
  const addrs = candidates.filter((c) => c.owned || trustPeer).map((c) => ({ host: c.host, port: c.port, loopback: true }));
  if (addrs.length && !(await relayTo(t, conn, addrs, search, out))) return true;
  // found by an earlier sample of this watch: asked first, alone, so that the application's own
  // ports are not sent GET /json/list at every sample; the others only if it no longer answers
  const startTicks = t.sources.stat().starttimeTicks;
  const at = (a: { host: string; port: number }) => `${a.host} ${a.port}`;
  const known = t.sources.host.recall<string>(pid, startTicks, FOUND_INSPECTOR);
  const rounds = known && addrs.some((a) => at(a) === known) ? [addrs.filter((a) => at(a) === known), addrs.filter((a) => at(a) !== known)] : [addrs];
  let found: InspectorAddress | undefined;
  let asked = 0;
  for (const round of rounds) {
    asked += round.length;
    for await (const l of listingsAsTheyCome(round, conn.budget, options.allowRemote === true)) {
      if (l.error) {
        // a port of the application that is not an inspector is expected; say so only if nothing is found
        search.failures.push(l.error.message);
        continue;
      }
      found = { ...l.addr, path: l.path };
      break; // cancels the requests still in flight
    }
    if (found) break;
  }
  if (found) {
    t.sources.host.remember(pid, startTicks, FOUND_INSPECTOR, at(found));
    const c = candidates.find((x) => x.port === found.port && x.host === found.host)!;
    conn.how = say('node.howOpen', { source: c.source });
    // let the target drop the connections we just made to its other ports: they are not its handles
    if (asked > 1) await new Promise((r) => setTimeout(r, 30));
    await tryAttach(t, conn, search, found, true);
  }
  for (const r of remoteOnly) search.failures.push(say('node.remoteOnly', { address: formatAddress(r) }));
  if (!conn.attached && !conn.blocked && options.activateInspector) await activate(t, flags, conn, search, out);
  return true;
}

/** --activate-inspector: SIGUSR1 after every check, with the guard and the interrupt handler armed to close what opens. */
async function activate(t: NodeTarget, flags: InspectFlags, conn: Connection, search: Search, out: NodeOut): Promise<void> {
  const { proc, pid, sources, options } = t;
  const v = checkActivation(proc, pid, flags);
  if (!v.ok) {
    out.unknowns.push({
      metric: 'node.*',
      probe: 'node',
      code: 'node.activateRefused',
      args: { why: v.reason ? words(v.reason) : '' },
      ...(v.hint ? { hint: v.hint } : {}),
    });
    return;
  }
  const sentLine = say('node.sigusr1Sending', { pid });
  const r = await sendSigusr1AndWait(proc, pid, flags, sources.stat().starttimeTicks, ACTIVATION_WAIT_MS, () => {
    // said at once, on stderr and in the report: whatever happens next, the user knows
    options.notify?.(say('node.sigusr1Notice', { line: sentLine }));
    out.actions.push(sentLine);
  });
  if (r.sent) {
    const i = out.actions.indexOf(sentLine);
    const line = say('node.sigusr1Outcome', { line: sentLine, ...(r.opened ? { openedAfterMs: r.opened.waitedMs } : {}), fate: r.fate ?? '' });
    if (i >= 0) out.actions[i] = line;
    options.notify?.(line);
  }
  conn.guard = r.guard;
  if (!r.opened) {
    search.failures.push(r.reason ? words(r.reason) : say('node.sigusr1NotSent'));
    return;
  }
  conn.opened = r.opened;
  const o = r.opened;
  // an interrupted run closes what it opened before it exits (the guard and the dead-man timer back it up)
  conn.dropInterrupt = onInterrupt(async () => {
    conn.deadman?.stop();
    const s = conn.attached?.session ?? conn.blocked?.session;
    if (s && !s.closed) await evaluate(s, CLOSE_INSPECTOR_EXPRESSION, { timeoutMs: 700 }).catch(() => undefined);
    s?.close();
    conn.guard?.release();
    options.notify?.(say('node.interrupted', { pid, address: formatAddress({ host: o.host, port: o.listener.port }) }));
  });
  conn.how = say('node.howActivated', { ms: o.waitedMs });
  const addr = { host: o.host, port: o.listener.port, loopback: true };
  if (conn.relay && !(await relayTo(t, conn, [addr], search, out))) return;
  await tryAttach(t, conn, search, addr, true);
}

/**
 * A target in another network namespace: prepare the relay into it (conn.relay; its connections
 * then go through it), or say which privilege or tool is missing. Nothing starts here.
 */
function enterNamespace(t: NodeTarget, conn: Connection): string | undefined {
  if (conn.relay || t.proc.sameNetNamespace(t.pid) !== false) return undefined;
  const r = relayInto(t.proc.procPath(t.pid, 'ns/net'), {
    startMs: 3000,
    maxMs: 120_000,
    ...(t.options.ownEndpoints ? { ownEndpoints: t.options.ownEndpoints } : {}),
  });
  if (r.missing !== undefined) return r.missing;
  conn.relay = r.relay;
  conn.budget.route = r.relay;
  return undefined;
}

/** Start (or grow) the relay for these addresses and say so under actions; false (with the failure) when it could not start. */
async function relayTo(t: NodeTarget, conn: Connection, addrs: Array<{ host: string; port: number }>, search: Search, out: NodeOut): Promise<boolean> {
  const relay = conn.relay;
  if (!relay) return true;
  const before = relay.pids.length;
  try {
    await relay.ensure(addrs);
  } catch (err) {
    search.failures.push(say('netns.relayFailed', { error: reasonOf(err) }));
    return false;
  }
  if (relay.pids.length > before) {
    out.actions.push(say('netns.relayStarted', { pid: t.pid, relay: relay.pids[relay.pids.length - 1], addresses: addrs.map(formatAddress).join(', ') }));
  }
  return true;
}

/** The target's own TCP listeners: from the tables this run already read, else read afresh; undefined when unreadable. */
