import { ProcFs } from '../procfs/procfs.js';
import { diagnose, missingArtifacts } from '../engine/runner.js';
import { playbookFor } from './playbooks.js';
import { checkTextfileDir, notifyStderr, outputFormat, render, warnIfUnredacted, writeTextfile, type OutputOptions } from './options.js';
import { runOptions } from './run-options.js';
import { resolveTargets } from './targets.js';
import type { Report } from '../engine/report.js';
import { checkPprofUrl, parsePprofUrl } from '../transports/pprof.js';

export interface DiagnoseOptions extends OutputOptions {
  name?: string;
  inspect?: string;
  activateInspector?: boolean;
  allowRemote?: boolean;
  trustPeer?: boolean;
  pprof?: string;
  heapSnapshot?: string;
  report?: string;
  force?: boolean;
  /** replace an existing --heap-snapshot / --report (or snapshot -o) regular file */
  overwrite?: boolean;
  playbook?: string;
  timeout?: string;
  /** the live system as the command line opened it (its head start taken); the host's / when absent */
  proc?: ProcFs;
  /** --host-root: the host's / mounted here (a debug pod); read when no proc is given */
  hostRoot?: string;
}

/** Examine the targets and return the report (no printing). */
export async function buildReport(pids: string[], o: DiagnoseOptions): Promise<Report> {
  // a refused address is the caller's mistake (exit 3), not a partial diagnosis; nothing is sent
  if (o.pprof) {
    checkPprofUrl(parsePprofUrl(o.pprof), o.allowRemote);
  }
  const proc = o.proc ?? new ProcFs(o.hostRoot ?? '/', { live: true });
  const targets = resolveTargets(proc, pids, o.name);
  // a destination that would be refused is refused now, before any target is paused
  if (o.heapSnapshot || o.report) {
    const [{ checkDestination }, { outputPath }] = await Promise.all([import('../files.js'), import('../node/heavy.js')]);
    for (const template of [o.heapSnapshot, o.report]) {
      if (template) for (const pid of targets) checkDestination(outputPath(template, pid), !!o.overwrite);
    }
  }
  const playbook = await playbookFor(o.playbook);
  return diagnose(targets, runOptions(o, proc, playbook, notifyStderr));
}

/** `proctriage <pid...>`: print the diagnosis; the exit code is the report's. */
export async function run(pids: string[], o: DiagnoseOptions): Promise<number> {
  warnIfUnredacted(o);
  if (o.textfile !== undefined) checkTextfileDir(o.textfile);
  const report = await buildReport(pids, o);
  // --textfile: the file for node_exporter, and stdout only in a format asked for other than the table
  if (o.textfile !== undefined) await writeTextfile(report, o.textfile);
  // a table holding nothing but errors would repeat the stderr lines: JSON/markdown keep it for scripts
  const onlyErrors = report.targets.every((t) => t.error);
  const format = outputFormat(o);
  if (format !== 'table' || (!onlyErrors && o.textfile === undefined)) {
    process.stdout.write(await render(report, o, { playbook: format === 'nagios' ? await playbookFor(o.playbook) : undefined }));
  }
  for (const t of report.targets) {
    if (t.error) process.stderr.write(`proctriage: ${t.error.message}${t.error.hint ? ` (${t.error.hint})` : ''}\n`);
    else if (t.statusReason) process.stderr.write(`proctriage: pid ${t.pid}: unknown: ${t.statusReason}\n`);
    // a warning or critical keeps its verdict, but a file that was asked for and not written is still said
    else for (const line of missingArtifacts(t, o)) process.stderr.write(`proctriage: pid ${t.pid}: ${line}\n`);
  }
  return report.exitCode;
}
