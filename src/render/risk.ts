import type { Report, TargetReport } from '../engine/report.js';
import type { Weights } from '../engine/playbook-schema.js';

/** Risk of a target in [0, ∞): its status first, then the worst use of any bounded resource (1 = at the limit). */
export function riskScore(t: TargetReport, risk: Weights['risk']): number {
  const m = t.metrics;
  const n = (k: string) => (typeof m[k] === 'number' ? m[k] : 0);
  const ratio = (a: string, b: string) => (n(b) > 0 ? n(a) / n(b) : 0);
  // as the report's status: an outage beats a blind spot, and a blind spot beats a healthy process
  const rank = { critical: 3, warning: 2, unknown: 1, ok: 0 }[t.status];
  const worst = Math.max(
    n('fd.utilization'),
    n('cgroup.memory.utilization'),
    n('sockets.tcp.closeWait') / risk.closeWaitAtLimit,
    ratio('threads', 'cgroup.pids.limit'),
  );
  return rank * 10 + worst;
}

/** The examined targets, riskiest first. */
export function byRisk(report: Report, risk: Weights['risk']): TargetReport[] {
  return report.targets.filter((t) => !t.error).sort((a, b) => riskScore(b, risk) - riskScore(a, risk));
}

/**
 * What `top` exports to a monitoring system: the `limit` riskiest, and every target whose status
 * is one of `always` however far down it ranks (one series per process would explode cardinality).
 */
export function exportSelection(report: Report, o: { limit: number; risk: Weights['risk']; always: TargetReport['status'][] }): TargetReport[] {
  return byRisk(report, o.risk).filter((t, i) => i < o.limit || o.always.includes(t.status));
}
