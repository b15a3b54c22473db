import { Chalk, type ChalkInstance } from 'chalk';
import { whereText } from './container.js';
import Table from 'cli-table3';
import type { Report, TargetReport, Status } from '../engine/report.js';
import { formatDuration } from '../engine/format.js';
import type { MetricUnits } from '../engine/units.js';
import { evidenceText, keyMetrics } from './evidence.js';
import { attributionLines } from './attribution.js';
import { trendLines } from './live.js';
import { COMPACT_CHARS, cut, fitText, visible } from './fit.js';
import { count, statusCount } from '../messages.js';

export interface TableOptions {
  color: boolean;
  /** the terminal's width: lines wrap at word boundaries to fit it; undefined (piped) keeps full lines */
  width?: number;
  /** the metrics' units, from the probes that declare them */
  units: MetricUnits;
}

/** The on-call view: verdict first, then findings with evidence and next steps, the path, unknowns. */
export function renderTable(report: Report, opts: TableOptions): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const out: string[] = [];
  if (!report.redacted) out.push(c.yellow.bold('! redaction is OFF: this output may contain secrets; do not paste it into a ticket'), '');
  const several = report.targets.length > 1;
  // with several targets the verdicts come first, worst first, one line each
  if (several) out.push(c.bold('summary'), ...worstFirst(report.targets).map((t) => `  ${headline(t, c)}`), '');
  report.targets.forEach((t, i) => {
    if (i) out.push('');
    out.push(...target(t, c, opts.width, opts.units));
  });
  // a long report scrolls its verdict off screen: the last line repeats it
  out.push(
    '',
    several ? `${badge(report.status, c)} overall: ${count(report.targets.length, 'target')}, ${countsText(report.targets)}` : headline(report.targets[0]!, c),
  );
  return fitText(out, opts.width).join('\n') + '\n';
}

const RANK = { critical: 3, warning: 2, unknown: 1, ok: 0 } as const;

function worstFirst(ts: TargetReport[]): TargetReport[] {
  return ts
    .map((t, i) => ({ t, i }))
    .sort((a, b) => RANK[b.t.status] - RANK[a.t.status] || a.i - b.i)
    .map((x) => x.t);
}

function countsText(ts: TargetReport[]): string {
  return (['critical', 'warning', 'unknown', 'ok'] as const)
    .map((s) => [s, ts.filter((t) => t.status === s).length] as const)
    .filter(([, n]) => n)
    .map(([s, n]) => statusCount(n, s))
    .join(', ');
}

/** One line: the target's verdict. */
function headline(t: TargetReport, c: ChalkInstance): string {
  if (t.error) return `${badge('unknown', c)} pid ${t.pid}: ${t.error.message}`;
  return `${badge(t.status, c)} ${c.bold(`pid ${t.pid}`)} ${t.comm}: ${verdictText(t)}`;
}

function verdictText(t: TargetReport): string {
  const counts = (['critical', 'warning'] as const).map((s) => [s, t.findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n);
  return counts.length ? counts.map(([s, n]) => statusCount(n, s)).join(', ') : t.status === 'unknown' ? 'could not examine it fully' : 'no problems found';
}

function badge(s: Status, c: ChalkInstance): string {
  const text = s.toUpperCase();
  switch (s) {
    case 'critical':
      return c.bgRed.white.bold(` ${text} `);
    case 'warning':
      return c.bgYellow.black.bold(` ${text} `);
    case 'unknown':
      return c.bgMagenta.white.bold(` ${text} `);
    default:
      return c.bgGreen.black.bold(` ${text} `);
  }
}

function target(t: TargetReport, c: ChalkInstance, width: number | undefined, units: MetricUnits): string[] {
  if (t.error) return [`${badge('unknown', c)} ${t.error.message}${t.error.hint ? c.dim(` (${t.error.hint})`) : ''}`];
  const lines: string[] = [];
  lines.push(`${badge(t.status, c)} ${c.bold(`pid ${t.pid}`)} ${t.comm} · ${t.runtime} · up ${formatDuration(t.uptimeSeconds)} · ${verdictText(t)}`);
  // one line whatever its length: cut to the terminal, or (piped) at a length a log line bears
  const where = whereText(t);
  if (where) lines.push(c.dim(cut(`  ${where}`, width ?? 4096)));
  if (t.cmdline) lines.push(c.dim(cut(`  ${t.cmdline}`, width ?? 4096)));

  for (const f of t.findings) {
    if (f.severity === 'info') {
      lines.push('', `${c.cyan('ℹ info')} ${c.bold(f.id)} ${f.summary}`);
      continue;
    }
    const sev = f.severity === 'critical' ? c.red.bold('✖ CRITICAL') : c.yellow.bold('▲ WARNING');
    lines.push('', `${sev} ${c.bold(f.id)} ${f.title}`);
    lines.push(`    ${f.summary}`);
    const ev = Object.entries(f.evidence);
    if (ev.length) {
      lines.push(c.dim('    evidence'));
      for (const [k, v] of ev) lines.push(`      ${c.dim(k)} ${evidenceText(k, v, units)}`);
    }
    for (const a of f.attribution ?? []) {
      const { heading, sites } = attributionLines(a);
      lines.push(c.dim(`    where in the code: ${heading}`));
      for (const s of sites) lines.push(`      ${s.text}`, ...s.frames.map((fr) => c.dim(`         ← ${fr}`)));
    }
    lines.push(c.dim('    likely causes'));
    for (const cause of f.likelyCauses) lines.push(`      - ${cause}`);
    if (f.nextSteps.length) {
      lines.push(c.dim('    next'));
      for (const s of f.nextSteps) lines.push(s.kind === 'command' ? `      ${c.green('$')} ${s.text}` : `      → ${s.text}`);
    }
    lines.push(c.dim(`    from ${f.seed}`));
  }

  const shown = keyMetrics(t.metrics);
  if (shown.length) lines.push('', c.bold('key numbers'), keyGrid(shown, t, c, width, units));
  const trends = trendLines(t);
  if (trends.length) lines.push('', c.bold('growth'), ...trends.map((l) => `  ${l}`));

  lines.push('', c.bold('decision path'));
  t.path.forEach((p, i) => {
    const answer = p.findings.length ? c.bold(p.answer) : p.answer;
    lines.push(`  ${i + 1}. ${p.question} ${c.dim('→')} ${answer}`);
  });
  if (t.actions?.length) {
    lines.push('', c.bold('done to the target'));
    for (const a of t.actions) lines.push(`  - ${a}`);
  }
  if (t.unknowns.length) {
    lines.push('', c.bold('unknown'));
    for (const u of t.unknowns) lines.push(`  - ${u.metric ?? u.probe ?? ''}: ${u.reason}${u.hint ? c.dim(` → ${u.hint}`) : ''}`);
  }
  const total = t.probes.reduce((a, p) => Math.max(a, p.durationMs), 0);
  const bad = t.probes.filter((p) => p.status !== 'ok');
  lines.push(
    c.dim(
      `probes: ${t.probes.length - bad.length}/${t.probes.length} ok${bad.length ? ` (${bad.map((p) => `${p.id} ${p.status}`).join(', ')})` : ''}, slowest ${Math.round(total)} ms`,
    ),
  );
  return lines;
}

/** The key numbers, three name/value pairs a row, fewer when three do not fit the width. */
function keyGrid(shown: string[], t: TargetReport, c: ChalkInstance, width: number | undefined, units: MetricUnits): string {
  let text = '';
  for (const perRow of [3, 2, 1]) {
    const table = new Table({ style: { head: [], border: [], 'padding-left': 0, 'padding-right': 1 }, chars: COMPACT_CHARS });
    for (let i = 0; i < shown.length; i += perRow) {
      table.push(shown.slice(i, i + perRow).flatMap((k) => [c.dim(k), units.format(k, t.metrics[k])]));
    }
    text = table.toString();
    if (width === undefined || text.split('\n').every((l) => visible(l) <= width)) break;
  }
  return text;
}
