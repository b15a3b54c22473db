import { playbookFor } from './playbooks.js';
import { UNITS } from './units.js';

/** `proctriage playbook show`: the decision tree with each finding's thresholds and seed. */
export async function run(o: { playbook?: string; json?: boolean; markdown?: boolean }): Promise<number> {
  const pb = await playbookFor(o.playbook);
  const { catalogueMarkdown, playbookTree } = await import('../render/catalogue.js');
  process.stdout.write(o.json ? JSON.stringify(pb, null, 2) + '\n' : o.markdown ? catalogueMarkdown(pb, UNITS) : playbookTree(pb, UNITS));
  return 0;
}
