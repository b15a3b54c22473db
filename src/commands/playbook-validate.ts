import { validatePlaybookFile } from './playbooks.js';
import { clean } from '../engine/redact.js';

/** `proctriage playbook validate <file>`: 0 when valid; an invalid one throws PlaybookInvalid (exit 3). */
export async function run(file: string): Promise<number> {
  const pb = await validatePlaybookFile(file);
  process.stdout.write(`${clean(file)}: valid playbook "${clean(pb.name)}" (${pb.steps.length} steps, ${pb.findings.length} findings)\n`);
  return 0;
}
