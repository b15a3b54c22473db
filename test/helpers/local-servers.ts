/**
 * Servers a test starts in its own process on 127.0.0.1 (fake pprof endpoints, TLS ports, a
 * counting service), each closed by closeLocalServers() with its open connections destroyed
 * first: a client left connected would keep close() waiting.
 */
import type { AddressInfo, Server, Socket } from 'node:net';

const started: { server: Server; sockets: Set<Socket> }[] = [];

/**
 * Listen on a free port of `host` (127.0.0.1 unless told). `event` is the one that hands over a
 * connection ('secureConnection' for an https server whose completed handshakes count).
 */
export async function listenLocal(server: Server, o: { host?: string; event?: string } = {}): Promise<{ port: number; connections: () => number }> {
  const sockets = new Set<Socket>();
  let n = 0;
  server.on(o.event ?? 'connection', (s: Socket) => {
    n++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  started.push({ server, sockets });
  await new Promise<void>((r) => server.listen(0, o.host ?? '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, connections: () => n };
}

/** Close every server listenLocal started. */
export async function closeLocalServers(): Promise<void> {
  for (const { server, sockets } of started.splice(0)) {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
}
