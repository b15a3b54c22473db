import { Chalk } from 'chalk';
import Table from 'cli-table3';
import type { Report, TargetReport } from '../engine/report.js';
import { byRisk } from './risk.js';
import type { Weights } from '../engine/playbook-schema.js';
import { formatMetric } from './units.js';

/** `proctriage top`: one row per process, riskiest first. */
export function renderTop(report: Report, opts: { color: boolean; limit: number; risk: Weights['risk'] }): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const rows = byRisk(report, opts.risk).slice(0, opts.limit);
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
