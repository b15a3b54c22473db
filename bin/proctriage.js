#!/bin/sh
':' //; if [ -n "$NODE_EXTRA_CA_CERTS" ]; then export PROCTRIAGE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; fi; exec node "$0" "$@"
// The line above is read by sh only (to JavaScript it is a string and a comment). On Node 20,
// NODE_EXTRA_CA_CERTS makes every start build the whole root certificate store first, ~50 ms
// (nodejs/node#40524). So the variable is handed over under another name, and the one TLS client
// here, --pprof over https, adds that file to the roots itself (src/transports/pprof.ts).

// `proctriage --version` answers here, before the command's modules load: one file, like node -e 0
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version + '\n');
} else {
  await import('../dist/cli/cli.js');
}
