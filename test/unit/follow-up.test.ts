/**
 * The runner's follow-up phase, on a real process with a probe of the test's own: evidence a
 * probe declares on demand is asked for only when a finding at warning or critical lists it
 * under `attribution:` and no probe produced it yet; once; bounded by the probe's deadline.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { diagnose, type RunOptions } from '../../src/engine/runner.js';
import { final, sample } from '../../src/engine/watch.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import type { Playbook } from '../../src/engine/playbook-schema.js';
import { PROBES } from '../../probes/index.js';
import type { Probe, ProbeOutput } from '../../src/engine/probe.js';
import type { Attribution } from '../../src/engine/attribution.js';

const children: ReturnType<typeof spawn>[] = [];
after(() => children.forEach((c) => c.kill('SIGKILL')));
function target(): number {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

const ATTR: Attribution = {
  kind: 'hot-functions',
  source: 'test profile',
  unit: 'samples',
  total: 10,
  sites: [{ function: 'main.hot', value: 9, share: 0.9 }],
};

/** The built-in playbook plus one finding: warning when test.seen >= 1, attributed by test.attr. */
function playbook(): Playbook {
  const pb = builtinPlaybook();
  const base = pb.findings.find((f) => f.id === 'cpu-throttling')!;
  return {
    ...pb,
    findings: [
      ...pb.findings,
      {
        ...base,
        id: 'test-finding',
        requires: [],
        evidence: [],
        attribution: ['test.attr'],
        levels: [{ ...base.levels[0]!, severity: 'warning', when: { metric: 'test.seen', op: '>=', value: 1 } }],
        summary: 'test finding',
      },
    ],
  };
}

interface Calls {
  keys: string[][];
}

function probe(calls: Calls, o: { seen: number; skipped?: boolean; evidence?: Record<string, unknown>; hang?: boolean }): Probe {
  return {
    meta: {
      id: 'attr-test',
      description: 'test',
      runtime: 'any',
      timeoutMs: 300,
      facts: { 'test.seen': { unit: 'count', description: 'x' } },
      evidence: { 'test.attr': 'a test attribution' },
      onDemand: ['test.attr'],
    },
    run: (): ProbeOutput =>
      o.skipped ? { metrics: {}, skipped: 'not this target' } : { metrics: { 'test.seen': o.seen }, ...(o.evidence ? { evidence: o.evidence } : {}) },
    followUp(keys, ctx) {
      calls.keys.push(keys);
      ctx.actions.push('took a test profile');
      if (o.hang) return new Promise(() => undefined);
      return Promise.resolve({ evidence: { 'test.attr': ATTR, 'test.other': 'not declared on demand: dropped' } });
    },
  };
}

function options(p: Probe): RunOptions {
  const process = PROBES.find((x) => x.meta.id === 'process')!;
  return { proc: new ProcFs('/'), playbook: playbook(), probes: [process, p], timeoutMs: 5000, redact: true, version: 'test' };
}

describe('follow-up: on-demand evidence for the findings that ask for it', () => {
  test('a warning that lists a missing key: asked once, and the attribution reaches the finding', async () => {
    const calls: Calls = { keys: [] };
    const r = await diagnose([target()], options(probe(calls, { seen: 1 })));
    assert.deepEqual(calls.keys, [['test.attr']]);
    const t = r.targets[0]!;
    const f = t.findings.find((x) => x.id === 'test-finding');
    assert.deepEqual(f?.attribution, [ATTR]);
    assert.equal(t.evidence?.['test.other'], undefined, 'only the keys asked for are kept');
    assert.ok(t.actions?.includes('took a test profile'), String(t.actions));
  });

  test('no finding: not asked', async () => {
    const calls: Calls = { keys: [] };
    const r = await diagnose([target()], options(probe(calls, { seen: 0 })));
    assert.deepEqual(calls.keys, []);
    assert.equal(
      r.targets[0]!.findings.some((x) => x.id === 'test-finding'),
      false,
    );
  });

  test('a probe that did not apply to the target (skipped): not asked', async () => {
    const calls: Calls = { keys: [] };
    await diagnose([target()], options(probe(calls, { seen: 1, skipped: true })));
    assert.deepEqual(calls.keys, []);
  });

  test('the key already in the evidence: not asked again', async () => {
    const calls: Calls = { keys: [] };
    const r = await diagnose([target()], options(probe(calls, { seen: 1, evidence: { 'test.attr': ATTR } })));
    assert.deepEqual(calls.keys, []);
    assert.deepEqual(r.targets[0]!.findings.find((x) => x.id === 'test-finding')?.attribution, [ATTR]);
  });

  test('a follow-up that hangs ends at the probe deadline: an unknown, the finding without attribution', async () => {
    const calls: Calls = { keys: [] };
    const started = Date.now();
    const r = await diagnose([target()], options(probe(calls, { seen: 1, hang: true })));
    assert.ok(Date.now() - started < 3000, 'bounded by the probe deadline');
    const t = r.targets[0]!;
    assert.equal(t.findings.find((x) => x.id === 'test-finding')?.attribution, undefined);
    assert.ok(
      t.unknowns.some((u) => u.probe === 'attr-test' && /follow-up \(test\.attr\) did not answer within 300 ms/.test(u.reason)),
      JSON.stringify(t.unknowns),
    );
    assert.ok(t.actions?.includes('took a test profile'), 'what it did before the deadline is still said');
  });

  test('watch: asked once, after the last sample, not per sample; and not after Ctrl-C', async () => {
    const calls: Calls = { keys: [] };
    const opts = options(probe(calls, { seen: 1 }));
    const so = { intervalMs: 50, durationMs: 250, sampleTimeoutMs: 2000, firstTimeoutMs: 2000, signal: new AbortController().signal };
    const w = await sample(target(), opts, so);
    assert.ok(w.samples.length >= 3, `samples: ${w.samples.length}`);
    assert.deepEqual(calls.keys, [['test.attr']]);
    assert.deepEqual(final(w, opts).findings.find((x) => x.id === 'test-finding')?.attribution, [ATTR]);
    const ac = new AbortController();
    const stopped: Calls = { keys: [] };
    const pending = sample(target(), options(probe(stopped, { seen: 1 })), { ...so, durationMs: 5000, signal: ac.signal });
    setTimeout(() => ac.abort(), 150);
    await pending;
    assert.deepEqual(stopped.keys, []);
  });
});

/** The built-in playbook plus one finding whose only level needs a metric measured on demand. */
function hingePlaybook(): Playbook {
  const pb = builtinPlaybook();
  const base = pb.findings.find((f) => f.id === 'cpu-throttling')!;
  const when = {
    all: [
      { metric: 'test.seen', op: '>=' as const, value: 1 },
      { metric: 'test.measured', op: '>=' as const, value: 50 },
    ],
  };
  return {
    ...pb,
    findings: [
      ...pb.findings,
      {
        ...base,
        id: 'test-hinge',
        requires: [],
        evidence: [],
        attribution: [],
        levels: [{ ...base.levels[0]!, severity: 'warning', when }],
        summary: 'hinged',
      },
    ],
  };
}

function hingeProbe(calls: Calls, o: { seen: number; measured: number }): Probe {
  return {
    meta: {
      id: 'hinge-test',
      description: 'test',
      runtime: 'any',
      timeoutMs: 300,
      facts: { 'test.seen': { unit: 'count', description: 'x' }, 'test.measured': { unit: 'count', description: 'measured on demand' } },
      evidence: { 'test.how': 'how test.measured was measured' },
      onDemand: ['test.measured'],
    },
    run: (): ProbeOutput => ({ metrics: { 'test.seen': o.seen } }),
    followUp(keys) {
      calls.keys.push(keys);
      return Promise.resolve({ metrics: { 'test.measured': o.measured, 'test.unasked': 1 }, evidence: { 'test.how': 'a look', 'test.undeclared': 1 } });
    },
  };
}

describe('follow-up: on-demand metrics a verdict hinges on', () => {
  const run = (p: Probe) => diagnose([target()], { ...options(p), playbook: hingePlaybook() });

  test('a level that holds but for a metric measured on demand: asked once, then judged with it', async () => {
    const calls: Calls = { keys: [] };
    const t = (await run(hingeProbe(calls, { seen: 1, measured: 60 }))).targets[0]!;
    assert.deepEqual(calls.keys, [['test.measured']]);
    assert.equal(t.metrics['test.measured'], 60);
    assert.equal(t.findings.find((x) => x.id === 'test-hinge')?.severity, 'warning');
    assert.equal(t.evidence?.['test.how'], 'a look', 'declared evidence comes with it');
    assert.equal(t.metrics['test.unasked'], undefined, 'a metric not asked for is dropped');
    assert.equal(t.evidence?.['test.undeclared'], undefined, 'evidence the probe does not declare is dropped');
  });

  test('measured, and below the level: no finding', async () => {
    const calls: Calls = { keys: [] };
    const t = (await run(hingeProbe(calls, { seen: 1, measured: 10 }))).targets[0]!;
    assert.deepEqual(calls.keys, [['test.measured']]);
    assert.equal(
      t.findings.some((x) => x.id === 'test-hinge'),
      false,
    );
  });

  test('a level another clause already decides: not asked', async () => {
    const calls: Calls = { keys: [] };
    await run(hingeProbe(calls, { seen: 0, measured: 60 }));
    assert.deepEqual(calls.keys, []);
  });
});
