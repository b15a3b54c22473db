import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { reportJsonSchema } from '../../scripts/gen-schema.js';

test('the published JSON Schema is generated from the zod schema and up to date', () => {
  const published = readFileSync(fileURLToPath(new URL('../../../schema/report.schema.json', import.meta.url)), 'utf8');
  assert.equal(published, reportJsonSchema(), 'run `npm run schema` and commit schema/report.schema.json');
});

test('a real report of a live process satisfies the report schema', async () => {
  const { ReportSchema } = await import('../../src/engine/report-schema.js');
  const { diagnose } = await import('../../src/engine/runner.js');
  const { builtinPlaybook } = await import('../../src/engine/playbook.js');
  const { ProcFs } = await import('../../src/procfs/procfs.js');
  const { PROBES } = await import('../../probes/index.js');
  const report = await diagnose([process.pid], {
    proc: new ProcFs('/'), playbook: builtinPlaybook(), probes: PROBES, timeoutMs: 5000, redact: true, version: 'test',
  });
  const parsed = ReportSchema.safeParse(JSON.parse(JSON.stringify(report)));
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)));
  assert.equal(report.targets[0].pid, process.pid);
  assert.ok((report.targets[0].metrics['fd.open'] as number) > 0);
});
