import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ProcFs } from '../../src/procfs/procfs.js';
import { diagnose, failedTarget } from '../../src/engine/runner.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { InternalError } from '../../src/errors.js';
import { PROBES } from '../../probes/index.js';
import type { Probe } from '../../src/engine/probe.js';

const processProbe = PROBES.find((p) => p.meta.id === 'process')!;

/** A probe with a bug: it reads a property of undefined. */
const buggy: Probe = {
  meta: { id: 'buggy', description: 'test probe that throws a TypeError', runtime: 'any', timeoutMs: 1000, facts: {} },
  run: () => {
    const facts = undefined as unknown as { count: number };
    return { metrics: { count: facts.count } };
  },
};

const run = (probes: Probe[], seen: InternalError[] = []) =>
  diagnose([process.pid], {
    proc: new ProcFs('/'),
    playbook: builtinPlaybook(),
    probes,
    timeoutMs: 5000,
    redact: true,
    version: 'test',
    onInternalError: (e) => seen.push(e),
  });

test('a TypeError in a probe is reported as internal: status unknown, exit 3, one line naming the probe, the stack kept', async () => {
  const seen: InternalError[] = [];
  const report = await run([processProbe, buggy], seen);
  const t = report.targets[0]!;
  assert.equal(t.status, 'unknown');
  assert.equal(report.exitCode, 3);
  assert.match(t.statusReason ?? '', /^internal error in the buggy probe: TypeError: /);
  assert.doesNotMatch(t.statusReason ?? '', /\n/);
  const r = t.probes.find((p) => p.id === 'buggy')!;
  assert.equal(r.status, 'error');
  assert.match(r.error ?? '', /internal error in the buggy probe: TypeError/);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.code, 'INTERNAL');
  assert.ok(seen[0]!.cause instanceof TypeError);
  assert.match(seen[0]!.cause.stack ?? '', /internal-error\.test\.[jt]s/, 'the stack points at the faulty code');
});

test('the same run without the buggy probe is not unknown for that reason', async () => {
  const seen: InternalError[] = [];
  const t = (await run([processProbe], seen)).targets[0]!;
  assert.equal(seen.length, 0);
  assert.doesNotMatch(t.statusReason ?? '', /internal error/);
  assert.notEqual(t.probes.find((p) => p.id === 'process')?.status, 'error');
});

test('a target that fails on a bug is INTERNAL, not a parse error; an I/O errno is not a bug', () => {
  const seen: InternalError[] = [];
  const t = failedTarget(42, new TypeError('x is not a function'), (e) => seen.push(e));
  assert.equal(t.error?.code, 'INTERNAL');
  assert.match(t.error?.message ?? '', /^internal error in the examination of pid 42: TypeError: x is not a function$/);
  assert.equal(seen.length, 1);
  const io = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' });
  assert.equal(failedTarget(42, io, (e) => seen.push(e)).error?.code, 'PARSE_ERROR');
  assert.equal(seen.length, 1);
});

test('PROCTRIAGE_DEBUG=1 prints the stack of an internal error on stderr; without it, nothing', () => {
  const mod = (rel: string) => JSON.stringify(fileURLToPath(new URL(rel, import.meta.url)));
  const script = `import { showInternalError } from ${mod('../../src/commands/run-options.js')};
import { InternalError } from ${mod('../../src/errors.js')};
function faulty() { return undefined.count; }
try { faulty(); } catch (err) { showInternalError(new InternalError('the buggy probe', err)); }`;
  const go = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 10_000 });
  const { PROCTRIAGE_DEBUG: _, ...quiet } = process.env;
  const debug = go({ ...quiet, PROCTRIAGE_DEBUG: '1' });
  assert.equal(debug.status, 0, debug.stderr);
  assert.match(debug.stderr, /^proctriage: internal error in the buggy probe: TypeError: .*\(PROCTRIAGE_DEBUG\)\nTypeError: .*\n\s+at faulty /);
  const plain = go(quiet);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.stderr, '');
});
