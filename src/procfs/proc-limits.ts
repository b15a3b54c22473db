import { ParseError } from '../errors.js';

export interface Limit {
  soft: number; // Infinity when unlimited
  hard: number;
}

/** /proc/PID/limits → limits by name ("Max open files", "Max processes", …). */
export function parseProcLimits(text: string): Record<string, Limit> {
  const out: Record<string, Limit> = {};
  const lines = text.split('\n');
  if (!/^Limit\s+Soft Limit\s+Hard Limit/.test(lines[0] ?? '')) throw new ParseError('/proc/PID/limits', 'no header line');
  for (const line of lines.slice(1)) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    out[m[1]] = { soft: limitValue(m[2]), hard: limitValue(m[3]) };
  }
  return out;
}

function limitValue(v: string): number {
  if (v === 'unlimited') return Infinity;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ParseError('/proc/PID/limits', `"${v}" is not a limit`);
  return n;
}
