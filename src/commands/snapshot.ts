import { buildReport, type DiagnoseOptions } from './diagnose.js';
import { warnIfUnredacted } from './options.js';
import type { TargetReport } from '../engine/report.js';
import { renderJson } from '../render/json.js';
import { InternalError, ProctriageError, UsageError } from '../errors.js';
import { checkDestination, writeFileSafely } from '../files.js';

export interface SnapshotOptions extends DiagnoseOptions {
  output: string;
  /** replace an existing regular file (never anything else) */
  overwrite?: boolean;
}

/**
 * `proctriage snapshot <pid> -o file.json`: the full report (metrics, findings, evidence; redacted,
 * schema-versioned, timestamped) written for a later `diff` or for the ticket. The file is written
 * atomically, and an existing file is replaced only with --overwrite (see src/files.ts). The verdict
 * is in the file: what is printed is one line on stderr, and the exit code says whether the file
 * was written (0), not what it holds, so `snapshot ... && upload` runs exactly when it matters.
 */
export async function run(pidArg: string, o: SnapshotOptions): Promise<number> {
  if (o.name !== undefined) throw new UsageError('snapshot records one process: give its PID instead of --name');
  checkDestination(o.output, !!o.overwrite); // before the diagnosis: a refusal should be prompt
  warnIfUnredacted(o);
  const report = await buildReport([pidArg], o);
  const [t] = report.targets;
  if (!t) throw new InternalError('snapshot', 'the report has no target');
  if (t.error) throw new ProctriageError(t.error.code as ProctriageError['code'], `${t.error.message}: no snapshot written`, t.error.hint);
  writeFileSafely(o.output, renderJson(report), { overwrite: o.overwrite });
  process.stderr.write(`proctriage: wrote ${o.output} (${verdictNote(t, report.redacted)})\n`);
  return 0;
}

/** "CRITICAL, pid 4123 node", with the reason when it is UNKNOWN: the one line a written file gets on stderr. */
export function verdictNote(t: TargetReport, redacted: boolean): string {
  return `${t.status.toUpperCase()}${t.statusReason ? `: ${t.statusReason}` : ''}, pid ${t.pid} ${t.comm}${redacted ? '' : ', UNREDACTED'}`;
}
