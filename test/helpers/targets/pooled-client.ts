/**
 * Test target: an HTTP client with a pool of exactly one keep-alive connection to
 * 127.0.0.1:PORT. It makes one request, says it is ready, then repeats a request every
 * second over the same connection, so it always owns one ESTABLISHED socket.
 *   pooled-client.js PORT
 */
import { Agent, request } from 'node:http';
import { fail, intOption, ready, stayAlive } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('pooled-client');

const port = intOption(process.argv[2], 0, 65535, 'PORT');
const agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
const ports = new Set<number>();

function once(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/pooled', agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('socket', (s) => s.once('connect', () => ports.add(s.localPort!)));
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

once().then(() => {
  ready('pooled-client', { port });
  const timer = setInterval(() => {
    once().catch(fail);
    // the pool must never have needed a second connection: that would make the count 2
    if (ports.size > 1) fail(new Error(`the pool opened ${ports.size} connections`));
  }, 1000);
  stayAlive([
    () => {
      clearInterval(timer);
      agent.destroy();
    },
  ]);
}, fail);
