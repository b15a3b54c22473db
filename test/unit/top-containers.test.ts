import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTop } from '../../src/render/top.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import type { Report, TargetReport } from '../../src/engine/report.js';
import { metricUnits } from '../../src/engine/units.js';
import { PROBES } from '../../probes/index.js';

const units = metricUnits(PROBES);

const ID = 'c8d1f7a2b3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddee';
const UID = '6b7f3c1e-2a4d-4e5f-9a8b-0c1d2e3f4a5b';

function target(pid: number, extra: Partial<TargetReport> = {}): TargetReport {
  return {
    pid,
    comm: `svc-${pid}-with-a-long-name`,
    cmdline: '',
    runtime: 'node',
    startedAt: '',
    uptimeSeconds: 86_400 * 3,
    metrics: {
      'fd.open': 12_345,
      'fd.utilization': 0.61,
      'sockets.tcp.closeWait': 120,
      'memory.rss': 512 * 2 ** 20,
      'cgroup.memory.utilization': 0.93,
      threads: 1200,
    },
    findings: [{ id: 'close-wait-leak', severity: 'critical', title: '', summary: '', evidence: {}, likelyCauses: [], nextSteps: [], seed: '' }],
    path: [],
    unknowns: [],
    probes: [],
    status: 'critical',
    ...extra,
  };
}

function report(targets: TargetReport[]): Report {
  return {
    schemaVersion: 2,
    tool: { name: 'proctriage', version: 't' },
    capturedAt: '',
    host: { hostname: 'h', kernel: 'k', cgroupVersion: '2' },
    status: 'critical',
    exitCode: 2,
    redacted: true,
    playbook: 'default',
    targets,
  };
}

const risk = builtinPlaybook().weights.risk;

test('top shows the container and pod of each process, and fits 80 columns', () => {
  const r = report([
    target(101, { container: { engine: 'containerd', id: ID, podUid: UID, qosClass: 'burstable' } }),
    target(102, { container: { engine: 'docker', id: ID.replace(/^c8/, 'aa') } }),
    target(103),
  ]);
  const wide = renderTop(r, { color: false, limit: 10, risk, units });
  assert.match(wide, /│ container\s+│ pod\s+│/);
  assert.match(wide, new RegExp(`│ ${ID.slice(0, 12)}\\s+│ ${UID.slice(0, 8)}\\s+│`));
  const narrow = renderTop(r, { color: false, limit: 10, risk, width: 80, units });
  assert.deepEqual(
    narrow.split('\n').filter((l) => [...l].length > 80),
    [],
    narrow,
  );
  assert.match(narrow, new RegExp(ID.slice(0, 12)), 'the container id survives at 80 columns');
});

test('a host without containers: no container or pod column', () => {
  const text = renderTop(report([target(1), target(2)]), { color: false, limit: 10, risk, units });
  assert.doesNotMatch(text, /container|│ pod/);
});
