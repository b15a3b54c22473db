import { unitIndex } from '../engine/units.js';
import { formatUnit } from '../engine/format.js';
import { PROBES } from '../../probes/index.js';

const unitOf = unitIndex(PROBES);

/** A metric value formatted by the unit its probe declares. */
export function formatMetric(key: string, v: unknown): string {
  return formatUnit(unitOf(key), v);
}
