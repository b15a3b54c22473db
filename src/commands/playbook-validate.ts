import { validatePlaybookFile } from './playbooks.js';

/** `proctriage playbook validate <file>`: 0 when valid; an invalid one throws PlaybookInvalid (exit 3). */
export async function run(file: string): Promise<number> {
  const pb = await validatePlaybookFile(file);
  process.stdout.write(`${file}: valid playbook "${pb.name}" (${pb.steps.length} steps, ${pb.findings.length} findings)\n`);
  return 0;
}
