import { metricFormatter } from '../engine/units.js';
import { PROBES } from '../../probes/index.js';

/** A metric value formatted by the unit its probe declares. */
export const formatMetric = metricFormatter(PROBES);
