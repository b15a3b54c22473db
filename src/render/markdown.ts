import type { Report, TargetReport } from '../engine/report.js';
import { whereText } from './container.js';
import type { NextStep } from '../engine/evaluate.js';
import { formatDuration } from '../engine/format.js';
import type { MetricUnits } from '../engine/units.js';
import { evidenceText, keyMetrics } from './evidence.js';
import { attributionLines } from './attribution.js';
import { trendLines } from './live.js';

const ICON = { critical: '🔴', warning: '🟠', info: 'ℹ️', ok: '🟢', unknown: '⚪' } as const;

/**
 * Markdown for an incident ticket that reads the same pasted into GitHub, GitLab or Jira: headings,
 * lists, code spans and fenced code blocks only (no HTML, no tables). Commands go in code blocks,
 * one each, advice is prose; target-controlled text cannot break the layout.
 */
export function renderMarkdown(report: Report, o: { units: MetricUnits }): string {
  const out: string[] = [];
  out.push(`## proctriage: ${ICON[report.status]} ${report.status.toUpperCase()}`, '');
  out.push(
    `Captured ${report.capturedAt} on ${span(report.host.hostname)} (kernel ${prose(report.host.kernel)}, cgroup ${report.host.cgroupVersion}), proctriage ${report.tool.version}, playbook ${span(report.playbook)}.${report.redacted ? '' : ' **Redaction was OFF.**'}`,
  );
  for (const t of report.targets) out.push('', ...target(t, o.units));
  return out.join('\n') + '\n';
}

function target(t: TargetReport, units: MetricUnits): string[] {
  if (t.error) return [`### ${ICON.unknown} pid ${t.pid}: ${prose(t.error.message)}`, ...(t.error.hint ? ['', prose(t.error.hint)] : [])];
  const lines = [`### ${ICON[t.status]} pid ${t.pid} ${span(t.comm)} (${t.runtime}, up ${formatDuration(t.uptimeSeconds)}): ${t.status.toUpperCase()}`, ''];
  const where = whereText(t);
  if (where) lines.push(`Runs in: ${prose(where)}`, '');
  if (t.cmdline) lines.push(`Command: ${span(t.cmdline)}`, '');
  for (const f of t.findings) {
    lines.push(`#### ${ICON[f.severity]} ${span(f.id)} ${prose(f.title)} (${f.severity})`, '', prose(f.summary), '');
    const ev = Object.entries(f.evidence);
    if (ev.length) {
      lines.push('**Evidence**', '');
      for (const [k, v] of ev) lines.push(`- ${span(k)}: ${prose(evidenceText(k, v, units))}`);
      lines.push('');
    }
    for (const a of f.attribution ?? []) {
      const { heading, sites } = attributionLines(a);
      lines.push(`**Where in the code**: ${prose(heading)}`, '');
      for (const s of sites) lines.push(`- ${prose(s.text)}`, ...s.frames.map((fr) => `  - called from ${prose(fr)}`));
      if (sites.length) lines.push('');
    }
    lines.push('**Likely causes**', '', ...f.likelyCauses.map((x) => `- ${prose(x)}`), '');
    if (f.nextSteps.length) lines.push('**Next steps**', '', ...nextStepsMarkdown(f.nextSteps));
    lines.push(`_Source: ${prose(f.seed)}_`, '');
  }
  const shown = keyMetrics(t.metrics);
  if (shown.length) lines.push('**Key numbers**', '', ...shown.map((k) => `- ${span(k)}: ${prose(units.format(k, t.metrics[k]))}`), '');
  const trends = trendLines(t);
  if (trends.length) lines.push('**Growth**', '', ...trends.map((l) => `- ${prose(l)}`), '');
  lines.push('**Decision path**', '');
  t.path.forEach((p, i) => lines.push(`${i + 1}. ${prose(p.question)} → ${prose(p.answer)}`));
  if (t.actions?.length) lines.push('', '**Done to the target**', '', ...t.actions.map((a) => `- ${prose(a)}`));
  if (t.unknowns.length) {
    lines.push(
      '',
      '**Unknown**',
      '',
      ...t.unknowns.map((u) => `- ${span(u.metric ?? u.probe ?? '')}: ${prose(u.reason)}${u.hint ? ` (${prose(u.hint)})` : ''}`),
    );
  }
  return lines;
}

/** Advice as a paragraph, each command in a code block of its own (copying a block runs one command, nothing else). */
export function nextStepsMarkdown(steps: NextStep[]): string[] {
  return steps.flatMap((s) => (s.kind === 'command' ? ['```sh', s.text.replace(/```/g, "'''").replace(/\n/g, ' '), '```', ''] : [prose(s.text), '']));
}

/**
 * Free text with its paths and markup-looking words in code spans: a code span shows them as they
 * are in every renderer, where backslash escapes show raw in some. The rest is left as written.
 */
export function prose(s: string): string {
  return s
    .replace(/\n/g, ' ')
    .split(' ')
    .map((w) => (/[\\`*_[\]|#]|\/\S|\S\/|<[A-Za-z/!?]|&/.test(w) ? codeWord(w) : w))
    .join(' ');
}

/** A word as a code span, the sentence's punctuation around it left outside: "(add", "URL,", "x)" where the parenthesis is not the word's own. */
function codeWord(w: string): string {
  const opens = (x: string) => x.split('(').length - 1,
    closes = (x: string) => x.split(')').length - 1;
  let start = 0,
    end = w.length;
  while (start < end && w[start] === '(' && opens(w.slice(start, end)) > closes(w.slice(start, end))) start++;
  for (;;) {
    const c = w[end - 1];
    if (end - 1 <= start || c === undefined) break;
    if (',.;:'.includes(c) || (c === ')' && closes(w.slice(start, end)) > opens(w.slice(start, end)))) end--;
    else break;
  }
  return w.slice(0, start) + span(w.slice(start, end)) + w.slice(end);
}

/** A code span: backticks cannot be escaped inside one, so they are replaced. */
export function span(s: string): string {
  return s ? `\`${s.replace(/`/g, "'").replace(/\n/g, ' ')}\`` : '';
}
