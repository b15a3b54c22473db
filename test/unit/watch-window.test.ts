import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { final, sample } from '../../src/engine/watch.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { PROBES } from '../../probes/index.js';
import type { Probe, ProbeWindow } from '../../src/engine/probe.js';
import type { RunOptions } from '../../src/engine/runner.js';

// a real target: the window hook is judged against a real process, its start and its exit
const children: ReturnType<typeof spawn>[] = [];
after(() => children.forEach((c) => c.kill('SIGKILL')));
function target(): number {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

interface Calls {
  begun: number;
  ended: number;
  cancelled: number;
}

/** A probe whose window counts its calls; `begin`/`end` may be replaced to fail or hang. */
function windowProbe(calls: Calls, over: { begin?: () => Promise<ProbeWindow | undefined>; end?: () => Promise<never>; timeoutMs?: number } = {}): Probe {
  return {
    meta: {
      id: 'window-test',
      description: 'test',
      runtime: 'any',
      facts: { 'test.seen': { unit: 'count', description: 'x' } },
      timeoutMs: over.timeoutMs ?? 1000,
    },
    run: () => ({ metrics: { 'test.seen': 1 } }),
    async window(ctx) {
      calls.begun++;
      if (over.begin) return over.begin();
      ctx.actions.push('began a test window');
      return {
        async end() {
          calls.ended++;
          if (over.end) return over.end();
          return { evidence: { 'test.window': { calls: calls.begun } }, actions: ['ended the test window'] };
        },
        cancel() {
          calls.cancelled++;
          return Promise.resolve();
        },
      };
    },
  };
}

function options(probe: Probe): RunOptions {
  const process = PROBES.find((p) => p.meta.id === 'process')!;
  return { proc: new ProcFs('/'), playbook: builtinPlaybook(), probes: [process, probe], timeoutMs: 5000, redact: true, version: 'test' };
}

const so = (durationMs: number) => ({ intervalMs: 50, durationMs, sampleTimeoutMs: 2000, firstTimeoutMs: 2000, signal: new AbortController().signal });

describe('watch: a probe window spans the whole watch', () => {
  test('begun once after the first sample, ended once after the last; its evidence and actions reach the report', async () => {
    const calls = { begun: 0, ended: 0, cancelled: 0 };
    const opts = options(windowProbe(calls));
    const w = await sample(target(), opts, so(300));
    assert.ok(w.samples.length >= 3, `samples: ${w.samples.length}`);
    assert.deepEqual(calls, { begun: 1, ended: 1, cancelled: 0 });
    const report = final(w, opts);
    assert.deepEqual(report.evidence?.['test.window'], { calls: 1 });
    assert.ok(report.actions?.includes('began a test window') && report.actions.includes('ended the test window'), String(report.actions));
  });

  test('cancelled, not ended, when the process exits during the watch', async () => {
    const calls = { begun: 0, ended: 0, cancelled: 0 };
    const pid = target();
    const killer = setTimeout(() => process.kill(pid, 'SIGKILL'), 200);
    const w = await sample(pid, options(windowProbe(calls)), so(3000));
    clearTimeout(killer);
    assert.equal(w.gone, true);
    assert.deepEqual(calls, { begun: 1, ended: 0, cancelled: 1 });
  });

  test('a window that fails to begin is an unknown of its probe; the watch goes on', async () => {
    const calls = { begun: 0, ended: 0, cancelled: 0 };
    const opts = options(windowProbe(calls, { begin: () => Promise.reject(Object.assign(new Error('refused'), { code: 'EACCES' })) }));
    const w = await sample(target(), opts, so(200));
    assert.ok(w.samples.length >= 2);
    const report = final(w, opts);
    assert.ok(
      report.unknowns.some((u) => u.probe === 'window-test' && /refused/.test(u.reason)),
      JSON.stringify(report.unknowns),
    );
  });

  test('an end that overruns the probe deadline is cancelled and said', async () => {
    const calls = { begun: 0, ended: 0, cancelled: 0 };
    const opts = options(windowProbe(calls, { end: () => new Promise<never>(() => undefined), timeoutMs: 150 }));
    const w = await sample(target(), opts, so(100));
    assert.deepEqual(calls, { begun: 1, ended: 1, cancelled: 1 });
    assert.ok(final(w, opts).unknowns.some((u) => u.probe === 'window-test' && /150/.test(u.reason)));
  });
});
