import type { Report } from '../engine/report.js';

/** The documented JSON contract (schema/report.schema.json). */
export function renderJson(report: Report): string {
  return JSON.stringify(report, null, 2) + '\n';
}
