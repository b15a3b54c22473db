/**
 * proctriage watch on real processes: a steady fd leak under a lowered fd limit, a steady
 * process, a GC-style memory sawtooth (in a memory cgroup of its own where the machine allows),
 * and Ctrl-C.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FD_LEAK, SAWTOOTH, STEADY, memoryCgroup, startChild } from '../helpers/time.js';
import { cleanup, runCli } from '../helpers/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'proctriage-watch-'));
after(async () => {
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

const GROWTH = ['fd-growth', 'memory-growth', 'handle-growth', 'goroutine-growth', 'thread-growth', 'socket-growth'];
const TRUE_RATE = 4 * 3600; // one fd per 250 ms
const FD_LIMIT = 512;

function samples(file: string): { t: number; metrics: Record<string, number> }[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((x) => x.type === 'sample');
}

// one at a time: each watch samples every 250 ms, and side by side they would slow each other down
describe('watch', () => {
  test('a child leaking one fd every 0.25 s: slope within 25 % of 14 400/h, fd-growth critical with an ETA to its fd limit', async () => {
    const child = await startChild(FD_LEAK, { fdLimit: FD_LIMIT });
    const file = join(tmp, 'leak.ndjson');
    try {
      const res = await runCli(['watch', String(child.pid), '--interval', '250ms', '--duration', '4s', '--json', '--samples', file]);
      assert.equal(res.stderr, '', 'nothing on stderr under --json');
      const t = JSON.parse(res.stdout).targets[0];
      assert.equal(res.code, 2, JSON.stringify({ trends: t.trends, probes: t.probes }));
      const tr = t.trends['fd.open'];
      assert.ok(Math.abs(tr.perHour - TRUE_RATE) <= 0.25 * TRUE_RATE, `slope ${tr.perHour}/h, truth ${TRUE_RATE}/h`);
      assert.equal(tr.significant, true);
      assert.equal(tr.limit, FD_LIMIT);
      assert.ok(tr.samples >= 8, `only ${tr.samples} samples`);
      assert.equal(t.metrics['fd.limit'], FD_LIMIT);
      // the projection: what is left of the limit at the measured pace, and close to the truth
      const left = FD_LIMIT - t.metrics['fd.open'];
      assert.ok(Math.abs(tr.etaSeconds - left / (tr.perHour / 3600)) <= 2, `eta ${tr.etaSeconds}s`);
      assert.ok(Math.abs(tr.etaSeconds - left / 4) <= 0.25 * (left / 4), `eta ${tr.etaSeconds}s vs about ${left / 4}s`);
      const f = t.findings.find((x: { id: string }) => x.id === 'fd-growth');
      assert.ok(f, `no fd-growth: ${t.findings.map((x: { id: string }) => x.id)}`);
      assert.equal(f.severity, 'critical');
      assert.equal(t.metrics['trend.fd.open.significant'], 1);
      assert.equal(t.metrics['trend.fd.open.etaSeconds'], tr.etaSeconds);
      // every sample was kept, in order, with the fd count climbing
      const s = samples(file);
      assert.equal(s.length, tr.samples);
      assert.ok(s.every((x, i) => i === 0 || (x.t > s[i - 1]!.t && x.metrics['fd.open']! >= s[i - 1]!.metrics['fd.open']!)));
      assert.ok(s[s.length - 1]!.metrics['fd.open']! - s[0]!.metrics['fd.open']! >= 10);
    } finally {
      await child.stop();
    }
  });

  test('warm-up that levels off (a pool opening its fds, then done) is not a leak, at any uptime', async () => {
    // 12 fds in the first 1.5 s, then nothing: the same process a leak test would call critical if it went on
    const child = await startChild(
      `const fs=require('fs');const h=[];const t=setInterval(()=>{h.push(fs.openSync('/dev/null','r'));if(h.length>=12)clearInterval(t)},125);setInterval(()=>{},1000);console.log('ready')`,
      { fdLimit: FD_LIMIT },
    );
    try {
      const res = await runCli(['watch', String(child.pid), '--interval', '250ms', '--duration', '6s', '--json']);
      const t = JSON.parse(res.stdout).targets[0];
      const tr = t.trends['fd.open'];
      assert.ok(tr.samples >= 8, `only ${tr.samples} samples`);
      if (tr.significant) assert.ok(tr.shape === 'levelling-off' || tr.shape === 'decelerating', `shape ${tr.shape}`);
      assert.deepEqual(
        t.findings.filter((f: { id: string }) => GROWTH.includes(f.id)),
        [],
        JSON.stringify(tr),
      );
      assert.ok(t.metrics['fd.open'] >= 12, 'the pool did open its fds');
    } finally {
      await child.stop();
    }
  });

  test('a steady process raises no growth finding; progress lines go to stderr, the report to stdout', async () => {
    const child = await startChild(STEADY);
    try {
      const res = await runCli(['watch', String(child.pid), '--interval', '250ms', '--duration', '3s']);
      assert.equal(res.code, 0, res.stdout + res.stderr);
      assert.match(res.stderr, /sample 1 at/);
      assert.ok(res.stderr.split('\n').filter((l) => / sample \d+ at /.test(l)).length >= 4, res.stderr);
      assert.doesNotMatch(res.stdout, /sample \d+ at/);
      assert.match(res.stdout, /^growth$/m);
      assert.match(res.stdout, /open fds: ±0\/h over \d+ samples, (not significant|too few samples)/);
      for (const id of GROWTH) assert.ok(!res.stdout.includes(id), `${id} raised for a steady process`);
      const json = await runCli(['watch', String(child.pid), '--interval', '250ms', '--duration', '2500ms', '--json']);
      const t = JSON.parse(json.stdout).targets[0];
      assert.deepEqual(
        t.findings.filter((f: { id: string }) => GROWTH.includes(f.id)),
        [],
      );
      for (const [k, tr] of Object.entries<{ significant: boolean }>(t.trends)) assert.equal(tr.significant, false, k);
    } finally {
      await child.stop();
    }
  });

  test('a GC-style memory sawtooth raises no memory-growth (series really moving, limit set when a cgroup can be made)', async () => {
    const cg = memoryCgroup('proctriage-saw', 512 * 2 ** 20);
    const child = await startChild(SAWTOOTH, { nodeFlags: ['--expose-gc'], env: { MALLOC_MMAP_THRESHOLD_: '65536' }, cgroupProcs: cg?.procs });
    const file = join(tmp, 'saw.ndjson');
    try {
      const res = await runCli(['watch', String(child.pid), '--interval', '250ms', '--duration', '4s', '--json', '--samples', file]);
      const t = JSON.parse(res.stdout).targets[0];
      const tr = t.trends.memory;
      assert.equal(tr.significant, false, JSON.stringify(tr));
      assert.equal(tr.etaSeconds, undefined);
      if (cg) assert.equal(tr.limit, 512 * 2 ** 20, 'the memory series runs against the cgroup limit');
      assert.deepEqual(
        t.findings.filter((f: { id: string }) => GROWTH.includes(f.id)),
        [],
      );
      // the test means something only if memory really went up and down by tens of MiB
      const key = cg ? 'cgroup.memory.workingSet' : 'memory.rss';
      const mem = samples(file).map((s) => s.metrics[key]!);
      assert.ok(Math.max(...mem) - Math.min(...mem) > 16 * 2 ** 20, `${key} moved by only ${Math.max(...mem) - Math.min(...mem)} bytes`);
      let drops = 0;
      for (let i = 1; i < mem.length; i++) if (mem[i]! < mem[i - 1]! - 8 * 2 ** 20) drops++;
      assert.ok(drops >= 2, `only ${drops} collections seen`);
    } finally {
      await child.stop();
      cg?.remove();
    }
  });

  test('a process that exits during the watch: the report of its last sample, marked, never "ok"', async () => {
    const child = await startChild(FD_LEAK.replace("console.log('ready')", "console.log('ready');setTimeout(()=>process.exit(0),1500)"));
    const res = await runCli(['watch', String(child.pid), '--interval', '250ms', '--duration', '5s', '--json']);
    const t = JSON.parse(res.stdout).targets[0];
    assert.equal(res.code, 3);
    assert.equal(t.status, 'unknown');
    assert.ok(t.unknowns.some((u: { probe?: string; reason: string }) => u.probe === 'watch' && /exited after \d+ samples?/.test(u.reason)));
    assert.ok(t.trends['fd.open'].samples >= 2);
    assert.match(t.statusReason, /exited after \d+ samples?/);
    assert.match(res.stderr, /^proctriage: pid \d+: unknown: pid \d+ exited after \d+ samples?/);
  });

  test('Ctrl-C stops the watch early and the final report is still printed', async () => {
    const child = await startChild(FD_LEAK, { fdLimit: FD_LIMIT });
    try {
      const started = Date.now();
      const res = await runCli(['watch', String(child.pid), '--interval', '250ms', '--duration', '10m', '--json'], { sigintAfterMs: 3000, timeoutMs: 15_000 });
      assert.ok(Date.now() - started < 10_000, 'stopped long before the duration');
      const r = JSON.parse(res.stdout);
      assert.equal(res.code, r.exitCode);
      assert.ok(r.targets[0].trends['fd.open'].samples >= 4, JSON.stringify(r.targets[0].trends['fd.open']) + res.stderr);
      assert.ok(r.targets[0].trends['fd.open'].perHour > 0);
    } finally {
      await child.stop();
    }
  });
});
