/**
 * Build step: bundle the command (dist/src/cli.js and what it imports) into dist/cli/. Loading
 * some forty small ES modules one by one costs Node about 35 ms at every start; the bundle is
 * a handful of files. Commands and heavy parts stay lazily loaded (code splitting keeps each
 * dynamic import() its own chunk), and npm dependencies stay in node_modules, except commander:
 * every start loads it, and from node_modules its seven CommonJS files cost 13-17 ms against
 * 7-11 ms as part of the bundle.
 */
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const dependencies = Object.keys((JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies: Record<string, string> }).dependencies);
const BUNDLED = new Set(['commander']);
rmSync(`${dist}cli`, { recursive: true, force: true });
await build({
  // the guard runs as its own process (src/node/guard.ts), next to the chunk that starts it
  entryPoints: { cli: `${dist}src/cli.js`, guard: `${dist}src/node/guard.js` },
  outdir: `${dist}cli`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: dependencies.filter((d) => !BUNDLED.has(d)),
  // commander is CommonJS: its require() of Node's built-in modules needs a require in the chunk
  banner: { js: "import { createRequire as __proctriageRequire } from 'node:module';\nconst require = __proctriageRequire(import.meta.url);" },
  logLevel: 'warning',
});
