import { FileError } from '../errors.js';
import { MAX_NESTING, nestedDeeperThan, readFileBounded } from '../files.js';
import { clean, cleanDeep } from '../engine/redact.js';
import { builtinPlaybook } from '../engine/playbook.js';
import { evaluate, type Finding } from '../engine/evaluate.js';
import { EXIT, statusOfFindings, type Report, type TargetReport } from '../engine/report.js';
import { SCHEMA_VERSION } from '../engine/schema-version.js';
import {
  growthRuleIds, metricChanges, trendMetrics, twoPointTrends, TWO_POINT_FLOOR, type MetricChange, type Trend,
} from '../engine/trends.js';
import { formatBytes, formatDuration } from '../engine/format.js';
import { Refused, SnapshotInvalid } from '../errors.js';
import { outputFormat, useColor, type OutputOptions } from './options.js';
import { VERSION } from '../version.js';
import { formatMetric } from '../render/units.js';
import { trendLines } from '../render/live.js';

/** The JSON contract of `proctriage diff --json` (DiffReportSchema, published as schema/diff.schema.json). */
export interface DiffReport {
  schemaVersion: typeof SCHEMA_VERSION;
  kind: 'diff';
  tool: { name: 'proctriage'; version: string };
  from: { file: string; capturedAt: string };
  to: { file: string; capturedAt: string };
  elapsedSeconds: number;
  host: { hostname: string };
  status: 'ok' | 'warning' | 'critical';
  exitCode: number;
  /** how growth is judged from two points */
  method: string;
  targets: DiffTarget[];
}

export interface DiffTarget {
  pid: number;
  comm: string;
  startTicks?: number;
  startedAt: string;
  /** every numeric metric present in both snapshots: from, to, change, change per hour */
  changes: MetricChange[];
  trends: Record<string, Trend>;
  /** growth findings only: the level findings are in each snapshot */
  findings: Finding[];
  status: 'ok' | 'warning' | 'critical';
}

/** `proctriage diff a.json b.json`: growth of every metric between two snapshots of one process. */
export async function run(fileA: string, fileB: string, o: OutputOptions): Promise<number> {
  const format = outputFormat(o);
  let [a, b] = [await loadSnapshot(fileA), await loadSnapshot(fileB)];
  let [nameA, nameB] = [clean(fileA), clean(fileB)];
  if (a.host.hostname !== b.host.hostname) {
    throw new Refused(`${fileA} was taken on host "${a.host.hostname}" and ${fileB} on "${b.host.hostname}": not the same process`, 'diff compares two snapshots of one process');
  }
  let seconds = (Date.parse(b.capturedAt) - Date.parse(a.capturedAt)) / 1000;
  if (!Number.isFinite(seconds)) throw new SnapshotInvalid(Number.isFinite(Date.parse(a.capturedAt)) ? fileB : fileA, 'capturedAt is not a timestamp');
  if (seconds < 0) {
    [a, b, nameA, nameB, seconds] = [b, a, nameB, nameA, -seconds];
    if (format !== 'json') process.stderr.write(`proctriage: ${nameA} is the older snapshot: comparing in time order\n`);
  }
  if (seconds === 0) throw new Refused(`${fileA} and ${fileB} were taken at the same moment: no growth to measure`);

  const pairs = pair(a, b, nameA, nameB);
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
    tool: { name: 'proctriage', version: VERSION },
    from: { file: nameA, capturedAt: a.capturedAt },
    to: { file: nameB, capturedAt: b.capturedAt },
    elapsedSeconds: Math.round(seconds * 1000) / 1000,
    host: { hostname: b.host.hostname },
    status,
    exitCode: EXIT[status],
    method: `rate = change / elapsed time; growth counts when the rise is at least ${TWO_POINT_FLOOR.relative * 100}% of the earlier level and at least ${TWO_POINT_FLOOR.count} (or ${formatBytes(TWO_POINT_FLOOR.bytes)} of memory): two points carry no measure of noise, so use watch to test a trend`,
    targets,
  };
  if (format === 'json') process.stdout.write(JSON.stringify(diff, null, 2) + '\n');
  else if (format === 'markdown') process.stdout.write(await renderDiffMarkdown(diff));
  else process.stdout.write(await renderDiffTable(diff, useColor(o)));
  return diff.exitCode;
}

/**
 * Read one snapshot. Whatever is wrong with it — unreadable, not a regular file, too large, empty,
 * truncated, not JSON, nested absurdly deep, not a proctriage report, written by a newer version,
 * not matching the schema — is one clear line and exit 3 (SnapshotInvalid or FileError), never a
 * stack trace. Every string in it comes back clean() (terminal-safe): a snapshot can be edited.
 */
export async function loadSnapshot(file: string): Promise<Report> {
  let text: string;
  try {
    text = readFileBounded(file, { what: 'snapshot' }).toString('utf8');
  } catch (err) {
    if (err instanceof FileError && err.code === 'FILE_NOT_REGULAR' && /is a directory/.test(err.message)) {
      throw new SnapshotInvalid(file, 'is a directory (a capture bundle? use proctriage analyze)');
    }
    throw err;
  }
  if (!text.trim()) throw new SnapshotInvalid(file, 'empty file: not a snapshot');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    if (err instanceof RangeError) throw new SnapshotInvalid(file, `nested deeper than ${MAX_NESTING} levels: not a snapshot`);
    throw new SnapshotInvalid(file, 'not valid JSON: the snapshot is corrupt or truncated');
  }
  if (nestedDeeperThan(data)) throw new SnapshotInvalid(file, `nested deeper than ${MAX_NESTING} levels: not a snapshot`);
  const d = data as Record<string, unknown> | null;
  if (!d || typeof d !== 'object' || Array.isArray(d)) throw new SnapshotInvalid(file, 'not a proctriage snapshot (not a JSON object)');
  if (d.kind === 'proctriage-capture') throw new SnapshotInvalid(file, 'a capture bundle manifest, not a snapshot: use proctriage analyze <bundle dir>');
  if (d.kind === 'diff') throw new SnapshotInvalid(file, 'the output of proctriage diff, not a snapshot');
  const tool = d.tool as Record<string, unknown> | undefined;
  if (!tool || tool.name !== 'proctriage' || !('schemaVersion' in d)) throw new SnapshotInvalid(file, 'not a proctriage snapshot (foreign JSON)');
  if (typeof d.schemaVersion !== 'number' || !Number.isInteger(d.schemaVersion) || d.schemaVersion < 1) {
    throw new SnapshotInvalid(file, `schemaVersion ${JSON.stringify(d.schemaVersion)} is not a valid version`);
  }
  if (d.schemaVersion > SCHEMA_VERSION) {
    throw new SnapshotInvalid(file, `written by a newer proctriage (schemaVersion ${d.schemaVersion}; this one, ${VERSION}, reads ${SCHEMA_VERSION}): upgrade to compare it`);
  }
  const { ReportSchema } = await import('../engine/report-schema.js');
  const r = ReportSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'top level';
    throw new SnapshotInvalid(file, `does not match the report schema (${where}: ${issue?.message ?? 'invalid'}): corrupt or edited`);
  }
  return cleanDeep(r.data, false) as Report;
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
        'snapshot the new process twice to measure its growth');
    }
    out.push([ta, tb]);
  }
  if (!out.length) {
    const pids = (r: Report) => r.targets.map((t) => t.pid).join(', ') || 'none';
    throw new Refused(`${nameA} (pid ${pids(a)}) and ${nameB} (pid ${pids(b)}) have no process in common`, 'diff compares two snapshots of one process');
  }
  return out;
}

// ------------------------------------------------------------------ rendering (pure)

const ICON = { critical: '🔴', warning: '🟠', info: 'ℹ️', ok: '🟢' } as const;

function signed(s: string, n: number): string {
  return n > 0 ? `+${s}` : n < 0 && !s.startsWith('-') ? `-${s}` : s;
}

/** The changes worth a line: the watched resources always, anything else that moved. */
function shownChanges(t: DiffTarget): MetricChange[] {
  return t.changes.filter((c) => c.change !== 0 && c.metric !== 'process.uptimeSeconds');
}

export async function renderDiffTable(d: DiffReport, color: boolean): Promise<string> {
  const { Chalk } = await import('chalk');
  const c = new Chalk({ level: color ? 1 : 0 });
  const fmt = formatMetric;
  const badge = (s: DiffReport['status']) =>
    s === 'critical' ? c.bgRed.white.bold(' CRITICAL ') : s === 'warning' ? c.bgYellow.black.bold(' WARNING ') : c.bgGreen.black.bold(' OK ');
  const out: string[] = [];
  for (const t of d.targets) {
    if (out.length) out.push('');
    const verdict = t.findings.length ? t.findings.map((f) => `${f.id} (${f.severity})`).join(', ') : 'no growth toward a limit';
    out.push(`${badge(t.status)} ${c.bold(`pid ${t.pid}`)} ${t.comm} · ${formatDuration(d.elapsedSeconds)} between snapshots · ${verdict}`);
    out.push(c.dim(`  ${d.from.file} (${d.from.capturedAt}) → ${d.to.file} (${d.to.capturedAt})`));
    for (const f of t.findings) {
      const sev = f.severity === 'critical' ? c.red.bold('✖ CRITICAL') : c.yellow.bold('▲ WARNING');
      out.push('', `${sev} ${c.bold(f.id)} ${f.title}`, `    ${f.summary}`);
      if (f.nextSteps.length) out.push(c.dim('    next'), ...f.nextSteps.map((s) => `      → ${s}`));
      out.push(c.dim(`    from ${f.seed}`));
    }
    const trends = trendLines({ trends: t.trends } as TargetReport);
    if (trends.length) out.push('', c.bold('growth (two points)'), ...trends.map((l) => `  ${l.replace(/ over 2 samples/, '')}`));
    const rows = shownChanges(t);
    out.push('', c.bold('changes'));
    if (!rows.length) out.push('  nothing changed');
    else {
      const cells = rows.map((r) => [r.metric, fmt(r.metric, r.from), fmt(r.metric, r.to), signed(fmt(r.metric, Math.abs(r.change)), r.change), `${signed(fmt(r.metric, Math.abs(r.perHour)), r.perHour)}/h`]);
      const head = ['metric', 'before', 'after', 'change', 'per hour'];
      const w = head.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
      const line = (row: string[]) => '  ' + row.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
      out.push(c.dim(line(head)), ...cells.map(line));
    }
  }
  out.push('', c.dim(d.method));
  return out.join('\n') + '\n';
}

export async function renderDiffMarkdown(d: DiffReport): Promise<string> {
  const fmt = formatMetric;
  const esc = (s: string) => s.replace(/[\\`*_[\]<>|#]/g, (ch) => `\\${ch}`).replace(/\n/g, ' ');
  const out: string[] = [`## proctriage diff: ${ICON[d.status]} ${d.status.toUpperCase()}`, ''];
  out.push(`${esc(d.from.file)} (${d.from.capturedAt}) → ${esc(d.to.file)} (${d.to.capturedAt}): ${formatDuration(d.elapsedSeconds)} apart, host \`${d.host.hostname.replace(/`/g, "'")}\`.`);
  for (const t of d.targets) {
    out.push('', `### ${ICON[t.status]} pid ${t.pid} \`${t.comm.replace(/`/g, "'")}\`: ${t.status.toUpperCase()}`, '');
    for (const f of t.findings) {
      out.push(`#### ${ICON[f.severity]} \`${f.id}\` ${esc(f.title)} (${f.severity})`, '', esc(f.summary), '');
      if (f.nextSteps.length) out.push('```sh', ...f.nextSteps.map((s) => s.replace(/```/g, "'''")), '```', '');
      out.push(`_Source: ${esc(f.seed)}_`, '');
    }
    const rows = shownChanges(t);
    if (rows.length) {
      out.push('| metric | before | after | change | per hour |', '|---|---:|---:|---:|---:|');
      for (const r of rows) {
        out.push(`| \`${r.metric}\` | ${esc(fmt(r.metric, r.from))} | ${esc(fmt(r.metric, r.to))} | ${esc(signed(fmt(r.metric, Math.abs(r.change)), r.change))} | ${esc(signed(fmt(r.metric, Math.abs(r.perHour)), r.perHour))}/h |`);
      }
    } else out.push('Nothing changed.');
  }
  out.push('', `_${esc(d.method)}_`);
  return out.join('\n') + '\n';
}
