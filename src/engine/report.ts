import type { z } from 'zod';
import type { ReportSchema, TargetSchema } from './report-schema.js';
import type { SeverityLevel } from './playbook-schema.js';
import { SCHEMA_VERSION } from './schema-version.js';

// Types come from the zod schema (the single source of truth) without loading zod at run time.
export type Report = z.infer<typeof ReportSchema>;
export type TargetReport = z.infer<typeof TargetSchema>;
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

/** The one builder of the report envelope around target reports (diagnose, watch, analyze). */
export function assembleReport(
  targets: TargetReport[],
  opts: { playbook: { name: string }; redact: boolean; version: string },
  host: Report['host'],
  capturedAt = new Date().toISOString(),
): Report {
  const status = overallStatus(targets.map((t) => t.status));
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'proctriage', version: opts.version },
    capturedAt,
    host,
    status,
    exitCode: EXIT[status],
    redacted: opts.redact,
    playbook: opts.playbook.name,
    targets,
  };
}
