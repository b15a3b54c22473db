/** `proctriage diff` as a table or markdown (pure: the caller formats metric values by their units). */
import type { DiffReport, DiffTarget } from '../engine/diff.js';
import type { MetricChange } from '../engine/trends.js';
import type { TargetReport } from '../engine/report.js';
import { formatDuration } from '../engine/format.js';
import { trendLines } from './live.js';
import { keyNumbersFirst } from './evidence.js';
import { nextStepsMarkdown, prose, span } from './markdown.js';
import { COMPACT_CHARS, fitText } from './fit.js';

/** A metric's value as text, by the unit its probe declares. */
export type MetricFormatter = (key: string, v: unknown) => string;

const ICON = { critical: '🔴', warning: '🟠', info: 'ℹ️', ok: '🟢' } as const;

function signed(s: string, n: number): string {
  return n > 0 ? `+${s}` : n < 0 && !s.startsWith('-') ? `-${s}` : s;
}

/** The changes worth a line (what moved), in the order of the report's key numbers, then the rest. */
function shownChanges(t: DiffTarget): MetricChange[] {
  const moved = new Map(t.changes.filter((c) => c.change !== 0 && c.metric !== 'process.uptimeSeconds').map((c) => [c.metric, c]));
  return keyNumbersFirst([...moved.keys()]).map((k) => moved.get(k)!);
}

export async function renderDiffTable(d: DiffReport, fmt: MetricFormatter, color: boolean, width?: number): Promise<string> {
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
      if (f.nextSteps.length)
        out.push(c.dim('    next'), ...f.nextSteps.map((s) => (s.kind === 'command' ? `      ${c.green('$')} ${s.text}` : `      → ${s.text}`)));
      out.push(c.dim(`    from ${f.seed}`));
    }
    const trends = trendLines({ trends: t.trends } as TargetReport);
    if (trends.length) out.push('', c.bold('growth (two points)'), ...trends.map((l) => `  ${l.replace(/ over 2 samples/, '')}`));
    const rows = shownChanges(t);
    out.push('', c.bold('changes'));
    if (!rows.length) out.push('  nothing changed');
    else {
      const cells = rows.map((r) => [
        r.metric,
        fmt(r.metric, r.from),
        fmt(r.metric, r.to),
        signed(fmt(r.metric, Math.abs(r.change)), r.change),
        `${signed(fmt(r.metric, Math.abs(r.perHour)), r.perHour)}/h`,
      ]);
      const { default: Table } = await import('cli-table3');
      const table = new Table({
        head: ['metric', 'before', 'after', 'change', 'per hour'],
        colAligns: ['left', 'right', 'right', 'right', 'right'],
        style: { head: color ? ['dim'] : [], border: [], 'padding-left': 0, 'padding-right': 0 },
        chars: { ...COMPACT_CHARS, middle: '  ' },
      });
      table.push(...cells);
      out.push(table.toString());
    }
  }
  out.push('', c.dim(d.method));
  return fitText(out, width).join('\n') + '\n';
}

/** Markdown that pastes into GitHub, GitLab and Jira alike (as renderMarkdown: no HTML, no tables). */
export function renderDiffMarkdown(d: DiffReport, fmt: MetricFormatter): string {
  const esc = prose;
  const out: string[] = [`## proctriage diff: ${ICON[d.status]} ${d.status.toUpperCase()}`, ''];
  out.push(
    `${esc(d.from.file)} (${d.from.capturedAt}) → ${esc(d.to.file)} (${d.to.capturedAt}): ${formatDuration(d.elapsedSeconds)} apart, host \`${d.host.hostname.replace(/`/g, "'")}\`.`,
  );
  for (const t of d.targets) {
    out.push('', `### ${ICON[t.status]} pid ${t.pid} \`${t.comm.replace(/`/g, "'")}\`: ${t.status.toUpperCase()}`, '');
    for (const f of t.findings) {
      out.push(`#### ${ICON[f.severity]} \`${f.id}\` ${esc(f.title)} (${f.severity})`, '', esc(f.summary), '');
      if (f.nextSteps.length) out.push(...nextStepsMarkdown(f.nextSteps));
      out.push(`_Source: ${esc(f.seed)}_`, '');
    }
    const rows = shownChanges(t);
    if (rows.length) {
      out.push('**Changes**', '');
      for (const r of rows) {
        out.push(
          `- ${span(r.metric)}: ${esc(fmt(r.metric, r.from))} → ${esc(fmt(r.metric, r.to))} (${esc(signed(fmt(r.metric, Math.abs(r.change)), r.change))}, ${esc(signed(fmt(r.metric, Math.abs(r.perHour)), r.perHour))}/h)`,
        );
      }
    } else out.push('Nothing changed.');
  }
  out.push('', `_${esc(d.method)}_`);
  return out.join('\n') + '\n';
}
