import { Chalk } from 'chalk';
import Table from 'cli-table3';
import type { Report, TargetReport } from '../engine/report.js';
import type { Weights } from '../engine/playbook-schema.js';
import { formatMetric } from './units.js';

/** Risk of a target in [0, ∞): its status first, then the worst use of any bounded resource (1 = at the limit). */
export function riskScore(t: TargetReport, risk: Weights['risk']): number {
  const m = t.metrics;
  const n = (k: string) => (typeof m[k] === 'number' ? (m[k]) : 0);
  const ratio = (a: string, b: string) => (n(b) > 0 ? n(a) / n(b) : 0);
  const rank = { critical: 3, warning: 2, unknown: 0, ok: 1 }[t.status];
  const worst = Math.max(n('fd.utilization'), n('cgroup.memory.utilization'), n('sockets.tcp.closeWait') / risk.closeWaitAtLimit, ratio('threads', 'cgroup.pids.limit'));
  return rank * 10 + worst;
}

/** `proctriage top`: one row per process, riskiest first. */
export function renderTop(report: Report, opts: { color: boolean; limit: number; risk: Weights['risk'] }): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const rows = [...report.targets].filter((t) => !t.error).sort((a, b) => riskScore(b, opts.risk) - riskScore(a, opts.risk)).slice(0, opts.limit);
  const table = new Table({
    head: ['pid', 'command', 'status', 'top finding', 'fds', 'fd use', 'CLOSE_WAIT', 'memory', 'mem vs limit', 'threads'],
    style: { head: opts.color ? ['bold'] : [], border: opts.color ? ['grey'] : [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  const paint = (s: string) => (s === 'critical' ? c.red.bold(s) : s === 'warning' ? c.yellow(s) : s === 'unknown' ? c.magenta(s) : c.green(s));
  const cell = (t: TargetReport, k: string) => (k in t.metrics ? formatMetric(k, t.metrics[k]) : '-');
  for (const t of rows) {
    const top = t.findings.find((f) => f.severity !== 'info');
    table.push([
      t.pid, t.comm.slice(0, 24), paint(t.status), top ? `${top.id}` : '', cell(t, 'fd.open'), cell(t, 'fd.utilization'),
      cell(t, 'sockets.tcp.closeWait'), cell(t, 'memory.rss'), cell(t, 'cgroup.memory.utilization'), cell(t, 'threads'),
    ]);
  }
  const counts = (['critical', 'warning', 'unknown'] as const).map((s) => `${report.targets.filter((t) => t.status === s).length} ${s}`);
  return `${table.toString()}\n${report.targets.length} processes: ${counts.join(', ')}; showing the ${rows.length} riskiest (run proctriage <pid> for a diagnosis)\n`;
}
