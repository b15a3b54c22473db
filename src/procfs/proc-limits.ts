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
    const [, name, soft, hard] = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line) ?? [];
    if (name === undefined || soft === undefined || hard === undefined) continue;
    out[name] = { soft: limitValue(soft), hard: limitValue(hard) };
  }
  return out;
}

function limitValue(v: string): number {
  if (v === 'unlimited') return Infinity;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ParseError('/proc/PID/limits', `"${v}" is not a limit`);
  return n;
}
