import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { repoPath } from './paths.js';

/**
 * Layers import only downward: commands → engine/render/bundle → probes → procfs, transports,
 * node, go → errors. Higher number = higher layer; a module may import its own layer or below.
 * The first matching prefix decides (more specific prefixes first).
 */
const LAYERS: [prefix: string, layer: number, why?: string][] = [
  ['src/cli.ts', 5],
  ['src/commands/', 5],
  ['src/demo/', 5],
  // the engine modules probes and runtime clients are built on: they import only procfs, transports and errors
  ['src/engine/sources.ts', 1, 'the memoised reads of one target that every probe shares (data access, not orchestration)'],
  ['src/engine/peer-owner.ts', 1, "whether an address is one of the target's own sockets: a read over sources"],
  ['src/engine/interrupt.ts', 1, 'the registry of cleanups run on SIGINT: no dependencies'],
  ['src/engine/redact.ts', 1, 'redaction of target strings, used wherever one is written'],
  ['src/engine/secret-shapes.ts', 1, 'data for redact.ts'],
  ['src/engine/attribution.ts', 1, 'the attribution shape and its pure ranking, built by the runtime clients (src/go, src/node)'],
  ['src/engine/', 3],
  ['src/render/', 3],
  ['src/bundle/', 3],
  ['probes/', 2],
  ['src/procfs/', 1],
  ['src/trace/', 1],
  ['src/transports/', 1],
  ['src/node/', 1],
  ['src/go/', 1],
  ['src/files.ts', 1],
  ['src/errors.ts', 0],
  ['src/version.ts', 0],
  ['src/paths.ts', 0],
  ['src/messages.ts', 0, 'the catalogue of user-facing sentences, used from the error model up: no dependencies'],
];

/**
 * Type-only imports allowed upward, each with its reason. Erased at compile time, they add no
 * run-time dependency; each is the contract the lower layer implements.
 */
const TYPE_ONLY_UP: [from: string, to: string, why: string][] = [
  ['probes/', 'src/engine/probe.ts', 'a probe implements the Probe interface the engine declares (dependency inversion)'],
];

function layerOf(file: string): number {
  const hit = LAYERS.find(([p]) => file === p || file.startsWith(p));
  assert.ok(hit, `${file} is in no declared layer: add it to LAYERS`);
  return hit[1];
}

function sources(dir: string): string[] {
  return readdirSync(repoPath(dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  );
}

/** Every static and dynamic relative import of a file, with whether it is type-only. */
export function importsOf(text: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    out.push({ spec: m[3]!, typeOnly: !!m[2] });
  }
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out.filter((i) => i.spec.startsWith('.'));
}

const resolve = (from: string, spec: string) => posix.normalize(posix.join(posix.dirname(from), spec)).replace(/\.js$/, '.ts');

test('the import scanner sees static, type-only, re-exported and dynamic imports', () => {
  const found = importsOf(
    [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "import {\n  d,\n  e,\n} from './d.js';",
      "const m = await import('./m.js');",
      "import { x } from 'zod';",
    ].join('\n'),
  );
  assert.deepEqual(found, [
    { spec: './a.js', typeOnly: false },
    { spec: '../b.js', typeOnly: true },
    { spec: './c.js', typeOnly: false },
    { spec: './d.js', typeOnly: false },
    { spec: './m.js', typeOnly: false },
  ]);
});

test('every module under src/ and probes/ imports only its own layer or below', () => {
  const violations: string[] = [];
  const files = [...sources('src'), ...sources('probes')];
  assert.ok(files.length > 50, 'the scan found the sources');
  for (const file of files) {
    const from = layerOf(file);
    for (const { spec, typeOnly } of importsOf(readFileSync(repoPath(file), 'utf8'))) {
      const target = resolve(file, spec);
      const to = layerOf(target);
      if (to <= from) continue;
      if (typeOnly && TYPE_ONLY_UP.some(([f, t]) => file.startsWith(f) && target === t)) continue;
      violations.push(`${file} (layer ${from}) imports ${target} (layer ${to})${typeOnly ? ' [type only]' : ''}`);
    }
  }
  assert.deepEqual(violations, []);
});

test("renderers are pure: they import the engine's types and formatting, the catalogue of words, each other; no probe, no I/O", () => {
  // the facts and units they need are handed in by the command (src/commands/units.ts)
  const allowed = ['src/render/', 'src/engine/', 'src/messages.ts'];
  const io = ['src/engine/sources.ts', 'src/engine/runner.ts', 'src/engine/peer-owner.ts'];
  const bad: string[] = [];
  for (const file of sources('src/render')) {
    for (const { spec, typeOnly } of importsOf(readFileSync(repoPath(file), 'utf8'))) {
      const target = resolve(file, spec);
      if (!allowed.some((p) => target.startsWith(p)) || (!typeOnly && io.includes(target))) bad.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('no probe imports another probe (only the registry, probes/index.ts, lists them)', () => {
  const bad: string[] = [];
  // a probe's own folder (probes/go/ for probes/go.ts) holds the code it loads lazily
  const ownerOf = (file: string) => /^probes\/([^/.]+)/.exec(file)?.[1];
  for (const file of sources('probes')) {
    if (file === 'probes/index.ts') continue;
    for (const { spec } of importsOf(readFileSync(repoPath(file), 'utf8'))) {
      const target = resolve(file, spec);
      // runtime.ts is the shared runtime identification, not a probe run
      if (!target.startsWith('probes/') || target === 'probes/runtime.ts') continue;
      if (target.startsWith(`probes/${ownerOf(file)}/`)) continue;
      bad.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(bad, []);
});
