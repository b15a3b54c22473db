import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../src/engine/evaluate.js';
import { validatePlaybook, type Playbook } from '../../src/engine/playbook-schema.js';
import { rankSites, relativeToCwd, type Attribution } from '../../src/engine/attribution.js';
import { attributionLines } from '../../src/render/attribution.js';
import { ReportSchema } from '../../src/engine/report-schema.js';

function playbook(data: unknown): Playbook {
  const r = validatePlaybook(data);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.playbook;
}

const growth: Attribution = {
  kind: 'allocation-growth',
  source: 'Go heap profiles (in-use bytes)',
  unit: 'bytes',
  total: 200 * 2 ** 20,
  windowSeconds: 30,
  sites: rankSites(
    [
      { function: 'main.churn', file: 'churn.go', line: 9, value: 4 * 2 ** 20 },
      { function: 'main.leakyCache', file: 'cache.go', line: 42, value: 180 * 2 ** 20, frames: ['main.handle (server.go:88)'] },
      { function: 'main.freed', value: -3 },
    ],
    200 * 2 ** 20,
  ),
};

describe('attribution', () => {
  test('rankSites: largest first, shares of the total, nothing at or below zero', () => {
    assert.deepEqual(
      growth.sites.map((s) => s.function),
      ['main.leakyCache', 'main.churn'],
    );
    assert.equal(growth.sites[0]!.share, 0.9);
    assert.equal(
      rankSites(
        [
          { function: 'a', value: 1 },
          { function: 'b', value: 2 },
        ],
        3,
        1,
      ).length,
      1,
    );
  });

  test('paths shorten to the working directory only when inside it', () => {
    assert.equal(relativeToCwd('/srv/app/src/poller.js', '/srv/app'), 'src/poller.js');
    assert.equal(relativeToCwd('/srv/application/x.js', '/srv/app'), '/srv/application/x.js');
    assert.equal(relativeToCwd('node:internal/timers', '/srv/app'), 'node:internal/timers');
  });

  test('a finding carries the attributions its rule lists, in order, when the probes produced them', () => {
    const pb = playbook({
      schemaVersion: 1,
      name: 'a',
      steps: [{ id: 'mem', question: 'Memory?', healthy: 'no' }],
      findings: [
        {
          id: 'memory-growth',
          step: 'mem',
          title: 'T',
          summary: 'S',
          likelyCauses: ['c'],
          nextSteps: ['n'],
          seed: 's',
          requires: ['m'],
          levels: [{ severity: 'warning', when: { metric: 'm', op: '>', value: 0 } }],
          attribution: ['go.heap.growth', 'node.heap.sites', 'go.heap.sites'],
        },
      ],
    });
    const notAttribution = { kind: 'something-else', sites: [] };
    const { findings } = evaluate(pb, { pid: 1, metrics: { m: 1 }, evidence: { 'go.heap.growth': growth, 'go.heap.sites': notAttribution } });
    assert.deepEqual(findings[0]!.attribution, [growth]);
    const none = evaluate(pb, { pid: 1, metrics: { m: 1 }, evidence: {} });
    assert.equal(none.findings[0]!.attribution, undefined);
  });

  test('rendered as a heading and a ranked list with the value of the whole', () => {
    const { heading, sites } = attributionLines(growth);
    assert.equal(heading, 'Go heap profiles (in-use bytes), over 30s');
    assert.equal(sites[0]!.text, '1. main.leakyCache (cache.go:42): +180 MiB of +200 MiB (90%)');
    assert.deepEqual(sites[0]!.frames, ['main.handle (server.go:88)']);
    const cpu = attributionLines({
      kind: 'hot-functions',
      source: 'V8 CPU profile',
      unit: 'samples',
      total: 100,
      sites: [{ function: 'hashSync', file: 'auth.js', line: 17, value: 83, share: 0.83, cumulative: 90 }],
    });
    assert.equal(cpu.sites[0]!.text, '1. hashSync (auth.js:17): 83% of the sampled time (90% with callees)');
    const off = attributionLines({
      kind: 'allocation-sites',
      source: 'Go heap profile',
      unit: 'bytes',
      total: 0,
      sites: [],
      unavailable: 'no pprof endpoint',
      hint: 'add --pprof URL',
    });
    assert.equal(off.heading, 'Go heap profile: not available, no pprof endpoint (add --pprof URL)');
  });

  test('the report schema accepts an attribution on a finding', () => {
    const finding = { id: 'f', severity: 'warning', title: 't', summary: 's', evidence: {}, likelyCauses: [], nextSteps: [], seed: 's', attribution: [growth] };
    const shape = ReportSchema.shape.targets.element.shape.findings.element;
    assert.equal(shape.safeParse(finding).success, true);
    assert.equal(shape.safeParse({ ...finding, attribution: [{ ...growth, unit: 'parsecs' }] }).success, false);
  });
});
