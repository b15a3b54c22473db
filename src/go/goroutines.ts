/**
 * Parsers for Go goroutine dumps as served by net/http/pprof, Go 1.19 to 1.23:
 *
 * - `goroutine?debug=1`: "goroutine profile: total N", then groups separated by blank lines:
 *   a header "COUNT @ 0xPC 0xPC ...", an optional "# labels: {...}" line, and frames
 *   "#\t0xPC\tpkg.func+0xOFF\tfile:line" (leading runtime.* frames are already hidden).
 * - `goroutine?debug=2`: one block per goroutine, "goroutine ID [state, N minutes]:", then
 *   "pkg.func(args)" / "\tfile:line +0xOFF" pairs and "created by pkg.func[ in goroutine N]".
 *
 * Both are streamed line by line into bounded aggregates: the number of distinct stacks kept
 * is capped, so a dump of any size costs a bounded amount of memory. Malformed or truncated
 * input yields what could be read plus a reason, never an exception.
 */
import { say } from '../messages.js';

/** Distinct stacks kept; goroutines beyond are counted, not itemised. */
export const MAX_GROUPS = 5000;
/** Functions kept per stack (the key of a stack uses them all, up to this many). */
export const MAX_FRAMES = 64;
/** Functions shown per stack in evidence. */
export const SHOWN_FRAMES = 6;

export interface StackGroup {
  count: number;
  /** the top meaningful frame: the first function outside the standard library, else the goroutine's entry */
  function: string;
  /** function names, innermost first (leading runtime.* frames dropped) */
  frames: string[];
  labels?: Record<string, string>;
  /** most common wait state (debug=2 only), e.g. "chan receive" */
  state?: string;
  /** longest wait in minutes among the group's goroutines (debug=2, only shown by Go after a minute) */
  waitMinutes?: number;
  /** the function that started these goroutines (debug=2) */
  createdBy?: string;
}

export interface GoroutineProfile {
  /** the runtime's count from the first line (debug=1) or the number of goroutine blocks (debug=2) */
  total?: number;
  /** goroutines seen in groups/blocks that were read completely enough to attribute */
  counted: number;
  /** all kept groups, largest first */
  groups: StackGroup[];
  /** goroutines in stacks beyond MAX_GROUPS */
  otherCount: number;
  /** lines that fit no rule */
  malformed: number;
  /** why the dump is not a complete, well-formed profile (absent when it is) */
  problem?: string;
  /** true when nothing profile-like was found at all */
  notProfile?: boolean;
}

/** Package path of a Go function name: "net/http.(*conn).serve" → "net/http". */
export function packageOf(fn: string): string {
  const slash = fn.lastIndexOf('/');
  const dot = fn.indexOf('.', slash + 1);
  return dot < 0 ? fn : fn.slice(0, dot);
}

/** Code the service owns or imports (main, or a module path such as github.com/...), not the standard library. */
export function isUserFunction(fn: string): boolean {
  const pkg = packageOf(fn);
  if (pkg === 'main') return true;
  const slash = pkg.indexOf('/');
  return (slash < 0 ? pkg : pkg.slice(0, slash)).includes('.');
}

/**
 * The frame that says where a group is stuck: the first function outside the standard
 * library (e.g. main.pollUpstream under chan receive); for goroutines entirely inside the
 * standard library, the function that started them (e.g. net/http.(*conn).serve).
 */
export function meaningfulFunction(frames: string[]): string {
  const user = frames.find(isUserFunction);
  if (user) return user;
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (f !== undefined && f !== 'runtime.goexit') return f;
  }
  return '?';
}

/** Drop the leading runtime.* frames (what debug=1 hides) and runtime.goexit. */
export function trimRuntime(frames: string[]): string[] {
  let i = 0;
  while (frames[i]?.startsWith('runtime.')) i++;
  // a stack made only of runtime frames (a system goroutine) keeps them
  const rest = i === frames.length ? frames : frames.slice(i);
  return rest.filter((f) => f !== 'runtime.goexit');
}

/**
 * Feed a whole body to a line reader. Go ends every dump with a newline: a last line without one
 * was cut mid-way and is dropped rather than read as a (wrong) function name.
 */
function readAll<T>(reader: { push(line: string): void; end(complete: boolean, incomplete?: string): T }, text: string): T {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const cut = (lines.pop() ?? '').length > 0;
  for (const line of lines) reader.push(line);
  return reader.end(!cut, cut ? say('go.textCut') : undefined);
}

/** Characters of a labels line read: 16 labels of 200 characters fit many times over. */
const MAX_LABELS_TEXT = 16 * 1024;

/** Go's labelMap.String(): {"k":"v", "k2":"v2"} with %q quoting. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // bounded input, and quoted strings in the unrolled form (no alternation inside a star, whose
  // backtracking overflowed the stack on a 40 MB label)
  const re = /"([^"\\]*(?:\\.[^"\\]*)*)"[ \t]*:[ \t]*"([^"\\]*(?:\\.[^"\\]*)*)"/g;
  const bounded = text.slice(0, MAX_LABELS_TEXT);
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(bounded)) && n < 16) {
    const [, k = '', v = ''] = m; // both groups are mandatory
    out[unquote(k).slice(0, 200)] = unquote(v).slice(0, 200);
    n++;
  }
  return out;
}

function unquote(s: string): string {
  try {
    return JSON.parse(`"${s}"`) as string;
  } catch {
    return s;
  }
}

interface Acc {
  count: number;
  frames: string[];
  labels?: Record<string, string>;
  states?: Map<string, number>;
  waitMinutes?: number;
  createdBy?: string;
}

/** Bounded map of stacks → counts, shared by both parsers. */
class StackTable {
  readonly byKey = new Map<string, Acc>();
  otherCount = 0;
  counted = 0;

  add(frames: string[], count: number, extra: { labels?: Record<string, string>; state?: string; minutes?: number; createdBy?: string } = {}): void {
    this.counted += count;
    // a group without frames (cut off) is counted but cannot be attributed to a stack
    if (!frames.length) {
      this.otherCount += count;
      return;
    }
    const key = frames.join('\n') + (extra.labels ? '\n#' + JSON.stringify(extra.labels) : '');
    let acc = this.byKey.get(key);
    if (!acc) {
      if (this.byKey.size >= MAX_GROUPS) {
        this.otherCount += count;
        return;
      }
      acc = { count: 0, frames, ...(extra.labels ? { labels: extra.labels } : {}) };
      this.byKey.set(key, acc);
    }
    acc.count += count;
    if (extra.state) {
      acc.states ??= new Map();
      acc.states.set(extra.state, (acc.states.get(extra.state) ?? 0) + count);
    }
    if (extra.minutes !== undefined) acc.waitMinutes = Math.max(acc.waitMinutes ?? 0, extra.minutes);
    if (extra.createdBy && !acc.createdBy) acc.createdBy = extra.createdBy;
  }

  groups(): StackGroup[] {
    const out: StackGroup[] = [];
    for (const a of this.byKey.values()) {
      const g: StackGroup = { count: a.count, function: meaningfulFunction(a.frames), frames: a.frames };
      if (a.labels && Object.keys(a.labels).length) g.labels = a.labels;
      const state = a.states && mostCommon(a.states);
      if (state !== undefined) g.state = state;
      if (a.waitMinutes !== undefined) g.waitMinutes = a.waitMinutes;
      if (a.createdBy) g.createdBy = a.createdBy;
      out.push(g);
    }
    return out.sort((x, y) => y.count - x.count || x.function.localeCompare(y.function));
  }
}

const D1_TOTAL = /^goroutine profile: total (\d+)\s*$/;
const D1_HEADER = /^(\d+) @((?: 0x[0-9a-fA-F]+)*)\s*$/;
// debug=1 goes through a tabwriter: columns are separated by one or more tabs
const D1_FRAME = /^#\t+(0x[0-9a-fA-F]+)(?:\t+(\S+?)(?:\+0x[0-9a-fA-F]+)?(?:\t+(.*))?)?\s*$/;
const D1_LABELS = /^# labels: (.*)$/;

/** Streaming parser for goroutine?debug=1. Feed lines, then call end(). */
export class GoroutineProfileReader {
  private table = new StackTable();
  private total?: number;
  private seenFirst = false;
  private notProfile = false;
  private malformed = 0;
  private cur?: { count: number; frames: string[]; labels?: Record<string, string>; framesCut: boolean };
  private groupsSeen = 0;

  push(line: string): void {
    if (this.notProfile) return;
    if (!this.seenFirst) {
      if (!line.trim()) return;
      this.seenFirst = true;
      const m = D1_TOTAL.exec(line);
      if (!m) {
        this.notProfile = true;
        return;
      }
      this.total = Number(m[1]);
      return;
    }
    if (!line.trim()) {
      this.close();
      return;
    }
    const h = D1_HEADER.exec(line);
    if (h) {
      this.close();
      this.cur = { count: Number(h[1]), frames: [], framesCut: false };
      this.groupsSeen++;
      return;
    }
    const labels = D1_LABELS.exec(line)?.[1];
    if (labels !== undefined && this.cur) {
      this.cur.labels = parseLabels(labels);
      return;
    }
    const f = D1_FRAME.exec(line);
    if (f && this.cur) {
      const fn = f[2] ?? '?';
      if (fn === 'runtime.goexit') return;
      if (this.cur.frames.length < MAX_FRAMES) this.cur.frames.push(fn);
      else this.cur.framesCut = true;
      return;
    }
    this.malformed++;
  }

  private close(): void {
    const c = this.cur;
    this.cur = undefined;
    if (!c) return;
    this.table.add(trimRuntime(c.frames), c.count, c.labels ? { labels: c.labels } : {});
  }

  /** Finish; `complete` says whether the transport received the whole body. */
  end(complete = true, incomplete?: string): GoroutineProfile {
    this.close();
    const p: GoroutineProfile = {
      counted: this.table.counted,
      groups: this.table.groups(),
      otherCount: this.table.otherCount,
      malformed: this.malformed,
    };
    if (this.total !== undefined) p.total = this.total;
    if (this.notProfile || !this.seenFirst) {
      p.notProfile = true;
      p.problem = say(this.seenFirst ? 'go.notGoroutineProfile' : 'go.emptyGoroutineProfile');
      return p;
    }
    const problems: string[] = [];
    if (!complete) problems.push(say('go.dumpIncomplete', incomplete !== undefined ? { why: incomplete } : {}));
    // the counts of a complete debug=1 profile add up to its total
    if (this.total !== undefined && p.counted < this.total) problems.push(say('go.dumpTruncated', { counted: p.counted, total: this.total }));
    else if (this.total !== undefined && this.total > 0 && this.groupsSeen === 0) problems.push(say('go.dumpNoStacks'));
    if (this.malformed) problems.push(say('go.malformedLines', { count: this.malformed }));
    if (problems.length) p.problem = problems.join('; ');
    return p;
  }
}

export function parseGoroutineProfile(text: string): GoroutineProfile {
  return readAll(new GoroutineProfileReader(), text);
}

const D2_HEADER = /^goroutine (\d+)(?: gp=\S+)?(?: m=\S+)?(?: mp=\S+)? \[([^\]]*)\]:\s*$/;
const D2_CREATED = /^created by (\S+?)(?: in goroutine (\d+))?\s*$/;
// greedy: the arguments are the last parenthesised part ("sync.(*Mutex).Lock(...)")
/** `pkg.func(args)`: the arguments are what follows the last "(" (linear, unlike /^(\S.*)\((.*)\)$/). */
function d2Func(line: string): [string, string, string] | undefined {
  if (!line.endsWith(')') || /^\s/.test(line)) return undefined;
  const k = line.lastIndexOf('(', line.length - 2);
  return k > 0 ? [line, line.slice(0, k), line.slice(k + 1, -1)] : undefined;
}
const D2_FILE = /^\t\S.*:\d+(?: \+0x[0-9a-fA-F]+)?$/;

/** "chan receive, 3 minutes" → state and minutes; "sync.Mutex.Lock" (1.23) and "semacquire" (1.19) kept as given. */
export function parseWaitState(s: string): { state: string; minutes?: number } {
  const parts = s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  let minutes: number | undefined;
  const rest: string[] = [];
  for (const p of parts) {
    const m = /^(\d+) minutes?$/.exec(p);
    if (m) minutes = Number(m[1]);
    else if (p !== 'locked to thread' && !/^scan/.test(p)) rest.push(p);
  }
  return { state: rest.join(', ') || s.trim(), ...(minutes !== undefined ? { minutes } : {}) };
}

/** Streaming parser for goroutine?debug=2 (also the format of a panic or SIGQUIT dump). */
export class GoroutineDumpReader {
  private table = new StackTable();
  private blocks = 0;
  private malformed = 0;
  private seenAny = false;
  private cur?: { state: string; minutes?: number; frames: string[]; createdBy?: string; expectFile: boolean };

  push(line: string): void {
    const h = D2_HEADER.exec(line);
    if (h) {
      this.close();
      this.seenAny = true;
      this.blocks++;
      const w = parseWaitState(h[2] ?? ''); // the [state] group is mandatory
      this.cur = { state: w.state, ...(w.minutes !== undefined ? { minutes: w.minutes } : {}), frames: [], expectFile: false };
      return;
    }
    if (!line.trim()) {
      this.close();
      return;
    }
    const c = this.cur;
    if (!c) {
      this.malformed++;
      return;
    }
    if (c.expectFile) {
      c.expectFile = false;
      if (D2_FILE.test(line)) return;
    }
    const cr = D2_CREATED.exec(line);
    if (cr) {
      c.createdBy = cr[1];
      c.expectFile = true;
      return;
    }
    if (line.startsWith('...')) return; // "...additional frames elided..."
    const f = d2Func(line);
    if (f && !line.startsWith('\t')) {
      if (c.frames.length < MAX_FRAMES) c.frames.push(f[1]);
      c.expectFile = true;
      return;
    }
    this.malformed++;
  }

  private close(): void {
    const c = this.cur;
    this.cur = undefined;
    if (!c) return;
    this.table.add(trimRuntime(c.frames), 1, { state: c.state, minutes: c.minutes, createdBy: c.createdBy });
  }

  end(complete = true, incomplete?: string): GoroutineProfile {
    this.close();
    const p: GoroutineProfile = {
      total: this.blocks,
      counted: this.table.counted,
      groups: this.table.groups(),
      otherCount: this.table.otherCount,
      malformed: this.malformed,
    };
    if (!this.seenAny) {
      delete p.total;
      p.notProfile = true;
      p.problem = say('go.notGoroutineDump');
      return p;
    }
    const problems: string[] = [];
    if (!complete) problems.push(say('go.dumpIncomplete', incomplete !== undefined ? { why: incomplete } : {}));
    if (this.malformed) problems.push(say('go.malformedLines', { count: this.malformed }));
    if (problems.length) p.problem = problems.join('; ');
    return p;
  }
}

/** Goroutines a GoroutineEntryReader keeps; past this many the dump is not used. */
const MAX_ENTRY_GOROUTINES = 20_000;

/**
 * The function a stack started in: its outermost frame outside the runtime (runtime.main and
 * runtime.goexit sit below every goroutine in a CPU profile, and tracebacks hide them).
 * Undefined for a stack of runtime frames only.
 */
export function entryFunction(frames: readonly string[]): string | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (f !== undefined && !f.startsWith('runtime.')) return f;
  }
  return undefined;
}

/**
 * Streaming reader of goroutine?debug=2 that keeps, per goroutine id, the function its stack
 * started in (see entryFunction); undefined where the traceback elided frames, so the start is
 * not known. Bounded: past MAX_ENTRY_GOROUTINES it only counts.
 */
export class GoroutineEntryReader {
  private readonly entries = new Map<number, string | undefined>();
  private blocks = 0;
  private cur?: { id: number; frames: string[]; elided: boolean; done: boolean };

  push(line: string): void {
    const h = D2_HEADER.exec(line);
    if (h) {
      this.close();
      this.blocks++;
      this.cur = { id: Number(h[1]), frames: [], elided: false, done: false };
      return;
    }
    const c = this.cur;
    if (!line.trim()) return this.close();
    if (!c || c.done || line.startsWith('\t')) return;
    if (line.startsWith('...')) c.elided = true;
    else if (D2_CREATED.test(line)) c.done = true;
    else {
      const f = d2Func(line);
      if (f) c.frames.push(f[1]);
    }
  }

  private close(): void {
    const c = this.cur;
    this.cur = undefined;
    if (c && this.entries.size < MAX_ENTRY_GOROUTINES) this.entries.set(c.id, c.elided ? undefined : entryFunction(c.frames));
  }

  /** The entries read; `complete` false when goroutines were past the bound or none were seen. */
  end(): { entries: Map<number, string | undefined>; complete: boolean } {
    this.close();
    return { entries: this.entries, complete: this.blocks > 0 && this.blocks <= MAX_ENTRY_GOROUTINES };
  }
}

export function parseGoroutineDump(text: string): GoroutineProfile {
  return readAll(new GoroutineDumpReader(), text);
}

/**
 * Add the wait state, longest wait and creator from a debug=2 dump to the debug=1 groups
 * with the same function sequence.
 */
/** The key with the largest count (the first such one on a tie); undefined for an empty map. */
function mostCommon(counts: Map<string, number>): string | undefined {
  return [...counts.entries()].sort((x, y) => y[1] - x[1])[0]?.[0];
}

export function mergeStates(groups: StackGroup[], dump: GoroutineProfile): StackGroup[] {
  // tracebacks (debug=2) hide runtime frames anywhere in the stack, debug=1 only leading ones
  const key = (frames: string[]) => (frames.some((f) => !f.startsWith('runtime.')) ? frames.filter((f) => !f.startsWith('runtime.')) : frames).join('\n');
  const byKey = new Map<string, StackGroup[]>();
  for (const g of dump.groups) {
    const k = key(g.frames);
    (byKey.get(k) ?? byKey.set(k, []).get(k)!).push(g);
  }
  return groups.map((g) => {
    const same = byKey.get(key(g.frames));
    if (!same?.length) return g;
    const states = new Map<string, number>();
    let minutes: number | undefined;
    for (const d of same) {
      if (d.state) states.set(d.state, (states.get(d.state) ?? 0) + d.count);
      if (d.waitMinutes !== undefined) minutes = Math.max(minutes ?? 0, d.waitMinutes);
    }
    const out: StackGroup = { ...g };
    const state = mostCommon(states);
    if (state !== undefined) out.state = state;
    if (minutes !== undefined) out.waitMinutes = minutes;
    const createdBy = same[0]?.createdBy;
    if (createdBy) out.createdBy = createdBy;
    return out;
  });
}

/** Evidence form of the top groups: {count, function, frames (first few), state?, ...}. */
export function topStacks(groups: StackGroup[], n = 5): Record<string, unknown>[] {
  return groups.slice(0, n).map((g) => ({
    count: g.count,
    function: g.function,
    frames: g.frames.slice(0, SHOWN_FRAMES),
    ...(g.state ? { state: g.state } : {}),
    ...(g.waitMinutes !== undefined ? { waitMinutes: g.waitMinutes } : {}),
    ...(g.createdBy ? { createdBy: g.createdBy } : {}),
    ...(g.labels ? { labels: g.labels } : {}),
  }));
}
