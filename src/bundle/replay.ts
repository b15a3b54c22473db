/** A capture bundle diagnosed again offline: the /proc probes read the bundle, the rest is replayed. */
import { collect, failedTarget, judge, type Collected, type RunOptions } from '../engine/runner.js';
import { HostSources } from '../engine/sources.js';
import type { Probe } from '../engine/probe.js';
import type { TargetReport } from '../engine/report.js';

/** The target's report from the bundle (opts.proc reads it), with what cannot be measured from files replayed from `recorded`. */
export async function reanalyze(pid: number, recorded: TargetReport, opts: RunOptions): Promise<TargetReport> {
  try {
    const c = await collect(pid, new HostSources(opts.proc), opts, Date.now() + opts.timeoutMs);
    replay(c, recorded, opts.probes);
    return judge(c, opts);
  } catch (err) {
    return failedTarget(pid, err, opts.onInternalError);
  }
}

/**
 * Probes that cannot run offline (skipped, or failing on the bundle) but worked at capture time
 * get their recorded metrics and evidence back, so the same playbook reaches the same findings.
 */
export function replay(c: Collected, recorded: TargetReport, probes: Probe[]): void {
  const owns = (declared: string[], key: string) =>
    declared.some((d) => (d.endsWith('.*') ? key.startsWith(d.slice(0, -1)) : d.includes('<') ? key.startsWith(d.slice(0, d.indexOf('<'))) : d === key));
  for (const probe of probes) {
    const now = c.probes.findIndex((r) => r.id === probe.meta.id);
    const current = c.probes[now];
    const then = recorded.probes.find((r) => r.id === probe.meta.id);
    if (!current || !then || (then.status !== 'ok' && then.status !== 'partial')) continue;
    if (current.status === 'ok' || current.status === 'partial') continue;
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
