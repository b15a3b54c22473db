/**
 * Benchmark target: a process that holds about N file descriptors, half of them loopback TCP
 * sockets (a server on 127.0.0.1 and clients connected to it, both ends ESTABLISHED in this
 * process) and half regular files (opened over and over from a few files in DIR).
 *
 *   node dist/bench/holder.js N DIR
 *
 * Prints "ready" on stdout once every fd is open, then waits. It leaves, removing DIR, when its
 * stdin closes (so it never outlives the benchmark, even one killed with SIGKILL), on
 * SIGTERM/SIGINT, or after MAX_LIFETIME_MS at the latest.
 */
import { createServer, connect, type Socket } from 'node:net';
import { openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LIFETIME_MS = 15 * 60_000;
const BATCH = 200; // connections in flight at once: stays well under the listen backlog
const FILE_NAMES = 12; // distinct files, with dated names, as a rotating logger would leave

const total = Number(process.argv[2]);
const dir = process.argv[3]!;
if (!Number.isInteger(total) || total < 4 || !dir) {
  process.stderr.write('usage: holder.js N DIR\n');
  process.exit(2);
}
const connections = Math.floor(total / 4); // two fds each
const files = total - 2 * connections;

const clients: Socket[] = [];
const accepted: Socket[] = [];

function leave(code: number): never {
  // reset instead of close: no TIME_WAIT rows left behind to skew the next measurement
  for (const s of clients) s.resetAndDestroy();
  rmSync(dir, { recursive: true, force: true }); // our files (the benchmark removes it too, unless it was killed)
  process.exit(code);
}

process.stdin.on('close', () => leave(0)).resume();
process.on('SIGTERM', () => leave(0));
process.on('SIGINT', () => leave(130));
setTimeout(() => leave(0), MAX_LIFETIME_MS).unref();

async function main(): Promise<void> {
  const paths: string[] = [];
  for (let i = 0; i < FILE_NAMES; i++) {
    const p = join(dir, `app-2024-01-${String(i + 1).padStart(2, '0')}.log`);
    writeFileSync(p, 'x'.repeat(1024));
    paths.push(p);
  }
  for (let i = 0; i < files; i++) openSync(paths[i % paths.length]!, 'r');

  const server = createServer({ pauseOnConnect: true }, (s) => {
    accepted.push(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, resolve);
  });
  const { port } = server.address() as { port: number };

  for (let done = 0; done < connections;) {
    const n = Math.min(BATCH, connections - done);
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve, reject) => {
            const s = connect({ host: '127.0.0.1', port }, () => {
              s.pause();
              resolve();
            });
            s.once('error', reject);
            clients.push(s);
          }),
      ),
    );
    done += n;
  }
  // the server side is accepted asynchronously: wait (bounded) until every connection has its fd
  for (let i = 0; accepted.length < connections; i++) {
    if (i >= 1000) throw new Error(`only ${accepted.length} of ${connections} connections accepted`);
    await new Promise((r) => setTimeout(r, 10));
  }
  process.stdout.write('ready\n');
}

main().catch((err) => {
  process.stderr.write(`holder: ${(err as Error).message}\n`);
  leave(1);
});
