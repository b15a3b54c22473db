/** `proctriage diff` as a table or markdown (pure: the caller formats metric values by their units). */
import type { DiffReport, DiffTarget } from '../engine/diff.js';
import type { MetricChange } from '../engine/trends.js';
import type { TargetReport } from '../engine/report.js';
import { formatDuration } from '../engine/format.js';
import { trendLines } from './live.js';
import { nextStepsMarkdown } from './markdown.js';

/** A metric's value as text, by the unit its probe declares. */
export type MetricFormatter = (key: string, v: unknown) => string;


const ICON = { critical: '🔴', warning: '🟠', info: 'ℹ️', ok: '🟢' } as const;

function signed(s: string, n: number): string {
  return n > 0 ? `+${s}` : n < 0 && !s.startsWith('-') ? `-${s}` : s;
}

/** The changes worth a line: the watched resources always, anything else that moved. */
function shownChanges(t: DiffTarget): MetricChange[] {
  return t.changes.filter((c) => c.change !== 0 && c.metric !== 'process.uptimeSeconds');
}

export async function renderDiffTable(d: DiffReport, fmt: MetricFormatter, color: boolean): Promise<string> {
  const { Chalk } = await import('chalk');
  const c = new Chalk({ level: color ? 1 : 0 });
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
      if (f.nextSteps.length) out.push(c.dim('    next'), ...f.nextSteps.map((s) => (s.kind === 'command' ? `      ${c.green('$')} ${s.text}` : `      → ${s.text}`)));
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
      const w = head.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.length ?? 0)));
      const line = (row: string[]) => '  ' + row.map((x, i) => (i === 0 ? x.padEnd(w[i] ?? 0) : x.padStart(w[i] ?? 0))).join('  ');
      out.push(c.dim(line(head)), ...cells.map(line));
    }
  }
  out.push('', c.dim(d.method));
  return out.join('\n') + '\n';
}

export function renderDiffMarkdown(d: DiffReport, fmt: MetricFormatter): string {
  const esc = (s: string) => s.replace(/[\\`*_[\]<>|#]/g, (ch) => `\\${ch}`).replace(/\n/g, ' ');
  const out: string[] = [`## proctriage diff: ${ICON[d.status]} ${d.status.toUpperCase()}`, ''];
  out.push(`${esc(d.from.file)} (${d.from.capturedAt}) → ${esc(d.to.file)} (${d.to.capturedAt}): ${formatDuration(d.elapsedSeconds)} apart, host \`${d.host.hostname.replace(/`/g, "'")}\`.`);
  for (const t of d.targets) {
    out.push('', `### ${ICON[t.status]} pid ${t.pid} \`${t.comm.replace(/`/g, "'")}\`: ${t.status.toUpperCase()}`, '');
    for (const f of t.findings) {
      out.push(`#### ${ICON[f.severity]} \`${f.id}\` ${esc(f.title)} (${f.severity})`, '', esc(f.summary), '');
      if (f.nextSteps.length) out.push(...nextStepsMarkdown(f.nextSteps));
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
