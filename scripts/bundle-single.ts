/**
 * `npm run bundle`: the whole command in one file, dist/proctriage.mjs, that needs nothing but
 * Node.js 20 or newer beside it (copy it into a pod or onto a host without npm). Every
 * dependency is inlined; the built-in playbook and the version are built in (src/paths.ts
 * EMBEDDED); the inspector guard is the same file run with --internal-guard. Commands still
 * load their parts when first used (esbuild keeps a dynamic import's module uninitialised until
 * then), but the one file is parsed whole at start.
 */
import { build } from 'esbuild';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
const playbook = readFileSync(`${dist}playbooks/default.json`, 'utf8');
const outfile = `${dist}proctriage.mjs`;

const entry = `
const args = process.argv.slice(2);
if (args[0] === '--internal-guard') {
  process.argv.splice(2, 1);
  await import('./src/node/guard.js');
} else if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(${JSON.stringify(version)} + '\\n');
} else {
  await import('./src/cli.js');
}
`;

await build({
  stdin: { contents: entry, resolveDir: dist, sourcefile: 'proctriage-single.js', loader: 'js' },
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies (ws, cli-table3) call require(): give the module one
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __proctriageRequire } from 'node:module';\nconst require = __proctriageRequire(import.meta.url);",
  },
  define: { PROCTRIAGE_EMBEDDED: JSON.stringify({ version, playbook }) },
  // optional native speed-ups of ws, tried in a try/catch: absent, ws uses its JavaScript code
  external: ['bufferutil', 'utf-8-validate'],
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
console.log(`wrote ${outfile} (${(statSync(outfile).size / 1024).toFixed(0)} KiB)`);
