import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { diffJsonSchema, reportJsonSchema, traceJsonSchema } from '../../scripts/gen-schema.js';

test('the published JSON Schemas are generated from the zod schemas and up to date', () => {
  for (const [name, generated] of [
    ['report', reportJsonSchema()],
    ['diff', diffJsonSchema()],
    ['trace', traceJsonSchema()],
  ]) {
    const published = readFileSync(fileURLToPath(new URL(`../../../schema/${name}.schema.json`, import.meta.url)), 'utf8');
    assert.equal(published, generated, `run \`npm run schema\` and commit schema/${name}.schema.json`);
  }
});

test('a real report of a live process satisfies the report schema', async () => {
  const { ReportSchema } = await import('../../src/engine/report-schema.js');
  const { diagnose } = await import('../../src/engine/runner.js');
  const { builtinPlaybook } = await import('../../src/engine/playbook.js');
  const { ProcFs } = await import('../../src/procfs/procfs.js');
  const { PROBES } = await import('../../probes/index.js');
  const report = await diagnose([process.pid], {
    proc: new ProcFs('/'),
    playbook: builtinPlaybook(),
    probes: PROBES,
    timeoutMs: 5000,
    redact: true,
    version: 'test',
  });
  const parsed = ReportSchema.safeParse(JSON.parse(JSON.stringify(report)));
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)));
  assert.equal(report.targets[0]!.pid, process.pid);
  assert.ok((report.targets[0]!.metrics['fd.open'] as number) > 0);
});
