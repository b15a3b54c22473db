/**
 * The close step runs whatever measuring did: when the measure step throws after proctriage opened
 * the target's inspector with SIGUSR1 (--activate-inspector), the inspector is closed anyway, its
 * listening socket goes, and the report says both what was done and that the probe failed. A real
 * Node.js target, the real connect and close steps; only the measure step is replaced, by one that
 * throws once the inspector is open.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { listenPortsOf, start, TARGETS } from '../fixtures/node-targets/harness.js';
import { cleanup, waitFor } from '../helpers/processes.js';
import { diagnose } from '../../src/engine/runner.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { PROBES } from '../../probes/index.js';
import { nodeProbe } from '../../probes/node.js';

after(cleanup);

test('measure throws after --activate-inspector opened the inspector: it is closed anyway, and the report says so', async () => {
  const target = await start(process.execPath, [join(TARGETS, 'plain.cjs')]);
  try {
    assert.deepEqual(await listenPortsOf(target.pid), [], 'no inspector before');
    let openedPort: number | undefined;
    let listeningWhenThrown: number[] = [];
    const failing = nodeProbe({
      measure: async (_t, conn) => {
        openedPort = conn.opened?.listener.port;
        listeningWhenThrown = await listenPortsOf(target.pid);
        throw new TypeError('measure failed on purpose');
      },
    });
    const report = await diagnose([target.pid], {
      proc: new ProcFs('/'),
      playbook: builtinPlaybook(),
      probes: PROBES.map((p) => (p.meta.id === 'node' ? failing : p)),
      probeOptions: { activateInspector: true },
      timeoutMs: 15_000,
      redact: true,
      version: 'test',
    });
    assert.ok(openedPort, 'the measure step ran with an inspector proctriage opened');
    assert.deepEqual(listeningWhenThrown, [openedPort], 'it was listening when measure threw');

    const t = report.targets[0]!;
    const node = t.probes.find((p) => p.id === 'node');
    assert.equal(node?.status, 'error', JSON.stringify(node));
    assert.match(node?.error ?? '', /internal error/i);
    const actions = t.actions ?? [];
    assert.ok(
      actions.some((a) => /^sent SIGUSR1 to pid \d+ to open its inspector/.test(a)),
      JSON.stringify(actions),
    );
    assert.ok(
      actions.some((a) => a.startsWith(`opened the inspector of pid ${target.pid} with SIGUSR1 on 127.0.0.1:${openedPort}, probed it, and closed it again`)),
      JSON.stringify(actions),
    );
    // closed for real: the target lives on without the listener
    process.kill(target.pid, 0);
    await waitFor(async () => (await listenPortsOf(target.pid)).length === 0, 5000, 'the inspector socket to go');
  } finally {
    await target.stop();
  }
});
