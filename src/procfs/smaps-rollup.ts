import { ParseError } from '../errors.js';

/** /proc/PID/smaps_rollup → { Rss, Pss, Anonymous, Swap, … } in bytes. */
export function parseSmapsRollup(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line.trim());
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  if (!('Rss' in out)) throw new ParseError('/proc/PID/smaps_rollup', 'no Rss line');
  return out;
}
