/**
 * Pure rankings of what V8 reports about code: CPU profiles (Profiler.stop), sampling heap
 * profiles (HeapProfiler.stopSampling) and the census of active timers, each into the one
 * Attribution shape. No I/O: recorded profiles are ranked the same way in the unit tests.
 *
 * Time or bytes spent inside Node's own code (node:internal/…, native builtins such as a hash's
 * digest) are charged to the innermost frame of the application above them: that is the line an
 * engineer changes. Runtime pseudo-frames ((garbage collector), (program)) stay as they are.
 */
import { fileURLToPath } from 'node:url';
import { rankSites, relativeToCwd, type Attribution, type AttributionSite } from '../engine/attribution.js';

export interface CallFrame {
  functionName: string;
  scriptId?: string;
  url: string;
  /** 0-based, as V8 reports it */
  lineNumber: number;
  columnNumber?: number;
}

export interface CpuProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  /** samples by source line (1-based) inside this node's function */
  positionTicks?: { line: number; ticks: number }[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HeapProfileNode {
  callFrame: CallFrame;
  selfSize: number;
  id?: number;
  children?: HeapProfileNode[];
}

export interface SamplingHeapProfile {
  head: HeapProfileNode;
  samples?: { size: number; nodeId: number; ordinal: number }[];
}

/** How many sites an attribution lists. */
const SITES = 5;
/** Callers kept per site (innermost first). */
const FRAMES = 2;

/** A script URL as a file: file:// URLs become paths (relative to the target's cwd when shorter); node: and others stay. */
export function scriptFile(url: string, cwd: string | undefined): string | undefined {
  if (!url) return undefined;
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = fileURLToPath(url);
    } catch {
      path = url;
    }
  }
  return relativeToCwd(path, cwd);
}

/** Application code: a script with a URL that is neither Node's own (node:…) nor a V8 pseudo-frame. */
export function isAppFrame(f: CallFrame): boolean {
  return f.url !== '' && !f.url.startsWith('node:') && !/^(internal[/:]|evalmachine\.)/.test(f.url);
}

/** Pseudo-frames of the runtime, which stand for themselves. */
function isPseudo(f: CallFrame): boolean {
  return /^\(.*\)$/.test(f.functionName) && f.url === '';
}

function frameKey(f: CallFrame): string {
  return `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}`;
}

function siteOf(f: CallFrame, cwd: string | undefined): Omit<AttributionSite, 'value' | 'share'> {
  const file = scriptFile(f.url, cwd);
  return {
    function: f.functionName || '(anonymous)',
    ...(file !== undefined ? { file } : {}),
    ...(file !== undefined && f.lineNumber >= 0 ? { line: f.lineNumber + 1 } : {}),
  };
}

function frameText(f: CallFrame, cwd: string | undefined): string {
  const s = siteOf(f, cwd);
  return s.file ? `${s.function} (${s.file}${s.line !== undefined ? `:${s.line}` : ''})` : s.function;
}

/**
 * The frame a stack (outermost first) is charged to: the innermost application frame, else the
 * innermost frame (a pseudo-frame, or Node's own code when no application frame is on the stack).
 */
function chargedIndex(stack: CallFrame[]): number {
  for (let i = stack.length - 1; i >= 0; i--) if (isAppFrame(stack[i]!)) return i;
  return stack.length - 1;
}

/** The application callers above position i, innermost first. */
function callersOf(stack: CallFrame[], i: number, cwd: string | undefined): string[] {
  const out: string[] = [];
  for (let j = i - 1; j >= 0 && out.length < FRAMES; j--) {
    const f = stack[j]!;
    if (isAppFrame(f)) out.push(frameText(f, cwd));
  }
  return out;
}

/**
 * A CPU profile ranked by self time: each sample is charged to the innermost application frame
 * on its stack; `cumulative` counts the samples whose stack contains the site at all. The total
 * is every sample, idle included, so a share is a share of the wall time sampled. The line is the
 * one the function spent most of its samples on (V8's position ticks), else where it begins: a
 * callee the optimiser inlined has no frame of its own, and its time shows at the line calling it.
 */
export function rankCpuProfile(p: CpuProfile, cwd: string | undefined, source: string): Attribution {
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stacks = new Map<number, { charged?: CallFrame; callers: string[]; keys: string[] }>();
  const stackOf = (id: number) => {
    const known = stacks.get(id);
    if (known) return known;
    const frames: CallFrame[] = [];
    const seen = new Set<number>();
    for (let at: number | undefined = id; at !== undefined && !seen.has(at); at = parent.get(at)) {
      seen.add(at);
      const n = byId.get(at);
      if (!n) break;
      if (n.callFrame.functionName !== '(root)') frames.unshift(n.callFrame);
    }
    const i = chargedIndex(frames);
    const charged = frames[i];
    const keys = [...new Set(frames.filter((f) => isAppFrame(f) || isPseudo(f)).map(frameKey))];
    const s = { ...(charged ? { charged } : {}), callers: charged ? callersOf(frames, i, cwd) : [], keys };
    stacks.set(id, s);
    return s;
  };
  const self = new Map<string, { frame: CallFrame; n: number; callers: string[] }>();
  const cumulative = new Map<string, number>();
  const samples = p.samples ?? [];
  for (const id of samples) {
    const s = stackOf(id);
    for (const k of s.keys) cumulative.set(k, (cumulative.get(k) ?? 0) + 1);
    if (!s.charged || s.charged.functionName === '(idle)') continue;
    const k = frameKey(s.charged);
    const e = self.get(k);
    if (e) e.n++;
    else self.set(k, { frame: s.charged, n: 1, callers: s.callers });
  }
  // the line each function spent its own time on (an inlined callee's time shows at the line that calls it)
  const lines = new Map<string, Map<number, number>>();
  for (const n of p.nodes) {
    if (!isAppFrame(n.callFrame) || !n.positionTicks?.length) continue;
    const k = frameKey(n.callFrame);
    const m = lines.get(k) ?? new Map<number, number>();
    for (const t of n.positionTicks) if (Number.isSafeInteger(t.line) && t.line > 0 && t.ticks > 0) m.set(t.line, (m.get(t.line) ?? 0) + t.ticks);
    lines.set(k, m);
  }
  const hottest = (k: string) => [...(lines.get(k) ?? [])].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  const total = samples.length;
  const sites = rankSites(
    [...self].map(([k, e]) => {
      const site = siteOf(e.frame, cwd);
      const line = site.file !== undefined ? hottest(k) : undefined;
      return {
        ...site,
        ...(line !== undefined ? { line } : {}),
        value: e.n,
        cumulative: Math.max(e.n, cumulative.get(k) ?? e.n),
        ...(e.callers.length ? { frames: e.callers } : {}),
      };
    }),
    total,
    SITES,
  );
  const seconds = Math.max(0, (p.endTime - p.startTime) / 1e6);
  return { kind: 'hot-functions', source, unit: 'samples', total, windowSeconds: Math.round(seconds * 100) / 100, sites };
}

/**
 * A sampling heap profile of live objects only (allocated during the window and still reachable
 * when it ended) ranked by bytes: each node's self size is charged to the innermost application
 * frame of its allocation stack.
 */
export function rankHeapProfile(p: SamplingHeapProfile, cwd: string | undefined, source: string, windowSeconds?: number): Attribution {
  const sites = new Map<string, { frame: CallFrame; bytes: number; callers: Map<string, number> }>();
  let total = 0;
  // iterative walk: a hostile or very deep profile must not overflow our stack
  const todo: { node: HeapProfileNode; stack: CallFrame[] }[] = [{ node: p.head, stack: [] }];
  let visited = 0;
  while (todo.length && visited++ < 1_000_000) {
    const { node, stack: above } = todo.pop()!;
    const stack = node.callFrame.functionName === '(root)' ? above : [...above, node.callFrame];
    const size = Number.isFinite(node.selfSize) && node.selfSize > 0 ? node.selfSize : 0;
    if (size > 0 && stack.length) {
      total += size;
      const i = chargedIndex(stack);
      const f = stack[i]!;
      const k = frameKey(f);
      const e = sites.get(k) ?? { frame: f, bytes: 0, callers: new Map<string, number>() };
      e.bytes += size;
      const c = callersOf(stack, i, cwd).join('\u0000');
      e.callers.set(c, (e.callers.get(c) ?? 0) + size);
      sites.set(k, e);
    }
    for (const c of node.children ?? []) todo.push({ node: c, stack });
  }
  const ranked = rankSites(
    [...sites.values()].map((e) => {
      // the callers that account for most of the site's bytes
      const top = [...e.callers].sort((a, b) => b[1] - a[1])[0]?.[0];
      const frames = top ? top.split('\u0000') : [];
      return { ...siteOf(e.frame, cwd), value: e.bytes, ...(frames.length ? { frames } : {}) };
    }),
    total,
    SITES,
  );
  return { kind: 'allocation-growth', source, unit: 'bytes', total, ...(windowSeconds !== undefined ? { windowSeconds } : {}), sites: ranked };
}

/** A timer callback's group as the census reports it, with its location once resolved. */
export interface TimerGroup {
  name: string;
  /** timers in the group */
  n: number;
  /** of them, intervals (setInterval) */
  intervals: number;
  /** where the callback is defined (0-based line, as V8 reports it) */
  url?: string;
  lineNumber?: number;
}

/**
 * Active timers grouped by where their callback is defined. `total` counts every active timer;
 * when the census sent fewer groups than there are (one closure per timer, say), the counts of
 * the groups it sent are scaled up to the total, and `scaled` says so.
 */
export function rankTimerOrigins(total: number, groups: TimerGroup[], cwd: string | undefined, source: string): Attribution & { scaled: boolean } {
  const sent = groups.reduce((x, g) => x + g.n, 0);
  const factor = sent > 0 && total > sent ? total / sent : 1;
  const by = new Map<string, { site: Omit<AttributionSite, 'value' | 'share'>; n: number; intervals: number }>();
  for (const g of groups) {
    const frame: CallFrame = { functionName: g.name, url: g.url ?? '', lineNumber: g.lineNumber ?? -1 };
    const site = siteOf(frame, cwd);
    const k = `${site.function}\u0000${site.file ?? ''}\u0000${site.line ?? ''}`;
    const e = by.get(k) ?? { site, n: 0, intervals: 0 };
    e.n += g.n;
    e.intervals += g.intervals;
    by.set(k, e);
  }
  const sites = rankSites(
    [...by.values()].map((e) => ({
      ...e.site,
      value: Math.round(e.n * factor),
      frames: [
        e.intervals === e.n
          ? 'setInterval'
          : e.intervals === 0
            ? 'setTimeout'
            : `setInterval ×${Math.round(e.intervals * factor)}, setTimeout ×${Math.round((e.n - e.intervals) * factor)}`,
      ],
    })),
    total,
    SITES,
  );
  return { kind: 'timer-origins', source, unit: 'count', total, sites, scaled: factor !== 1 };
}

/** Sockets grouped by the other end, as PEERS_EXPRESSION counts them. */
export function rankPeers(sockets: number, peers: { peer: string; n: number }[], source: string): Attribution {
  return {
    kind: 'handle-peers',
    source,
    unit: 'count',
    total: sockets,
    sites: rankSites(
      peers.map((p) => ({ function: p.peer, value: p.n })),
      sockets,
      SITES,
    ),
  };
}
