import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { unknownMetrics } from '../../src/engine/playbook-schema.js';
import { metricRegistry } from '../../src/commands/playbooks.js';
import { catalogueMarkdown } from '../../src/render/catalogue.js';
import type { Probe } from '../../src/engine/probe.js';
import { PROBES } from '../../probes/index.js';
import { repoPath } from './paths.js';
import { metricUnits } from '../../src/engine/units.js';

/** The probes directory next to this compiled test (dist/probes) or source (probes). */
const probesDir = new URL('../../probes/', import.meta.url);

test('every probe file exports one probe whose id is its file name, and every one is registered', async () => {
  const files = readdirSync(probesDir).filter((f) => /\.(js|ts)$/.test(f) && !/\.d\.ts$/.test(f) && !/^index\./.test(f));
  assert.ok(files.length >= 9, `found ${files.length} probe files`);
  for (const f of files) {
    const mod = (await import(pathToFileURL(new URL(f, probesDir).pathname).href)) as { probe?: Probe };
    const id = f.replace(/\.(js|ts)$/, '');
    assert.ok(mod.probe, `probes/${f} exports no probe`);
    assert.equal(mod.probe.meta.id, id, `probes/${f}: meta.id is "${mod.probe.meta.id}"`);
    assert.ok(PROBES.includes(mod.probe), `probes/${f} is not in probes/index PROBES`);
  }
  assert.equal(new Set(PROBES.map((p) => p.meta.id)).size, PROBES.length, 'two probes share an id');
  assert.equal(PROBES.length, files.length, 'PROBES lists a probe with no file of its own');
});

test('every metric the built-in playbook names is declared by a probe or derived by watch, diff or the replica comparison', () => {
  assert.deepEqual(unknownMetrics(builtinPlaybook(), metricRegistry()), []);
});

/** The README's finding catalogue: the table under "## What it checks". */
function readmeCatalogue(): string {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const section = readme.split(/^## What it checks/m)[1]?.split(/^#{2,3} /m)[0];
  assert.ok(section, 'README.md has no "What it checks" section');
  const table = section.split('\n').filter((l) => l.startsWith('|'));
  return table.join('\n') + '\n';
}

test('every attribution key of the built-in playbook is evidence a probe declares; on-demand keys are declared evidence or metrics, with a followUp', () => {
  const declared = new Set(PROBES.flatMap((p) => Object.keys(p.meta.evidence ?? {})));
  for (const f of builtinPlaybook().findings) {
    for (const k of f.attribution) assert.ok(declared.has(k), `${f.id}: attribution ${k} is no probe's evidence`);
  }
  for (const p of PROBES) {
    for (const k of p.meta.onDemand ?? [])
      assert.ok(k in (p.meta.evidence ?? {}) || k in p.meta.facts, `${p.meta.id}: on-demand ${k} is neither its evidence nor its facts`);
    if (p.meta.onDemand?.length) assert.equal(typeof p.followUp, 'function', `${p.meta.id} declares on-demand keys but has no followUp`);
  }
});

test('every finding of the built-in playbook is documented in the README catalogue', () => {
  const table = readmeCatalogue();
  for (const f of builtinPlaybook().findings) assert.ok(table.includes(`| \`${f.id}\` |`), `README.md does not list ${f.id}`);
});

test('the README catalogue is exactly what `proctriage playbook show --markdown` prints', () => {
  // regenerate with: node bin/proctriage.js playbook show --markdown
  assert.equal(readmeCatalogue(), catalogueMarkdown(builtinPlaybook(), metricUnits(PROBES)));
});

test("a probe says why in codes; the report carries the catalogue's words (and no code)", async () => {
  const { diagnose } = await import('../../src/engine/runner.js');
  const { ProcFs } = await import('../../src/procfs/procfs.js');
  const { MESSAGES, say } = await import('../../src/messages.js');
  // one value for every argument name the catalogue uses
  const sample = {
    count: 1,
    why: 'EACCES',
    table: 'tcp',
    error: 'x',
    pid: 1,
    runtime: 'go',
    address: '127.0.0.1:9229',
    source: 'its flag',
    line: 'sent SIGUSR1',
    fate: 'it is still running',
    how: 'given',
    flags: '--inspect',
    youngMiB: 16,
    version: 'v20.0.0',
    ms: 5,
    file: '/tmp/x',
    others: 0,
    asked: false,
    port: 9229,
    restart: 'start it',
    activate: 'activate it',
    text: 'an already worded sentence',
    key: 'go.numGC',
    value: -1,
    ratio: false,
    url: 'http://127.0.0.1:6060',
    what: '/debug/vars',
    ports: '6060',
    factor: 16,
    need: '160 MiB',
    left: '10 MiB',
    where: 'inspector at 127.0.0.1:9229',
    theirPid: 2,
    expected: 1,
    counted: 3,
    total: 4,
    cut: 'truncated',
    problem: 'x',
    words: 'connection reset by the peer',
    code: 'ECONNRESET',
    host: '127.0.0.1:6060',
    path: '/debug/pprof/goroutine',
    status: 500,
    bytes: 100,
    metric: 'fd.open',
    times: '3.2×',
    peers: 4,
    metrics: 'threads',
    missing: 'CAP_SYS_ADMIN',
    addresses: '127.0.0.1:9229',
    relay: 4321,
    pids: '1, 2',
    openedAfterMs: 40,
    unique: 300,
    sampled: 200,
    distinct: 2,
    debuggerMs: 90,
    seconds: 30,
    kib: 32,
    mib: 1200,
    stacks: 2,
    events: 5,
    symbols: 'napi_create_function',
    name: 'node',
    state: 'T',
    sigCgt: '0',
    stderr: 'x',
    other: 'a cgroup namespace',
  };
  for (const [id, f] of Object.entries(MESSAGES)) {
    const text = (f as (a: unknown) => string)(sample);
    assert.ok(text.length > 10, id);
    assert.doesNotMatch(text, /\bundefined\b|\bNaN\b|\[object Object\]/, `${id}: an argument the sample lacks: ${text}`);
  }
  const coded: Probe = {
    meta: { id: 'coded', description: 'returns coded unknowns', runtime: 'any', facts: {}, timeoutMs: 1000 },
    run: () => ({
      metrics: {},
      unknowns: [
        { metric: 'memory.pss', code: 'memory.smapsDenied', hint: 'hint.sameUser' },
        { metric: 'fd.byType.other', code: 'fds.linksUnreadable', args: { count: 3, why: 'EACCES' } },
      ],
    }),
  };
  const r = await diagnose([process.pid], {
    proc: new ProcFs('/'),
    playbook: builtinPlaybook(),
    probes: [coded],
    timeoutMs: 5000,
    redact: true,
    version: 'test',
  });
  assert.deepEqual(r.targets[0]!.unknowns, [
    { metric: 'memory.pss', reason: 'access denied to /proc/PID/smaps_rollup', hint: say('hint.sameUser') },
    { metric: 'fd.byType.other', reason: '3 fd links could not be read (permission denied): counted as "other"; their type, path and sockets are unknown' },
  ]);
});
