import type { z } from 'zod';
import type { ReportSchema, TargetSchema, FindingSchema } from './report-schema.js';
import type { SeverityLevel } from './playbook-schema.js';

// Types come from the zod schema (the single source of truth) without loading zod at run time.
export type Report = z.infer<typeof ReportSchema>;
export type TargetReport = z.infer<typeof TargetSchema>;
export type ReportFinding = z.infer<typeof FindingSchema>;
export type Status = Report['status'];

export const EXIT: Record<Status, number> = { ok: 0, warning: 1, critical: 2, unknown: 3 };

/** Worst status over targets: critical > warning > unknown > ok (an outage beats a blind spot). */
export function overallStatus(statuses: Status[]): Status {
  const order: Status[] = ['critical', 'warning', 'unknown', 'ok'];
  return order.find((s) => statuses.includes(s)) ?? 'unknown';
}

export function statusOfFindings(severities: SeverityLevel[]): Status {
  if (severities.includes('critical')) return 'critical';
  if (severities.includes('warning')) return 'warning';
  return 'ok';
}
