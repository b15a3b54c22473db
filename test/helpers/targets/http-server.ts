/**
 * Test target: a small HTTP server on 127.0.0.1 (a free port). It answers every request with
 * a short text body. By default it keeps connections alive (HTTP/1.1) and closes one only
 * when the client asks (HTTP/1.0 without keep-alive, as nginx proxy_pass sends) or hangs up.
 * With `close` it answers "Connection: close" and closes first, so the TIME_WAIT of each
 * connection lands on this server's side, on its listening port. A path ending in /big gets
 * 32 KiB: it fits in a loopback receive window at once, FIN included, so a proxy with smaller
 * buffers that does not spool to disk holds a socket in CLOSE_WAIT while its client reads.
 *   http-server.js [close]
 */
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { fail, ready, stayAlive } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('http-server');

const closeFirst = process.argv[2] === 'close';
const BODY = 'upstream says hello\n';
const BIG = 'x'.repeat(32 * 1024 - 1) + '\n';
const open = new Set<Socket>();
let served = 0;
const server = createServer((req, res) => {
  served++;
  req.resume();
  const body = req.url?.endsWith('/big') ? BIG : BODY;
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  if (closeFirst) res.setHeader('Connection', 'close');
  res.end(body);
});
server.on('connection', (s) => {
  open.add(s);
  s.on('close', () => open.delete(s));
});
server.keepAliveTimeout = 60_000; // a pooled client's idle connection stays up for the whole test
server.on('error', fail);
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
  const { port } = server.address() as { port: number };
  ready('http-server', { port, closeFirst });
});
stayAlive([
  () => {
    process.stderr.write(`http-server: served ${served}\n`);
    for (const s of open) s.destroy();
    server.close();
  },
]);
