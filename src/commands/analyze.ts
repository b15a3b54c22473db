import { join } from 'node:path';
import { collect, failedTarget, judge, type Collected } from '../engine/runner.js';
import { HostSources } from '../engine/sources.js';
import { playbookFor } from './playbooks.js';
import type { Probe } from '../engine/probe.js';
import type { TargetReport } from '../engine/report.js';
import { BundleProcFs } from '../bundle/procfs.js';
import { openBundle } from '../bundle/bundle.js';
import { runOptions } from './run-options.js';
import { assembleReport } from '../engine/report.js';
import { PROBES } from '../../probes/index.js';
import { loadSnapshot } from '../bundle/snapshot.js';
import { outputFormat, render, warnIfUnredacted, type OutputOptions } from './options.js';
import { SnapshotInvalid } from '../errors.js';

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
  let target: TargetReport;
  try {
    const c = await collect(manifest.pid, new HostSources(opts.proc), opts, Date.now() + opts.timeoutMs);
    replay(c, recorded, PROBES);
    target = judge(c, opts);
  } catch (err) {
    target = failedTarget(manifest.pid, err);
  }
  const report = assembleReport([target], opts, manifest.host, manifest.capturedAt);
  process.stdout.write(await render(report, o));
  if (!json) {
    const before = recorded.findings.map((f) => f.id).sort().join(', ') || 'none';
    const now = target.findings.map((f) => f.id).sort().join(', ') || 'none';
    process.stderr.write(before === now
      ? `proctriage: analysed offline from ${dir} (captured ${manifest.capturedAt} on ${manifest.host.hostname}): same findings as at capture time\n`
      : `proctriage: analysed offline from ${dir}: findings differ from capture time (then: ${before}; now: ${now}), e.g. because of another playbook\n`);
  }
  return report.exitCode;
}

/**
 * Probes that cannot run offline (skipped, or failing on the bundle) but worked at capture time
 * get their recorded metrics and evidence back, so the same playbook reaches the same findings.
 */
export function replay(c: Collected, recorded: TargetReport, probes: Probe[]): void {
  const owns = (declared: string[], key: string) => declared.some((d) =>
    d.endsWith('.*') ? key.startsWith(d.slice(0, -1)) : d.includes('<') ? key.startsWith(d.slice(0, d.indexOf('<'))) : d === key);
  for (const probe of probes) {
    const now = c.probes.findIndex((r) => r.id === probe.meta.id);
    const then = recorded.probes.find((r) => r.id === probe.meta.id);
    if (now < 0 || !then || (then.status !== 'ok' && then.status !== 'partial')) continue;
    if (c.probes[now].status === 'ok' || c.probes[now].status === 'partial') continue;
    const facts = Object.keys(probe.meta.facts);
    for (const [k, v] of Object.entries(recorded.metrics)) if (owns(facts, k) && !(k in c.metrics)) c.metrics[k] = v;
    const ev = Object.keys(probe.meta.evidence ?? {});
    for (const [k, v] of Object.entries(recorded.evidence ?? {})) if (owns(ev, k) && !(k in c.evidence)) c.evidence[k] = v;
    c.unknowns = c.unknowns.filter((u) => u.probe !== probe.meta.id);
    c.probes[now] = { ...then, error: 'recorded at capture time (cannot be measured from files)' };
  }
  // metrics no probe declares (none today) come back as recorded too
  const declared = probes.flatMap((p) => Object.keys(p.meta.facts));
  for (const [k, v] of Object.entries(recorded.metrics)) {
    if (!(k in c.metrics) && !k.startsWith('trend.') && !k.startsWith('fleet.') && !owns(declared, k)) c.metrics[k] = v;
  }
}
