import { join } from 'node:path';
import { playbookFor } from './playbooks.js';
import { BundleProcFs } from '../bundle/procfs.js';
import { openBundle } from '../bundle/bundle.js';
import { reanalyze } from '../bundle/replay.js';
import { runOptions } from './run-options.js';
import { assembleReport } from '../engine/report.js';
import { loadSnapshot } from '../bundle/snapshot.js';
import { outputFormat, render, warnIfUnredacted, type OutputOptions } from './options.js';
import { SnapshotInvalid } from '../errors.js';
import { cleanDeep } from '../engine/redact.js';

export interface AnalyzeOptions extends OutputOptions {
  playbook?: string;
}

/**
 * `proctriage analyze D`: the diagnosis again, offline, from a capture bundle (verified against
 * its manifest first). The /proc probes read the bundle as their root; what cannot be measured
 * from files (the CPU window, runtime probes over the network) is replayed from the capture.
 */
export async function run(dir: string, o: AnalyzeOptions): Promise<number> {
  const json = outputFormat(o) === 'json';
  warnIfUnredacted(o);
  const { manifest, denied } = await openBundle(dir);
  const captured = await loadSnapshot(join(dir, 'report.json'));
  const recorded = captured.targets.find((t) => t.pid === manifest.pid);
  if (!recorded) throw new SnapshotInvalid(dir, `report.json has no target with pid ${manifest.pid}`);

  const opts = runOptions({ redact: o.redact }, new BundleProcFs(dir, denied), await playbookFor(o.playbook));
  const target = await reanalyze(manifest.pid, recorded, opts);
  const report = assembleReport([target], opts, manifest.host, manifest.capturedAt);
  process.stdout.write(await render(report, o));
  // a trace kept beside it (capture --trace) is shown after the diagnosis (--json: the file is there to read)
  if (!json && manifest.files['trace.json']) process.stdout.write(await traceOf(dir, outputFormat(o) === 'markdown'));
  if (!json) {
    const before =
      recorded.findings
        .map((f) => f.id)
        .sort()
        .join(', ') || 'none';
    const now =
      target.findings
        .map((f) => f.id)
        .sort()
        .join(', ') || 'none';
    process.stderr.write(
      before === now
        ? `proctriage: analysed offline from ${dir} (captured ${manifest.capturedAt} on ${manifest.host.hostname}): same findings as at capture time\n`
        : `proctriage: analysed offline from ${dir}: findings differ from capture time (then: ${before}; now: ${now}), e.g. because of another playbook\n`,
    );
  }
  return report.exitCode;
}

/** The bundle's trace.json, checked against the trace schema, rendered; a line saying why when it cannot be. */
async function traceOf(dir: string, markdown: boolean): Promise<string> {
  const { TraceReportSchema } = await import('../engine/trace-schema.js');
  const { renderTraceMarkdown, renderTraceText } = await import('../render/trace.js');
  const { readFileBounded } = await import('../files.js');
  let parsed;
  try {
    parsed = TraceReportSchema.safeParse(JSON.parse(readFileBounded(join(dir, 'trace.json'), { noFollow: true }).toString('utf8')));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) return '\ntrace.json: not a proctriage trace report: not shown\n';
  const r = cleanDeep(parsed.data, false);
  return `\n${markdown ? renderTraceMarkdown(r) : renderTraceText(r)}`;
}
