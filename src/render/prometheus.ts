/**
 * The Prometheus text exposition (format 0.0.4) of a report: every numeric metric of each target
 * as a gauge in base units, each finding as a series, the status as a number, and the run itself.
 * No client timestamps: node_exporter's textfile collector refuses them.
 */
import type { Report, TargetReport } from '../engine/report.js';
import type { Unit } from '../engine/probe.js';
import { EXIT } from '../engine/report.js';
import type { MetricUnits } from '../engine/units.js';

/** A dotted camelCase metric key as snake_case: node.eventLoop.delayP99Ms → node_event_loop_delay_p99_ms. */
export function snakeKey(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase();
}

/** Name suffix and factor to the base unit, per declared unit (percent becomes a ratio: 150% → 1.5). */
const BASE: Partial<Record<Unit, { strip?: RegExp; suffix: string; scale: number; note?: string }>> = {
  bytes: { suffix: '_bytes', scale: 1 },
  seconds: { suffix: '_seconds', scale: 1 },
  ms: { strip: /_ms$/, suffix: '_seconds', scale: 1e-3, note: 'in seconds' },
  ratio: { suffix: '_ratio', scale: 1 },
  percent: { strip: /_percent$/, suffix: '_ratio', scale: 1e-2, note: 'as a ratio: percent / 100' },
};

export interface Series {
  name: string;
  help: string;
  scale: number;
  /** an open-ended family (fd.byType.<type>): one metric, the member as this label */
  label?: [name: string, value: string];
}

/** How one metric key is exposed, or undefined for what is not a number (runtime, versions). */
export function seriesOf(key: string, units: MetricUnits): Series | undefined {
  const unit = units.unit(key);
  if (unit === 'string') return undefined;
  // a family key <base>.by<Label>.<member> becomes <base>_by_<label>{<label>="<member>"}
  const m = /^(.+\.by([A-Z][A-Za-z0-9]*))\.([^.]+)$/.exec(key);
  // all three groups take part in every match
  const family = m ? { base: m[1]!, label: snakeKey(m[2]!), member: m[3]! } : undefined;
  const fact = units.fact(key);
  let name = snakeKey(family ? family.base : key);
  let help = fact?.description ?? `proctriage metric ${key}`;
  // the member is text from the target (a handle type): matched as text, never made into a regex
  if (family && help.endsWith(` ${family.member}`)) help = `${help.slice(0, -family.member.length)}given by the label ${family.label}`;
  let scale = 1;
  const base = unit ? BASE[unit] : undefined;
  if (unit === 'count' && /Mb$/.test(key)) {
    // a size the runtime takes in MiB (--max-old-space-size): in bytes, as Prometheus wants
    name = name.replace(/_mb$/, '_bytes');
    scale = 2 ** 20;
    help += ' (in bytes)';
  } else if (base) {
    if (base.strip) name = name.replace(base.strip, '');
    if (!name.endsWith(base.suffix)) name += base.suffix;
    scale = base.scale;
    if (base.note) help += ` (${base.note})`;
  } else {
    // a gauge must not end in a counter's or histogram's suffix: sockets.tcp.total → sockets_tcp,
    // fd.filePattern.maxCount → fd_file_pattern_max
    name = name.replace(/_(total|count|sum|bucket)$/, '');
  }
  return { name: `proctriage_${name}`, help, scale, ...(family ? { label: [family.label, family.member] as [string, string] } : {}) };
}

const escapeLabel = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const value = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/** The labels that say which process a series is about. */
function targetLabels(t: TargetReport): [string, string][] {
  // container and pod join here once the report carries them (they are known only where a
  // runtime says so): only labels whose value is known are added, keeping cardinality down
  return [
    ['pid', String(t.pid)],
    ['comm', t.comm],
  ];
}

const labelText = (labels: [string, string][]) => `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;

export interface PrometheusOptions {
  /** how long the run took, exported as proctriage_run_duration_seconds */
  durationMs?: number;
  /** the metrics' units, from the probes that declare them */
  units: MetricUnits;
}

/** The report as Prometheus text exposition. Pure: the same report gives the same text. */
export function renderPrometheus(report: Report, o: PrometheusOptions): string {
  // every sample of one metric name must follow its HELP and TYPE, together
  const families = new Map<string, { help: string; samples: string[] }>();
  const add = (name: string, help: string, labels: [string, string][], v: number) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { help, samples: [] }));
    f.samples.push(`${name}${labelText(labels)} ${value(v)}`);
  };
  for (const t of report.targets) {
    const labels = targetLabels(t);
    add('proctriage_status', 'status of the target: 0 ok, 1 warning, 2 critical, 3 unknown', labels, EXIT[t.status]);
    for (const f of t.findings) {
      add(
        'proctriage_finding',
        'a finding of the playbook on the target (severity info, warning or critical)',
        [...labels, ['id', f.id], ['severity', f.severity]],
        1,
      );
    }
    for (const [key, v] of Object.entries(t.metrics)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const s = seriesOf(key, o.units);
      if (s) add(s.name, s.help, s.label ? [...labels, s.label] : labels, v * s.scale);
    }
  }
  const run: [string, string, number][] = [
    ['proctriage_run_success', '1 when every target could be examined, else 0', report.targets.every((t) => !t.error) ? 1 : 0],
    ['proctriage_run_targets', 'targets in this export', report.targets.length],
  ];
  if (o.durationMs !== undefined) run.push(['proctriage_run_duration_seconds', 'how long the proctriage run took', o.durationMs / 1000]);
  const out: string[] = [];
  for (const [name, help, v] of run) out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value(v)}`);
  for (const [name, f] of families) out.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} gauge`, ...f.samples);
  return out.join('\n') + '\n';
}
