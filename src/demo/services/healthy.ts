/**
 * Sample service, the control: an HTTP server on 127.0.0.1 and a client that calls it every
 * 100 ms through a keep-alive agent, reading every body, plus a metrics timer. Nothing leaks,
 * so proctriage should find no warning or critical problem here.
 */
import { Agent, createServer, request } from 'node:http';
import { fail, ready, stayAlive } from './common.js';

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ ok: true, at: Date.now() }));
  });
});
const agent = new Agent({ keepAlive: true, maxSockets: 2 });
let served = 0;
let failed = 0;
let announced = false;

function call(port: number): void {
  const req = request({ host: '127.0.0.1', port, path: '/health', agent, timeout: 2000 }, (res) => {
    res.resume(); // read the body to the end so the socket goes back to the pool
    res.on('end', () => {
      served++;
      if (!announced && served >= 5) {
        announced = true;
        ready('healthy', { listen: `127.0.0.1:${port}`, requests: served });
      }
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => {
    failed++;
  });
  req.end();
}

server.on('error', fail);
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (!addr || typeof addr === 'string') fail(new Error('no listening address'));
  const client = setInterval(() => call(addr.port), 100);
  const stats = setInterval(() => {
    if (failed > 50) fail(new Error(`${failed} requests failed`));
  }, 1000);
  stayAlive([
    () => {
      clearInterval(client);
      clearInterval(stats);
    },
    () => agent.destroy(),
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  ]);
});
