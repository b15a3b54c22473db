/**
 * A Node target whose --max-old-space-size is larger than the real memory limit of its v1
 * cgroup: runtime-limit-mismatch, from the heap limit the target itself reports. In the same
 * small cgroup, --heap-snapshot is refused (no headroom for 16x the heap) unless forced.
 * The cgroup is created under our own memory cgroup, used, and removed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeMetrics, start, TARGETS } from '../fixtures/node-targets/harness.js';
import { cleanup, runCli } from '../helpers/processes.js';

after(cleanup);

const LIMIT = 256 * 2 ** 20;

/** A fresh v1 memory cgroup with a limit, or the reason why none can be made here. */
function makeCgroup(): { dir: string } | { skip: string } {
  const v1 = '/sys/fs/cgroup/memory';
  if (!existsSync(join(v1, 'memory.limit_in_bytes'))) return { skip: 'no cgroup v1 memory controller at /sys/fs/cgroup/memory' };
  if (process.getuid?.() !== 0) return { skip: 'creating a memory cgroup needs root' };
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  const own = line ? line.split(':').slice(2).join(':') : '/';
  const dir = join(v1, own, `proctriage-node-test-${process.pid}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), String(LIMIT));
  } catch (e) {
    try {
      rmdirSync(dir);
    } catch {
      /* not made */
    }
    return { skip: `cannot create a memory cgroup at ${dir}: ${(e as Error).message}` };
  }
  return { dir };
}

async function removeCgroup(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100)); // the killed target is still leaving
    }
  }
  throw new Error(`could not remove the test cgroup ${dir}`);
}

test('--max-old-space-size above a real cgroup memory limit: runtime-limit-mismatch; heap snapshot refused for lack of headroom', async (t) => {
  const cg = makeCgroup();
  if ('skip' in cg) return t.skip(cg.skip);
  const out = mkdtempSync(join(tmpdir(), 'proctriage-node-cg-'));
  try {
    // join the cgroup before node starts, so that every page it allocates is charged there
    const target = await start(
      'sh',
      [
        '-c',
        `echo $$ > ${cg.dir}/cgroup.procs && exec "$0" "$@"`,
        process.execPath,
        '--max-old-space-size=1024',
        '--inspect=127.0.0.1:0',
        join(TARGETS, 'heap.cjs'),
        '40',
      ],
      { inspect: true },
    );
    try {
      assert.match(readFileSync(`/proc/${target.pid}/cgroup`, 'utf8'), /proctriage-node-test-/);
      const snap = join(out, 'heap.heapsnapshot');
      const r = await runCli([String(target.pid), '--inspect', String(target.port), '--heap-snapshot', snap, '--json']);
      assert.ok(r.report, r.stderr);
      const tr = r.report.targets[0];
      const m = nodeMetrics(r.report);
      assert.equal(tr.metrics['cgroup.memory.limit'], LIMIT);
      assert.ok((m['node.heap.limit'] as number) > LIMIT, `heap limit ${m['node.heap.limit']} is above the cgroup limit`);
      assert.ok((m['node.heap.used'] as number) >= 40 * 2 ** 20 * 0.9);
      const f = tr.findings.find((x: { id: string }) => x.id === 'runtime-limit-mismatch');
      assert.ok(f, `runtime-limit-mismatch not raised: ${tr.findings.map((x: { id: string }) => x.id)}`);
      assert.equal(f.evidence['node.heap.limit'], m['node.heap.limit']);
      const refused = tr.unknowns.find((u: { reason: string }) => /heap snapshot refused/.test(u.reason));
      assert.ok(refused, JSON.stringify(tr.unknowns));
      assert.match(refused.reason, /16x its used heap/);
      assert.match(refused.hint, /--force/);
      assert.ok(!existsSync(snap) && !existsSync(snap + '.partial'), 'nothing was written');
      assert.ok(!(tr.actions ?? []).some((a: string) => /heap snapshot/.test(a)));
      assert.ok(target.alive());
    } finally {
      await target.stop();
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
    await removeCgroup(cg.dir);
  }
});
