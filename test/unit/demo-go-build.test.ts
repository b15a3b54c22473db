/**
 * Building the demo's Go sample from the source it ships as: with the real go command (skipped,
 * with why, when there is none), and without one on PATH.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGoService } from '../../src/demo/go-build.js';
import { goUnavailable } from '../fixtures/go-service/service.js';

const noGo = goUnavailable();
const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A name of its own per test: its cache directory is then the test's alone. */
function uniqueName(): string {
  return `unit-${randomBytes(4).toString('hex')}`;
}

/** Cache directories of `name` (removed after the tests). */
function cacheDirs(name: string): string[] {
  const dirs = readdirSync(tmpdir())
    .filter((d) => d.startsWith(`proctriage-go-${name}-`))
    .map((d) => join(tmpdir(), d));
  made.push(...dirs);
  return dirs;
}

test('without go on PATH: skipped, in one line that says why', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'proctriage-nogo-'));
  made.push(empty);
  const name = uniqueName();
  const r = await buildGoService(name, 'package main\nfunc main() {}\n', { timeoutMs: 10_000, env: { ...process.env, PATH: empty } });
  assert.deepEqual(r, { skipped: 'needs the Go toolchain to build it: not installed' });
  assert.deepEqual(cacheDirs(name), [], 'nothing created before the toolchain was found');
});

test('builds once into a private cache keyed by the source, then reuses the binary', { skip: noGo }, async () => {
  const name = uniqueName();
  let builds = 0;
  const source = `package main\nfunc main() { println("${name}") }\n`;
  const first = await buildGoService(name, source, { timeoutMs: 120_000, onBuilding: () => builds++ });
  assert.ok('bin' in first, JSON.stringify(first));
  assert.equal(first.dir, undefined, 'kept in the cache, not in a directory to remove');
  assert.ok(existsSync(first.bin));
  const [cache] = cacheDirs(name);
  assert.equal(first.bin, join(cache!, name));
  assert.deepEqual(readdirSync(cache!), [name], 'only the binary: no source, no half-written file');
  const again = await buildGoService(name, source, { timeoutMs: 120_000, onBuilding: () => builds++ });
  assert.deepEqual(again, first);
  assert.equal(builds, 1, 'the second call reused the binary');
  // another source is another binary
  const other = await buildGoService(name, source.replace('println', 'print'), { timeoutMs: 120_000, onBuilding: () => builds++ });
  assert.equal(cacheDirs(name).length, 2, 'the other source has a cache directory of its own');
  assert.ok('bin' in other && other.bin !== first.bin);
  assert.equal(builds, 2);
});

test('a cache directory others may write to is not used: the binary lives in a build directory of its own', { skip: noGo }, async () => {
  const name = uniqueName();
  const source = 'package main\nfunc main() {}\n';
  // find the cache directory's name with a first build, then replace it with a world-writable one
  const first = await buildGoService(name, source, { timeoutMs: 120_000 });
  assert.ok('bin' in first);
  const [cache] = cacheDirs(name);
  rmSync(cache!, { recursive: true, force: true });
  mkdirSync(cache!);
  chmodSync(cache!, 0o777);
  const r = await buildGoService(name, source, { timeoutMs: 120_000 });
  assert.ok('bin' in r && r.dir !== undefined, JSON.stringify(r));
  made.push(r.dir);
  assert.ok(r.bin.startsWith(join(r.dir, '/')) && existsSync(r.bin));
  assert.deepEqual(readdirSync(cache!), [], 'nothing written to the shared directory');
});

test('a source that does not compile: skipped with the compiler line, nothing cached', { skip: noGo }, async () => {
  const name = uniqueName();
  const r = await buildGoService(name, 'package main\nfunc main() { undefinedThing() }\n', { timeoutMs: 120_000 });
  assert.ok('skipped' in r);
  assert.match(r.skipped, /^go build failed: .*undefined/);
  assert.ok(!r.skipped.includes('\n'));
  const [cache] = cacheDirs(name);
  assert.deepEqual(readdirSync(cache!), [], 'no binary kept');
});
