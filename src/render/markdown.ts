import type { Report, TargetReport } from '../engine/report.js';
import { formatDuration } from '../engine/format.js';
import { formatMetric } from './units.js';
import { evidenceText, keyMetrics } from './evidence.js';
import { trendLines } from './live.js';

const ICON = { critical: '🔴', warning: '🟠', info: 'ℹ️', ok: '🟢', unknown: '⚪' } as const;

/** Markdown for an incident ticket. Target-controlled text is escaped so it cannot break the layout. */
export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  out.push(`## proctriage: ${ICON[report.status]} ${report.status.toUpperCase()}`, '');
  out.push(`Captured ${report.capturedAt} on \`${code(report.host.hostname)}\` (kernel ${esc(report.host.kernel)}, cgroup ${report.host.cgroupVersion}), proctriage ${report.tool.version}, playbook \`${code(report.playbook)}\`.${report.redacted ? '' : ' **Redaction was OFF.**'}`);
  for (const t of report.targets) out.push('', ...target(t));
  return out.join('\n') + '\n';
}

function target(t: TargetReport): string[] {
  if (t.error) return [`### ${ICON.unknown} pid ${t.pid}: ${esc(t.error.message)}`, ...(t.error.hint ? ['', esc(t.error.hint)] : [])];
  const lines = [`### ${ICON[t.status]} pid ${t.pid} \`${code(t.comm)}\` (${t.runtime}, up ${formatDuration(t.uptimeSeconds)}): ${t.status.toUpperCase()}`, ''];
  if (t.cmdline) lines.push(`Command: \`${code(t.cmdline)}\``, '');
  for (const f of t.findings) {
    lines.push(`#### ${ICON[f.severity]} \`${f.id}\` ${esc(f.title)} (${f.severity})`, '', esc(f.summary), '');
    const ev = Object.entries(f.evidence);
    if (ev.length) {
      lines.push('**Evidence**', '');
      for (const [k, v] of ev) lines.push(`- \`${k}\`: ${esc(evidenceText(k, v))}`);
      lines.push('');
    }
    lines.push('**Likely causes**', '', ...f.likelyCauses.map((x) => `- ${esc(x)}`), '');
    if (f.nextSteps.length) lines.push('**Next steps**', '', '```sh', ...f.nextSteps.map((s) => s.replace(/```/g, "'''")), '```', '');
    lines.push(`_Source: ${esc(f.seed)}_`, '');
  }
  const shown = keyMetrics(t.metrics);
  if (shown.length) {
    lines.push('| metric | value |', '|---|---|', ...shown.map((k) => `| \`${k}\` | ${esc(formatMetric(k, t.metrics[k]))} |`), '');
  }
  const trends = trendLines(t);
  if (trends.length) lines.push('**Growth**', '', ...trends.map((l) => `- ${esc(l)}`), '');
  lines.push('<details><summary>Decision path</summary>', '');
  t.path.forEach((p, i) => lines.push(`${i + 1}. ${esc(p.question)} → ${esc(p.answer)}`));
  lines.push('', '</details>');
  if (t.actions?.length) lines.push('', '**Done to the target:**', '', ...t.actions.map((a) => `- ${esc(a)}`));
  if (t.unknowns.length) {
    lines.push('', '**Unknown**', '', ...t.unknowns.map((u) => `- ${esc(u.metric ?? u.probe ?? '')}: ${esc(u.reason)}${u.hint ? ` (${esc(u.hint)})` : ''}`));
  }
  return lines;
}

/** Escape markdown/HTML syntax in free text. */
function esc(s: string): string {
  return s.replace(/[\\`*_[\]<>|#]/g, (ch) => `\\${ch}`).replace(/\n/g, ' ');
}

/** Text inside a code span: backticks cannot be escaped there, so replace them. */
function code(s: string): string {
  return s.replace(/`/g, "'").replace(/\n/g, ' ');
}
