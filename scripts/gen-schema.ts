/** Write schema/*.schema.json from the zod schemas (the single source of truth). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DiffReportSchema, ReportSchema } from '../src/engine/report-schema.js';
import { TraceReportSchema } from '../src/engine/trace-schema.js';

const toJson = (title: string, schema: z.ZodType) =>
  JSON.stringify({ title, ...z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any' }) }, null, 2) + '\n';

export function reportJsonSchema(): string {
  return toJson('proctriage report (schemaVersion 1)', ReportSchema);
}

export function diffJsonSchema(): string {
  return toJson('proctriage diff (schemaVersion 1)', DiffReportSchema);
}

export function traceJsonSchema(): string {
  return toJson('proctriage trace (schemaVersion 1)', TraceReportSchema);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, text] of [
    ['report', reportJsonSchema()],
    ['diff', diffJsonSchema()],
    ['trace', traceJsonSchema()],
  ] as const) {
    const out = fileURLToPath(new URL(`../../schema/${name}.schema.json`, import.meta.url));
    writeFileSync(out, text);
    process.stdout.write(`wrote ${out}\n`);
  }
}
