/**
 * Opt-in tools that pause the target: a V8 heap snapshot streamed to disk, and the Node
 * diagnostic report, redacted before it is written. Both files are created mode 0600:
 * they hold the process's memory and environment; both are written through src/files.ts.
 */
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import type { CdpSession } from '../transports/inspector.js';
import { CdpError } from '../transports/inspector.js';
import { isSecretKey, REDACTED, redactArgv, redactText } from '../engine/redact.js';
import { evaluate } from './attach.js';
import { commitTemp, discardTemp, openTemp, writeFileSafely } from '../files.js';
import { REPORT_EXPRESSION } from './expressions.js';
import { say } from '../messages.js';

/** A heap snapshot pushes the target's RSS to 13-16x its used heap, and does not give it back. */
export const SNAPSHOT_HEADROOM_FACTOR = 16;

export interface Headroom {
  /** bytes the target can still grow before its cgroup limit (or the host) says no */
  bytes: number;
  /** where the figure comes from */
  source: string;
}

/** Refuse unless headroom >= 16x heap used (or forced). Returns the reason for a refusal. */
export function snapshotRefusal(heapUsed: number, headroom: Headroom | undefined, force: boolean): string | undefined {
  if (force) return undefined;
  const need = heapUsed * SNAPSHOT_HEADROOM_FACTOR;
  const mb = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
  if (!headroom) return say('node.snapshotHeadroomUnknown', { factor: SNAPSHOT_HEADROOM_FACTOR, need: mb(need) });
  if (headroom.bytes < need)
    return say('node.snapshotNoHeadroom', { factor: SNAPSHOT_HEADROOM_FACTOR, need: mb(need), left: mb(headroom.bytes), source: headroom.source });
  return undefined;
}

export function outputPath(template: string, pid: number): string {
  // absolute: the action names where the file went, wherever proctriage was started from
  return resolve(template.replace(/\{pid\}/g, String(pid)));
}

export interface Written {
  file: string;
  bytes: number;
  /** how long the target was busy with it (ms, round trip) */
  pausedMs: number;
}

/**
 * HeapProfiler.takeHeapSnapshot: the chunks arrive as events before the reply, and go to a
 * temporary file (renamed when complete, removed when not). Only the signal bounds it: a
 * snapshot takes about 100 ms per MB of heap.
 */
export async function takeHeapSnapshot(session: CdpSession, file: string, timeoutMs: number, signal?: AbortSignal, overwrite = false): Promise<Written> {
  const tmp = openTemp(file);
  const out = createWriteStream('', { fd: tmp.fd });
  let bytes = 0;
  let writeError: Error | undefined;
  out.on('error', (e) => {
    writeError = e;
  });
  const off = session.on('HeapProfiler.addHeapSnapshotChunk', (p) => {
    if (typeof p?.chunk !== 'string') return;
    bytes += Buffer.byteLength(p.chunk);
    if (!out.write(p.chunk)) {
      session.pause();
      out.once('drain', () => session.resume());
    }
  });
  const t0 = performance.now();
  try {
    await session.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, { timeoutMs, ...(signal ? { signal } : {}) });
    const pausedMs = Math.round(performance.now() - t0);
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    if (writeError) throw writeError;
    if (bytes === 0) throw new CdpError(say('node.snapshotEmpty'));
    commitTemp(tmp, file, overwrite);
    return { file, bytes, pausedMs };
  } catch (err) {
    out.destroy();
    discardTemp(tmp, true);
    throw err;
  } finally {
    off();
    session.resume();
  }
}

/** Redact a Node diagnostic report: environment values, command-line secrets, secrets in any string. */
export function redactNodeReport(report: unknown): unknown {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') return key !== undefined && isSecretKey(key) ? REDACTED : redactText(v);
    if (Array.isArray(v)) return key === 'commandLine' && v.every((x) => typeof x === 'string') ? redactArgv(v) : v.map((x) => walk(x));
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(o).map(([k, x]) => {
          if (k === 'environmentVariables' && x && typeof x === 'object') {
            return [k, Object.fromEntries(Object.keys(x).map((name) => [name, REDACTED]))];
          }
          return [k, walk(x, k)];
        }),
      );
    }
    return v;
  };
  return walk(report);
}

/** process.report.getReport() in the target (blocks it while it runs), redacted, to a file. */
export async function writeNodeReport(session: CdpSession, file: string, timeoutMs: number, signal?: AbortSignal, overwrite = false): Promise<Written> {
  const t0 = performance.now();
  const v = await evaluate(session, REPORT_EXPRESSION, { timeoutMs, ...(signal ? { signal } : {}) });
  const pausedMs = Math.round(performance.now() - t0);
  if (v === null || v === undefined) throw new CdpError(say('node.noProcessReport'));
  if (typeof v !== 'string') throw new CdpError(say('node.malformedReport'));
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    // never write what we could not redact
    throw new CdpError(say('node.reportNotJson'));
  }
  const text = JSON.stringify(redactNodeReport(parsed), null, 2) + '\n';
  writeFileSafely(file, text, { overwrite });
  return { file, bytes: Buffer.byteLength(text), pausedMs };
}
