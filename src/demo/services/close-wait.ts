/**
 * Sample service: a client that never closes its response sockets (seed 000 case 1).
 * It starts an upstream server in a separate child process, connects to it --count times
 * (default 150), reads each answer, and keeps every socket without ending or destroying it.
 * The upstream closes its side after answering, so each of our sockets sits in CLOSE_WAIT
 * for as long as this process lives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { fail, intOption, options, ready, stayAlive } from './common.js';

const opts = options(['count']);
const count = intOption(opts.count, 150, 5000, '--count');
const CONCURRENCY = 25;
const STEP_TIMEOUT_MS = 5000;

/** Every socket we ever opened: kept referenced on purpose, so nothing (not even GC) closes them. */
const leaked: Socket[] = [];

async function main(): Promise<void> {
  const upstream = spawn(process.execPath, [fileURLToPath(new URL('./upstream.js', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  stayAlive([() => stopChild(upstream)]);
  const info = await firstLine(upstream, STEP_TIMEOUT_MS * 2);
  const port = Number(info.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`upstream sent no port: ${JSON.stringify(info)}`);

  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      leaked.push(await request('127.0.0.1', port));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
  ready('close-wait', { peer: `127.0.0.1:${port}`, count: leaked.length, upstreamPid: upstream.pid });
}

/** One request; resolves once the upstream has closed its side. Our side is left open. */
function request(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => reject(new Error(`no answer from ${host}:${port} within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    socket.on('connect', () => socket.write(`GET /items HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    socket.on('data', () => {}); // read and drop the body
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(socket); // the bug: no socket.end() / socket.destroy()
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`upstream not ready within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => reject(new Error(`upstream exited early (${signal ?? code})`)));
    rl.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`upstream said: ${line}`));
      }
    });
  });
}

/** Stop the upstream and reap it, so it does not outlive us as an orphan. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 1000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

main().catch(fail);
