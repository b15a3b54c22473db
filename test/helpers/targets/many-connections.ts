/**
 * Test target: N loopback TCP connections to its own server, both ends held here (2N
 * ESTABLISHED sockets and one LISTEN). Needs a soft fd limit above 2N: start it through
 * `sh -c 'ulimit -n …'`.
 *   many-connections.js N
 */
import { connect, createServer, type Socket } from 'node:net';
import { fail, intOption, ready, stayAlive } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('many-connections');

const count = intOption(process.argv[2], 1000, 5000, 'N');
const held: Socket[] = [];
let accepted = 0;
let allAccepted: () => void = () => {};
const server = createServer({ pauseOnConnect: true }, (s) => {
  held.push(s);
  if (++accepted === count) allAccepted();
});
// eslint-disable-next-line @typescript-eslint/no-misused-promises -- listen's callback may be async: its errors end the target
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, async () => {
  const { port } = server.address() as { port: number };
  try {
    for (let done = 0; done < count;) {
      const batch = Math.min(200, count - done); // well under the listen backlog
      await Promise.all(
        Array.from(
          { length: batch },
          () =>
            new Promise<void>((resolve, reject) => {
              const c = connect({ host: '127.0.0.1', port }, () => resolve());
              c.once('error', reject);
              held.push(c);
            }),
        ),
      );
      done += batch;
    }
    // a client is connected before the server has accepted its end: wait for every accept
    if (accepted < count)
      await new Promise<void>((resolve) => {
        allAccepted = resolve;
      });
  } catch (err) {
    fail(err);
  }
  ready('many-connections', { port, connections: count });
});
// reset, not close: 2N TIME_WAIT rows left behind would weigh on every later test
stayAlive([
  () => {
    for (const s of held) s.resetAndDestroy();
  },
]);
