import { validatePlaybookFile } from './playbooks.js';
import { clean } from '../engine/redact.js';
import { count } from '../messages.js';

/** `proctriage playbook validate <file>`: 0 when valid; an invalid one throws PlaybookInvalid (exit 3). */
export async function run(file: string): Promise<number> {
  const pb = await validatePlaybookFile(file);
  process.stdout.write(`${clean(file)}: valid playbook "${clean(pb.name)}" (${count(pb.steps.length, 'step')}, ${count(pb.findings.length, 'finding')})\n`);
  return 0;
}
