import type { Condition, Limits, Playbook } from '../engine/playbook-schema.js';

/** The finding catalogue as a markdown table (the README's "What it checks" is this, verbatim). */
export function catalogueMarkdown(pb: Playbook): string {
  const rows = pb.findings.map((f) => {
    const levels = f.levels.map((l) => `**${l.severity}** when ${describe(l.when, pb.limits)}`).join('; ');
    return `| \`${f.id}\` | ${f.title} | ${levels.replace(/\|/g, '\\|')} | ${f.seed} |`;
  });
  return ['| id | what | raised when | from |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** The decision tree with each finding's thresholds and seed. */
export function playbookTree(pb: Playbook): string {
  const out = [`${pb.name}: ${pb.description}`, ''];
  pb.steps.forEach((step, i) => {
    out.push(`${i + 1}. ${step.question}`);
    for (const f of pb.findings.filter((x) => x.step === step.id)) {
      out.push(`   ├─ ${f.id}: ${f.title}`);
      for (const l of f.levels) out.push(`   │    ${l.severity.padEnd(8)} when ${describe(l.when, pb.limits)}`);
      out.push(`   │    from ${f.seed}`);
    }
  });
  return out.join('\n') + '\n';
}

/** A condition in words; a named limit is shown as its number (what the rule fires at). */
export function describe(c: Condition, limits: Pick<Limits, 'explosion'>): string {
  if ('all' in c) return c.all.map((x) => describe(x, limits)).join(' and ');
  if ('any' in c) return '(' + c.any.map((x) => describe(x, limits)).join(' or ') + ')';
  if ('not' in c) return `not ${describe(c.not, limits)}`;
  if ('exists' in c) return `${c.exists} is known`;
  if ('absent' in c) return `${c.absent} is unknown`;
  const v = typeof c.value !== 'object' ? c.value
    : 'limit' in c.value ? (limits.explosion[c.value.limit] ?? NaN) * c.value.factor
    : `${c.value.factor !== 1 ? `${c.value.factor} × ` : ''}${c.value.metric}`;
  return `${c.metric} ${c.op} ${v}`;
}
