import { PROBES } from '../../probes/index.js';
import { metricUnits, type MetricUnits } from '../engine/units.js';

/** The units of every metric the built-in probes declare: what the renderers are handed. */
export const UNITS: MetricUnits = metricUnits(PROBES);
