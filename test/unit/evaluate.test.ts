import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { evaluate, fill, hingesOn, holds, worst, type Facts } from '../../src/engine/evaluate.js';
import { validatePlaybook, type Condition, type Playbook } from '../../src/engine/playbook-schema.js';
import type { Metrics } from '../../src/engine/probe.js';

const facts = (metrics: Metrics, evidence: Record<string, unknown> = {}, pid = 4242): Facts => ({ pid, metrics, evidence });

describe('conditions', () => {
  const m: Metrics = { 'fd.open': 950, 'fd.limit': 1000, 'fd.utilization': 0.95, runtime: 'node', 'cgroup.memory.limit': 268435456, zero: 0 };
  const cases: [string, Condition, boolean][] = [
    ['>= equal', { metric: 'fd.utilization', op: '>=', value: 0.95 }, true],
    ['> equal', { metric: 'fd.utilization', op: '>', value: 0.95 }, false],
    ['<', { metric: 'fd.open', op: '<', value: 1000 }, true],
    ['<= equal', { metric: 'fd.open', op: '<=', value: 950 }, true],
    ['== number', { metric: 'fd.open', op: '==', value: 950 }, true],
    ['!= number', { metric: 'fd.open', op: '!=', value: 950 }, false],
    ['== string', { metric: 'runtime', op: '==', value: 'node' }, true],
    ['!= string', { metric: 'runtime', op: '!=', value: 'go' }, true],
    ['a string never compares as a number', { metric: 'runtime', op: '>', value: 1 }, false],
    ['a number against a string value with >=', { metric: 'fd.open', op: '>=', value: '900' }, false],
    ['zero is a present value', { metric: 'zero', op: '==', value: 0 }, true],
    ['absent metric → false', { metric: 'go.goroutines', op: '>=', value: 0 }, false],
    ['absent metric with != → still false', { metric: 'go.goroutines', op: '!=', value: 5 }, false],
    ['metric ref', { metric: 'fd.open', op: '>=', value: { metric: 'fd.limit', factor: 0.9 } }, true],
    ['metric ref with factor not met', { metric: 'fd.open', op: '>=', value: { metric: 'fd.limit', factor: 0.96 } }, false],
    // the schema fills factor: 1; the evaluator also copes with a hand-built condition without it
    ['metric ref without factor', { metric: 'fd.open', op: '<', value: { metric: 'fd.limit' } } as Condition, true],
    ['metric ref to an absent metric → false', { metric: 'fd.open', op: '>=', value: { metric: 'cgroup.pids.limit', factor: 0.8 } }, false],
    ['metric ref to a string metric → false', { metric: 'fd.open', op: '>=', value: { metric: 'runtime', factor: 1 } }, false],
    ['MiB conversion by factor', { metric: 'fd.open', op: '>', value: { metric: 'cgroup.memory.limit', factor: 1 / 1048576 } }, true],
    ['all true', { all: [{ metric: 'fd.open', op: '>', value: 1 }, { exists: 'runtime' }] }, true],
    ['all with one false', { all: [{ metric: 'fd.open', op: '>', value: 1 }, { exists: 'go.goroutines' }] }, false],
    ['any with one true', { any: [{ metric: 'fd.open', op: '<', value: 1 }, { absent: 'go.goroutines' }] }, true],
    ['any all false', { any: [{ metric: 'fd.open', op: '<', value: 1 }, { exists: 'go.goroutines' }] }, false],
    ['not', { not: { metric: 'fd.open', op: '<', value: 1 } }, true],
    ['not of an absent comparison is true', { not: { metric: 'go.goroutines', op: '>', value: 1 } }, true],
    ['exists', { exists: 'fd.limit' }, true],
    ['exists absent', { exists: 'fd.limitHard' }, false],
    ['absent', { absent: 'fd.limitHard' }, true],
    ['absent present', { absent: 'fd.limit' }, false],
    ['nested', { all: [{ any: [{ absent: 'x' }, { exists: 'y' }] }, { not: { all: [{ exists: 'runtime' }, { absent: 'runtime' }] } }] }, true],
  ];
  for (const [name, cond, want] of cases) test(name, () => assert.equal(holds(cond, m), want));
});

describe('fill', () => {
  const f = facts(
    {
      'fd.open': 15847,
      'fd.limit': 16384,
      'fd.utilization': 0.9672,
      'fd.limitHard': 524288,
      ratio: 0.055,
      'cgroup.memory.limit': 268435456,
      small: 1536,
      'process.uptimeSeconds': 3700,
      long: 90061,
      lat: 1234.5,
      'cgroup.pids.limit': Infinity,
      runtime: 'node',
      empty: '',
    },
    {
      'sockets.peers.closeWait': [
        { endpoint: '10.20.0.15:8443', count: 90 },
        { endpoint: '10.20.0.16:8443', count: 30 },
      ],
      'fd.deletedFiles': [{ fd: '145', path: '/var/log/a.log', bytes: 10485760 }],
      nested: { a: { b: 'deep' } },
      'cgroup.path': '/sys/fs/cgroup/a.slice/b.scope',
      odd: "/sys/fs/cgroup/x'; rm -rf / #$(id)",
      files: ['/sys/fs/cgroup/a/memory.stat', '/sys/fs/cgroup/b c/memory.stat'],
    },
  );
  const cases: [string, string | undefined][] = [
    ['{fd.open} of {fd.limit}', '15,847 of 16,384'],
    ['{fd.utilization:pct}', '97%'],
    ['{ratio:pct}', '5.5%'],
    ['{cgroup.memory.limit:bytes}', '256 MiB'],
    ['{small:bytes}', '1.5 KiB'],
    ['{cgroup.pids.limit:bytes}', 'unlimited'],
    ['{process.uptimeSeconds:duration}', '1h 1m'],
    ['{long:duration}', '1d 1h'],
    ['{lat:ms}', '1,235 ms'],
    ['prlimit --nofile={fd.limitHard:raw}', 'prlimit --nofile=524288'],
    ['{fd.limitHard}', '524,288'],
    ['{runtime}', 'node'],
    ['kill -0 {pid}', 'kill -0 4242'],
    ['ss dst {sockets.peers.closeWait.0.endpoint}', 'ss dst 10.20.0.15:8443'],
    ['{sockets.peers.closeWait.1.endpoint} x{sockets.peers.closeWait.1.count}', '10.20.0.16:8443 x30'],
    ['truncate /proc/{pid}/fd/{fd.deletedFiles.0.fd} ({fd.deletedFiles.0.bytes:bytes})', 'truncate /proc/4242/fd/145 (10.0 MiB)'],
    ['{nested.a.b}', 'deep'],
    ['{ratio:times}', '0.1×'],
    ['{fd.open:times}', '15847×'],
    ['cat {cgroup.path:sh}/cpu.stat', 'cat /sys/fs/cgroup/a.slice/b.scope/cpu.stat'], // nothing to quote
    ['cat {odd:sh}/cpu.stat', "cat '/sys/fs/cgroup/x'\\''; rm -rf / #$(id)'/cpu.stat"], // one word for the shell
    ['tail -n +1 {files:sh}', "tail -n +1 /sys/fs/cgroup/a/memory.stat '/sys/fs/cgroup/b c/memory.stat'"],
    ['{sockets.peers.closeWait.5.endpoint}', undefined], // past the end of the list
    ['{sockets.peers.closeWait.0.nope}', undefined],
    ['{go.goroutines} goroutines', undefined], // absent metric
    ['{empty}', undefined], // an empty string is not a value
    ['{fd.open.deeper}', undefined], // cannot walk into a number
    ['no placeholders at all', 'no placeholders at all'],
    ['literal braces { stay }', 'literal braces { stay }'],
  ];
  for (const [template, want] of cases) test(JSON.stringify(template), () => assert.equal(fill(template, f), want));

  test('extra values take part (used for {missing})', () => {
    assert.equal(fill('cannot tell: {missing} not readable', f, { missing: 'fd.limit, fd.open' }), 'cannot tell: fd.limit, fd.open not readable');
  });

  test('{key:sh} makes a target-controlled string one word for a real shell, whatever it holds', () => {
    const out = execFileSync('/bin/sh', ['-c', fill("printf '%s\\n' {odd:sh} {files:sh}", f)!], { encoding: 'utf8' });
    assert.deepEqual(out.split('\n').slice(0, -1), ["/sys/fs/cgroup/x'; rm -rf / #$(id)", '/sys/fs/cgroup/a/memory.stat', '/sys/fs/cgroup/b c/memory.stat']);
  });

  test('a metric shadows an evidence key of the same name', () => {
    assert.equal(fill('{k}', facts({ k: 1 }, { k: 'evidence' })), '1');
  });
});

function playbook(data: unknown): Playbook {
  const r = validatePlaybook(data);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.playbook;
}

const rule = (over: Record<string, unknown>) => ({
  title: 'T',
  summary: 'S',
  likelyCauses: ['c'],
  nextSteps: ['n'],
  seed: 'seed 000 case 1',
  ...over,
});

const PB = playbook({
  schemaVersion: 1,
  name: 'test',
  steps: [
    { id: 'fds', question: 'FDs?', healthy: ['no: {fd.open} of {fd.limit}', 'no: {fd.open} open'] },
    { id: 'go', question: 'Goroutines?', healthy: 'no', hideWhenUnknown: true },
    { id: 'mem', question: 'Memory?', healthy: 'no', unknown: 'unknown: need {missing}' },
    { id: 'never', question: 'Nothing fills?', healthy: ['{nope}'] },
    { id: 'mitigation', question: 'Mitigation?', healthy: 'restart {pid}', onlyWhenFiring: true },
  ],
  findings: [
    rule({
      id: 'fd-exhaustion',
      step: 'fds',
      requires: ['fd.utilization'],
      levels: [
        { severity: 'critical', when: { metric: 'fd.utilization', op: '>=', value: 0.95 } },
        { severity: 'warning', when: { metric: 'fd.utilization', op: '>=', value: 0.8 } },
      ],
      summary: '{fd.open} of {fd.limit} ({fd.utilization:pct})',
      evidence: ['fd.open', 'fd.byType', 'sockets.peers.closeWait', 'not.there'],
      likelyCauses: ['leak of {fd.topType}', 'low limit'],
      nextSteps: [{ command: 'ls /proc/{pid}/fd' }, { advice: 'ss dst {sockets.peers.closeWait.0.endpoint}' }, 'prlimit --nofile={fd.limitHard:raw}'],
    }),
    rule({ id: 'recent', step: 'fds', requires: ['up'], levels: [{ severity: 'info', when: { metric: 'up', op: '<', value: 100 } }] }),
    rule({
      id: 'goroutines',
      step: 'go',
      requires: ['go.goroutines'],
      levels: [{ severity: 'warning', when: { metric: 'go.goroutines', op: '>=', value: 10000 } }],
    }),
    rule({
      id: 'mem-a',
      step: 'mem',
      requires: ['cgroup.memory.utilization'],
      levels: [{ severity: 'warning', when: { metric: 'cgroup.memory.utilization', op: '>=', value: 0.8 } }],
    }),
    rule({
      id: 'mem-b',
      step: 'mem',
      requires: ['cgroup.memory.limit', 'node.heap.limit'],
      levels: [{ severity: 'warning', when: { metric: 'node.heap.limit', op: '>', value: { metric: 'cgroup.memory.limit' } } }],
    }),
  ],
});

describe('evaluate', () => {
  test('first matching level wins (critical before warning)', () => {
    const { findings } = evaluate(PB, facts({ 'fd.utilization': 0.97, 'fd.open': 970, 'fd.limit': 1000 }));
    assert.deepEqual(
      findings.map((f) => [f.id, f.severity]),
      [['fd-exhaustion', 'critical']],
    );
    const w = evaluate(PB, facts({ 'fd.utilization': 0.85, 'fd.open': 850, 'fd.limit': 1000 }));
    assert.deepEqual(
      w.findings.map((f) => [f.id, f.severity]),
      [['fd-exhaustion', 'warning']],
    );
    const none = evaluate(PB, facts({ 'fd.utilization': 0.5, 'fd.open': 500, 'fd.limit': 1000 }));
    assert.deepEqual(none.findings, []);
  });

  test('a raised finding: filled summary, evidence by key / family / evidence key, causes and steps', () => {
    const { findings } = evaluate(
      PB,
      facts(
        { 'fd.utilization': 0.96, 'fd.open': 960, 'fd.limit': 1000, 'fd.byType.socket': 900, 'fd.byType.file': 60 },
        { 'sockets.peers.closeWait': [{ endpoint: '10.0.0.9:443', count: 800 }] },
      ),
    );
    const [f] = findings;
    assert.equal(f!.summary, '960 of 1,000 (96%)');
    assert.deepEqual(f!.evidence, {
      'fd.open': 960,
      'fd.byType': { socket: 900, file: 60 },
      'sockets.peers.closeWait': [{ endpoint: '10.0.0.9:443', count: 800 }],
    });
    // a cause or next step that cannot be filled is dropped, the rest kept in order
    assert.deepEqual(f!.likelyCauses, ['low limit']);
    // each keeps its kind; a bare string is advice
    assert.deepEqual(f!.nextSteps, [
      { kind: 'command', text: 'ls /proc/4242/fd' },
      { kind: 'advice', text: 'ss dst 10.0.0.9:443' },
    ]);
    assert.equal(f!.seed, 'seed 000 case 1');
    assert.equal(f!.title, 'T');
  });

  test('findings are ordered by severity, steps in order within a severity', () => {
    const { findings } = evaluate(
      PB,
      facts({
        up: 5,
        'fd.utilization': 0.85,
        'fd.open': 1,
        'fd.limit': 1,
        'go.goroutines': 50000,
        'cgroup.memory.utilization': 0.9,
        'cgroup.memory.limit': 100,
        'node.heap.limit': 200,
      }),
    );
    assert.deepEqual(
      findings.map((f) => `${f.id}:${f.severity}`),
      ['fd-exhaustion:warning', 'goroutines:warning', 'mem-a:warning', 'mem-b:warning', 'recent:info'],
    );
  });

  test('path answers: yes / healthy (first template that fills) / unknown / hidden / mitigation', () => {
    const quiet = evaluate(PB, facts({ 'fd.utilization': 0.1, 'fd.open': 10 }));
    assert.deepEqual(
      quiet.path.map((p) => [p.step, p.answer]),
      [
        ['fds', 'no: 10 open'], // fd.limit absent: the second healthy template
        // go: every rule's metrics absent and hideWhenUnknown → left out of the path
        ['mem', 'unknown: need cgroup.memory.utilization, cgroup.memory.limit, node.heap.limit'],
        ['never', 'cannot tell: nope not readable'], // no healthy template fills: never a plain "no" on missing data
        // mitigation: nothing above info fired → left out
      ],
    );

    const firing = evaluate(PB, facts({ 'fd.utilization': 0.99, 'fd.open': 99, 'fd.limit': 100, 'go.goroutines': 5, 'cgroup.memory.utilization': 0.2 }));
    assert.deepEqual(
      firing.path.map((p) => [p.step, p.answer, p.findings]),
      [
        ['fds', 'yes: fd-exhaustion (critical)', ['fd-exhaustion']],
        ['go', 'no', []],
        ['mem', 'no', []], // one rule judged (mem-a), the other unknown: the step is answered
        ['never', 'cannot tell: nope not readable', []],
        ['mitigation', 'restart 4242', []],
      ],
    );
    assert.equal(firing.path[0]!.question, 'FDs?');
  });

  test('an info finding alone does not open the mitigation step', () => {
    const { findings, path } = evaluate(PB, facts({ up: 1, 'fd.utilization': 0.1, 'fd.open': 1 }));
    assert.deepEqual(
      findings.map((f) => f.severity),
      ['info'],
    );
    assert.equal(
      path.find((p) => p.step === 'mitigation'),
      undefined,
    );
    assert.equal(path[0]!.answer, 'yes: recent (info)');
  });

  test('the default unknown text names the missing metrics', () => {
    const pb = playbook({
      schemaVersion: 1,
      name: 'u',
      steps: [{ id: 's', question: 'Q?', healthy: 'no' }],
      findings: [rule({ id: 'r', step: 's', requires: ['a.b', 'c.d'], levels: [{ severity: 'warning', when: { exists: 'a.b' } }] })],
    });
    assert.equal(evaluate(pb, facts({ 'a.b': 1 })).path[0]!.answer, 'cannot tell: c.d not readable');
  });

  test('pure: the same facts give the same result and the facts are not modified', () => {
    const input = facts({ 'fd.utilization': 0.96, 'fd.open': 960, 'fd.limit': 1000 });
    const copy = JSON.parse(JSON.stringify(input));
    assert.deepEqual(evaluate(PB, input), evaluate(PB, input));
    assert.deepEqual(input, copy);
  });
});

describe('worst', () => {
  test('critical > warning > info; empty → undefined', () => {
    assert.equal(worst(['info', 'critical', 'warning']), 'critical');
    assert.equal(worst(['info', 'warning']), 'warning');
    assert.equal(worst(['info']), 'info');
    assert.equal(worst([]), undefined);
  });
});

test('cpu-saturation: one thread at 90 % of a core is saturation on a host with many cores', async () => {
  const { builtinPlaybook } = await import('../../src/engine/playbook.js');
  const { evaluate } = await import('../../src/engine/evaluate.js');
  const judge = (metrics: Record<string, number>) =>
    evaluate(builtinPlaybook(), {
      pid: 1,
      metrics,
      evidence: { 'cpu.busiestThread': { tid: 1, name: 'node', percent: metrics['cpu.maxThreadPercent'] } },
    }).findings.find((f) => f.id === 'cpu-saturation');
  assert.equal(judge({ 'cpu.percent': 98, 'cpu.hostCores': 8, 'cpu.maxThreadPercent': 97 })?.severity, 'warning');
  assert.match(judge({ 'cpu.percent': 98, 'cpu.hostCores': 8, 'cpu.maxThreadPercent': 97 })!.summary, /busiest thread, node \(1\), uses 97% of a core/);
  // the same CPU spread over threads is not: each has room
  assert.equal(judge({ 'cpu.percent': 98, 'cpu.hostCores': 8, 'cpu.maxThreadPercent': 30 }), undefined);
  // a loop a busy host holds to a third of a core, ready all the time, in its own code
  const heldBack = {
    'cpu.percent': 34,
    'cpu.hostCores': 2,
    'cpu.maxThreadPercent': 34,
    'cpu.maxThreadReadyPercent': 100,
    'cpu.maxThreadUserPercent': 100,
    'cpu.maxThreadIoCallsPerCpuSecond': 0,
  };
  assert.equal(judge(heldBack)?.severity, 'warning');
  assert.match(
    judge(heldBack)!.summary,
    /was ready to run 100% of the time and got 34% of a core, 100% of that in its own code, with 0 reads and writes per second of it/,
  );
  // as ready, but in the kernel (a server its load generator keeps busy), or ready only part of the time
  assert.equal(judge({ ...heldBack, 'cpu.maxThreadUserPercent': 20 }), undefined);
  // user time says its own code, but tens of thousands of reads and writes say the kernel (user
  // time is tick-sampled: a worker with few ticks in the window can read 100 %)
  assert.equal(judge({ ...heldBack, 'cpu.maxThreadIoCallsPerCpuSecond': 23000 }), undefined);
  // without the exact count (no I/O accounting), sampled user time alone does not decide
  const { 'cpu.maxThreadIoCallsPerCpuSecond': _calls, ...uncounted } = heldBack;
  assert.equal(judge(uncounted), undefined);
  assert.equal(judge({ ...heldBack, 'cpu.maxThreadReadyPercent': 60 }), undefined);
});

test('cpu-saturation: a Go goroutine that holds a core no thread shows whole; the built-in playbook asks for it only then', async () => {
  const { builtinPlaybook } = await import('../../src/engine/playbook.js');
  const pb = builtinPlaybook();
  const hopping = { 'cpu.percent': 97, 'cpu.hostCores': 2, 'cpu.maxThreadPercent': 78, 'go.goroutines': 40 };
  const lone = { percent: 94.5, id: 7, function: 'main.waitForJob' };
  const judge = (metrics: Metrics) =>
    evaluate(pb, { pid: 1, metrics, evidence: { 'go.cpu.loneGoroutine': lone } }).findings.find((f) => f.id === 'cpu-saturation');
  assert.deepEqual([...hingesOn(pb, hopping, new Set(['go.cpu.loneGoroutinePercent']))], ['go.cpu.loneGoroutinePercent']);
  const f = judge({ ...hopping, 'go.cpu.loneGoroutinePercent': 94.5 });
  assert.equal(f?.severity, 'warning');
  assert.match(f.summary, /94\.50% of a core went to one goroutine, started in main\.waitForJob/);
  // a pool of goroutines sharing the core: none can be charged on its own
  assert.equal(judge({ ...hopping, 'go.cpu.loneGoroutinePercent': 0 }), undefined);
  // below three quarters of a core, or a thread that already shows it: not asked
  assert.equal(hingesOn(pb, { ...hopping, 'cpu.percent': 60 }, new Set(['go.cpu.loneGoroutinePercent'])).size, 0);
  assert.equal(hingesOn(pb, { ...hopping, 'cpu.maxThreadPercent': 95 }, new Set(['go.cpu.loneGoroutinePercent'])).size, 0);
  // nor of a service with too many goroutines to dump three times
  assert.equal(hingesOn(pb, { ...hopping, 'go.goroutines': 50_000 }, new Set(['go.cpu.loneGoroutinePercent'])).size, 0);
});

describe('hingesOn: the metrics measured on demand that a verdict needs', () => {
  const pb = playbook({
    schemaVersion: 1,
    name: 'test',
    steps: [{ id: 'cpu', question: 'CPU?', healthy: 'no' }],
    findings: [
      rule({
        id: 'cpu-saturation',
        step: 'cpu',
        requires: ['cpu.percent'],
        levels: [
          { severity: 'critical', when: { metric: 'cpu.thread', op: '>=', value: 90 } },
          {
            severity: 'warning',
            when: { all: [{ metric: 'cpu.percent', op: '>=', value: 90 }, { any: [{ metric: 'lone', op: '>=', value: 90 }, { not: { exists: 'other' } }] }] },
          },
        ],
      }),
    ],
  });
  const asked = (m: Metrics, askable = ['lone', 'other']) => [...hingesOn(pb, m, new Set(askable))].sort();

  test('a level that holds but for them asks for them', () => {
    assert.deepEqual(asked({ 'cpu.percent': 95, 'cpu.thread': 50 }), ['lone', 'other']);
  });
  test('a clause that is false without them, or a level above that holds, decides: nothing asked', () => {
    assert.deepEqual(asked({ 'cpu.percent': 40, 'cpu.thread': 50 }), []);
    assert.deepEqual(asked({ 'cpu.percent': 95, 'cpu.thread': 95 }), []);
  });
  test('an any() that holds without them decides; a metric that is not askable is false as usual', () => {
    assert.deepEqual(asked({ 'cpu.percent': 95, 'cpu.thread': 50 }, ['lone']), []);
    assert.deepEqual(asked({ 'cpu.percent': 95, 'cpu.thread': 50, other: 1 }, ['lone']), ['lone']);
  });
  test('a rule whose required metric is absent is not judged: nothing asked', () => {
    assert.deepEqual(asked({ 'cpu.thread': 50 }), []);
  });
});
