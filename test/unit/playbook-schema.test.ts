import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { validatePlaybook, type Playbook } from '../../src/engine/playbook-schema.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { evaluate, nextStepOf } from '../../src/engine/evaluate.js';
import { repoPath } from './paths.js';

/** The finding catalogue of DESIGN.md: these ids are part of the public contract. */
const CATALOGUE = [
  'recent-deploy',
  'fd-exhaustion',
  'close-wait-leak',
  'connection-storm',
  'file-handle-pileup',
  'deleted-files-held',
  'pipe-leak',
  'inotify-leak',
  'memory-near-limit',
  'oom-kills',
  'runtime-limit-mismatch',
  'heap-near-limit',
  'handle-leak',
  'event-loop-blocked',
  'goroutine-explosion',
  'gc-pressure',
  'thread-explosion',
  'cpu-throttling',
  'cpu-saturation',
  'fd-growth',
  'memory-growth',
  'heap-growth',
  'handle-growth',
  'goroutine-growth',
  'thread-growth',
  'socket-growth',
  'replica-outlier',
];

const yamlText = readFileSync(repoPath('playbooks/default.yaml'), 'utf8');

function loadDefault(): Playbook {
  const r = validatePlaybook(parse(yamlText));
  if (!r.ok) assert.fail(`playbooks/default.yaml is invalid:\n${r.problems.join('\n')}`);
  return r.playbook;
}

/** A small valid playbook to break one piece at a time. */
function minimal(): Record<string, any> {
  return {
    schemaVersion: 1,
    name: 'team',
    steps: [
      { id: 'fds', question: 'FDs?', healthy: 'no' },
      { id: 'mitigation', question: 'Now?', healthy: 'restart', onlyWhenFiring: true },
    ],
    findings: [
      {
        id: 'fd-exhaustion',
        title: 'FDs near the limit',
        step: 'fds',
        requires: ['fd.utilization'],
        levels: [{ severity: 'warning', when: { metric: 'fd.utilization', op: '>=', value: 0.8 } }],
        summary: '{fd.open} of {fd.limit}',
        likelyCauses: ['a leak'],
        nextSteps: ['ls /proc/{pid}/fd'],
        seed: 'seed 000 case 1',
      },
    ],
  };
}

function problemsOf(data: unknown, base?: Playbook): string[] {
  const r = validatePlaybook(data, base);
  assert.equal(r.ok, false, 'expected the playbook to be rejected');
  return r.ok ? [] : r.problems;
}

describe('the built-in playbook', () => {
  const pb = loadDefault();

  test('validates', () => {
    assert.equal(pb.name, 'default');
    assert.equal(pb.schemaVersion, 1);
  });

  test('every finding id of the DESIGN.md catalogue is present, and nothing else', () => {
    const ids = pb.findings.map((f) => f.id);
    for (const id of CATALOGUE) assert.ok(ids.includes(id), `missing finding ${id}`);
    assert.deepEqual([...ids].sort(), [...CATALOGUE].sort());
  });

  test('every finding describes its source case in words, not as a reference to a document users cannot open', () => {
    for (const f of pb.findings) {
      assert.doesNotMatch(f.seed, /\bseed \d{3}\b|\b(case|story|bug)s? \d+\b/i, `${f.id} cites a document: "${f.seed}"`);
      assert.ok(f.seed.split(' ').length >= 8, `${f.id} says too little of its case: "${f.seed}"`);
    }
  });

  test('every finding belongs to a step, has causes and next steps; levels run most severe first', () => {
    const steps = new Set(pb.steps.map((s) => s.id));
    const rank = { info: 0, warning: 1, critical: 2 } as const;
    for (const f of pb.findings) {
      assert.ok(steps.has(f.step), `${f.id}: step ${f.step}`);
      assert.ok(f.likelyCauses.length > 0 && f.nextSteps.length > 0, f.id);
      const ranks = f.levels.map((l) => rank[l.severity]);
      assert.deepEqual(
        ranks,
        [...ranks].sort((a, b) => b - a),
        `${f.id}: levels out of order`,
      );
    }
  });

  test('the steps follow the decision tree and end with mitigation', () => {
    assert.deepEqual(
      pb.steps.map((s) => s.id),
      ['deploy', 'fds', 'memory', 'counts', 'latency', 'pool', 'growth', 'localised', 'mitigation'],
    );
    assert.equal(pb.steps.at(-1)?.onlyWhenFiring, true);
  });

  test('next steps put only {pid} and numbers/endpoints into commands, never a raw path from the target', () => {
    for (const f of pb.findings) {
      for (const { text: s } of f.nextSteps.map(nextStepOf)) {
        for (const [, key] of s.matchAll(/\{([^}:]+)(?::[a-z]+)?\}/g)) {
          assert.ok(!/(path|example|pattern|comm|cmdline)$/.test(key!), `${f.id}: "${s}" interpolates ${key}`);
        }
      }
    }
  });

  test('the compiled JSON the CLI loads equals the validated YAML', () => {
    assert.deepEqual(builtinPlaybook(), pb);
  });

  test('the documented thresholds', () => {
    const when = (id: string) => pb.findings.find((f) => f.id === id)!.levels.map((l) => [l.severity, JSON.stringify(l.when)]);
    assert.deepEqual(when('fd-exhaustion'), [
      ['critical', JSON.stringify({ metric: 'fd.utilization', op: '>=', value: 0.95 })],
      ['warning', JSON.stringify({ metric: 'fd.utilization', op: '>=', value: 0.8 })],
    ]);
    assert.deepEqual(when('close-wait-leak'), [
      ['critical', JSON.stringify({ metric: 'sockets.tcp.closeWait', op: '>=', value: 100 })],
      ['warning', JSON.stringify({ metric: 'sockets.tcp.closeWait', op: '>=', value: 10 })],
    ]);
    assert.deepEqual(when('memory-near-limit'), [
      ['critical', JSON.stringify({ metric: 'cgroup.memory.utilization', op: '>=', value: 0.9 })],
      ['warning', JSON.stringify({ metric: 'cgroup.memory.utilization', op: '>=', value: 0.8 })],
    ]);
  });
});

describe('node rules of the built-in playbook', () => {
  const pb = loadDefault();
  const run = (metrics: Record<string, number>) => evaluate(pb, { pid: 1, metrics, evidence: { 'node.eventLoop.windowMs': 2200 } }).findings;
  const MiB = 2 ** 20;

  test('event-loop-blocked fires on p99, the longest delay or the utilisation, and its summary says which', () => {
    const loop = (p99: number, max: number, u: number) =>
      run({ 'node.eventLoop.delayP50Ms': 0, 'node.eventLoop.delayP99Ms': p99, 'node.eventLoop.delayMaxMs': max, 'node.eventLoop.utilization': u }).find(
        (f) => f.id === 'event-loop-blocked',
      );
    assert.equal(loop(3, 40, 0.5), undefined);
    const long = loop(3, 1500, 0.7)!;
    assert.equal(long.severity, 'critical');
    assert.match(long.summary, /blocked for 1,500 ms at a stretch \(p99 3 ms, busy 70% of a 2,200 ms window\)/);
    assert.equal(loop(3, 250, 0.4)!.severity, 'warning');
    assert.match(loop(150, 160, 0.4)!.summary, /^Event-loop delay p99 150 ms/);
    assert.match(loop(20, 40, 0.95)!.summary, /busy 95% of a 2,200 ms window/);
  });

  test('heap-near-limit judges the old generation against its own limit, not heap_size_limit', () => {
    const heap = (committed: number) =>
      run({
        'node.heap.used': committed * MiB,
        'node.heap.limit': 144 * MiB,
        'node.heap.oldUsed': committed * MiB,
        'node.heap.oldCommitted': committed * MiB,
        'node.heap.oldLimit': 96 * MiB,
      }).find((f) => f.id === 'heap-near-limit')?.severity;
    assert.equal(heap(70), undefined);
    assert.equal(heap(78), 'warning'); // 54 % of heap_size_limit: the old rule said nothing
    assert.equal(heap(82), 'critical');
  });
});

describe('validatePlaybook rejects broken playbooks with a readable problem path', () => {
  test('the minimal playbook is valid (the cases below break one thing each)', () => {
    assert.equal(validatePlaybook(minimal()).ok, true);
  });

  test('duplicate finding id', () => {
    const pb = minimal();
    pb.findings.push({ ...pb.findings[0] });
    assert.deepEqual(problemsOf(pb), ['findings.1.id: duplicate finding id "fd-exhaustion"']);
  });

  test('unknown step', () => {
    const pb = minimal();
    pb.findings[0].step = 'disk';
    assert.deepEqual(problemsOf(pb), ['findings.0.step: unknown step "disk"']);
  });

  test('an eval-like string condition is not accepted', () => {
    const pb = minimal();
    pb.findings[0].levels[0].when = 'metrics["fd.utilization"] >= 0.8 || require("child_process")';
    const p = problemsOf(pb);
    assert.ok(p.length >= 1);
    assert.ok(
      p.every((x) => x.startsWith('findings.0.levels.0.when')),
      p.join('\n'),
    );
  });

  test('an operator outside the list', () => {
    const pb = minimal();
    pb.findings[0].levels[0].when = { metric: 'fd.utilization', op: '=~', value: 0.8 };
    assert.ok(problemsOf(pb).some((x) => x.startsWith('findings.0.levels.0.when')));
    // the problem says what a condition looks like, not just "invalid input"
    assert.ok(
      problemsOf(pb).some((x) => /use \{metric, op \(one of >= > <= < == !=\), value\}/.test(x)),
      problemsOf(pb).join('\n'),
    );
  });

  test('an extra key in a condition (e.g. a code snippet)', () => {
    const pb = minimal();
    pb.findings[0].levels[0].when = { metric: 'fd.utilization', op: '>=', value: 0.8, code: 'process.exit()' };
    assert.ok(problemsOf(pb).some((x) => x.startsWith('findings.0.levels.0.when')));
  });

  test('a metric key that is not a dotted camelCase name', () => {
    const pb = minimal();
    pb.findings[0].levels[0].when = { metric: 'fd.utilization; rm -rf /', op: '>=', value: 0.8 };
    assert.ok(problemsOf(pb).some((x) => x.startsWith('findings.0.levels.0.when')));
  });

  test('missing likelyCauses', () => {
    const pb = minimal();
    delete pb.findings[0].likelyCauses;
    const p = problemsOf(pb);
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^findings\.0\.likelyCauses: /);
  });

  test('empty likelyCauses', () => {
    const pb = minimal();
    pb.findings[0].likelyCauses = [];
    assert.match(problemsOf(pb)[0]!, /^findings\.0\.likelyCauses: /);
  });

  test('missing seed, bad id, bad severity, unknown top-level key, wrong schemaVersion', () => {
    const a = minimal();
    delete a.findings[0].seed;
    assert.match(problemsOf(a)[0]!, /^findings\.0\.seed: /);
    const b = minimal();
    b.findings[0].id = 'FD Exhaustion';
    assert.match(problemsOf(b)[0]!, /^findings\.0\.id: .*kebab-case/);
    const c = minimal();
    c.findings[0].levels[0].severity = 'fatal';
    assert.match(problemsOf(c)[0]!, /^findings\.0\.levels\.0\.severity: /);
    const d = { ...minimal(), script: 'alert(1)' };
    assert.ok(problemsOf(d).length >= 1);
    const e = { ...minimal(), schemaVersion: 2 };
    assert.match(problemsOf(e)[0]!, /^schemaVersion: /);
  });

  test('no steps or no findings (without extends)', () => {
    assert.ok(problemsOf({ ...minimal(), findings: [] }).some((x) => x.startsWith('findings')));
    assert.ok(problemsOf({ ...minimal(), steps: [] }).some((x) => x.startsWith('steps')));
  });

  test('extends without a base playbook available', () => {
    assert.deepEqual(problemsOf({ schemaVersion: 1, name: 'x', extends: 'default' }), ['extends: the built-in playbook is not available']);
  });
});

describe('a team playbook that extends the default', () => {
  const base = loadDefault();
  const original = base.findings.find((f) => f.id === 'fd-exhaustion')!;
  const team = {
    schemaVersion: 1,
    name: 'team',
    extends: 'default',
    findings: [
      {
        ...original,
        levels: [
          { severity: 'critical', when: { metric: 'fd.utilization', op: '>=', value: 0.9 } },
          { severity: 'warning', when: { metric: 'fd.utilization', op: '>=', value: 0.5 } },
        ],
      },
    ],
  };

  test('overriding one threshold keeps every other step and finding, in place', () => {
    const r = validatePlaybook(team, base);
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
    const pb = r.playbook;
    assert.equal(pb.name, 'team');
    assert.deepEqual(pb.steps, base.steps);
    assert.deepEqual(
      pb.findings.map((f) => f.id),
      base.findings.map((f) => f.id),
    );
    const merged = pb.findings.find((f) => f.id === 'fd-exhaustion')!;
    assert.equal(JSON.stringify(merged.levels[1]!.when), JSON.stringify({ metric: 'fd.utilization', op: '>=', value: 0.5 }));
    for (const f of pb.findings.filter((x) => x.id !== 'fd-exhaustion')) {
      assert.deepEqual(
        f,
        base.findings.find((b) => b.id === f.id),
      );
    }
  });

  test('the override changes the verdict: 60% fd use is a warning for the team, nothing by default', () => {
    const r = validatePlaybook(team, base);
    assert.ok(r.ok);
    const facts = { pid: 1, metrics: { 'fd.utilization': 0.6, 'fd.open': 600, 'fd.limit': 1000 }, evidence: {} };
    assert.deepEqual(
      evaluate(r.playbook, facts).findings.map((f) => [f.id, f.severity]),
      [['fd-exhaustion', 'warning']],
    );
    assert.deepEqual(
      evaluate(base, facts).findings.map((f) => f.id),
      [],
    );
  });

  test('a new step is inserted before mitigation; a new finding is appended', () => {
    const r = validatePlaybook(
      {
        schemaVersion: 1,
        name: 'team',
        extends: 'default',
        steps: [{ id: 'disk', question: 'Disk?', healthy: 'no' }],
        findings: [
          {
            id: 'disk-full',
            title: 'Disk',
            step: 'disk',
            levels: [{ severity: 'warning', when: { metric: 'disk.utilization', op: '>=', value: 0.9 } }],
            summary: 's',
            likelyCauses: ['c'],
            nextSteps: ['df -h'],
            seed: 'seed 003 story 10',
          },
        ],
      },
      base,
    );
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
    const ids = r.playbook.steps.map((s) => s.id);
    assert.deepEqual(ids.slice(-2), ['disk', 'mitigation']);
    assert.equal(r.playbook.findings.at(-1)?.id, 'disk-full');
    assert.equal(r.playbook.findings.length, base.findings.length + 1);
  });

  test('an extending playbook is still checked after the merge (a finding on an unknown step)', () => {
    const p = problemsOf({ ...team, findings: [{ ...team.findings[0], step: 'nowhere' }] }, base);
    assert.ok(
      p.some((x) => /^findings\.\d+\.step: unknown step "nowhere"$/.test(x)),
      p.join('\n'),
    );
  });
});

describe('metrics a playbook names must exist', () => {
  test('the built-in playbook names only metrics a probe declares or watch/diff/fleet derive', async () => {
    const { metricRegistry } = await import('../../src/commands/playbooks.js');
    const { unknownMetrics } = await import('../../src/engine/playbook-schema.js');
    const { builtinPlaybook } = await import('../../src/engine/playbook.js');
    assert.deepEqual(unknownMetrics(builtinPlaybook(), metricRegistry()), []);
  });

  test('a misspelt metric is rejected with the nearest known name, instead of a rule that is silently never true', async () => {
    const { metricRegistry } = await import('../../src/commands/playbooks.js');
    const { validatePlaybook } = await import('../../src/engine/playbook-schema.js');
    const { builtinPlaybook } = await import('../../src/engine/playbook.js');
    const team = {
      schemaVersion: 1,
      name: 'team',
      extends: 'default',
      findings: [
        {
          id: 'close-wait-leak',
          title: 'CLOSE_WAIT',
          step: 'fds',
          requires: ['sockets.tcp.closeWait'],
          levels: [{ severity: 'critical', when: { metric: 'sockets.tcp.closeWiat', op: '>=', value: 50 } }],
          summary: 'x',
          likelyCauses: ['x'],
          nextSteps: ['x'],
          seed: 'x',
        },
      ],
    };
    const r = validatePlaybook(team, builtinPlaybook(), metricRegistry());
    assert.equal(r.ok, false);
    assert.match((r as { problems: string[] }).problems.join('\n'), /unknown metric "sockets\.tcp\.closeWiat" \(did you mean "sockets\.tcp\.closeWait"\?\)/);
    const fixed = structuredClone(team);
    fixed.findings[0]!.levels[0]!.when.metric = 'sockets.tcp.closeWait';
    assert.equal(validatePlaybook(fixed, builtinPlaybook(), metricRegistry()).ok, true);
    // families and derived keys are known
    assert.equal(metricRegistry().known('fd.byType.inotify'), true);
    assert.equal(metricRegistry().known('trend.fd.open.leakShaped'), true);
  });
});

describe('limits, weights and step roles live in the playbook', () => {
  const base = loadDefault();

  test('a playbook that says nothing about limits or weights gets the built-in values', async () => {
    const { DEFAULT_LIMITS, DEFAULT_WEIGHTS } = await import('../../src/engine/playbook-schema.js');
    const r = validatePlaybook(minimal());
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
    assert.deepEqual(r.playbook.limits, base.limits);
    assert.deepEqual(r.playbook.weights, base.weights);
    assert.deepEqual(base.limits, DEFAULT_LIMITS, 'default.yaml states the schema defaults');
    assert.deepEqual(base.weights, DEFAULT_WEIGHTS);
  });

  test('the stand-in limit of a count and the findings on it are one number: moving it moves both', async () => {
    const { trendsFromSamples } = await import('../../src/engine/trends.js');
    const r = validatePlaybook({ schemaVersion: 1, name: 'team', extends: 'default', limits: { explosion: { 'node.handles.total': 4000 } } }, base);
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
    assert.equal(r.playbook.limits.explosion['go.goroutines'], 100_000, 'what the team did not say is kept');
    assert.deepEqual(r.playbook.limits.replicas, base.limits.replicas);
    const at = (pb: Playbook, n: number) => evaluate(pb, { pid: 1, metrics: { 'node.handles.total': n }, evidence: {} }).findings.map((f) => f.id);
    assert.deepEqual(at(base, 999), []);
    assert.deepEqual(at(base, 1000), ['handle-leak']);
    assert.deepEqual(at(r.playbook, 400), ['handle-leak'], 'a tenth of the new stand-in');
    assert.deepEqual(at(r.playbook, 399), []);
    const samples = Array.from({ length: 10 }, (_, i) => ({ t: i, metrics: { 'node.handles.total': 100 + i } }));
    assert.equal(trendsFromSamples(samples, base.limits)['node.handles.total']!.limit, 10_000);
    assert.equal(trendsFromSamples(samples, r.playbook.limits)['node.handles.total']!.limit, 4000);
  });

  test('a finding may name only a limit the playbook declares', () => {
    const pb = minimal();
    pb.findings[0].levels[0].when = { metric: 'fd.open', op: '>=', value: { limit: 'fd.open' } };
    assert.ok(
      problemsOf(pb).some((x) => /no limits\.explosion\."fd\.open"/.test(x)),
      problemsOf(pb).join('\n'),
    );
  });

  test('a bad limit is rejected (a ratio out of range, an unknown key)', () => {
    assert.ok(problemsOf({ ...minimal(), limits: { shape: { decelerating: 3 } } }).some((x) => /^limits\.shape\.decelerating:/.test(x)));
    assert.ok(problemsOf({ ...minimal(), weights: { risk: { closeWait: 100 } } }).some((x) => /^weights\.risk/.test(x)));
  });

  test('diff reports the findings of the growth role, whatever the step is called', async () => {
    const { growthRuleIds } = await import('../../src/engine/trends.js');
    assert.ok(growthRuleIds(base).has('fd-growth'));
    const pb = minimal();
    pb.steps.splice(1, 0, { id: 'over-time', role: 'growth', question: 'Growing?', healthy: 'no' });
    pb.findings.push({ ...pb.findings[0], id: 'fd-climb', step: 'over-time' });
    const r = validatePlaybook(pb);
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
    assert.deepEqual([...growthRuleIds(r.playbook)], ['fd-climb']);
    pb.steps[0].role = 'growth';
    assert.ok(problemsOf(pb).some((x) => /a second step with role "growth"/.test(x)));
  });

  test('new steps go before the step with role mitigation, whatever it is called', () => {
    const renamed = { ...base, steps: base.steps.map((s) => (s.role === 'mitigation' ? { ...s, id: 'buy-time' } : s)) };
    const r = validatePlaybook({ schemaVersion: 1, name: 'team', extends: 'default', steps: [{ id: 'disk', question: 'Disk?', healthy: 'no' }] }, renamed);
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
    assert.deepEqual(r.playbook.steps.map((s) => s.id).slice(-2), ['disk', 'buy-time']);
  });
});
