import type { Condition, Limits, Playbook } from '../engine/playbook-schema.js';
import type { MetricUnits } from '../engine/units.js';
import { formatNumber, formatUnit } from '../engine/format.js';

/** The finding catalogue as a markdown table (the README's "What it checks" is this, verbatim). */
export function catalogueMarkdown(pb: Playbook, units: MetricUnits): string {
  const rows = pb.findings.map((f) => {
    const levels = f.levels.map((l) => `**${l.severity}** when ${describe(l.when, pb.limits, units)}`).join('; ');
    return `| \`${f.id}\` | ${f.title} | ${levels.replace(/\|/g, '\\|')} | ${f.seed} |`;
  });
  return ['| id | what | raised when | from |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** The decision tree with each finding's thresholds and seed. */
export function playbookTree(pb: Playbook, units: MetricUnits): string {
  const out = [`${pb.name}: ${pb.description}`, ''];
  pb.steps.forEach((step, i) => {
    out.push(`${i + 1}. ${step.question}`);
    for (const f of pb.findings.filter((x) => x.step === step.id)) {
      out.push(`   ├─ ${f.id}: ${f.title}`);
      for (const l of f.levels) out.push(`   │    ${l.severity.padEnd(8)} when ${describe(l.when, pb.limits, units)}`);
      out.push(`   │    from ${f.seed}`);
    }
  });
  return out.join('\n') + '\n';
}

/** A condition in words; a named limit is shown as its number (what the rule fires at). */
export function describe(c: Condition, limits: Pick<Limits, 'explosion'>, units: MetricUnits): string {
  if ('all' in c) return c.all.map((x) => describe(x, limits, units)).join(' and ');
  if ('any' in c) return '(' + c.any.map((x) => describe(x, limits, units)).join(' or ') + ')';
  if ('not' in c) return `not ${describe(c.not, limits, units)}`;
  const inUnit = (metric: string, v: number) => thresholdText(metric, v, units.unit);
  if ('exists' in c) return `${c.exists} is known`;
  if ('absent' in c) return `${c.absent} is unknown`;
  const v =
    typeof c.value === 'string'
      ? c.value
      : typeof c.value === 'number'
        ? inUnit(c.metric, c.value)
        : 'limit' in c.value
          ? inUnit(c.metric, (limits.explosion[c.value.limit] ?? NaN) * c.value.factor)
          : relative(c.metric, c.value.factor, c.value.metric, units.unit);
  return `${c.metric} ${c.op} ${v}`;
}

/** A threshold in its metric's unit: 10485760 bytes is "10 MiB", 604800 seconds "7d", 0.8 of a ratio "80%". */
function thresholdText(metric: string, v: number, unitOf: MetricUnits['unit']): string {
  const unit = unitOf(metric);
  // a flag (== 1) and an unknown metric keep the number as written
  if (unit === undefined || unit === 'count' || unit === 'string') return Number.isInteger(v) ? formatNumber(v) : String(v);
  // "10 MiB", "5%", "6h", "10m": no zero decimals or zero trailing parts in a threshold
  return formatUnit(unit, v)
    .replace(/\.0(?= |%|$)/, '')
    .replace(/ 0[hms]$/, '');
}

/** `factor × metric`; a factor that only turns the other metric's bytes into the MiB this one counts is said as such. */
function relative(of: string, factor: number, metric: string, unitOf: MetricUnits['unit']): string {
  if (unitOf(metric) === 'bytes' && unitOf(of) !== 'bytes' && factor !== 1) {
    const perMiB = factor * 2 ** 20;
    if (Number.isInteger(perMiB * 1000)) return `${perMiB !== 1 ? `${perMiB} × ` : ''}${metric} in MiB`;
  }
  return `${factor !== 1 ? `${factor} × ` : ''}${metric}`;
}
