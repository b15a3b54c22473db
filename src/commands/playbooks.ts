import { builtinPlaybook, loadPlaybook, loadPlaybookFile } from '../engine/playbook.js';
import type { MetricRegistry, Playbook } from '../engine/playbook-schema.js';
import { declares } from '../engine/probe.js';
import { RESOURCES, TREND_FIELDS } from '../engine/trends.js';
import { PROBES } from '../../probes/index.js';

/**
 * Every metric a playbook may name: what the probes declare, and what watch, diff and several
 * targets add (trend.<resource>.<field>, fleet.<key>.ratio).
 */
export function metricRegistry(): MetricRegistry {
  // the keys replicas are compared on are the built-in playbook's; a team playbook may name others
  const fleetKeys = Object.keys(builtinPlaybook().limits.replicas.floors);
  const derived = [
    'trend.samples',
    'trend.minSamples',
    'fleet.peers',
    ...RESOURCES.flatMap((r) => TREND_FIELDS.map((f) => `trend.${r.key}.${f}`)),
    ...fleetKeys.map((k) => `fleet.${k}.ratio`),
  ];
  const exact = [...PROBES.flatMap((p) => Object.keys(p.meta.facts).filter((k) => !k.endsWith('.*'))), ...derived];
  const all = new Set(exact);
  return { exact, known: (key) => all.has(key) || PROBES.some((p) => declares(p.meta, key)) };
}

/** The playbook a command runs with: the built-in one, or a team's file checked against the metrics that exist. */
export function playbookFor(file?: string): Promise<Playbook> {
  return loadPlaybook(file, file ? metricRegistry() : undefined);
}

export function validatePlaybookFile(file: string): Promise<Playbook> {
  return loadPlaybookFile(file, metricRegistry());
}
