import type { Attribution, AttributionSite } from '../engine/attribution.js';
import { formatBytes, formatDuration, formatNumber } from '../engine/format.js';

/**
 * An attribution as a heading and a short ranked list, shared by the terminal and markdown views:
 *   Go heap profile (in-use bytes), growth over 30s
 *   1. main.leakyCache (cache.go:42): +180 MiB of +200 MiB (90%)
 *      ← main.handle (server.go:88)
 */
export function attributionLines(a: Attribution, maxSites = 5): { heading: string; sites: { text: string; frames: string[] }[] } {
  const window = a.windowSeconds !== undefined ? `, over ${formatDuration(a.windowSeconds)}` : '';
  if (a.unavailable !== undefined) {
    return { heading: `${a.source}: not available, ${a.unavailable}${a.hint ? ` (${a.hint})` : ''}`, sites: [] };
  }
  if (!a.sites.length) return { heading: `${a.source}${window}: nothing stood out`, sites: [] };
  return {
    heading: `${a.source}${window}`,
    sites: a.sites.slice(0, maxSites).map((s, i) => ({ text: `${i + 1}. ${siteName(s)}: ${siteValue(a, s)}`, frames: (s.frames ?? []).slice(0, 2) })),
  };
}

export function siteName(s: AttributionSite): string {
  const where = s.file ? `${s.file}${s.line !== undefined ? `:${s.line}` : ''}` : '';
  return where ? `${s.function} (${where})` : s.function;
}

function siteValue(a: Attribution, s: AttributionSite): string {
  const pct = percent(s.share);
  switch (a.unit) {
    case 'bytes': {
      const sign = a.kind === 'allocation-growth' ? (s.value >= 0 ? '+' : '') : '';
      return `${sign}${formatBytes(s.value)} of ${sign}${formatBytes(a.total)} (${pct})`;
    }
    case 'samples':
      return s.cumulative !== undefined ? `${pct} of the sampled time (${percent(s.cumulative / (a.total || 1))} with callees)` : `${pct} of the sampled time`;
    case 'seconds':
      return `${formatDuration(s.value)} of ${formatDuration(a.total)} (${pct})`;
    case 'count':
      return `${formatNumber(s.value)} of ${formatNumber(a.total)} (${pct})`;
  }
}

function percent(ratio: number): string {
  const p = ratio * 100;
  return p > 0 && p < 1 ? '<1%' : `${Math.round(p)}%`;
}
