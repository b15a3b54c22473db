/**
 * The Go test service in a real memory-limited cgroup (v1, as root): without GOMEMLIMIT the
 * garbage collector does not know about the limit (runtime-limit-mismatch); with GOMEMLIMIT
 * at 80 % of it, it does.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, finding, runJson, startTarget } from '../helpers/processes.js';
import { createMemoryCgroup, memoryCgroupUnavailable, removeAllCgroups } from '../helpers/cgroup.js';
import { buildService, goUnavailable, serviceEnv } from '../fixtures/go-service/service.js';

const skip = goUnavailable() ?? memoryCgroupUnavailable();
if (skip) console.log(`# go cgroup tests skipped: ${skip}`);

const LIMIT = 512 * 2 ** 20;
let dir = '';
let bin = '';

before(() => {
  if (skip) return;
  bin = buildService();
  dir = createMemoryCgroup(LIMIT);
});
after(async () => {
  await cleanup();
  await removeAllCgroups();
});

/** Start the service inside the cgroup: the shell joins it, then execs the service (same pid). */
function startInCgroup(env: Record<string, string>, tag: string) {
  return startTarget('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$0" "$1"`, bin, tag], { env: serviceEnv(env), timeoutMs: 20_000 });
}

test('in a memory-limited cgroup without GOMEMLIMIT: runtime-limit-mismatch', { skip }, async () => {
  const svc = await startInCgroup({ LEAK: '12000' }, 'no-limit');
  const { report } = await runJson([String(svc.pid)]);
  const t = report.targets[0];
  assert.equal(t.metrics['cgroup.memory.limit'], LIMIT);
  assert.equal(t.runtime, 'go');
  assert.equal('go.memLimit' in t.metrics, false);
  assert.equal('go.memLimitEnv' in t.metrics, false);
  const f = finding(t, 'runtime-limit-mismatch');
  assert.ok(f, `findings: ${t.findings.map((x: any) => x.id)}`);
  assert.equal(f.evidence.runtime, 'go');
  assert.equal(f.evidence['cgroup.memory.limit'], LIMIT);
  assert.equal(finding(t, 'goroutine-explosion')?.evidence['go.topStacks'][0].function, 'main.pollUpstream');
});

test('with GOMEMLIMIT at 80 % of the cgroup limit: no mismatch, the limit is read from the service', { skip }, async () => {
  const limit = Math.floor(LIMIT * 0.8);
  const svc = await startInCgroup({ LEAK: '100', GOMEMLIMIT: String(limit) }, 'limit-80');
  const { report } = await runJson([String(svc.pid)]);
  const t = report.targets[0];
  assert.equal(t.metrics['go.memLimit'], limit);
  assert.equal(finding(t, 'runtime-limit-mismatch'), undefined);
});

test('with GOMEMLIMIT above 90 % of the cgroup limit: mismatch', { skip }, async () => {
  const svc = await startInCgroup({ LEAK: '100', GOMEMLIMIT: '500MiB' }, 'limit-98');
  const { report } = await runJson([String(svc.pid)]);
  const t = report.targets[0];
  assert.equal(t.metrics['go.memLimit'], 500 * 2 ** 20);
  assert.ok(finding(t, 'runtime-limit-mismatch'));
});
