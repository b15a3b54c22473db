/**
 * A live system seen through a host root: a directory holding `proc` and `sys` as symlinks to the
 * real ones (as a debug pod sees the host's / mounted at /host). Every probe must run as it does
 * at / — the cpu window, the node probe finding an open inspector, the go probe finding a pprof
 * endpoint — and read the same process. (A symlink farm rather than a bind mount: it needs no
 * mount privilege, leaves nothing mounted if the test dies, and is read by the same path walk.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcFs } from '../../src/procfs/procfs.js';
import { diagnose } from '../../src/engine/runner.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { PROBES } from '../../probes/index.js';
import { cleanup, startTarget, TARGETS, type Target } from '../helpers/processes.js';
import { buildService, goUnavailable, serviceEnv } from '../fixtures/go-service/service.js';

let root = '';
let node: Target;
let go: Target | undefined;
const goSkip = goUnavailable();
if (goSkip) console.log(`# host root: the go target is skipped: ${goSkip}`);

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pt-host-root-'));
  symlinkSync('/proc', join(root, 'proc'));
  symlinkSync('/sys', join(root, 'sys'));
  node = await startTarget(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'idle.js')]);
  if (!goSkip) go = await startTarget(buildService(), [], { env: serviceEnv(), timeoutMs: 20_000 });
});
after(async () => {
  await cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** One diagnosis by every probe; a Node target with --inspect alone (use the inspector it has open). */
async function look(proc: ProcFs, pid: number) {
  const probeOptions = pid === node.pid ? { inspect: true } : {};
  const report = await diagnose([pid], { proc, playbook: builtinPlaybook(), probes: PROBES, probeOptions, timeoutMs: 15_000, redact: true, version: 'test' });
  const t = report.targets[0]!;
  assert.equal(t.error, undefined, JSON.stringify(t.error));
  return { t, status: Object.fromEntries(t.probes.map((p) => [p.id, p.status])), host: report.host };
}

test('a live ProcFs rooted elsewhere is live: it runs every probe a ProcFs at / runs', async () => {
  const hosted = new ProcFs(root, { live: true });
  assert.equal(hosted.live, true);
  assert.equal(new ProcFs(root).live, false, 'a root elsewhere is a recorded tree unless said live');
  assert.equal(hosted.ownNetNamespace(), new ProcFs().ownNetNamespace());
  for (const target of [node, ...(go ? [go] : [])]) {
    const at = await look(new ProcFs(), target.pid);
    const via = await look(hosted, target.pid);
    assert.deepEqual(via.status, at.status, `pid ${target.pid}: the same probes ran, the same way`);
    assert.equal(via.status.cpu, 'ok', 'the cpu window is measured');
    assert.equal(typeof via.t.metrics['cpu.percent'], 'number');
    // the target's end of our previous look's inspector connection may not be closed yet: one or two fds apart
    assert.ok(
      Math.abs(Number(via.t.metrics['fd.open']) - Number(at.t.metrics['fd.open'])) <= 2,
      `fd.open ${via.t.metrics['fd.open']} vs ${at.t.metrics['fd.open']}`,
    );
    assert.equal(via.t.startTicks, at.t.startTicks, 'the same process');
    assert.deepEqual(via.host, at.host, 'host facts as live (hostname, kernel, cgroup version)');
  }
  const n = await look(hosted, node.pid);
  assert.equal(n.t.runtime, 'node');
  assert.equal(n.status.node, 'ok', 'the node probe found the open inspector');
  assert.ok((n.t.metrics['node.heap.used'] as number) > 0, 'and read the heap through it');
  if (go) {
    const g = await look(hosted, go.pid);
    assert.equal(g.t.runtime, 'go');
    assert.ok((g.t.metrics['go.goroutines'] as number) > 0, 'the go probe found the pprof endpoint by itself');
  }
});
