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
    } else if (msg.type === 'map' && msg.data && typeof msg.data === 'object') {
      for (const [name, value] of Object.entries(msg.data as Record<string, unknown>)) readMap(out, name, value);
    } else if (msg.type !== 'attached_probes' && msg.type !== 'lost_events') {
      out.malformed++;
    }
  }
  return out;
}

function readMap(out: TraceOutput, name: string, value: unknown): void {
  if (name === '@n') {
    if (typeof value === 'number') out.eventCount = value;
    return;
  }
  if (!value || typeof value !== 'object') return;
  const entries = Object.entries(value as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number');
  switch (name) {
    case '@opens': for (const [k, v] of entries) out.opens.set(k, v); break;
    case '@live': for (const [k, v] of entries) out.live.set(k, v); break;
    case '@ex': for (const [k, v] of entries) out.example.set(k, v); break;
    case '@fdt': for (const [k] of entries) if (/^\d+$/.test(k)) out.fds.push(Number(k)); break;
    default: out.malformed++;
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
    const open = rest.lastIndexOf(' (');
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
