/**
 * Opt-in tools that pause the target (a heap snapshot streamed to disk, the diagnostic report
 * written redacted), and a target whose event loop is blocked (measured as a lower bound,
 * never a hang).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeMetrics, start, TARGETS } from '../fixtures/node-targets/harness.js';
import { cleanup, runCli, sleep } from '../helpers/processes.js';

after(cleanup);

test('--heap-snapshot streams a snapshot to disk and --report writes the diagnostic report without secrets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proctriage-node-heavy-'));
  const target = await start(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'leaky.cjs'), '5', '2'], {
    inspect: true,
    env: { PROCTRIAGE_TEST_API_TOKEN: 'hunter2-very-secret', DATABASE_URL: 'postgres://app:s3cr3t-pw@db.internal/app' },
  });
  try {
    const r = await runCli([
      String(target.pid),
      '--inspect',
      String(target.port),
      '--json',
      '--heap-snapshot',
      join(dir, 'heap-{pid}.heapsnapshot'),
      '--report',
      join(dir, 'report.json'),
    ]);
    assert.ok(r.report, r.stderr);
    const tr = r.report.targets[0];
    const snap = join(dir, `heap-${target.pid}.heapsnapshot`);
    assert.ok(existsSync(snap), JSON.stringify(tr.unknowns));
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith('.tmp')),
      [],
      'no temp file left behind',
    );
    const st = statSync(snap);
    assert.ok(st.size > 500_000, `snapshot is ${st.size} bytes`);
    assert.equal(st.mode & 0o777, 0o600, 'a heap snapshot holds the process memory: owner-only');
    const fd = openSync(snap, 'r');
    const head = Buffer.alloc(32);
    readSync(fd, head, 0, 32, 0);
    closeSync(fd);
    assert.match(head.toString(), /^\{"snapshot":\{/);
    assert.equal(tr.evidence['node.heapSnapshot'].bytes, st.size);
    assert.ok(
      tr.actions.some((a: string) => /took a heap snapshot \(the target was paused for about \d+ ms\)/.test(a)),
      tr.actions,
    );

    const text = readFileSync(join(dir, 'report.json'), 'utf8');
    assert.doesNotMatch(text, /hunter2-very-secret/);
    assert.doesNotMatch(text, /s3cr3t-pw/);
    const rep = JSON.parse(text);
    assert.equal(rep.environmentVariables.PROCTRIAGE_TEST_API_TOKEN, '***');
    assert.equal(rep.environmentVariables.PATH, '***', 'every environment value is redacted');
    assert.equal(rep.header.processId, target.pid);
    assert.equal(statSync(join(dir, 'report.json')).mode & 0o777, 0o600);
    assert.ok(tr.actions.some((a: string) => /wrote the Node\.js diagnostic report, redacted/.test(a)));
    assert.equal(typeof nodeMetrics(r.report)['node.heap.used'], 'number', 'the cheap facts are there too');
    assert.ok(target.alive());
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a target whose event loop is blocked: event-loop-blocked with a lower bound, within the deadline', async () => {
  const target = await start(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'busy.cjs'), '60000'], { inspect: true });
  try {
    await sleep(100); // a phase, not a wait: the run starts inside the first burst
    const r = await runCli([String(target.pid), '--inspect', String(target.port), '--json']);
    assert.ok(r.report, r.stderr);
    assert.ok(r.ms < 8000, `took ${r.ms} ms`);
    const tr = r.report.targets[0];
    const m = nodeMetrics(r.report);
    assert.ok((m['node.eventLoop.delayP99Ms'] as number) >= 1000, JSON.stringify(tr.unknowns));
    assert.equal(tr.evidence['node.eventLoop.lowerBound'], true);
    assert.equal(typeof m['node.heap.used'], 'number');
    const f = tr.findings.find((x: { id: string }) => x.id === 'event-loop-blocked');
    assert.ok(f, tr.findings.map((x: { id: string }) => x.id).join());
    assert.equal(f.severity, 'critical');
    assert.ok(tr.unknowns.some((u: { reason: string }) => /blocked for at least \d+ ms/.test(u.reason)));
  } finally {
    await target.stop();
  }
});
