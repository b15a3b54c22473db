import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { repoPath } from './paths.js';

/**
 * `proctriage PID --json`, the on-call path, loads the bundle's cli.js and then its commands
 * chunk: whatever those import statically (not through import()) is paid at every start. The
 * heavy packages are loaded only where a command needs them (REFERENCE: zod ~64 ms, ws ~47 ms,
 * yaml ~34 ms, cli-table3 ~18 ms, chalk ~9 ms).
 */
test('the diagnosis path imports no zod, yaml, ws, chalk, cli-table3 or MCP SDK statically', () => {
  const dir = repoPath('dist/cli/');
  const commands = readdirSync(dir).find((f) => /^commands-[\w-]+\.js$/.test(f));
  assert.ok(commands, 'the commands chunk is built (npm run build)');
  const seen = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(dir + file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s*"([^"]+)"|^import\s*"([^"]+)"/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('./')) walk(spec.slice(2));
      else if (!spec.startsWith('node:'))
        packages.add(
          spec
            .split('/')
            .slice(0, spec.startsWith('@') ? 2 : 1)
            .join('/'),
        );
    }
  };
  walk('cli.js');
  walk(commands);
  for (const heavy of ['zod', 'yaml', 'ws', 'chalk', 'cli-table3', '@modelcontextprotocol/sdk']) {
    assert.ok(!packages.has(heavy), `${heavy} is imported at start-up (through ${[...seen].join(', ')})`);
  }
});
