import { buildReport, type DiagnoseOptions } from './diagnose.js';
import { outputFormat, render, warnIfUnredacted } from './options.js';
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
 * schema-versioned, timestamped) written for a later `diff` or for the ticket. The report is also
 * printed as usual; the file is written atomically, and an existing file is replaced only with
 * --overwrite (see src/files.ts).
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
  process.stdout.write(await render(report, o));
  if (outputFormat(o) !== 'json') {
    process.stderr.write(`proctriage: snapshot of pid ${t.pid} (${t.comm}) written to ${o.output}${report.redacted ? '' : ' UNREDACTED'}\n`);
  }
  return report.exitCode;
}
