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

test('every finding of the built-in playbook is documented in the README catalogue', () => {
  const table = readmeCatalogue();
  for (const f of builtinPlaybook().findings) assert.ok(table.includes(`| \`${f.id}\` |`), `README.md does not list ${f.id}`);
});

test('the README catalogue is exactly what `proctriage playbook show --markdown` prints', () => {
  // regenerate with: node bin/proctriage.js playbook show --markdown
  assert.equal(readmeCatalogue(), catalogueMarkdown(builtinPlaybook()));
});

test('a probe says why in codes; the report carries the catalogue\'s words (and no code)', async () => {
  const { diagnose } = await import('../../src/engine/runner.js');
  const { ProcFs } = await import('../../src/procfs/procfs.js');
  const { MESSAGES, say } = await import('../../src/messages.js');
  // one value for every argument name the catalogue uses
  const sample = {
    count: 1, why: 'EACCES', table: 'tcp', error: 'x', pid: 1, runtime: 'go', address: '127.0.0.1:9229', source: 'its flag', line: 'sent SIGUSR1',
    fate: 'it is still running', how: 'given', flags: '--inspect', youngMiB: 16, version: 'v20.0.0', ms: 5, file: '/tmp/x', others: 0, asked: false,
    port: 9229, restart: 'start it', activate: 'activate it', text: 'an already worded sentence', key: 'go.numGC', value: -1, ratio: false,
    url: 'http://127.0.0.1:6060', what: '/debug/vars', ports: '6060', factor: 16, need: '160 MiB', left: '10 MiB',
    symbols: 'napi_create_function', name: 'node', state: 'T', sigCgt: '0', missing: 'CAP_SYS_ADMIN', host: '127.0.0.1', code: '1', stderr: 'x', other: 'a cgroup namespace',
  };
  for (const [id, f] of Object.entries(MESSAGES)) assert.ok((f as (a: unknown) => string)(sample).length > 10, id);
  const coded: Probe = {
    meta: { id: 'coded', description: 'returns coded unknowns', runtime: 'any', facts: {}, timeoutMs: 1000 },
    run: () => ({ metrics: {}, unknowns: [
      { metric: 'memory.pss', code: 'memory.smapsDenied', hint: 'hint.sameUser' },
      { metric: 'fd.byType.other', code: 'fds.linksUnreadable', args: { count: 3, why: 'EACCES' } },
    ] }),
  };
  const r = await diagnose([process.pid], { proc: new ProcFs('/'), playbook: builtinPlaybook(), probes: [coded], timeoutMs: 5000, redact: true, version: 'test' });
  assert.deepEqual(r.targets[0]!.unknowns, [
    { metric: 'memory.pss', reason: 'access denied to /proc/PID/smaps_rollup', hint: say('hint.sameUser') },
    { metric: 'fd.byType.other', reason: '3 fd links could not be read (permission denied): counted as "other"; their type, path and sockets are unknown' },
  ]);
});
