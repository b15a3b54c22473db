/**
 * Go profiles in the pprof protobuf format (what net/http/pprof serves without `debug=`):
 * decoding with the `pprof-format` package, and the pure rankings built on it:
 *
 * - heap by allocation site: in-use bytes charged to the allocating frame, the first frame of a
 *   sample that is not runtime or allocation plumbing (`heapSites`);
 * - heap growth between two profiles of the same process (`heapGrowth`, the "two heap snapshots;
 *   diff" of `go tool pprof -base`);
 * - CPU by function, self and cumulative samples (`cpuTop`);
 * - goroutines by the stack they are parked in (`goroutineSites`), for the goroutine leak profile,
 *   which has the goroutine profile's format.
 *
 * Everything here is bounded: the uncompressed size is capped, the number of samples read is
 * capped, and a profile that is not one yields a ParseError, never a crash.
 */
import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import type * as PprofFormat from 'pprof-format';
import { ParseError } from '../errors.js';
import { rankSites, relativeToCwd, type Attribution, type AttributionSite } from '../engine/attribution.js';
import { entryFunction, meaningfulFunction } from './goroutines.js';

// zlib and pprof-format load on the first profile: most runs decode none (pprof-format through
// import(), which the one-file bundle follows)
const load = createRequire(import.meta.url);

/** A profile larger than this once uncompressed is refused (heap profiles of big services are a few MB). */
export const MAX_PROFILE_BYTES = 128 * 2 ** 20;
/** Samples read from one profile; the rest are counted in the total only through `truncated`. */
export const MAX_SAMPLES = 200_000;
/** Callers shown above a site. */
export const SHOWN_CALLERS = 2;

export interface Frame {
  function: string;
  file?: string;
  line?: number;
}

export interface ProfileSample {
  /** innermost first, inlined frames expanded */
  frames: Frame[];
  values: number[];
}

export interface GoProfile {
  /** "inuse_space/bytes", "samples/count", "cpu/nanoseconds", "goroutine/count" … in the sample value order */
  types: string[];
  samples: ProfileSample[];
  durationNanos: number;
  /** time the profile was taken (nanoseconds since the epoch), 0 when absent */
  timeNanos: number;
  /** some frame carries a function name: false for a profile of a binary without symbols */
  symbolized: boolean;
  /** samples beyond MAX_SAMPLES were not read */
  truncated: boolean;
}

const GZIP = [0x1f, 0x8b];

/** Decode a (gzipped or plain) pprof protobuf profile. Rejects with a ParseError when it is not one. */
export async function decodeProfile(bytes: Uint8Array, what = 'the profile'): Promise<GoProfile> {
  let raw: Uint8Array = bytes;
  if (bytes[0] === GZIP[0] && bytes[1] === GZIP[1]) {
    try {
      raw = (load('node:zlib') as typeof Zlib).gunzipSync(bytes, { maxOutputLength: MAX_PROFILE_BYTES });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ParseError(
        what,
        code === 'ERR_BUFFER_TOO_LARGE'
          ? `larger than ${MAX_PROFILE_BYTES / 2 ** 20} MiB uncompressed: not read`
          : `not a gzip stream (${code ?? (err as Error).message})`,
      );
    }
  } else if (bytes.length > MAX_PROFILE_BYTES) {
    throw new ParseError(what, `larger than ${MAX_PROFILE_BYTES / 2 ** 20} MiB: not read`);
  }
  const { Profile } = await import('pprof-format');
  let p: PprofFormat.Profile;
  try {
    p = Profile.decode(raw);
  } catch (err) {
    throw new ParseError(what, `not a pprof profile (${(err as Error).message})`);
  }
  return normalise(p, what);
}

function normalise(p: PprofFormat.Profile, what: string): GoProfile {
  const strings = p.stringTable.strings;
  const str = (i: unknown): string => strings[Number(i)] ?? '';
  const types = p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`);
  if (!types.length && p.sample.length) throw new ParseError(what, 'samples without sample types');
  const functions = new Map<string, { name: string; file: string }>();
  for (const f of p.function) functions.set(String(f.id), { name: str(f.name), file: str(f.filename) });
  let symbolized = false;
  const locations = new Map<string, Frame[]>();
  for (const l of p.location) {
    const frames: Frame[] = [];
    for (const line of l.line) {
      const f = functions.get(String(line.functionId));
      if (!f?.name) continue;
      symbolized = true;
      const n = Number(line.line);
      frames.push({ function: f.name, ...(f.file ? { file: f.file } : {}), ...(n > 0 ? { line: n } : {}) });
    }
    // a location without symbols: its address stands in for the function
    if (!frames.length) frames.push({ function: `0x${BigInt(l.address).toString(16)}` });
    locations.set(String(l.id), frames);
  }
  const samples: ProfileSample[] = [];
  for (const s of p.sample.slice(0, MAX_SAMPLES)) {
    const frames = s.locationId.flatMap((id) => locations.get(String(id)) ?? []);
    samples.push({ frames, values: s.value.map(Number) });
  }
  return {
    types,
    samples,
    symbolized,
    durationNanos: Number(p.durationNanos) || 0,
    timeNanos: Number(p.timeNanos) || 0,
    truncated: p.sample.length > MAX_SAMPLES,
  };
}

/** Index of a sample type ("inuse_space/bytes"), or -1. */
export function typeIndex(p: GoProfile, type: string): number {
  return p.types.indexOf(type);
}

/**
 * Runtime internals and the library helpers that allocate on a caller's behalf (growing a
 * buffer, a builder, a reflective value): an allocation is charged to the first frame that is
 * none of these.
 */
const PLUMBING = new Set([
  'bytes.growSlice',
  'bytes.(*Buffer).grow',
  'bytes.(*Buffer).Grow',
  'bytes.makeSlice',
  'strings.(*Builder).grow',
  'strings.(*Builder).Grow',
  'reflect.unsafe_New',
  'reflect.unsafe_NewArray',
  'reflect.New',
  'reflect.MakeSlice',
  'reflect.MakeMapWithSize',
]);

export function isAllocationPlumbing(fn: string): boolean {
  return fn.startsWith('runtime.') || fn.startsWith('internal/') || PLUMBING.has(fn);
}

/** The index of the frame an allocation is charged to: the first that is not plumbing, else the first. */
export function allocatingFrame(frames: Frame[]): number {
  const i = frames.findIndex((f) => !isAllocationPlumbing(f.function));
  return i < 0 ? 0 : i;
}

export interface SiteOptions {
  /** the target's working directory: paths under it are shown relative to it */
  cwd?: string;
  /** sites listed */
  limit?: number;
}

/** "main.handle (server.go:88)" */
export function frameText(f: Frame, cwd?: string): string {
  if (!f.file) return f.function;
  return `${f.function} (${relativeToCwd(f.file, cwd)}${f.line !== undefined ? `:${f.line}` : ''})`;
}

interface SiteTotal {
  frame: Frame;
  callers: Frame[];
  value: number;
}

const siteKey = (f: Frame) => `${f.function}\0${f.file ?? ''}\0${f.line ?? ''}`;

/** Sum one sample value per site, the site chosen by `pick` (the index of the frame charged). */
function bySite(p: GoProfile, index: number, pick: (frames: Frame[]) => number): Map<string, SiteTotal> {
  const out = new Map<string, SiteTotal>();
  for (const s of p.samples) {
    const v = s.values[index] ?? 0;
    if (!v || !s.frames.length) continue;
    const i = pick(s.frames);
    const frame = s.frames[i]!;
    const key = siteKey(frame);
    const t = out.get(key);
    if (t) {
      t.value += v;
      // the callers shown are those of the heaviest stack through the site
      if (v > t.value - v) t.callers = s.frames.slice(i + 1, i + 1 + SHOWN_CALLERS);
    } else out.set(key, { frame, callers: s.frames.slice(i + 1, i + 1 + SHOWN_CALLERS), value: v });
  }
  return out;
}

function toSite(t: SiteTotal, value: number, cwd: string | undefined): Omit<AttributionSite, 'share'> {
  const { frame } = t;
  return {
    function: frame.function,
    ...(frame.file ? { file: relativeToCwd(frame.file, cwd) } : {}),
    ...(frame.line !== undefined ? { line: frame.line } : {}),
    value,
    ...(t.callers.length ? { frames: t.callers.map((c) => frameText(c, cwd)) } : {}),
  };
}

const INUSE = 'inuse_space/bytes';
const ALLOC = 'alloc_space/bytes';

function inuseIndex(p: GoProfile, what: string, type = INUSE): number {
  const i = typeIndex(p, type);
  if (i < 0) throw new ParseError(what, `no ${type} values (sample types: ${p.types.join(', ') || 'none'})`);
  return i;
}

/** What holds heap memory now: in-use bytes by allocating site, largest first. */
export function heapSites(p: GoProfile, source: string, o: SiteOptions = {}): Attribution {
  return bytesBySite(p, source, INUSE, o);
}

/**
 * What allocates the most: bytes allocated since the process started, by allocating site, freed
 * or not (what keeps the garbage collector busy, where heapSites says what it cannot free).
 */
export function allocSites(p: GoProfile, source: string, o: SiteOptions = {}): Attribution {
  return bytesBySite(p, source, ALLOC, o);
}

function bytesBySite(p: GoProfile, source: string, type: string, o: SiteOptions): Attribution {
  const i = inuseIndex(p, 'the heap profile', type);
  const sites = bySite(p, i, allocatingFrame);
  let total = 0;
  for (const s of sites.values()) total += s.value;
  return {
    kind: 'allocation-sites',
    source,
    unit: 'bytes',
    total,
    sites: rankSites(
      [...sites.values()].map((t) => toSite(t, t.value, o.cwd)),
      total,
      o.limit,
    ),
  };
}

/**
 * What grew between two heap profiles of one process: in-use bytes per allocating site at the
 * end minus at the start. `total` is the growth of every site that grew, so a share says how
 * much of the growth one site explains; sites that shrank are not listed.
 */
export function heapGrowth(before: GoProfile, after: GoProfile, source: string, o: SiteOptions & { windowSeconds?: number } = {}): Attribution {
  const a = bySite(before, inuseIndex(before, 'the first heap profile'), allocatingFrame);
  const b = bySite(after, inuseIndex(after, 'the second heap profile'), allocatingFrame);
  const grown: Omit<AttributionSite, 'share'>[] = [];
  let total = 0;
  for (const [key, t] of b) {
    const delta = t.value - (a.get(key)?.value ?? 0);
    if (delta <= 0) continue;
    total += delta;
    grown.push(toSite(t, delta, o.cwd));
  }
  return {
    kind: 'allocation-growth',
    source,
    unit: 'bytes',
    total,
    ...(o.windowSeconds !== undefined ? { windowSeconds: o.windowSeconds } : {}),
    sites: rankSites(grown, total, o.limit),
  };
}

/**
 * Where CPU time went: samples by function, ranked by self samples (the function was running),
 * with cumulative samples (it was on the stack: callees included). A function's line is its
 * hottest one.
 */
export function cpuTop(p: GoProfile, source: string, o: SiteOptions = {}): Attribution {
  const i = typeIndex(p, 'samples/count');
  if (i < 0) throw new ParseError('the CPU profile', `no samples/count values (sample types: ${p.types.join(', ') || 'none'})`);
  const self = new Map<string, { value: number; lines: Map<number, number>; file?: string; callers: Frame[]; heaviest: number }>();
  const cumulative = new Map<string, number>();
  let total = 0;
  for (const s of p.samples) {
    const v = s.values[i] ?? 0;
    const leaf = s.frames[0];
    if (!v || !leaf) continue;
    total += v;
    const e = self.get(leaf.function) ?? { value: 0, lines: new Map<number, number>(), ...(leaf.file ? { file: leaf.file } : {}), callers: [], heaviest: 0 };
    e.value += v;
    if (leaf.line !== undefined) e.lines.set(leaf.line, (e.lines.get(leaf.line) ?? 0) + v);
    if (v > e.heaviest) {
      e.heaviest = v;
      e.callers = s.frames
        .slice(1)
        .filter((f) => f.function !== leaf.function)
        .slice(0, SHOWN_CALLERS);
    }
    self.set(leaf.function, e);
    for (const fn of new Set(s.frames.map((f) => f.function))) cumulative.set(fn, (cumulative.get(fn) ?? 0) + v);
  }
  const sites = [...self.entries()].map(([fn, e]) => {
    let line: number | undefined;
    let best = 0;
    for (const [l, n] of e.lines)
      if (n > best) {
        best = n;
        line = l;
      }
    return {
      function: fn,
      ...(e.file ? { file: relativeToCwd(e.file, o.cwd) } : {}),
      ...(line !== undefined ? { line } : {}),
      value: e.value,
      cumulative: cumulative.get(fn) ?? e.value,
      ...(e.callers.length ? { frames: e.callers.map((c) => frameText(c, o.cwd)) } : {}),
    };
  });
  const windowSeconds = p.durationNanos > 0 ? Math.round(p.durationNanos / 1e7) / 100 : undefined;
  return {
    kind: 'hot-functions',
    source,
    unit: 'samples',
    total,
    ...(windowSeconds !== undefined ? { windowSeconds } : {}),
    sites: rankSites(sites, total, o.limit),
  };
}

/**
 * Goroutines by the frame that says where they are parked (the first function outside the
 * standard library, else the goroutine's entry), for a goroutine or goroutine leak profile.
 */
export function goroutineSites(p: GoProfile, source: string, kind: Attribution['kind'], o: SiteOptions = {}): Attribution {
  const i = p.types.findIndex((t) => t.endsWith('/count'));
  if (i < 0) throw new ParseError('the goroutine profile', `no count values (sample types: ${p.types.join(', ') || 'none'})`);
  const pick = (frames: Frame[]) => {
    const fn = meaningfulFunction(frames.map((f) => f.function));
    const at = frames.findIndex((f) => f.function === fn);
    return at < 0 ? 0 : at;
  };
  const sites = bySite(p, i, pick);
  let total = 0;
  for (const s of sites.values()) total += s.value;
  return {
    kind,
    source,
    unit: 'count',
    total,
    sites: rankSites(
      [...sites.values()].map((t) => toSite(t, t.value, o.cwd)),
      total,
      o.limit,
    ),
  };
}

/** The goroutine a CPU profile can charge on its own, and how much of a core it took. */
export interface LoneGoroutine {
  /** percent of one core over the profile: 0 when no goroutine could be told apart */
  percent: number;
  id?: number;
  /** the function it started in */
  function?: string;
}

/**
 * CPU samples carry no goroutine id, but their stack starts where the goroutine did. A goroutine
 * alive at every look (goroutine dumps taken over the profile, id to entry function) that is
 * the only one seen started by its function is charged with every sample of stacks starting
 * there. Many goroutines of one function (a server's connections) are never charged this way,
 * however much CPU they share; an unknown entry (elided frames) never matches. Pure.
 */
export function loneGoroutine(p: GoProfile, looks: Map<number, string | undefined>[]): LoneGoroutine {
  const i = typeIndex(p, 'cpu/nanoseconds');
  if (i < 0) throw new ParseError('the CPU profile', `no cpu/nanoseconds values (sample types: ${p.types.join(', ') || 'none'})`);
  if (!looks.length || p.durationNanos <= 0) return { percent: 0 };
  const started = new Map<string, Set<number>>();
  for (const look of looks) for (const [id, fn] of look) if (fn !== undefined) started.set(fn, (started.get(fn) ?? new Set<number>()).add(id));
  const lone = new Map<string, number>();
  for (const [fn, ids] of started) {
    const [id] = ids;
    if (ids.size === 1 && id !== undefined && looks.every((l) => l.get(id) === fn)) lone.set(fn, id);
  }
  const ns = new Map<string, number>();
  for (const s of p.samples) {
    const fn = entryFunction(s.frames.map((f) => f.function));
    if (fn !== undefined && lone.has(fn)) ns.set(fn, (ns.get(fn) ?? 0) + (s.values[i] ?? 0));
  }
  let best: LoneGoroutine = { percent: 0 };
  for (const [fn, v] of ns) {
    const percent = Math.round((v / p.durationNanos) * 1000) / 10;
    if (percent > best.percent) best = { percent, id: lone.get(fn)!, function: fn };
  }
  return best;
}
