/** Write schema/report.schema.json from the zod report schema (the single source of truth). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ReportSchema } from '../src/engine/report-schema.js';

export function reportJsonSchema(): string {
  const schema = z.toJSONSchema(ReportSchema, { target: 'draft-2020-12', unrepresentable: 'any' });
  return JSON.stringify({ title: 'proctriage report (schemaVersion 1)', ...schema }, null, 2) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = fileURLToPath(new URL('../../schema/report.schema.json', import.meta.url));
  writeFileSync(out, reportJsonSchema());
  process.stdout.write(`wrote ${out}\n`);
}
