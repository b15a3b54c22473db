/** Human formatting of metric values, shared by templates and renderers. */

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${n < 0 ? '-' : ''}${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'never';
  const s = Math.round(Math.abs(seconds));
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return 'unlimited';
  if (Number.isInteger(n)) return group(n);
  return Math.abs(n) >= 100 ? group(Math.round(n)) : n.toFixed(2);
}

/** 1234567 → "1,234,567" (toLocaleString would load the ICU locale data: 15–30 ms per run). */
function group(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function formatPercent(ratio: number): string {
  const p = ratio * 100;
  if (p > 0 && p < 0.1) return '<0.1%';
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}

/** 3.2 → "3.2×", 27.27 → "27×", 1 → "1×": how many times a reference (a median) a value is. */
function formatMultiple(times: number): string {
  return `${times >= 10 ? Math.round(times) : Math.round(times * 10) / 10}×`;
}

/**
 * A value as words of a shell command: a string made only of characters no shell treats
 * specially stays as it is, any other is single-quoted; a list becomes one quoted word per item.
 * This is how a string the target controls (a cgroup path) may enter a next step's command.
 */
export function shellWords(v: unknown): string {
  const one = (s: string) => (/^[A-Za-z0-9_/.,:@%+=-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  return Array.isArray(v) ? v.map((x) => one(String(x))).join(' ') : one(String(v));
}

export function formatValue(v: unknown, fmt?: string): string {
  if (fmt === 'sh') return shellWords(v);
  if (typeof v !== 'number') return typeof v === 'string' ? v : JSON.stringify(v);
  switch (fmt) {
    case 'pct':
      return formatPercent(v);
    case 'times':
      return formatMultiple(v);
    case 'bytes':
      return formatBytes(v);
    case 'duration':
      return formatDuration(v);
    case 'ms':
      return `${formatNumber(v)} ms`;
    case 'raw':
      return String(v); // inside commands: no thousands separators
    default:
      return formatNumber(v);
  }
}

/** Format a metric by its declared unit. */
export function formatUnit(unit: string | undefined, v: unknown): string {
  if (typeof v !== 'number') return formatValue(v);
  switch (unit) {
    case 'bytes':
      return formatBytes(v);
    case 'ratio':
      return formatPercent(v);
    case 'multiple':
      return formatMultiple(v);
    case 'seconds':
      return formatDuration(v);
    case 'ms':
      return `${formatNumber(v)} ms`;
    case 'percent':
      return `${Number.isInteger(v) ? v : v.toFixed(1)}%`;
    default:
      return formatNumber(v);
  }
}
