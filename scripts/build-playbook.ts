/**
 * Build step: validate playbooks/*.yaml with the zod schema and compile them to JSON next to
 * the compiled code, so the diagnose hot path never loads zod or yaml for the built-in playbook.
 */
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { validatePlaybook } from '../src/engine/playbook-schema.js';

const src = fileURLToPath(new URL('../../playbooks/', import.meta.url));
const out = fileURLToPath(new URL('../playbooks/', import.meta.url));
mkdirSync(out, { recursive: true });
let failed = false;
for (const f of readdirSync(src).filter((n) => n.endsWith('.yaml'))) {
  const r = validatePlaybook(parse(readFileSync(src + f, 'utf8')));
  if (!r.ok) {
    failed = true;
    console.error(`playbooks/${f} is invalid:\n  ${r.problems.join('\n  ')}`);
    continue;
  }
  writeFileSync(out + f.replace(/\.yaml$/, '.json'), JSON.stringify(r.playbook));
}
process.exit(failed ? 1 : 0);
