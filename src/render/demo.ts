/**
 * The demo's closing summary: one row per sample service (its name, the verdict it got, whether
 * that is the one the sample was made to show, its pid), laid out as the report lays out its key
 * numbers, then one sentence. Pure.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { Status } from '../engine/report.js';
import { COMPACT_CHARS } from './fit.js';

export interface DemoOutcome {
  name: string;
  pid?: number;
  /** the verdict it got (absent: it did not run) */
  status?: Status;
  /** why the verdict is not the one expected */
  problem?: string;
  /** why it did not run here (no Go toolchain): shown, but not a failure */
  skipped?: string;
}

export function renderDemoSummary(outcomes: DemoOutcome[], o: { color: boolean; ok: boolean }): string {
  const c = new Chalk({ level: o.color ? 1 : 0 });
  const table = new Table({ style: { head: [], border: [], 'padding-left': 0, 'padding-right': 1 }, chars: COMPACT_CHARS });
  for (const out of outcomes) {
    if (out.skipped !== undefined) {
      table.push([out.name, c.dim('SKIPPED'), c.dim(out.skipped), '']);
      continue;
    }
    const mark = out.problem ? `${c.red('✖ unexpected')} (${out.problem})` : c.green('✓ as expected');
    table.push([out.name, statusText(out.status, c), mark, c.dim(out.pid ? `pid ${out.pid}` : '')]);
  }
  const skipped = outcomes.filter((out) => out.skipped !== undefined).length;
  const closing = !o.ok
    ? 'The demo did not go as intended (see above).'
    : skipped
      ? `Every sample that ran got the diagnosis it should (${skipped} skipped, see above). Try it on your own processes: proctriage <pid>`
      : 'Every sample got the diagnosis it should. Try it on your own processes: proctriage <pid>';
  const rows = table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
  return `\n${c.bold('summary')}\n${rows}\n\n${closing}\n`;
}

function statusText(s: Status | undefined, c: ChalkInstance): string {
  const text = s ? s.toUpperCase() : 'NOT RUN';
  switch (s) {
    case 'critical':
      return c.red.bold(text);
    case 'warning':
      return c.yellow.bold(text);
    case 'ok':
      return c.green.bold(text);
    default:
      return c.magenta.bold(text);
  }
}
