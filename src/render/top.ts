import { Chalk } from 'chalk';
import Table from 'cli-table3';
import type { Report, TargetReport } from '../engine/report.js';
import { byRisk } from './risk.js';
import type { Weights } from '../engine/playbook-schema.js';
import type { MetricUnits } from '../engine/units.js';
import { formatDuration } from '../engine/format.js';
import { fitText, visible } from './fit.js';
import { shortId } from './container.js';
import { count, statusCount } from '../messages.js';

export interface TopOptions {
  color: boolean;
  limit: number;
  risk: Weights['risk'];
  /** the terminal's width: columns are left out, least telling first, until the table fits */
  width?: number;
  /** the probes top did not run (it reads /proc only) */
  notProbed?: string[];
  /** the metrics' units, from the probes that declare them */
  units: MetricUnits;
}

interface Column {
  head: string;
  cell: (t: TargetReport) => string | number;
}

/** `proctriage top`: one row per process, riskiest first. */
export function renderTop(report: Report, opts: TopOptions): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const rows = byRisk(report, opts.risk).slice(0, opts.limit);
  const paint = (s: string) => (s === 'critical' ? c.red.bold(s) : s === 'warning' ? c.yellow(s) : s === 'unknown' ? c.magenta(s) : c.green(s));
  const metric = (k: string) => (t: TargetReport) => (k in t.metrics ? opts.units.format(k, t.metrics[k]) : '-');
  // where each runs, when any runs in a container: its id (as docker ps / crictl ps show it) and its pod
  const where: Column[] = [
    ...(rows.some((t) => t.container?.id) ? [{ head: 'container', cell: (t: TargetReport) => (t.container?.id ? shortId(t.container.id) : '') }] : []),
    ...(rows.some((t) => t.container?.podUid) ? [{ head: 'pod', cell: (t: TargetReport) => t.container?.podUid?.slice(0, 8) ?? '' }] : []),
  ];
  const columns: Column[] = [
    { head: 'pid', cell: (t) => t.pid },
    { head: 'command', cell: (t) => t.comm.slice(0, 16) },
    ...where,
    { head: 'status', cell: (t) => paint(t.status) },
    { head: 'up', cell: (t) => formatDuration(t.uptimeSeconds) },
    { head: 'runtime', cell: (t) => t.runtime },
    { head: 'finding', cell: (t) => t.findings.find((f) => f.severity !== 'info')?.id ?? '' },
    { head: 'fds', cell: metric('fd.open') },
    { head: 'fd%', cell: metric('fd.utilization') },
    { head: 'CLOSE_WAIT', cell: metric('sockets.tcp.closeWait') },
    { head: 'rss', cell: metric('memory.rss') },
    { head: 'mem%', cell: metric('cgroup.memory.utilization') },
    { head: 'threads', cell: metric('threads') },
  ];
  // on a narrow terminal these go first: what the other columns already tell, or --json has
  const dropOrder = ['threads', 'pod', 'fds', 'rss', 'CLOSE_WAIT', 'runtime', 'mem%', 'up'].filter((h) => columns.some((col) => col.head === h));
  const hidden: string[] = [];
  let text = grid(columns, rows, opts.color);
  while (opts.width !== undefined && !fits(text, opts.width) && hidden.length < dropOrder.length) {
    hidden.push(dropOrder[hidden.length]!);
    text = grid(
      columns.filter((col) => !hidden.includes(col.head)),
      rows,
      opts.color,
    );
  }
  const counts = (['critical', 'warning', 'unknown'] as const).map((s) => statusCount(report.targets.filter((t) => t.status === s).length, s));
  const lines = [
    text,
    `${count(report.targets.length, 'process', 'processes')}: ${counts.join(', ')}; showing the ${rows.length} riskiest (run proctriage <pid> for a diagnosis)`,
  ];
  if (opts.notProbed?.length)
    lines.push(c.dim(`not probed: ${opts.notProbed.join(', ')} (top reads /proc only: no CPU window, no Node or Go runtime); proctriage <pid> runs them`));
  if (hidden.length) lines.push(c.dim(`left out to fit the terminal: ${hidden.join(', ')} (--json has every number)`));
  return fitText(lines, opts.width).join('\n') + '\n';
}

function grid(columns: Column[], rows: TargetReport[], color: boolean): string {
  const table = new Table({
    head: columns.map((col) => col.head),
    style: { head: color ? ['bold'] : [], border: color ? ['grey'] : [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const t of rows) table.push(columns.map((col) => col.cell(t)));
  return table.toString();
}

const fits = (text: string, width: number) => text.split('\n').every((l) => visible(l) <= width);
