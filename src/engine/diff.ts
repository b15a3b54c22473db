/** Growth between two snapshots of one process: the domain of `proctriage diff`. */
import type { z } from 'zod';
import type { DiffReportSchema } from './report-schema.js';
import { builtinPlaybook } from './playbook.js';
import { evaluate } from './evaluate.js';
import { EXIT, statusOfFindings, type Report, type TargetReport } from './report.js';
import { SCHEMA_VERSION } from './schema-version.js';
import { growthRuleIds, metricChanges, trendMetrics, twoPointTrends, TWO_POINT_FLOOR } from './trends.js';
import { formatBytes } from './format.js';
import { Refused, SnapshotInvalid } from '../errors.js';

/** The JSON contract of `proctriage diff --json` (DiffReportSchema, published as schema/diff.schema.json). */
export type DiffReport = z.infer<typeof DiffReportSchema>;
export type DiffTarget = DiffReport['targets'][number];

export interface Snapshot {
  report: Report;
  /** the file's name as shown (clean) */
  name: string;
  /** the file's name as given, for error messages */
  file: string;
}

/**
 * Compare two snapshots of one process: their growth, judged by the playbook's growth rules.
 * `swapped` tells that b was the older one (they are compared in time order).
 */
export function diffSnapshots(first: Snapshot, second: Snapshot, version: string): { diff: DiffReport; swapped: boolean } {
  let [a, b] = [first, second];
  if (a.report.host.hostname !== b.report.host.hostname) {
    throw new Refused(
      `${a.file} was taken on host "${a.report.host.hostname}" and ${b.file} on "${b.report.host.hostname}": not the same process`,
      'diff compares two snapshots of one process',
    );
  }
  let seconds = (Date.parse(b.report.capturedAt) - Date.parse(a.report.capturedAt)) / 1000;
  if (!Number.isFinite(seconds)) throw new SnapshotInvalid(Number.isFinite(Date.parse(a.report.capturedAt)) ? b.file : a.file, 'capturedAt is not a timestamp');
  const swapped = seconds < 0;
  if (swapped) [a, b, seconds] = [b, a, -seconds];
  if (seconds === 0) throw new Refused(`${first.file} and ${second.file} were taken at the same moment: no growth to measure`);

  const pairs = pair(a.report, b.report, a.name, b.name);
  const playbook = builtinPlaybook();
  const growth = growthRuleIds(playbook);
  const targets: DiffTarget[] = pairs.map(([ta, tb]) => {
    const trends = twoPointTrends(ta.metrics, tb.metrics, seconds, playbook.limits);
    const metrics = { ...tb.metrics, ...trendMetrics(trends, 2) };
    const { findings } = evaluate(playbook, { pid: tb.pid, metrics, evidence: tb.evidence ?? {} });
    const mine = findings.filter((f) => growth.has(f.id));
    const changes = metricChanges(ta.metrics, tb.metrics, seconds).filter((c) => !c.metric.startsWith('trend.'));
    const status = statusOfFindings(mine.map((f) => f.severity)) as DiffTarget['status'];
    return { pid: tb.pid, comm: tb.comm, startTicks: tb.startTicks, startedAt: tb.startedAt, changes, trends, findings: mine, status };
  });
  const status = (['critical', 'warning'] as const).find((s) => targets.some((t) => t.status === s)) ?? 'ok';
  const diff: DiffReport = {
    schemaVersion: SCHEMA_VERSION,
    kind: 'diff',
    tool: { name: 'proctriage', version },
    from: { file: a.name, capturedAt: a.report.capturedAt },
    to: { file: b.name, capturedAt: b.report.capturedAt },
    elapsedSeconds: Math.round(seconds * 1000) / 1000,
    host: { hostname: b.report.host.hostname },
    status,
    exitCode: EXIT[status],
    method: `rate = change / elapsed time; growth counts when the rise is at least ${TWO_POINT_FLOOR.relative * 100}% of the earlier level and at least ${TWO_POINT_FLOOR.count} (or ${formatBytes(TWO_POINT_FLOOR.bytes)} of memory): two points carry no measure of noise, so use watch to test a trend`,
    targets,
  };
  return { diff, swapped };
}

/** Pair the targets of two reports by PID, refusing a PID that names two different processes. */
function pair(a: Report, b: Report, nameA: string, nameB: string): [TargetReport, TargetReport][] {
  const out: [TargetReport, TargetReport][] = [];
  for (const tb of b.targets) {
    const ta = a.targets.find((t) => t.pid === tb.pid);
    if (!ta) continue;
    if (ta.error || tb.error) continue;
    const same = ta.startTicks !== undefined && tb.startTicks !== undefined ? ta.startTicks === tb.startTicks : ta.startedAt === tb.startedAt;
    if (!same) {
      throw new Refused(
        `pid ${tb.pid} is not the same process in both snapshots (started ${ta.startedAt} in ${nameA}, ${tb.startedAt} in ${nameB}): the PID was reused`,
        'snapshot the new process twice to measure its growth',
      );
    }
    out.push([ta, tb]);
  }
  if (!out.length) {
    const pids = (r: Report) => r.targets.map((t) => t.pid).join(', ') || 'none';
    throw new Refused(`${nameA} (pid ${pids(a)}) and ${nameB} (pid ${pids(b)}) have no process in common`, 'diff compares two snapshots of one process');
  }
  return out;
}
