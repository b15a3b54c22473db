/**
 * `playbook show` states thresholds in their metric's unit: bytes as MiB, seconds as a duration,
 * ratios as percentages; a factor that only converts bytes to MiB is said in words, not as a
 * floating-point constant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { describe, playbookTree } from '../../src/render/catalogue.js';
import { metricUnits } from '../../src/engine/units.js';
import { PROBES } from '../../probes/index.js';

const limits = { explosion: {} } as never;
const units = metricUnits(PROBES);

test('thresholds in their unit', () => {
  assert.equal(describe({ metric: 'fd.deletedMaxBytes', op: '>=', value: 10 * 2 ** 20 }, limits, units), 'fd.deletedMaxBytes >= 10 MiB');
  assert.equal(describe({ metric: 'fd.utilization', op: '>=', value: 0.8 }, limits, units), 'fd.utilization >= 80%');
  assert.equal(describe({ metric: 'process.uptimeSeconds', op: '<', value: 6 * 3600 }, limits, units), 'process.uptimeSeconds < 6h');
  assert.equal(describe({ metric: 'go.goroutines', op: '>=', value: 100_000 }, limits, units), 'go.goroutines >= 100,000');
  // bytes against bytes keeps its factor; MB against bytes is a conversion, said as one
  assert.equal(
    describe({ metric: 'go.memLimit', op: '>', value: { metric: 'cgroup.memory.limit', factor: 0.9 } }, limits, units),
    'go.memLimit > 0.9 × cgroup.memory.limit',
  );
  assert.equal(
    describe({ metric: 'node.maxOldSpaceSizeMb', op: '>', value: { metric: 'cgroup.memory.limit', factor: 2 ** -20 } }, limits, units),
    'node.maxOldSpaceSizeMb > cgroup.memory.limit in MiB',
  );
});

test('the built-in tree has no raw byte counts or floating-point factors', () => {
  const tree = playbookTree(builtinPlaybook(), units);
  assert.doesNotMatch(tree, /\de-\d/);
  assert.doesNotMatch(tree, /\b10485760\b/);
  assert.match(tree, /fd\.deletedMaxBytes >= 10 MiB/);
  assert.match(tree, /node\.maxOldSpaceSizeMb > cgroup\.memory\.limit in MiB/);
});
