/**
 * Build step: bundle the command (dist/src/cli.js and what it imports) into dist/cli/. Loading
 * some forty small ES modules one by one costs Node about 35 ms at every start; the bundle is
 * a handful of files. Commands and heavy parts stay lazily loaded (code splitting keeps each
 * dynamic import() its own chunk), and npm dependencies stay in node_modules.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../', import.meta.url));
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
  packages: 'external',
  logLevel: 'warning',
});
