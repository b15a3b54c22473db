import { statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoText, FileError, UsageError } from '../errors.js';
import type { Report } from '../engine/report.js';
import type { Playbook } from '../engine/playbook-schema.js';
// static: the renderers without dependencies (the table one loads chalk and cli-table3, so it stays lazy)
import { renderJson } from '../render/json.js';
import { renderMarkdown } from '../render/markdown.js';
import { UNITS } from './units.js';

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

export type Format = 'table' | 'json' | 'markdown' | 'prometheus' | 'nagios';

export interface OutputOptions {
  json?: boolean;
  format?: Format;
  color?: boolean;
  redact?: boolean;
  /** a directory: write the Prometheus exposition to <dir>/proctriage.prom (node_exporter's textfile collector) */
  textfile?: string;
}

/** What a renderer may need beyond the report: the playbook's thresholds (nagios), the run's duration (prometheus). */
export interface RenderContext {
  playbook?: Playbook;
  durationMs?: number;
}

/** --json wins over --format (which commander has checked: src/cli.ts). */
export function outputFormat(o: OutputOptions): Format {
  return o.json ? 'json' : (o.format ?? 'table');
}

/** Colour only for a terminal, and never when NO_COLOR is set or --no-color was given. */
export function useColor(o: OutputOptions): boolean {
  return o.color !== false && !!process.stdout.isTTY && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

/** The terminal's width for the table views: 80 when a terminal does not say; none when piped (full lines). */
export function terminalWidth(): number | undefined {
  return process.stdout.isTTY ? process.stdout.columns || 80 : undefined;
}

/** Render a report in the chosen format; the table renderer (chalk, cli-table3) loads only when used. */
export async function render(report: Report, o: OutputOptions, ctx: RenderContext = {}): Promise<string> {
  switch (outputFormat(o)) {
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report, { units: UNITS });
    case 'prometheus':
      return (await import('../render/prometheus.js')).renderPrometheus(report, { durationMs: ctx.durationMs ?? performance.now(), units: UNITS });
    case 'nagios':
      return (await import('../render/nagios.js')).renderNagios(report, { playbook: ctx.playbook, units: UNITS });
    default:
      return (await import('../render/table.js')).renderTable(report, { color: useColor(o), width: terminalWidth(), units: UNITS });
  }
}

export const TEXTFILE = 'proctriage.prom';

/** --textfile names a directory that exists: checked before the run, not after it. */
export function checkTextfileDir(dir: string): void {
  try {
    if (statSync(dir).isDirectory()) return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError('FILE_NOT_FOUND', `--textfile ${dir}: no such directory`);
    if (code !== 'ENOTDIR') throw new FileError('WRITE_FAILED', `--textfile ${dir}: ${errnoText(err)}`);
  }
  throw new FileError('FILE_NOT_REGULAR', `--textfile ${dir} is not a directory`, "give the directory node_exporter's --collector.textfile.directory reads");
}

/**
 * Replace <dir>/proctriage.prom at once (temp file beside it, then rename: a scrape never sees half
 * a file, and the temp name does not end in .prom), readable by node_exporter's own user.
 */
export async function writeTextfile(report: Report, dir: string): Promise<void> {
  const [{ renderPrometheus }, { writeFileSafely }] = await Promise.all([import('../render/prometheus.js'), import('../files.js')]);
  writeFileSafely(join(dir, TEXTFILE), renderPrometheus(report, { durationMs: performance.now(), units: UNITS }), { overwrite: true, mode: 0o644 });
}

export function warnIfUnredacted(o: OutputOptions): void {
  if (o.redact === false) process.stderr.write('proctriage: WARNING: --no-redact: secrets in command lines and paths are shown as they are\n');
}

/** What was done to a target (SIGUSR1) is said at once on stderr, whatever becomes of the run. */
export function notifyStderr(line: string): void {
  process.stderr.write(`proctriage: ${line}\n`);
}
