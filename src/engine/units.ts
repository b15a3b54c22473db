import type { Probe, Unit } from './probe.js';
import { formatUnit } from './format.js';

/** Unit lookup from the probes' declared facts (families like fd.byType.* included). */
function unitIndex(probes: Probe[]): (key: string) => Unit | undefined {
  const exact = new Map<string, Unit>();
  const families: [string, Unit][] = [];
  for (const p of probes) {
    for (const [k, f] of Object.entries(p.meta.facts)) {
      if (k.endsWith('.*')) families.push([k.slice(0, -1), f.unit]);
      else exact.set(k, f.unit);
    }
  }
  const lookup = (key: string): Unit | undefined => {
    if (exact.has(key)) return exact.get(key);
    return families.find(([prefix]) => key.startsWith(prefix))?.[1];
  };
  return (key) => {
    // derived keys: trend.<metric>.perHour / .etaSeconds, fleet.<metric>.ratio
    const [, metric, derived] = /^trend\.(.+)\.(perHour|etaSeconds|significant)$/.exec(key) ?? [];
    if (metric !== undefined) return derived === 'etaSeconds' ? 'seconds' : derived === 'significant' ? 'count' : lookup(metric);
    if (/^fleet\..+\.ratio$/.test(key)) return 'ratio';
    return lookup(key);
  };
}

/** A metric's value as text, by the unit its probe declares. */
export function metricFormatter(probes: Probe[]): (key: string, v: unknown) => string {
  const unitOf = unitIndex(probes);
  return (key, v) => formatUnit(unitOf(key), v);
}
