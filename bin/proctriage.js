#!/usr/bin/env node
// `proctriage --version` answers here, before the command's modules load: one file, like node -e 0
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version + '\n');
} else {
  await import('../dist/cli/cli.js');
}
