import { renameSync, writeFileSync, unlinkSync } from 'node:fs';
import { buildReport, type DiagnoseOptions } from './diagnose.js';
import { outputFormat, render, warnIfUnredacted } from './options.js';
import { renderJson } from '../render/json.js';
import { ProctriageError, UsageError } from '../errors.js';

export interface SnapshotOptions extends DiagnoseOptions {
  output: string;
}

/**
 * `proctriage snapshot <pid> -o file.json`: the full report (metrics, findings, evidence; redacted,
 * schema-versioned, timestamped) written for a later `diff` or for the ticket. The report is also
 * printed as usual; the file is written atomically.
 */
export async function run(pidArg: string, o: SnapshotOptions): Promise<number> {
  if (o.name !== undefined) throw new UsageError('snapshot records one process: give its PID instead of --name');
  outputFormat(o); // a bad --format fails before anything is written
  warnIfUnredacted(o);
  const report = await buildReport([pidArg], o);
  const t = report.targets[0];
  if (t.error) throw new ProctriageError(t.error.code as ProctriageError['code'], `${t.error.message}: no snapshot written`, t.error.hint);
  const tmp = `${o.output}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, renderJson(report), { flag: 'wx' });
    renameSync(tmp, o.output);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw new UsageError(`cannot write ${o.output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  process.stdout.write(await render(report, o));
  if (outputFormat(o) !== 'json') {
    process.stderr.write(`proctriage: snapshot of pid ${t.pid} (${t.comm}) written to ${o.output}${report.redacted ? '' : ' UNREDACTED'}\n`);
  }
  return report.exitCode;
}
