/**
 * Load generator: COUNT short HTTP connections to 127.0.0.1:PORT, CONCURRENCY at a time, each
 * one request and one answer, then closed. `client-closes` (default): this side hangs up first
 * once the answer is complete, so each connection leaves a TIME_WAIT row on this side (remote
 * = the server), which outlives this process by 60 s. `server-closes`: wait for the server to
 * close first (it answers "Connection: close"), so the TIME_WAIT is the server's. Bounded: it
 * gives up after 30 s. Prints one JSON line with what it did, then exits.
 *   churn-client.js PORT COUNT CONCURRENCY [client-closes|server-closes]
 */
import { connect } from 'node:net';
import { fail, intOption } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('churn-client');

const port = intOption(process.argv[2], 0, 65535, 'PORT');
const count = intOption(process.argv[3], 3000, 20_000, 'COUNT');
const concurrency = intOption(process.argv[4], 50, 500, 'CONCURRENCY');
const serverCloses = process.argv[5] === 'server-closes';
const started = Date.now();
const deadline = setTimeout(() => fail(new Error(`not done within 30 s (${done} of ${count})`)), 30_000);
let next = 0;
let done = 0;

function one(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`GET /churn HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    s.on('data', (d: string) => {
      got += d;
      const head = got.indexOf('\r\n\r\n');
      if (head < 0 || serverCloses) return;
      const len = Number(/content-length:\s*(\d+)/i.exec(got.slice(0, head))?.[1] ?? NaN);
      if (got.length - head - 4 >= len) s.end(); // the whole answer is in: hang up first
    });
    s.on('close', () => (got.startsWith('HTTP/1.1 200') ? resolve() : reject(new Error(`bad answer: ${got.slice(0, 80)}`))));
    s.on('error', reject);
  });
}

async function worker(): Promise<void> {
  while (next < count) {
    next++;
    await one();
    done++;
  }
}

Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker)).then(() => {
  clearTimeout(deadline);
  process.stdout.write(JSON.stringify({ done, ms: Date.now() - started, closedFirst: serverCloses ? 'server' : 'client' }) + '\n');
  process.exit(0);
}, fail);
