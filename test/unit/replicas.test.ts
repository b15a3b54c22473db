import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addFleetMetrics, replicaKey, type Collected } from '../../src/engine/runner.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';

const REPLICAS = builtinPlaybook().limits.replicas;

const target = (pid: number, exe: string, cmdline: string[], fdOpen: number): Collected => ({
  identity: { pid, comm: cmdline[0]!.slice(0, 15), ppid: 1, state: 'S', cmdline, exe, startedAt: '', uptimeSeconds: 3600, startTicks: pid },
  metrics: { 'fd.open': fdOpen },
  evidence: {},
  unknowns: [],
  probes: [],
  actions: [],
});

test('replicas: same executable and argument shape; numbers (ports, worker ids) folded', () => {
  assert.equal(
    replicaKey({ exe: '/usr/bin/node', cmdline: ['node', 'server.js', '--port=8081'], comm: 'node' }),
    replicaKey({ exe: '/usr/bin/node', cmdline: ['node', 'server.js', '--port=8082'], comm: 'node' }),
  );
  assert.notEqual(
    replicaKey({ exe: '/usr/bin/node', cmdline: ['node', 'a.js'], comm: 'node' }),
    replicaKey({ exe: '/usr/bin/node', cmdline: ['node', 'b.js'], comm: 'node' }),
  );
  assert.notEqual(
    replicaKey({ exe: '/usr/lib/postgresql/15/bin/postgres', cmdline: ['postgres: 15/main: checkpointer '], comm: 'postgres' }),
    replicaKey({ exe: '/usr/lib/postgresql/15/bin/postgres', cmdline: ['postgres: 15/main: background writer '], comm: 'postgres' }),
  );
});

test('only replicas are compared: different roles get no fleet metrics, so no replica-outlier', () => {
  const pg = '/usr/lib/postgresql/15/bin/postgres';
  const checkpointer = target(1, pg, ['postgres: 15/main: checkpointer '], 400);
  const writer = target(2, pg, ['postgres: 15/main: background writer '], 10);
  const workers = [300, 10, 12, 11].map((n, i) => target(10 + i, '/usr/sbin/nginx', ['nginx: worker process'], n));
  const script = target(20, '/usr/bin/python3.11', ['python3', 'job.py'], 500);
  addFleetMetrics([checkpointer, writer, ...workers, script], REPLICAS);
  for (const t of [checkpointer, writer, script]) assert.equal(t.metrics['fleet.peers'], undefined, String(t.identity.cmdline));
  assert.equal(workers[0]!.metrics['fleet.peers'], 3);
  assert.equal(workers[0]!.metrics['fleet.fd.open.ratio'], 27.27); // 300 against a median of 11
  assert.equal(workers[1]!.metrics['fleet.fd.open.ratio'], 1);
});

test('two replicas are not compared: of two that differ, nothing says which one is odd', () => {
  const pair = [400, 10].map((n, i) => target(30 + i, '/usr/sbin/nginx', ['nginx: worker process'], n));
  addFleetMetrics(pair, REPLICAS);
  assert.equal(pair[0]!.metrics['fleet.peers'], undefined);
});
