import type { FactSpec, Probe, Unit } from './probe.js';
import { formatUnit } from './format.js';

/** A metric's declared fact (unit and meaning) from the probes, families like node.handles.byType.* included. */
export function factIndex(probes: Probe[]): (key: string) => FactSpec | undefined {
  const exact = new Map<string, FactSpec>();
  const families: [string, FactSpec][] = [];
  for (const p of probes) {
    for (const [k, f] of Object.entries(p.meta.facts)) {
      if (k.endsWith('.*')) families.push([k.slice(0, -1), f]);
      else exact.set(k, f);
    }
  }
  return (key) => exact.get(key) ?? families.find(([prefix]) => key.startsWith(prefix))?.[1];
}

/** Unit lookup from the probes' declared facts (families like fd.byType.* included). */
export function unitIndex(probes: Probe[]): (key: string) => Unit | undefined {
  const fact = factIndex(probes);
  const lookup = (key: string): Unit | undefined => fact(key)?.unit;
  return (key) => {
    // derived keys: trend.<metric>.perHour / .etaSeconds, fleet.<metric>.ratio
    const [, metric, derived] = /^trend\.(.+)\.(perHour|etaSeconds|significant)$/.exec(key) ?? [];
    if (metric !== undefined) return derived === 'etaSeconds' ? 'seconds' : derived === 'significant' ? 'count' : lookup(metric);
    if (/^fleet\..+\.ratio$/.test(key)) return 'multiple';
    return lookup(key);
  };
}

/**
 * What the renderers know of metrics, from the probes that declare them: the fact, the unit, and a
 * value written in it. Built by the command (renderers never import the probes) and handed in.
 */
export interface MetricUnits {
  fact: (key: string) => FactSpec | undefined;
  unit: (key: string) => Unit | undefined;
  format: (key: string, v: unknown) => string;
}

export function metricUnits(probes: Probe[]): MetricUnits {
  const unit = unitIndex(probes);
  return { fact: factIndex(probes), unit, format: (key, v) => formatUnit(unit(key), v) };
}

/** A metric's value as text, by the unit its probe declares. */
export function metricFormatter(probes: Probe[]): (key: string, v: unknown) => string {
  const unitOf = unitIndex(probes);
  return (key, v) => formatUnit(unitOf(key), v);
}
