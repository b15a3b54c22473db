/**
 * The output of the generated bpftrace program (`bpftrace -f json`: one JSON object a line),
 * parsed. Pure: unit-tested on recorded output. Frames and module paths are the target's strings:
 * they are kept as they are here and cleaned where they are shown.
 */

export interface Frame {
  /** the address as bpftrace printed it (hex, no 0x) */
  address: string;
  /** the function, when the module has a symbol table */
  symbol?: string;
  offset?: number;
  /** the file the address lies in, as the target's maps name it; undefined when bpftrace could not tell */
  module?: string;
}

export interface TraceOutput {
  /** the window opened (every probe attached) */
  ready: boolean;
  /** what happened, in order: exec, exit, cap, deadline */
  events: string[];
  /** per stack (the stack's text is its identity) */
  opens: Map<string, number>;
  live: Map<string, number>;
  example: Map<string, number>;
  /** fds created in the window and not closed by its end */
  fds: number[];
  eventCount: number;
  /** lines that were not what the program prints */
  malformed: number;
}

const EVENTS = new Set(['ready', 'exec', 'exit', 'cap', 'deadline']);

export function parseTraceOutput(text: string): TraceOutput {
  const out: TraceOutput = { ready: false, events: [], opens: new Map(), live: new Map(), example: new Map(), fds: [], eventCount: 0, malformed: 0 };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const map = MAP_LINE.exec(line);
    if (map) {
      readMap(out, map[1]!, line.slice(map[0].length));
      continue;
    }
    let msg: { type?: unknown; data?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      out.malformed++;
      continue;
    }
    if (msg.type === 'printf' && typeof msg.data === 'string') {
      const ev = msg.data.trim();
      if (ev === 'ready') out.ready = true;
      else if (EVENTS.has(ev)) out.events.push(ev);
      else out.malformed++;
    } else if (msg.type !== 'attached_probes' && msg.type !== 'lost_events') {
      out.malformed++;
    }
  }
  return out;
}

/**
 * A map line is not read with JSON.parse: bpftrace keys a stack per thread, so one map object
 * holds the same stack text several times, and JSON.parse would keep only the last. The
 * entries are read in order ("key": number) and summed per stack.
 */
const MAP_LINE = /^\{"type": "map", "data": \{"(@\w+)": /;
// one JSON string key and its integer value: unambiguous, so linear in the line's length
const ENTRY = /"((?:[^"\\]|\\.)*)": (-?\d+)/g;

function readMap(out: TraceOutput, name: string, body: string): void {
  if (name === '@n') {
    const n = /^(\d+)\}\}$/.exec(body);
    if (n) out.eventCount = Number(n[1]);
    return;
  }
  const target = name === '@opens' ? out.opens : name === '@live' ? out.live : name === '@ex' ? out.example : undefined;
  if (!target && name !== '@fdt') {
    out.malformed++;
    return;
  }
  for (const m of body.matchAll(ENTRY)) {
    let key: string;
    try {
      key = JSON.parse(`"${m[1]!}"`) as string;
    } catch {
      out.malformed++;
      continue;
    }
    const v = Number(m[2]);
    if (name === '@fdt') {
      if (/^\d+$/.test(key)) out.fds.push(Number(key));
    } else if (name === '@ex') {
      target!.set(key, Math.max(target!.get(key) ?? -1, v));
    } else {
      target!.set(key, (target!.get(key) ?? 0) + v);
    }
  }
}

/** One stack as `ustack(perf)` prints it: a line per frame, "\t<hex> <symbol>+<offset> (<module>)". */
export function parseStack(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const sp = line.indexOf(' ');
    const address = (sp < 0 ? line : line.slice(0, sp)).toLowerCase();
    if (!/^[0-9a-f]{1,16}$/.test(address)) continue;
    let rest = sp < 0 ? '' : line.slice(sp + 1);
    let module: string | undefined;
    // "symbol+offset (module)": the module begins after the first "+N (" (a path may hold " (")
    const at = /\+\d+ \(/.exec(rest);
    const open = at ? rest.indexOf(' (', at.index) : rest.indexOf(' (');
    if (rest.endsWith(')') && open >= 0) {
      module = rest.slice(open + 2, -1);
      rest = rest.slice(0, open);
    } else if (rest.startsWith('(') && rest.endsWith(')')) {
      module = rest.slice(1, -1);
      rest = '';
    }
    if (module === '[unknown]' || module === '') module = undefined;
    const frame: Frame = { address };
    if (module !== undefined) frame.module = module;
    const plus = rest.lastIndexOf('+');
    const sym = plus > 0 && /^\d+$/.test(rest.slice(plus + 1)) ? rest.slice(0, plus) : rest;
    // bpftrace prints the bare address again where it has no symbol
    if (sym && !/^0x[0-9a-f]+$/i.test(sym)) {
      frame.symbol = sym;
      if (plus > 0 && sym !== rest) frame.offset = Number(rest.slice(plus + 1));
    }
    frames.push(frame);
  }
  return frames;
}

/**
 * The frames of one map key ("<stack>,<return address>"): the stack, with the return address
 * kept at a libc entry put in as the caller's frame when the kernel's walk left it out.
 */
export function stackFrames(key: string): Frame[] {
  const comma = key.lastIndexOf(',');
  const ra = comma >= 0 && /^\d+$/.test(key.slice(comma + 1)) ? BigInt(key.slice(comma + 1)) : 0n;
  const frames = parseStack(comma >= 0 && ra >= 0n && /^\d+$/.test(key.slice(comma + 1)) ? key.slice(0, comma) : key);
  if (ra > 0n && frames.length > 0) {
    const hex = ra.toString(16);
    if (frames[1]?.address !== hex) frames.splice(1, 0, { address: hex });
  }
  return frames;
}
