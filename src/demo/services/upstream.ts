/**
 * The upstream of the close-wait sample: a tiny HTTP-ish server on 127.0.0.1 that answers each
 * request and then closes its side of the connection (like a server that sends
 * "Connection: close"). It runs as a child of the close-wait service and exits when its
 * parent's pipe on stdin closes.
 */
import { createServer, type Socket } from 'node:net';
import { fail, ready, stayAlive } from './common.js';

const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n';
const open = new Set<Socket>();

const server = createServer((socket) => {
  open.add(socket);
  socket.on('close', () => open.delete(socket));
  socket.on('error', () => socket.destroy());
  // answer the first bytes of the request, then half-close: the client now holds the other half
  socket.once('data', () => socket.end(RESPONSE));
});
server.on('error', fail);
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (!addr || typeof addr === 'string') fail(new Error('no listening address'));
  ready('upstream', { address: `${addr.address}:${addr.port}`, port: addr.port });
});

process.env.PROCTRIAGE_SERVICE_WATCHDOG = 'stdin';
stayAlive([
  () => {
    for (const s of open) s.destroy();
    server.close();
  },
]);
