/**
 * A trace report as text (the terminal) and as markdown (a ticket). Pure: (report) => string.
 */
import type { TraceFrame, TraceGroup, TraceReport } from '../engine/trace-schema.js';
import { formatDuration } from '../engine/format.js';

const FRAMES_SHOWN = 8;

/** A rate as an engineer reads it: "3.2/s", "12/min", "4/h", "one every 10 min". Pure. */
export function formatRate(perSecond: number): string {
  if (!(perSecond > 0)) return 'none';
  const r = (n: number) => (n >= 10 ? String(Math.round(n)) : String(Math.round(n * 10) / 10));
  if (perSecond >= 1) return `${r(perSecond)}/s`;
  if (perSecond * 60 >= 1) return `${r(perSecond * 60)}/min`;
  if (perSecond * 3600 >= 10) return `${r(perSecond * 3600)}/h`;
  const every = 1 / perSecond;
  return `one every ${every < 120 ? `${Math.round(every)} s` : every < 7200 ? `${Math.round(every / 60)} min` : `${Math.round(every / 3600)} h`}`;
}

const inLibcOrSyscall = (f: TraceFrame) =>
  (!!f.module && /\/libc(\.so\.\d+|-[\d.]+\.so)$/.test(f.module)) ||
  (!!f.function && /^(syscall|internal\/poll|internal\/syscall\/unix|runtime\/internal\/syscall)\./.test(f.function));

/** The frames worth reading: the system-call wrappers (libc, Go's syscall package) are left out. */
export function shownFrames(g: TraceGroup): TraceFrame[] {
  // past a stack's loss inside libc, an address in no file is not a frame but a stray word
  const frames = g.truncated ? g.frames.filter((f) => f.module) : g.frames;
  const first = frames.findIndex((f) => !inLibcOrSyscall(f));
  return (first < 0 ? frames : frames.slice(first)).slice(0, FRAMES_SHOWN);
}

export function frameText(f: TraceFrame): string {
  const where = f.file ? ` ${f.file}:${f.line}` : '';
  if (f.function) return `${f.function}${where}${!f.file && f.module ? ` (${f.module})` : ''}`;
  if (f.kind === 'jit') return `[JIT] 0x${f.address}`;
  return `0x${f.address}${f.module ? ` (${f.module})` : ''}`;
}

const head = (r: TraceReport) =>
  `pid ${r.target.pid} ${r.target.comm}: traced ${formatDuration(Math.max(0, Math.round(r.window.seconds)))}` +
  `${r.window.seconds < r.window.requestedSeconds ? ` of ${formatDuration(r.window.requestedSeconds)}` : ''}${r.exited ? ' (the process exited)' : ''}`;

function totalsLine(r: TraceReport): string {
  const t = r.totals;
  const parts = [`${t.opened} opened in the window`, `${t.outstanding} still open`];
  if (t.openAtEnd !== undefined) parts.push(`${t.openAtEnd} open at the end, ${t.predating} of them from before the window (not attributable)`);
  return parts.join('; ');
}

const groupLine = (g: TraceGroup, churn: boolean) =>
  churn
    ? `${g.opened} opened and closed (${formatRate(g.ratePerSecond)})${g.truncated ? ' [stack truncated in libc]' : ''}`
    : `${g.outstanding} still open of ${g.opened} opened (${formatRate(g.ratePerSecond)})` +
      `${g.fdType ? `, ${g.fdType}` : ''}${g.example ? ` e.g. ${g.example}` : ''}${g.truncated ? ' [stack truncated in libc]' : ''}`;

export function renderTraceText(r: TraceReport): string {
  const out: string[] = [head(r), `  ${totalsLine(r)}`, ''];
  out.push(r.outstanding.length ? 'opened in the window and still open, by the stack that opened them' : 'nothing opened in the window is still open');
  r.outstanding.forEach((g, n) => {
    out.push(`  #${n + 1} ${groupLine(g, false)}`);
    for (const f of shownFrames(g)) out.push(`      ${frameText(f)}`);
  });
  if (r.churn.length) {
    out.push('', 'churn: opened and closed again (for contrast)');
    for (const g of r.churn.slice(0, 5))
      out.push(`  ${groupLine(g, true)}: ${shownFrames(g).slice(0, 2).map(frameText).join(' ← ') || '(no frame outside libc)'}`);
  }
  if (r.notes.length) {
    out.push('', 'notes');
    for (const n of r.notes) out.push(`  - ${n.text}`);
  }
  return out.join('\n') + '\n';
}

/** Markdown: target text goes in code spans, with backticks removed so a span cannot end early. */
const code = (s: string) => `\`${s.replace(/`/g, "'").replace(/\|/g, '\\|')}\``;

export function renderTraceMarkdown(r: TraceReport): string {
  const out: string[] = [
    `### proctriage trace: ${head(r).replace(/^pid (\d+) (.*?):/, (_, p: string, c: string) => `pid ${p} ${code(c)}:`)}`,
    '',
    totalsLine(r),
    '',
  ];
  if (!r.outstanding.length) out.push('Nothing opened in the window is still open.', '');
  else {
    out.push('| # | still open | opened | rate | type | example | opened by |', '|---|---|---|---|---|---|---|');
    r.outstanding.forEach((g, n) => {
      const frames = shownFrames(g)
        .slice(0, 3)
        .map((f) => code(frameText(f)))
        .join(' ← ');
      out.push(
        `| ${n + 1} | ${g.outstanding} | ${g.opened} | ${formatRate(g.ratePerSecond)} | ${g.fdType ?? ''} | ${g.example ? code(g.example) : ''} | ${frames}${g.truncated ? ' (truncated in libc)' : ''} |`,
      );
    });
    out.push('');
    const top = r.outstanding[0]!;
    // a fence inside a target string would end the block early
    out.push('Stack of #1:', '', '```text', ...shownFrames(top).map((f) => frameText(f).replace(/`{3,}/g, "'''")), '```', '');
  }
  if (r.churn.length) {
    out.push('Churn (opened and closed again):', '');
    for (const g of r.churn.slice(0, 5))
      out.push(
        `- ${g.opened} (${formatRate(g.ratePerSecond)}): ${
          shownFrames(g)
            .slice(0, 2)
            .map((f) => code(frameText(f)))
            .join(' ← ') || 'no frame outside libc'
        }${g.truncated ? ' (truncated in libc)' : ''}`,
      );
    out.push('');
  }
  if (r.notes.length) {
    out.push('Notes:', '');
    for (const n of r.notes) out.push(`- ${n.text}`);
    out.push('');
  }
  return out.join('\n');
}
