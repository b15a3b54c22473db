import type { Socket } from 'node:net';
import { formatEndpoint } from '../procfs/net-sockets.js';

/**
 * Remember the local end of a connection we make to a target (127.0.0.1:54321), so that the
 * sockets probe can tell our own connections from the target's. Recorded once it connects.
 */
export function recordLocalEndpoint(socket: Socket, into: Set<string> | undefined): void {
  if (!into) return;
  const add = () => {
    if (socket.localAddress && socket.localPort) into.add(formatEndpoint({ ip: socket.localAddress.replace(/^::ffff:(?=\d+\.)/, ''), port: socket.localPort }));
  };
  if (socket.localPort) add();
  else socket.once('connect', add);
}
