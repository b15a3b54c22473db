/**
 * The view of a process over time: the live watch screen (redrawn in place on a terminal), the
 * plain progress line (anything else), and the trend lines of a report. Pure: state in, text out.
 */
import type { ChalkInstance } from 'chalk';
import type { TargetReport } from '../engine/report.js';
import { formatBytes, formatDuration, formatNumber } from '../engine/format.js';
import { MIN_SAMPLES, resource, type Trend } from '../engine/trends.js';
import { count } from '../messages.js';

export interface LiveSeries {
  key: string;
  /** recent values, oldest first (for the sparkline) */
  recent: number[];
  current: number;
  trend?: Trend;
}

export interface LiveState {
  pid: number;
  comm: string;
  samples: number;
  elapsedMs: number;
  durationMs: number;
  intervalMs: number;
  series: LiveSeries[];
  /** a problem worth showing (the process exited, a sample failed …) */
  note?: string;
}

const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline of the values, scaled between their min and max (flat when constant). */
export function sparkline(values: number[], width = 24): string {
  const v = values.slice(-width);
  if (!v.length) return '';
  const lo = Math.min(...v),
    hi = Math.max(...v);
  return v.map((x) => (hi === lo ? BARS[0] : BARS[Math.min(7, Math.floor(((x - lo) / (hi - lo)) * 8))])).join('');
}

/** Elapsed time: milliseconds under a second, tenths under a minute (samples can be 250 ms apart). */
function clock(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms / 1000);
}

function amount(key: string, v: number): string {
  return resource(key)?.unit === 'bytes' ? formatBytes(v) : formatNumber(v);
}

/** "+14,400/h" for a trend, in the resource's unit. */
function rateText(key: string, t: Trend): string {
  const sign = t.perHour > 0 ? '+' : t.perHour < 0 ? '-' : '±';
  return `${sign}${amount(key, Math.abs(t.perHour))}/h`;
}

/** "the limit of 512", or for a runtime without one, the explosion threshold that stands in for it. */
function limitText(key: string, limit: number): string {
  return resource(key)?.threshold ? `the explosion threshold of ${amount(key, limit)} (used as the limit)` : `the limit of ${amount(key, limit)}`;
}

function label(key: string): string {
  return resource(key)?.label ?? key;
}

/** The live screen: one row per resource (value, sparkline, slope per hour, time to its limit). */
/** `eta`: the playbook's horizons (limits.eta) a time to the limit is coloured by. */
export function renderLive(s: LiveState, opts: { c: ChalkInstance; width?: number; eta: { critical: number; warning: number } }): string {
  const { c } = opts;
  const width = Math.max(72, opts.width || 100);
  // resource 14 + now 11 + rate 16 + limit ~22 + margins: the sparkline gets what is left
  const spark = Math.max(6, Math.min(32, width - 67));
  const lines: string[] = [];
  const progress = `${clock(s.elapsedMs)} of ${clock(s.durationMs)}`;
  lines.push(
    `${c.bold(`watching pid ${s.pid}`)} ${s.comm} · ${count(s.samples, 'sample')} every ${clock(s.intervalMs)} · ${progress} · ${c.dim('Ctrl-C stops and reports')}`,
  );
  const pad = (x: string, n: number) => x + ' '.repeat(Math.max(0, n - [...x].length));
  lines.push(c.dim(`  ${pad('resource', 14)}${pad('now', 11)}${pad('trend', spark + 2)}${pad('per hour', 16)}limit`));
  for (const r of s.series) {
    const t = r.trend;
    let rate = '…',
      limit = '';
    if (t && t.samples >= 2) {
      rate = t.significant ? rateText(r.key, t) : `~ ${rateText(r.key, t)}`;
      if (t.significant && t.etaSeconds !== undefined) {
        const tone = t.etaSeconds < opts.eta.critical ? c.red.bold : t.etaSeconds < opts.eta.warning ? c.yellow : c.reset;
        limit = tone(`${amount(r.key, t.limit ?? 0)} in ${formatDuration(t.etaSeconds)}`);
      } else if (t.limit !== undefined) limit = c.dim(`${amount(r.key, t.limit)}`);
      else limit = c.dim('none');
      if (!t.significant) rate = c.dim(rate);
      else rate = c.bold(rate);
    }
    const row = `  ${pad(label(r.key), 14)}${pad(amount(r.key, r.current), 11)}${pad(sparkline(r.recent, spark), spark + 2)}`;
    lines.push(row + pad(rate, 16 + (rate.length - stripAnsi(rate).length)) + limit);
  }
  lines.push(c.dim('  ~ = not significant yet (could be noise); a time to the limit is shown only for significant growth'));
  if (s.note) lines.push(c.yellow(`  ${s.note}`));
  return lines.map((l) => truncateVisible(l, width)).join('\n') + '\n';
}

/** One plain line per sample, for logs and pipes. */
export function renderProgressLine(s: LiveState): string {
  const parts = s.series.map((r) => {
    const t = r.trend;
    let x = `${r.key} ${amount(r.key, r.current)}`;
    if (t && t.samples >= 2) {
      x += ` (${t.significant ? '' : '~'}${rateText(r.key, t)}${t.significant && t.etaSeconds !== undefined ? `, limit in ${formatDuration(t.etaSeconds)}` : ''})`;
    }
    return x;
  });
  return `proctriage watch pid ${s.pid}: sample ${s.samples} at ${clock(s.elapsedMs)}: ${parts.join(' · ')}${s.note ? ` · ${s.note}` : ''}\n`;
}

/** Trend lines of a report target (plain text: the caller colours or escapes them), with the shape judged. */
export function trendLines(t: TargetReport): string[] {
  const out: string[] = [];
  for (const [key, tr] of Object.entries(t.trends ?? {})) {
    let line = `${label(key)}: ${rateText(key, tr)} over ${count(tr.samples, 'sample')}, `;
    if (tr.significant) line += SHAPE_TEXT[tr.shape ?? 'steady'];
    else if (tr.samples === 2) line += 'not significant (the change is under the two-point floor)';
    else if (tr.samples < MIN_SAMPLES) line += `too few samples to tell growth from noise (${MIN_SAMPLES} needed)`;
    else line += 'not significant (no growth told apart from noise)';
    if (tr.significant && tr.etaSeconds !== undefined && tr.limit !== undefined)
      line += `; ${limitText(key, tr.limit)} is reached in ${formatDuration(tr.etaSeconds)} at this rate`;
    else if (tr.limit === undefined) line += '; no limit';
    out.push(line);
  }
  return out;
}

const SHAPE_TEXT: Record<NonNullable<Trend['shape']>, string> = {
  steady: 'significant growth at a steady pace (leak-like)',
  accelerating: 'significant growth, speeding up (leak-like)',
  decelerating: 'significant growth, slowing down (warm-up-like: not judged a leak)',
  'levelling-off': 'grew, then levelled off (warm-up-like: not judged a leak)',
};

function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

/** Cut a line to `width` visible characters, keeping escape sequences intact. */
function truncateVisible(s: string, width: number): string {
  if ([...stripAnsi(s)].length <= width) return s;
  let out = '',
    visible = 0;
  for (let i = 0; i < s.length;) {
    const m = /^\x1b\[[0-9;]*m/.exec(s.slice(i));
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    if (visible >= width - 1) {
      out += '…';
      break;
    }
    out += ch;
    visible++;
    i += ch.length;
  }
  return out + (s.includes('\x1b[') ? '\x1b[0m' : '');
}
