import { UsageError } from '../errors.js';
import type { Report } from '../engine/report.js';
// static: the renderers without dependencies (the table one loads chalk and cli-table3, so it stays lazy)
import { renderJson } from '../render/json.js';
import { renderMarkdown } from '../render/markdown.js';

/** The longest each duration may be (README "Options"): past a day a timer is a mistake, not a watch. */
export const MAX_DURATION_MS: Record<string, number> = {
  '--interval': 24 * 3_600_000,
  '--duration': 7 * 24 * 3_600_000,
  '--timeout': 3_600_000,
};

/** "10s", "500ms", "2m", "1h" or a bare number of seconds → milliseconds, at most MAX_DURATION_MS[what]. */
export function parseDuration(s: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(String(s).trim());
  if (!m) throw new UsageError(`${what} "${s}" is not a duration (e.g. 500ms, 10s, 2m)`);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's']!;
  const ms = Number(m[1]) * mult;
  if (ms <= 0) throw new UsageError(`${what} must be positive`);
  const max = MAX_DURATION_MS[what] ?? 7 * 86_400_000;
  if (!(ms <= max)) throw new UsageError(`${what} ${s} is too long: at most ${formatMax(max)}`);
  return ms;
}

const formatMax = (ms: number) => (ms > 86_400_000 ? `${ms / 86_400_000}d` : `${ms / 3_600_000}h`);

export function parsePid(s: string): number {
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 2 ** 22) throw new UsageError(`"${s}" is not a process id`);
  return Number(s);
}

export type Format = 'table' | 'json' | 'markdown';

export interface OutputOptions {
  json?: boolean;
  format?: Format;
  color?: boolean;
  redact?: boolean;
}

/** --json wins over --format (which commander has checked: src/cli.ts). */
export function outputFormat(o: OutputOptions): Format {
  return o.json ? 'json' : o.format ?? 'table';
}

/** Colour only for a terminal, and never when NO_COLOR is set or --no-color was given. */
export function useColor(o: OutputOptions): boolean {
  return o.color !== false && !!process.stdout.isTTY && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

/** Render a report in the chosen format; the table renderer (chalk, cli-table3) loads only when used. */
export async function render(report: Report, o: OutputOptions): Promise<string> {
  switch (outputFormat(o)) {
    case 'json': return renderJson(report);
    case 'markdown': return renderMarkdown(report);
    default: return (await import('../render/table.js')).renderTable(report, { color: useColor(o) });
  }
}

export function warnIfUnredacted(o: OutputOptions): void {
  if (o.redact === false) process.stderr.write('proctriage: WARNING: --no-redact: secrets in command lines and paths are shown as they are\n');
}

/** What was done to a target (SIGUSR1) is said at once on stderr, whatever becomes of the run. */
export function notifyStderr(line: string): void {
  process.stderr.write(`proctriage: ${line}\n`);
}
