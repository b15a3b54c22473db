/**
 * Test target: a client that closes every connection, only late. CONCURRENCY loops each make
 * one request to 127.0.0.1:PORT (a server that answers "Connection: close" and hangs up
 * first), wait DELAY_MS with the socket in CLOSE_WAIT, then close it and start again. At any
 * moment about CONCURRENCY sockets are in CLOSE_WAIT, and none stays there longer than
 * DELAY_MS: the healthy look-alike of a CLOSE_WAIT leak. It says ready once the first
 * sockets are in CLOSE_WAIT, and stops by itself after MAX_S seconds.
 *   transient-close-wait.js PORT CONCURRENCY DELAY_MS MAX_S
 */
import { connect } from 'node:net';
import { fail, intOption, ready, stayAlive } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('transient-close-wait');

const port = intOption(process.argv[2], 0, 65535, 'PORT');
const concurrency = intOption(process.argv[3], 40, 500, 'CONCURRENCY');
const delayMs = intOption(process.argv[4], 150, 5000, 'DELAY_MS');
const maxS = intOption(process.argv[5], 60, 300, 'MAX_S');
let stopping = false;
let cycles = 0;
let announced = false;
setTimeout(() => {
  stopping = true;
}, maxS * 1000).unref();

function one(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    s.on('connect', () => s.write(`GET /transient HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    s.on('data', () => {});
    // the server's FIN: our side is now in CLOSE_WAIT until we close it, a little later
    s.on('end', () =>
      setTimeout(() => {
        s.destroy();
        resolve();
      }, delayMs),
    );
    s.on('error', reject);
  });
}

async function loop(): Promise<void> {
  while (!stopping) {
    await one();
    if (++cycles >= concurrency && !announced) {
      announced = true;
      ready('transient-close-wait', { port, concurrency, delayMs });
    }
  }
}

for (let i = 0; i < concurrency; i++) loop().catch(fail);
stayAlive([
  () => {
    stopping = true;
  },
]);
