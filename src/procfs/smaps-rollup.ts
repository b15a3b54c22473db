import { ParseError } from '../errors.js';

/** /proc/PID/smaps_rollup → { Rss, Pss, Anonymous, Swap, … } in bytes. */
export function parseSmapsRollup(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [, key, kb] = /^(\w+):\s+(\d+) kB$/.exec(line.trim()) ?? [];
    if (key !== undefined && kb !== undefined) out[key] = Number(kb) * 1024;
  }
  if (!('Rss' in out)) throw new ParseError('/proc/PID/smaps_rollup', 'no Rss line');
  return out;
}
