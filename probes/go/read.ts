/**
 * The Go probe's reading, loaded only for a target that is Go (or with --pprof): the endpoint
 * (given and checked, or discovered), goroutines, memory, and the attributions a finding asks
 * for. probes/go.ts declares the probe; this is most of its code, kept off every other start.
 */
import type { FollowUpOutput, ProbeContext, ProbeOutput, ProbeUnknown, ProbeWindow } from '../../src/engine/probe.js';
import type { Attribution } from '../../src/engine/attribution.js';
import { ProctriageError } from '../../src/errors.js';
import { MESSAGES, say, words, type MessageId } from '../../src/messages.js';
import {
  SOURCES as ATTR_SOURCES,
  cpuNow,
  loneNow,
  heapDiff,
  heapViews,
  leakedNow,
  takeHeap,
  unavailable as attributionUnavailable,
  type Attributed,
  type Requester,
} from '../../src/go/attribution.js';
import { identifyRuntime, type RuntimeIdentity } from '../runtime.js';
import { GoroutineDumpReader, GoroutineProfileReader, mergeStates, topStacks, type GoroutineProfile } from '../../src/go/goroutines.js';
import { HeapProfileReader, parseGogc, parseGomaxprocs, parseVars, type GoMemStats } from '../../src/go/memstats.js';
import { discover, loopbackListeners, MAX_CANDIDATES, sameCmdline, type Listener } from '../../src/go/discover.js';
import { relayInto, type NetnsRelay } from '../../src/transports/netns-relay.js';
import { isLoopbackAddress } from '../../src/transports/loopback.js';
import { peerOwnership } from '../../src/engine/peer-owner.js';
import {
  checkPprofUrl,
  displayUrl,
  endpointUrl,
  getLines,
  getText,
  notPprofText,
  parsePprofUrl,
  type GetOptions,
  type StreamResult,
} from '../../src/transports/pprof.js';

/** Per-request deadlines and byte caps (the probe's own deadline bounds them all). */
const LIMITS = {
  discoverMs: 400,
  cmdlineMs: 1000,
  goroutineMs: 3000,
  goroutineBytes: 32 * 2 ** 20,
  /** the per-goroutine dump (for wait states) stops the world while it is written: only for modest counts */
  statesUpTo: 20_000,
  statesMs: 1500,
  statesBytes: 16 * 2 ** 20,
  varsMs: 1500,
  varsBytes: 2 * 2 ** 20,
  heapMs: 3000,
  heapBytes: 64 * 2 ** 20,
};

interface Endpoint {
  base: URL;
  req: Requester;
  cwd?: string;
  /** what was done to the target, in order (a relay ended after is said after it) */
  actions: string[];
}

/**
 * The endpoint again, its ownership checked again, for a follow-up or a window, while `use`
 * runs; a relay into another network namespace started for it is ended after. Or why there is
 * none, and what would give it.
 */
async function withEndpoint<T>(
  ctx: ProbeContext,
  use: (e: Endpoint) => Promise<T>,
): Promise<({ value: T } | { reason: string; hint: string }) & { actions: string[] }> {
  const id = identifyRuntime(ctx.sources);
  const out: ProbeOutput & { unknowns: ProbeUnknown[] } = { metrics: {}, unknowns: [] };
  const ns: Inside = {};
  const actions: string[] = [];
  try {
    const base = await findEndpoint(ctx, id, out, [], ns);
    actions.push(...(out.actions ?? []));
    if (!base) {
      const u = out.unknowns[0];
      const why = !u ? say('go.notGo') : 'code' in u ? words(u) : u.reason;
      return { reason: say('go.attr.noEndpoint', { why }), hint: attributionHint(u?.hint), actions };
    }
    const req: Requester = (timeoutMs, maxBytes) => ({
      timeoutMs,
      maxBytes,
      signal: ctx.signal,
      allowRemote: !!ctx.options.allowRemote,
      ownEndpoints: ctx.options.ownEndpoints,
      ...(ns.relay ? { route: ns.relay } : {}),
    });
    let cwd: string | undefined;
    try {
      cwd = ctx.proc.readlinkOrGone(ctx.pid, 'cwd');
    } catch {
      // paths stay as the binary knows them
    }
    return { value: await use({ base, req, ...(cwd ? { cwd } : {}), actions }), actions };
  } finally {
    if (ns.relay?.pids.length) {
      ns.relay.close();
      actions.push(say('go.relayEnded', { pids: ns.relay.pids.join(', ') }));
    }
  }
}

/**
 * What would give the attribution: the discovery's own hint where it is specific (--allow-remote,
 * --trust-peer, leave --no-discover out …), else the --pprof flag.
 */
function attributionHint(hint: ProbeUnknown['hint']): string {
  if (hint === undefined || hint === 'go.hint.noEndpoint') return say('go.attr.hint.pprof');
  if (typeof hint !== 'string') return words(hint);
  return hint in MESSAGES ? say(hint as MessageId) : hint;
}

const KIND_OF: Record<string, [Attribution['kind'], () => string]> = {
  'go.heap.sites': ['allocation-sites', ATTR_SOURCES.heap],
  'go.heap.allocs': ['allocation-sites', ATTR_SOURCES.allocs],
  'go.cpu.top': ['hot-functions', () => ATTR_SOURCES.cpu()],
  'go.goroutines.leaked': ['leaked-goroutines', ATTR_SOURCES.leak],
  'go.heap.growth': ['allocation-growth', ATTR_SOURCES.growth],
};

/** The on-demand metric: the CPU of a goroutine that no thread shows whole (see loneNow). */
const LONE_GOROUTINE = 'go.cpu.loneGoroutinePercent';

/**
 * What the verdict asked for: the CPU of a lone goroutine (a Go process near a core that no
 * thread holds), then attributions: the heap by site (memory near its limit, GC pressure), a
 * short CPU profile (CPU saturated or throttled, GC pressure), the goroutine leak profile
 * (goroutines exploding or growing). Each is taken at most once; they run side by side. The
 * lone goroutine's CPU profile also gives go.cpu.top, so a finding it raises takes no second one.
 */
export async function followUpGo(keys: string[], ctx: ProbeContext, timeoutMs: number): Promise<FollowUpOutput> {
  const started = Date.now();
  // what is left of this call's deadline, less a margin to decode
  const leftMs = () => (ctx.deadline ?? started + timeoutMs) - Date.now() - 300;
  const r = await withEndpoint(ctx, async (e) => {
    const out: Required<Pick<FollowUpOutput, 'evidence' | 'metrics' | 'unknowns'>> = { evidence: {}, metrics: {}, unknowns: [] };
    const requested: string[] = [];
    const took = (q: string[]) => q.forEach((x) => requested.includes(x) || requested.push(x));
    // one heap profile serves both heap views
    const heap = keys.some((k) => k.startsWith('go.heap.')) ? heapViews(e.base, e.req, e.cwd) : undefined;
    await Promise.all(
      keys.map(async (k) => {
        if (k === LONE_GOROUTINE) {
          const l = await loneNow(e.base, e.req, leftMs(), e.cwd);
          took(l.requested);
          if ('reason' in l) out.unknowns.push({ metric: k, reason: l.reason, ...(l.hint ? { hint: l.hint } : {}) });
          else {
            out.metrics[k] = l.lone.percent;
            if (l.lone.function !== undefined) out.evidence['go.cpu.loneGoroutine'] = l.lone;
            out.evidence['go.cpu.top'] = l.top;
          }
          return;
        }
        let a: Attributed | undefined;
        if (k === 'go.heap.sites') a = (await heap!).inuse;
        else if (k === 'go.heap.allocs') a = (await heap!).alloc;
        else if (k === 'go.cpu.top') a = await cpuNow(e.base, e.req, leftMs(), e.cwd);
        else if (k === 'go.goroutines.leaked') a = await leakedNow(e.base, e.req, e.cwd);
        if (!a) return;
        out.evidence[k] = a.attribution;
        took(a.requested);
      }),
    );
    if (requested.length) e.actions.push(say('go.attr.took', { what: requested.join(', '), url: displayUrl(e.base) }));
    return out;
  });
  if ('reason' in r) {
    const unknowns: ProbeUnknown[] = keys.filter((k) => !(k in KIND_OF)).map((k) => ({ metric: k, reason: r.reason, hint: r.hint }));
    const evidence = Object.fromEntries(
      keys
        .filter((k) => k in KIND_OF)
        .map((k) => {
          const [kind, source] = KIND_OF[k]!;
          return [k, attributionUnavailable(kind, source(), r.reason, r.hint)];
        }),
    );
    return { evidence, unknowns, actions: r.actions };
  }
  return { ...r.value, actions: r.actions };
}

/**
 * watch: a heap profile now and one at the end; what grew between them, by allocating site.
 * Holding the first profile costs the target nothing (it is here, decoded).
 */
export async function heapWindow(ctx: ProbeContext): Promise<ProbeWindow | undefined> {
  const first = await withEndpoint(ctx, async (e) => {
    const before = await takeHeap(e.base, e.req);
    e.actions.push(say('go.attr.took', { what: '/debug/pprof/heap, to compare with one at the end of the watch', url: displayUrl(e.base) }));
    return { before, cwd: e.cwd };
  });
  ctx.actions.push(...first.actions);
  if ('reason' in first) {
    const a = attributionUnavailable('allocation-growth', ATTR_SOURCES.growth(), first.reason, first.hint);
    return { end: () => Promise.resolve({ evidence: { 'go.heap.growth': a } }), cancel: () => Promise.resolve() };
  }
  const { before, cwd } = first.value;
  return {
    async end(endCtx) {
      const again = await withEndpoint(endCtx, async (e) => {
        const after = await takeHeap(e.base, e.req);
        e.actions.push(say('go.attr.took', { what: '/debug/pprof/heap again, at the end of the watch', url: displayUrl(e.base) }));
        return after;
      });
      return { evidence: { 'go.heap.growth': heapDiff(before, 'reason' in again ? again : again.value, cwd) }, actions: again.actions };
    },
    cancel: () => Promise.resolve(),
  };
}

export async function runGo(ctx: ProbeContext, id: RuntimeIdentity): Promise<ProbeOutput> {
  const { options } = ctx;
  const out: ProbeOutput & { evidence: Record<string, unknown>; unknowns: ProbeUnknown[] } = { metrics: {}, evidence: {}, unknowns: [] };
  const partial: string[] = [];
  const gogc = parseGogc(id.env?.GOGC);
  if (gogc !== undefined) out.metrics['go.gogcEnv'] = gogc;
  const procs = parseGomaxprocs(id.env?.GOMAXPROCS);
  if (procs !== undefined) out.metrics['go.maxProcsEnv'] = procs;
  if (id.build?.version) out.metrics['go.version'] = id.build.version;

  const finish = (): ProbeOutput => {
    if (partial.length) out.partial = partial.join('; ');
    if (!out.unknowns.length) delete (out as ProbeOutput).unknowns;
    if (!Object.keys(out.evidence).length) delete (out as ProbeOutput).evidence;
    return out;
  };
  if (!ctx.proc.live && !options.pprof) {
    return { metrics: out.metrics, skipped: say('go.recorded') };
  }
  // a target in another network namespace is reached through a relay into it, ended here
  const ns: Inside = {};
  try {
    return await readEndpoint(ctx, id, out, partial, ns, finish);
  } finally {
    if (ns.relay?.pids.length) {
      ns.relay.close();
      out.actions = [...(out.actions ?? []), say('go.relayEnded', { pids: ns.relay.pids.join(', ') })];
    }
  }
}

/** The relay into the target's network namespace, when it is not ours (see netns-relay.ts). */
interface Inside {
  relay?: NetnsRelay;
}

/** Start (or grow) the relay for these addresses, said under actions; the error's words when it cannot start. */
async function relayTo(ctx: ProbeContext, ns: Inside, out: ProbeOutput, addrs: Array<{ host: string; port: number }>): Promise<string | undefined> {
  if (!ns.relay) return undefined;
  const before = ns.relay.pids.length;
  try {
    await ns.relay.ensure(addrs);
  } catch (err) {
    return say('netns.relayFailed', { error: (err as Error).message });
  }
  if (ns.relay.pids.length > before) {
    const shown = addrs.map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)).join(', ');
    out.actions = [...(out.actions ?? []), say('netns.relayStarted', { pid: ctx.pid, relay: ns.relay.pids[ns.relay.pids.length - 1], addresses: shown })];
  }
  return undefined;
}

async function readEndpoint(
  ctx: ProbeContext,
  id: RuntimeIdentity,
  out: ProbeOutput & { evidence: Record<string, unknown>; unknowns: ProbeUnknown[] },
  partial: string[],
  ns: Inside,
  finish: () => ProbeOutput,
): Promise<ProbeOutput> {
  const { options } = ctx;
  const endpoint = await findEndpoint(ctx, id, out, partial, ns);
  if (!endpoint) return finish();
  const base = endpoint;
  out.evidence['go.pprofUrl'] = displayUrl(base);

  const req = (timeoutMs: number, maxBytes: number): GetOptions => ({
    timeoutMs,
    maxBytes,
    signal: ctx.signal,
    allowRemote: !!options.allowRemote,
    ownEndpoints: options.ownEndpoints,
    ...(ns.relay ? { route: ns.relay } : {}),
  });
  const read: string[] = [];
  const [g, m] = await Promise.all([readGoroutines(base, req, read), readMemory(base, req, read)]);

  if (g.error && g.error === m.error) {
    // one cause for every request (nothing listens, TLS on a plain port): one line
    out.unknowns.push({ probe: 'go', reason: say('go.endpointFailed', { error: g.error }) });
    partial.push(say('go.partial.goroutines'));
  } else if (g.error) {
    out.unknowns.push({ metric: 'go.goroutines', reason: g.error });
    partial.push(say('go.partial.goroutines'));
  } else if (g.profile) {
    const p = g.profile;
    peerNumber(out, 'go.goroutines', p.total, 'count');
    if (p.groups.length) out.evidence['go.topStacks'] = topStacks(p.groups);
    if (p.problem) partial.push(p.problem);
  }
  if (g.statesProblem) partial.push(g.statesProblem);

  if (m.error) {
    if (m.error !== g.error) out.unknowns.push({ metric: 'go.heap.alloc', reason: m.error });
    partial.push(say('go.partial.memory'));
  }
  const s = m.stats;
  peerNumber(out, 'go.heap.alloc', s.heapAlloc, 'count');
  peerNumber(out, 'go.heap.sys', s.heapSys, 'count');
  peerNumber(out, 'go.gc.cpuFraction', s.gcCpuFraction, 'ratio');
  peerNumber(out, 'go.numGC', s.numGC, 'count');
  if (typeof m.memLimit === 'number') peerNumber(out, 'go.memLimit', m.memLimit, 'count');
  if (read.length) out.actions = [...(out.actions ?? []), say('go.readFrom', { what: read.join(', '), url: displayUrl(base) })];
  return finish();
}

/**
 * A number the peer sent becomes a metric only when it can be one: a count or a size is a
 * non-negative safe integer, a ratio is within [0, 1]. Anything else is an unknown with the reason.
 */
function peerNumber(out: ProbeOutput & { unknowns: ProbeUnknown[] }, key: string, v: number | undefined, kind: 'count' | 'ratio'): void {
  if (v === undefined) return;
  const ok = kind === 'ratio' ? Number.isFinite(v) && v >= 0 && v <= 1 : Number.isSafeInteger(v) && v >= 0;
  if (ok) out.metrics[key] = v;
  else out.unknowns.push({ metric: key, probe: 'go', code: 'go.badNumber', args: { key, value: v, ratio: kind === 'ratio' } });
}

/** The key under which a run remembers the endpoint discovery found (see HostSources.remember). */
const DISCOVERED = 'go.discoveredEndpoint';

/** The endpoint to read: the one given (checked), or one discovered among the process's listeners. */
async function findEndpoint(
  ctx: ProbeContext,
  id: RuntimeIdentity,
  out: ProbeOutput & { unknowns: ProbeUnknown[] },
  partial: string[],
  ns: Inside,
): Promise<URL | undefined> {
  const { options, proc, sources } = ctx;
  const noEndpoint = (reason: string): undefined => {
    out.unknowns.push({ probe: 'go', code: 'worded', args: { text: reason }, hint: 'go.hint.noEndpoint' });
    partial.push(say('go.partial.noEndpoint'));
    return undefined;
  };
  let listeners: Listener[] | undefined;
  let listenersWhy = '';
  const sameNs = proc.live && proc.sameNetNamespace(ctx.pid);
  // another network namespace: its loopback is reached from inside it (a relay), when we may enter it
  let enterMissing: string | undefined;
  if (proc.live && sameNs === false) {
    const r = relayInto(proc.procPath(ctx.pid, 'ns/net'), {
      startMs: 3000,
      maxMs: 120_000,
      ...(options.ownEndpoints ? { ownEndpoints: options.ownEndpoints } : {}),
    });
    if (r.relay) ns.relay = r.relay;
    else enterMissing = r.missing;
  }
  if (sameNs === true || ns.relay) {
    try {
      listeners = loopbackListeners(sources);
    } catch (err) {
      if (err instanceof ProctriageError && err.code === 'NO_SUCH_PROCESS') throw err;
      listenersWhy =
        err instanceof ProctriageError && err.code === 'ACCESS_DENIED'
          ? say('go.socketsUnreadable')
          : say('go.socketsError', { error: (err as Error).message });
    }
  } else if (sameNs === false) listenersWhy = say('go.otherNetns', { missing: enterMissing ?? '' });
  else listenersWhy = say('go.netnsUnreadable');

  if (options.pprof) {
    let url: URL;
    try {
      url = parsePprofUrl(options.pprof);
      // refused before any connection
      checkPprofUrl(url, options.allowRemote);
    } catch (err) {
      const e = err as ProctriageError;
      out.unknowns.push({ probe: 'go', reason: e.message, ...(e.hint ? { hint: e.hint } : {}) });
      partial.push(say(e.code === 'REFUSED' ? 'go.partial.refused' : 'go.partial.invalid'));
      return undefined;
    }
    // the URL must be one of the target's own sockets: what the peer serves (its cmdline) proves nothing
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const inside = ns.relay !== undefined && isLoopbackAddress(host);
    const own = peerOwnership(sources, host, port, { inside });
    if (own.owned) {
      if (!inside) return url;
      const failed = await relayTo(ctx, ns, out, [{ host, port }]);
      if (!failed) return url;
      return noEndpoint(failed);
    }
    if (!options.trustPeer) {
      const why = enterMissing ? `${own.reason}; ${say('go.otherNetns', { missing: enterMissing })}` : own.reason;
      out.unknowns.push({ probe: 'go', code: 'go.pprofRefused', args: { why }, hint: 'hint.trustPeer' });
      partial.push(say('go.partial.notTheTarget'));
      return undefined;
    }
    // trusted (port forward, other namespace): a command line that differs still proves it is another process
    if (inside) {
      const failed = await relayTo(ctx, ns, out, [{ host, port }]);
      if (failed) return noEndpoint(failed);
    }
    const verdict = await compareCmdline(ctx, url, ns);
    if (verdict === 'different') {
      out.unknowns.push({ probe: 'go', code: 'go.otherProcess', args: { url: displayUrl(url), pid: ctx.pid }, hint: 'go.hint.otherProcess' });
      partial.push(say('go.partial.otherProcess'));
      return undefined;
    }
    out.actions = [...(out.actions ?? []), say('go.trusted', { url: displayUrl(url), why: own.reason })];
    return url;
  }

  if (id.runtime !== 'go') return undefined;
  // GO* variables alone may be inherited by any program: its sockets are asked only when the binary is Go
  if (!id.build) {
    out.unknowns.push({ probe: 'go', code: 'go.noBuildInfo', hint: 'go.hint.noBuildInfo' });
    partial.push(say('go.partial.noEndpoint'));
    return undefined;
  }
  if (options.discover === false) {
    out.unknowns.push({ probe: 'go', code: 'go.discoverOff', hint: 'go.hint.discoverOff' });
    partial.push(say('go.partial.noEndpoint'));
    return undefined;
  }
  if (!listeners) return noEndpoint(say('go.cannotLook', { why: listenersWhy }));
  if (!listeners.length) return noEndpoint(say('go.noListener'));
  // found earlier in this run (the follow-up after the first look): asked again only if that
  // listener is no longer one of the process's own
  const startTicks = sources.stat().starttimeTicks;
  const known = sources.host.recall<string>(ctx.pid, startTicks, DISCOVERED);
  const still = known === undefined ? undefined : listeners.find((l) => l.url.href === known);
  const asking = still ? [still] : listeners.slice(0, MAX_CANDIDATES);
  const failed = await relayTo(
    ctx,
    ns,
    out,
    asking.map((l) => ({ host: l.url.hostname.replace(/^\[|\]$/g, ''), port: l.port })),
  );
  if (failed) return noEndpoint(failed);
  if (still) return still.url;
  const { found, tried } = await discover(asking, LIMITS.discoverMs, ctx.signal, options.ownEndpoints, ns.relay);
  const asked = tried.map((l) => l.port).join(', ');
  out.actions = [...(out.actions ?? []), say('go.asked', { ports: asked })];
  if (!found) return noEndpoint(say('go.noneServes', { ports: asked }));
  sources.host.remember(ctx.pid, startTicks, DISCOVERED, found.url.href);
  return found.url;
}

async function compareCmdline(ctx: ProbeContext, url: URL, ns: Inside): Promise<'same' | 'different' | 'unverified'> {
  let argv: string[];
  try {
    argv = ctx.sources.cmdline();
  } catch {
    return 'unverified';
  }
  if (!argv.length) return 'unverified';
  try {
    const r = await getText(endpointUrl(url, '/debug/pprof/cmdline'), {
      timeoutMs: LIMITS.cmdlineMs,
      maxBytes: 64 * 1024,
      signal: ctx.signal,
      allowRemote: !!ctx.options.allowRemote,
      ownEndpoints: ctx.options.ownEndpoints,
      ...(ns.relay ? { route: ns.relay } : {}),
    });
    if (r.status !== 200 || !r.complete || /text\/html/i.test(r.contentType)) return 'unverified';
    return sameCmdline(r.text, argv) ? 'same' : 'different';
  } catch {
    return 'unverified';
  }
}

/** Stream the text profile at `path` (?debug=1) into `push`; `bad` says why the answer is not one (a status, an HTML page). */
async function textProfile(base: URL, path: string, opts: GetOptions, push: (line: string) => void): Promise<{ r: StreamResult; bad?: string }> {
  let first: string | undefined;
  const r = await getLines(endpointUrl(base, `${path}?debug=1`), opts, (line) => {
    if (first === undefined && line.trim()) first = line;
    push(line);
  });
  const bad = notPprofText(r, path, first);
  return bad === undefined ? { r } : { r, bad };
}

interface GoroutineRead {
  profile?: GoroutineProfile;
  error?: string;
  statesProblem?: string;
}

async function readGoroutines(base: URL, req: (ms: number, bytes: number) => GetOptions, read: string[]): Promise<GoroutineRead> {
  const reader = new GoroutineProfileReader();
  let profile: GoroutineProfile;
  try {
    const { r, bad } = await textProfile(base, '/debug/pprof/goroutine', req(LIMITS.goroutineMs, LIMITS.goroutineBytes), (line) => reader.push(line));
    read.push('goroutine?debug=1');
    if (bad) return { error: bad };
    profile = reader.end(r.complete, r.incomplete);
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (profile.notProfile) return { error: `${displayUrl(base)}/debug/pprof/goroutine?debug=1: ${profile.problem}` };
  if (profile.total === undefined || profile.total > LIMITS.statesUpTo || !profile.groups.length) return { profile };

  // wait states (chan receive, select, IO wait …) and how long, from the per-goroutine dump
  const dump = new GoroutineDumpReader();
  try {
    const r = await getLines(endpointUrl(base, '/debug/pprof/goroutine?debug=2'), req(LIMITS.statesMs, LIMITS.statesBytes), (line) => dump.push(line));
    read.push('goroutine?debug=2');
    if (r.status !== 200)
      return { profile, statesProblem: say('go.statesUnknown', { why: say('pprof.status', { status: r.status, path: '/debug/pprof/goroutine?debug=2' }) }) };
    const d = dump.end(r.complete, r.incomplete);
    if (d.notProfile) return { profile, statesProblem: say('go.statesUnknown', { why: say('go.statesNotDump') }) };
    // a cut dump would give a biased sample of states: only a complete one is used
    if (!r.complete) return { profile, statesProblem: say('go.statesUnknown', { why: r.incomplete ?? '' }) };
    return { profile: { ...profile, groups: mergeStates(profile.groups, d) } };
  } catch (err) {
    return { profile, statesProblem: say('go.statesUnknown', { why: (err as Error).message }) };
  }
}

interface MemoryRead {
  stats: GoMemStats;
  memLimit?: number | null;
  error?: string;
}

async function readMemory(base: URL, req: (ms: number, bytes: number) => GetOptions, read: string[]): Promise<MemoryRead> {
  const problems: string[] = [];
  let memLimit: number | null | undefined;
  // /debug/vars is small and has the totals (and the limit, when the service publishes it)
  try {
    const r = await getText(endpointUrl(base, '/debug/vars'), req(LIMITS.varsMs, LIMITS.varsBytes));
    read.push('/debug/vars');
    if (r.status === 200 && !r.complete) problems.push(say('go.varsIncomplete', { why: r.incomplete ?? '' }));
    else if (r.status === 200 && !/text\/html/i.test(r.contentType)) {
      const v = parseVars(r.text);
      memLimit = v.memLimit;
      if (!v.problem && v.stats.heapAlloc !== undefined) return { stats: v.stats, ...(memLimit !== undefined ? { memLimit } : {}) };
      problems.push(v.problem ?? say('go.varsNoHeapAlloc'));
    } else problems.push(notPprofText(r, '/debug/vars', r.text.split('\n', 1)[0]) ?? say('pprof.status', { status: r.status, path: '/debug/vars' }));
  } catch (err) {
    problems.push((err as Error).message);
  }
  // the same failure for both (refused, TLS): said once
  const also = (problem: string) => [...new Set([problem, ...problems])].join('; ');
  // the heap profile ends with the same totals (its sampled records are skipped as they stream by)
  const heap = new HeapProfileReader();
  try {
    const { r, bad } = await textProfile(base, '/debug/pprof/heap', req(LIMITS.heapMs, LIMITS.heapBytes), (line) => heap.push(line));
    read.push('heap?debug=1');
    if (bad) return { stats: {}, error: also(bad) };
    const h = heap.end(r.complete, r.incomplete);
    const result: MemoryRead = { stats: h.stats, ...(memLimit !== undefined ? { memLimit } : {}) };
    if (h.problem && h.stats.heapAlloc === undefined) result.error = also(say('go.heapRead', { problem: h.problem }));
    return result;
  } catch (err) {
    return { stats: {}, error: also((err as Error).message) };
  }
}
