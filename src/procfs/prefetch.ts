/**
 * Read a few big /proc files on a second thread while this one scans the fd table.
 *
 * /proc/PID/net/tcp has a row for every TCP socket of the namespace and the kernel serves it
 * 4 KiB per read: on a host with 10 000 sockets it costs 30–50 ms, as much again as everything
 * after the fd scan. With a second CPU the two overlap. Both sides stay synchronous, like the
 * rest of ProcFs: the worker posts each file as it is read, and take() waits for it, bounded.
 */
import { createRequire } from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';

// loaded only when a prefetch starts: most runs never start one
const load = createRequire(import.meta.url);

/** How long take() waits for the worker to start, then for a file; after that, read it yourself. */
const START_WAIT_MS = 1000;
const FILE_WAIT_MS = 3000;

// state[0]: files posted so far; state[1]: 1 once the worker runs
const WORKER_SOURCE = `
const { workerData: { paths, port, state } } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const s = new Int32Array(state);
Atomics.store(s, 1, 1);
Atomics.notify(s, 1);
for (const path of paths) {
  let text = null;
  try { text = readFileSync(path, 'utf8'); } catch {}
  port.postMessage({ path, text });
  Atomics.add(s, 0, 1);
  Atomics.notify(s, 0);
}
`;

export class Prefetch {
  private readonly received = new Map<string, string | null>();
  private posted = 0;

  private constructor(
    private readonly pending: Set<string>,
    private readonly port: WorkerThreads.MessagePort,
    private readonly state: Int32Array,
    private readonly wt: typeof WorkerThreads,
  ) {}

  /** Start reading these absolute paths on a worker thread. */
  static start(paths: string[]): Prefetch {
    const wt = load('node:worker_threads') as typeof WorkerThreads;
    const { port1, port2 } = new wt.MessageChannel();
    const state = new Int32Array(new SharedArrayBuffer(8));
    const worker = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { paths, port: port2, state: state.buffer }, transferList: [port2] });
    worker.unref();
    worker.on('error', () => { /* take() times out and the caller reads the file itself */ });
    return new Prefetch(new Set(paths), port1, state, wt);
  }

  /**
   * The text of a prefetched file, once. Undefined when it was not prefetched, could not be read
   * there (the caller's own read then reports why), or did not arrive in time.
   */
  take(path: string): string | undefined {
    if (!this.pending.delete(path)) return undefined;
    if (!this.waitFor(1, 1, START_WAIT_MS)) return undefined;
    const until = performance.now() + FILE_WAIT_MS;
    for (;;) {
      for (let m; (m = this.wt.receiveMessageOnPort(this.port)); this.posted++) {
        const { path: p, text } = m.message as { path: string; text: string | null };
        this.received.set(p, text);
      }
      if (this.received.has(path)) {
        const text = this.received.get(path);
        this.received.delete(path);
        return text ?? undefined;
      }
      if (!this.waitFor(0, this.posted + 1, until - performance.now())) return undefined;
    }
  }

  /** Block until state[i] ≥ value, at most ms; false on timeout. */
  private waitFor(i: number, value: number, ms: number): boolean {
    const until = performance.now() + ms;
    for (let v; (v = Atomics.load(this.state, i)) < value;) {
      const left = until - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.state, i, v, left);
    }
    return true;
  }
}
