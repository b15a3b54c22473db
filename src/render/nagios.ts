/**
 * Nagios plugin output (the Monitoring Plugins guidelines): one status line, the long text below
 * it, and performance data after "|" as label=value[UOM];warn;crit;min;max. Thresholds are the
 * playbook's own: where a level judges a metric directly (metric >= value), that value is the
 * metric's warning or critical threshold. The exit code is the report's (0/1/2/3).
 */
import type { Report, Status, TargetReport } from '../engine/report.js';
import type { Condition, Limits, Playbook } from '../engine/playbook-schema.js';
import type { Unit } from '../engine/probe.js';
import type { MetricUnits } from '../engine/units.js';
import { snakeKey } from './prometheus.js';
import { count } from '../messages.js';

/** Ratios the playbook judges, with the count and limit they are made of: a threshold on the ratio is one on the count. */
const RATIOS: Record<string, { count: string; limit: string }> = {
  'fd.utilization': { count: 'fd.open', limit: 'fd.limit' },
  'cgroup.memory.utilization': { count: 'cgroup.memory.unreclaimable', limit: 'cgroup.memory.limit' },
};
/** Counts that run into a limit the report also has (the perfdata max). */
const LIMIT_OF: Record<string, string> = {
  ...Object.fromEntries(Object.values(RATIOS).map((r) => [r.count, r.limit])),
  threads: 'cgroup.pids.limit',
  'cgroup.pids.current': 'cgroup.pids.limit',
  'node.heap.oldCommitted': 'node.heap.oldLimit',
};
const UOM: Partial<Record<Unit, string>> = { bytes: 'B', seconds: 's', ms: 'ms', percent: '%' };
const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;
const MAX_SUMMARY = 200;

type Thresholds = Map<string, { warning?: number; critical?: number }>;

/** Every metric a condition compares, in order. */
function comparedMetrics(c: Condition, out: string[]): void {
  if ('all' in c) c.all.forEach((x) => comparedMetrics(x, out));
  else if ('any' in c) c.any.forEach((x) => comparedMetrics(x, out));
  else if ('not' in c) comparedMetrics(c.not, out);
  else if ('metric' in c && !out.includes(c.metric)) out.push(c.metric);
}

/** The warning and critical value of each metric a level judges directly, for this target. */
function thresholds(pb: Pick<Playbook, 'findings' | 'limits'>, m: TargetReport['metrics']): Thresholds {
  const th: Thresholds = new Map();
  const set = (key: string, severity: 'warning' | 'critical', v: number) => {
    if (!Number.isFinite(v)) return;
    const t = th.get(key) ?? {};
    t[severity] = Math.min(t[severity] ?? Infinity, v); // the first level to fire
    th.set(key, t);
  };
  for (const f of pb.findings) {
    for (const l of f.levels) {
      const c = l.when;
      if (l.severity === 'info' || !('op' in c) || (c.op !== '>=' && c.op !== '>')) continue;
      const v = constant(c.value, pb.limits, m);
      if (v === undefined) continue;
      set(c.metric, l.severity, v);
      const r = RATIOS[c.metric];
      const limit = r && m[r.limit];
      if (r && typeof limit === 'number') set(r.count, l.severity, Math.round(v * limit));
    }
  }
  return th;
}

/** A comparison's right-hand side as a number: a constant, a playbook limit, or the target's own metric. */
function constant(v: Extract<Condition, { op: string }>['value'], limits: Pick<Limits, 'explosion'>, m: TargetReport['metrics']): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return undefined;
  const base = 'limit' in v ? limits.explosion[v.limit] : m[v.metric];
  return typeof base === 'number' ? base * v.factor : undefined;
}

/** A number as perfdata wants it: no exponent, at most six decimals. */
function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(6).replace(/\.?0+$/, '');
}

/** "|" starts the perfdata and a newline a new line of long text: neither may come from a target's strings. */
const flat = (s: string) => s.replace(/[\r\n]+/g, ' ').replace(/\|/g, '/');
const cap = (s: string) => (s.length > MAX_SUMMARY ? `${s.slice(0, MAX_SUMMARY - 1)}…` : s);
const who = (t: TargetReport) => `pid ${t.pid}${t.comm ? ` (${flat(t.comm)})` : ''}`;
const whyUnknown = (t: TargetReport) => flat(t.error ? t.error.message : (t.statusReason ?? 'could not be examined'));

function perfdata(t: TargetReport, pb: Pick<Playbook, 'findings' | 'limits'> | undefined, prefix: string, unitOf: MetricUnits['unit']): string[] {
  const m = t.metrics;
  const keys: string[] = [];
  for (const f of pb?.findings ?? []) for (const l of f.levels) comparedMetrics(l.when, keys);
  for (const r of Object.values(RATIOS)) if (!keys.includes(r.count)) keys.push(r.count);
  const th: Thresholds = pb ? thresholds(pb, m) : new Map<string, { warning?: number; critical?: number }>();
  const out: string[] = [];
  for (const key of keys) {
    const v = m[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const unit = unitOf(key);
    const limit = LIMIT_OF[key] !== undefined ? m[LIMIT_OF[key]] : undefined;
    const max = unit === 'ratio' ? 1 : typeof limit === 'number' ? limit : undefined;
    const t = th.get(key) ?? {};
    const fields = [`${num(v)}${(unit && UOM[unit]) ?? ''}`, t.warning, t.critical, 0, max].map((x) => (typeof x === 'number' ? num(x) : (x ?? '')));
    while (fields[fields.length - 1] === '') fields.pop();
    out.push(`${prefix}${snakeKey(key)}=${fields.join(';')}`);
  }
  return out;
}

export interface NagiosOptions {
  /** the playbook the report was judged with: its levels are the thresholds (none without it) */
  playbook?: Pick<Playbook, 'findings' | 'limits'>;
  /** the metrics' units, from the probes that declare them */
  units: MetricUnits;
}

/** The report as a Nagios plugin's output. Pure. */
export function renderNagios(report: Report, o: NagiosOptions): string {
  const status: Status = report.status;
  const several = report.targets.length > 1;
  const worst = report.targets.filter((t) => t.status === status);
  const first = worst[0];
  let text: string;
  if (!first) text = 'no process was examined';
  else if (status === 'unknown')
    text = first.error ? whyUnknown(first) : `${who(first)}: ${whyUnknown(first)}`; // an error names the pid already
  else if (status === 'ok') text = `no problems found in ${several ? count(report.targets.length, 'process', 'processes') : who(first)}`;
  else {
    const [f] = [...first.findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
    const more = report.targets.reduce((n, t) => n + t.findings.filter((x) => x.severity !== 'info').length, 0) - 1;
    text = `${several || !f ? `${who(first)} ` : ''}${f ? `${f.id}: ${cap(flat(f.summary))}` : status}${more > 0 ? ` (+${more} more)` : ''}`;
  }
  const perf = report.targets.filter((t) => !t.error).flatMap((t) => perfdata(t, o.playbook, several ? `pid${t.pid}_` : '', o.units.unit));
  const lines = [`${status.toUpperCase()} - ${text}${perf.length ? ` | ${perf.join(' ')}` : ''}`];
  for (const t of report.targets) {
    if (t.status === 'unknown') lines.push(`${who(t)} unknown: ${whyUnknown(t)}`);
    const findings = [...t.findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
    for (const f of findings) lines.push(`${who(t)} ${f.severity} ${f.id}: ${flat(f.summary)}`);
    if (!findings.length && t.status === 'ok') lines.push(`${who(t)} ok: no findings`);
  }
  return lines.join('\n') + '\n';
}
