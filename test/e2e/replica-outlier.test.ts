/**
 * Several replicas of one service, one holding far more fds than the others: replica-outlier
 * says how many times the median of its peers it holds ("13× the median open fds of its 3 peers"),
 * not a percentage. One whose extra fds stay under the playbook's floor raises nothing, however
 * large its ratio.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, runCli, runJson, startNodeTarget, type Target } from '../helpers/processes.js';

after(cleanup);

async function replicas(fds: number[]): Promise<Target[]> {
  const out: Target[] = [];
  for (const n of fds) out.push(await startNodeTarget('fd-holder', [String(n)]));
  return out;
}

const pids = (ts: Target[]) => ts.map((t) => String(t.pid));

describe('replica-outlier', () => {
  test('one replica with 300 more fds: "N× the median open fds of its 3 peers"', async () => {
    const ts = await replicas([300, 4, 5, 6]);
    try {
      const { report } = await runJson(pids(ts));
      const odd = report.targets.find((t: { pid: number }) => t.pid === ts[0]!.pid);
      const f = odd.findings.find((x: { id: string }) => x.id === 'replica-outlier');
      assert.ok(f, JSON.stringify(odd.findings.map((x: { id: string }) => x.id)));
      const ratio = odd.metrics['fleet.fd.open.ratio'];
      assert.ok(ratio >= 3, String(ratio));
      const times = `${ratio >= 10 ? Math.round(ratio) : Math.round(ratio * 10) / 10}×`;
      assert.equal(f.summary.startsWith(`This target holds ${times} the median open fds of its 3 peers:`), true, f.summary);
      assert.doesNotMatch(f.summary, /%/);
      for (const t of report.targets.filter((x: { pid: number }) => x.pid !== ts[0]!.pid)) {
        assert.equal(
          t.findings.some((x: { id: string }) => x.id === 'replica-outlier'),
          false,
          `pid ${t.pid}`,
        );
      }
      const text = await runCli(pids(ts));
      assert.match(text.stdout, new RegExp(`^\\s+fleet fd\\.open ${times} the median of its 3 peers(;|$)`, 'm'));
      assert.doesNotMatch(text.stdout, /^\s+fleet .*%/m);
    } finally {
      await Promise.all(ts.map((t) => t.stop()));
    }
  });

  test('one replica with 85 more fds, over 3× its peers but under the floor of 100: no replica-outlier', async () => {
    const ts = await replicas([4, 5, 6, 90]);
    try {
      const { report } = await runJson(pids(ts));
      const odd = report.targets.find((t: { pid: number }) => t.pid === ts[3]!.pid);
      const median = [0, 1, 2].map((i) => report.targets.find((t: { pid: number }) => t.pid === ts[i]!.pid).metrics['fd.open']).sort((a, b) => a - b)[1];
      assert.ok(odd.metrics['fd.open'] >= 3 * median, `it looks like an outlier by the ratio alone: ${odd.metrics['fd.open']} against ${median}`);
      for (const t of report.targets) {
        assert.equal(t.metrics['fleet.peers'], 3, `pid ${t.pid} is compared`);
        assert.equal(
          t.findings.some((x: { id: string }) => x.id === 'replica-outlier'),
          false,
          `pid ${t.pid}: ${JSON.stringify(t.metrics['fleet.fd.open.ratio'])}`,
        );
      }
    } finally {
      await Promise.all(ts.map((t) => t.stop()));
    }
  });
});
