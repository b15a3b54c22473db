/**
 * Load generator for memcached on 127.0.0.1:PORT: CONNECTIONS clients, each a loop of
 * `set` + `get` over the text protocol, reconnecting after every RECONNECT operations so that
 * connections churn. Bounded in count (OPS in all) and in time (MAX_MS). Prints one JSON line
 * with what it did, then exits.
 *   memcache-load.js PORT CONNECTIONS OPS RECONNECT MAX_MS
 */
import { connect, type Socket } from 'node:net';
import { fail, intOption } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('memcache-load');

const port = intOption(process.argv[2], 0, 65535, 'PORT');
const connections = intOption(process.argv[3], 50, 500, 'CONNECTIONS');
const ops = intOption(process.argv[4], 50_000, 1_000_000, 'OPS');
const reconnect = intOption(process.argv[5], 200, 1_000_000, 'RECONNECT');
const maxMs = intOption(process.argv[6], 10_000, 60_000, 'MAX_MS');
const started = Date.now();
let left = ops;
let done = 0;
let opened = 0;

/** One client: a socket, and a promise per command that resolves on the reply's terminator. */
function client(): Promise<{ socket: Socket; send(cmd: string, end: string): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      opened++;
      resolve({ socket, send });
    });
    socket.setEncoding('utf8');
    let buf = '';
    let waiting: { end: string; resolve: (s: string) => void; reject: (e: Error) => void } | undefined;
    socket.on('data', (d: string) => {
      buf += d;
      if (waiting && buf.endsWith(waiting.end)) {
        const w = waiting;
        waiting = undefined;
        const reply = buf;
        buf = '';
        w.resolve(reply);
      }
    });
    socket.on('error', (err) => (waiting ? waiting.reject(err) : reject(err)));
    const send = (cmd: string, end: string) =>
      new Promise<string>((res, rej) => {
        waiting = { end, resolve: res, reject: rej };
        socket.write(cmd);
      });
  });
}

async function worker(id: number): Promise<void> {
  while (left > 0 && Date.now() - started < maxMs) {
    const c = await client();
    for (let i = 0; i < reconnect && left > 0 && Date.now() - started < maxMs; i++) {
      left--;
      const key = `k${id}-${i % 50}`;
      const value = `v${i}`;
      const stored = await c.send(`set ${key} 0 0 ${value.length}\r\n${value}\r\n`, '\r\n');
      if (stored !== 'STORED\r\n') throw new Error(`set: ${stored.trim()}`);
      const got = await c.send(`get ${key}\r\n`, 'END\r\n');
      if (!got.includes(value)) throw new Error(`get: ${got.trim()}`);
      done++;
    }
    await new Promise<void>((resolve) => {
      c.socket.once('close', () => resolve());
      c.socket.end();
    });
  }
}

Promise.all(Array.from({ length: connections }, (_, i) => worker(i))).then(() => {
  process.stdout.write(JSON.stringify({ done, opened, ms: Date.now() - started }) + '\n');
  process.exit(0);
}, fail);
