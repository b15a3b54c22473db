/**
 * A second thread for the two big reads of a scan, on a machine with a spare CPU. Private to
 * fast-reads.ts, which decides when one pays and gives it absolute paths under the ProcFs root.
 *
 * - Files: /proc/PID/net/tcp has a row for every TCP socket of the namespace and the kernel
 *   serves it 4 KiB per read: 30–50 ms on a host with 10 000 sockets. Whichever thread is free
 *   first reads such files: the helper if it is up when the scan starts, else this thread,
 *   while the helper is still starting (that takes 35–60 ms).
 * - Links: readlink costs about 5 µs per fd, all kernel time that two threads split well. Both
 *   threads claim chunks of the fd list from one shared cursor, so neither waits for the other
 *   unless it is the last chunk.
 *
 * Both sides stay synchronous like the rest of ProcFs: the helper posts each result on a
 * message port and bumps a shared counter; this thread waits on the counter (Atomics.wait,
 * always bounded) and receives the messages with receiveMessageOnPort. Whatever the helper
 * did not deliver in time, or could not read, is read here the usual way.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';

// loaded only when a helper starts: most runs never start one
const load = createRequire(import.meta.url);

/** How long to wait for the helper to start, then for each result, before doing it here. */
const START_WAIT_MS = 1000;
const RESULT_WAIT_MS = 3000;
/** fds per claimed chunk: small enough to balance, big enough that posting costs nothing */
const CHUNK = 256;

// shared Int32 slots
const POSTED = 0; // messages the helper has posted
const RUNNING = 1; // 1 once the helper's code runs
const JOB = 2; // 1: a link list was posted; -1: there will be none
const CURSOR = 3; // next index of the link list to claim
const FILES = 4; // who reads the files: 0 nobody yet, then HERE or HELPER
const HERE = 1;
const HELPER = 2;
/** A cursor past any list: set when this thread stops waiting, so the helper claims nothing more. */
const CLOSED = 2 ** 30;

// Once up, the helper sets the V8 flags it was given (see SCAN_V8_FLAGS in fast-reads.ts).
const WORKER_SOURCE = `
const { workerData: { files, port, state, v8Flags }, receiveMessageOnPort } = require('node:worker_threads');
const { readFileSync, readlinkSync } = require('node:fs');
if (v8Flags) require('node:v8').setFlagsFromString(v8Flags);
const s = new Int32Array(state);
const post = (m) => { port.postMessage(m); Atomics.add(s, ${POSTED}, 1); Atomics.notify(s, ${POSTED}); };
Atomics.store(s, ${RUNNING}, 1);
Atomics.notify(s, ${RUNNING});
if (Atomics.compareExchange(s, ${FILES}, 0, ${HELPER}) === 0) {
  for (const path of files) {
    let text = null;
    try { text = readFileSync(path, 'utf8'); } catch {}
    post({ path, text });
  }
}
if (Atomics.wait(s, ${JOB}, 0, ${RESULT_WAIT_MS}) !== 'timed-out' && Atomics.load(s, ${JOB}) === 1) {
  const { prefix, names, count } = receiveMessageOnPort(port)?.message ?? { count: 0 };
  for (let start; (start = Atomics.add(s, ${CURSOR}, ${CHUNK})) < count;) {
    const links = [];
    for (let i = start; i < Math.min(start + ${CHUNK}, count); i++) {
      try { links.push(readlinkSync(prefix + (names ? names[i] : i))); } catch (e) { links.push({ code: e.code }); }
    }
    post({ start, links });
  }
}
`;

/** A link as the helper read it: its target, or the errno code of a failed readlink. */
export type HelperLink = string | { code: string };

/** Links to read: `count` of them, link i at `prefix + (names ? names[i] : i)`. */
export interface LinkJob {
  prefix: string;
  names?: string[];
  count: number;
}

export class HelperThread {
  private readonly received = new Map<string, string | null>();
  private readonly chunks: { start: number; links: HelperLink[] }[] = [];
  private jobDone = false;
  private readonly pending: Set<string>;

  private constructor(
    /** the files to read before any links, absolute paths (see readFilesIfFirst) */
    readonly files: string[],
    private readonly port: WorkerThreads.MessagePort,
    private readonly state: Int32Array,
    private readonly wt: typeof WorkerThreads,
  ) {
    this.pending = new Set(files);
  }

  /** Start the helper, reading these absolute paths first; once up it sets `v8Flags` (process-wide). */
  static start(files: string[], v8Flags = ''): HelperThread {
    const wt = load('node:worker_threads') as typeof WorkerThreads;
    const { port1, port2 } = new wt.MessageChannel();
    const state = new Int32Array(new SharedArrayBuffer(5 * 4));
    const worker = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { files, port: port2, state: state.buffer, v8Flags }, transferList: [port2] });
    worker.unref();
    worker.on('error', () => {
      /* every wait is bounded: what it did not deliver is read here */
    });
    return new HelperThread(files, port1, state, wt);
  }

  /**
   * The text of a file the helper was asked to read, once. Undefined when it was not asked,
   * could not read it (the caller's own read then says why), or did not deliver in time.
   */
  take(path: string): string | undefined {
    if (!this.pending.delete(path)) return undefined;
    this.readFilesIfFirst();
    const until = performance.now() + RESULT_WAIT_MS;
    while (!this.received.has(path)) if (!this.waitForMore(until)) return undefined;
    const text = this.received.get(path);
    this.received.delete(path);
    return text ?? undefined;
  }

  /**
   * Read the links of a directory on both threads (once per helper). Link i is at
   * `prefix + (names ? names[i] : i)`, an absolute path. `readHere(i)` reads link i on
   * this thread; `accept(i, link)` takes one the helper read (its target or errno code). Between
   * two of its chunks this thread takes in what the helper has delivered and calls `between`, so
   * work that needs no more links can run while the helper reads. What the helper has not
   * delivered in time is read here.
   */
  shareLinks(job: LinkJob, readHere: (i: number) => void, accept: (i: number, link: HelperLink) => void, between?: () => void): void {
    if (this.jobDone) {
      for (let i = 0; i < job.count; i++) readHere(i);
      return;
    }
    this.jobDone = true;
    this.port.postMessage(job);
    Atomics.store(this.state, JOB, 1);
    Atomics.notify(this.state, JOB);
    this.readFilesIfFirst(); // the helper, still starting, takes links as soon as it is up
    const done = new Uint8Array(job.count);
    let left = job.count;
    const acceptDelivered = () => {
      for (const { start, links } of this.chunks.splice(0)) {
        links.forEach((l, k) => accept(start + k, l));
        done.fill(1, start, start + links.length);
        left -= links.length;
      }
    };
    try {
      for (let start; (start = Atomics.add(this.state, CURSOR, CHUNK)) < job.count;) {
        const end = Math.min(start + CHUNK, job.count);
        for (let i = start; i < end; i++) readHere(i);
        done.fill(1, start, end);
        left -= end - start;
        between?.();
        this.drain();
        acceptDelivered();
      }
      const until = performance.now() + RESULT_WAIT_MS;
      while (left > 0 && this.waitForMore(until)) acceptDelivered();
    } finally {
      // also when a read failed here: the helper must not go on reading for a scan that is over
      Atomics.store(this.state, CURSOR, CLOSED);
    }
    // late or lost chunks: read here
    for (let i = 0; i < job.count; i++) if (!done[i]) readHere(i);
  }

  /** Read the files here if the helper has not started on them. */
  private readFilesIfFirst(): void {
    if (Atomics.compareExchange(this.state, FILES, 0, HERE) !== 0) return;
    for (const path of this.files) {
      let text: string | null = null;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        // the caller's own read says why
      }
      this.received.set(path, text);
    }
  }

  /** Whether this file has been read, by either thread (without waiting for it). */
  delivered(path: string): boolean {
    this.drain();
    return this.pending.has(path) && this.received.has(path);
  }

  /** No link list is coming: let the helper finish. */
  noLinks(): void {
    if (this.jobDone) return;
    this.jobDone = true;
    Atomics.store(this.state, JOB, -1);
    Atomics.notify(this.state, JOB);
  }

  /** Wait until the helper posts another message (bounded), and receive what it posted. */
  private waitForMore(until: number): boolean {
    if (performance.now() >= until) return false;
    if (Atomics.load(this.state, RUNNING) === 0) {
      Atomics.wait(this.state, RUNNING, 0, Math.min(START_WAIT_MS, Math.max(0, until - performance.now())));
      if (Atomics.load(this.state, RUNNING) === 0) return false;
    }
    for (;;) {
      // the helper counts a message after posting it: whatever it posts after `seen` wakes us
      const seen = Atomics.load(this.state, POSTED);
      if (this.drain() > 0) return true;
      const left = until - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.state, POSTED, seen, left);
    }
  }

  /** Receive whatever the helper has posted so far; returns how many messages. */
  private drain(): number {
    let n = 0;
    for (let m; (m = this.wt.receiveMessageOnPort(this.port)); n++) {
      const msg = m.message as { path: string; text: string | null } | { start: number; links: HelperLink[] };
      if ('path' in msg) this.received.set(msg.path, msg.text);
      else this.chunks.push(msg);
    }
    return n;
  }
}
