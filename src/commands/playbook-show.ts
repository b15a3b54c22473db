import { playbookFor } from './playbooks.js';
import type { Condition } from '../engine/playbook-schema.js';

/** `proctriage playbook show`: the decision tree with each finding's thresholds and seed. */
export async function run(o: { playbook?: string; json?: boolean; markdown?: boolean }): Promise<number> {
  const pb = await playbookFor(o.playbook);
  if (o.json) {
    process.stdout.write(JSON.stringify(pb, null, 2) + '\n');
    return 0;
  }
  if (o.markdown) {
    const rows = pb.findings.map((f) => {
      const levels = f.levels.map((l) => `**${l.severity}** when ${describe(l.when)}`).join('; ');
      return `| \`${f.id}\` | ${f.title} | ${levels.replace(/\|/g, '\\|')} | ${f.seed} |`;
    });
    process.stdout.write(['| id | what | raised when | from |', '|---|---|---|---|', ...rows].join('\n') + '\n');
    return 0;
  }
  const out = [`${pb.name}: ${pb.description}`, ''];
  pb.steps.forEach((step, i) => {
    out.push(`${i + 1}. ${step.question}`);
    for (const f of pb.findings.filter((x) => x.step === step.id)) {
      out.push(`   ├─ ${f.id}: ${f.title}`);
      for (const l of f.levels) out.push(`   │    ${l.severity.padEnd(8)} when ${describe(l.when)}`);
      out.push(`   │    from ${f.seed}`);
    }
  });
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

export function describe(c: Condition): string {
  if ('all' in c) return c.all.map(describe).join(' and ');
  if ('any' in c) return '(' + c.any.map(describe).join(' or ') + ')';
  if ('not' in c) return `not ${describe(c.not)}`;
  if ('exists' in c) return `${c.exists} is known`;
  if ('absent' in c) return `${c.absent} is unknown`;
  const v = typeof c.value === 'object' ? `${c.value.factor !== 1 ? `${c.value.factor} × ` : ''}${c.value.metric}` : c.value;
  return `${c.metric} ${c.op} ${v}`;
}
