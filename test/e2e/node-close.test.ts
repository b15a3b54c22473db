/**
 * The close step runs whatever measuring did: an inspector opened with SIGUSR1 in a target whose
 * event loop blocks longer than --timeout is closed again (by proctriage, else by its guard or
 * the dead-man timer), and the report says what was done to the target.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { listenPortsOf, start, TARGETS } from '../fixtures/node-targets/harness.js';
import { cleanup, runJson } from '../helpers/processes.js';

after(cleanup);

async function poll(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return true;
    if (Date.now() - t0 > ms) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a loop blocked past --timeout: the inspector opened with SIGUSR1 stops listening, and the report says SIGUSR1 was sent', async () => {
  // bursts of 1.5 s: SIGUSR1 opens the inspector in a gap, then the loop blocks past the deadline
  const target = await start(process.execPath, [join(TARGETS, 'busy.cjs'), '1500']);
  try {
    assert.deepEqual(await listenPortsOf(target.pid), [], 'no inspector before');
    const { res, report } = await runJson([String(target.pid), '--activate-inspector', '--timeout', '2s']);
    const tr = report.targets[0];
    assert.ok(
      tr.actions.some((a: string) => /sent SIGUSR1 to pid \d+ to open its inspector; its inspector opened after \d+ ms/.test(a)),
      JSON.stringify(tr.actions) + res.stderr,
    );
    // the target lives on, and its inspector goes within the dead-man delay at the latest
    process.kill(target.pid, 0);
    assert.ok(await poll(async () => (await listenPortsOf(target.pid)).length === 0, 8000), `still listening: ${await listenPortsOf(target.pid)}`);
  } finally {
    await target.stop();
  }
});
