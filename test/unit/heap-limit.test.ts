/**
 * The old-generation limit from heap_size_limit and the target's flags, against the values
 * measured on this machine with Node 20.20, 22.23 and 24.22 (see src/node/heap-limit.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oldGenerationLimit, type HeapFlags } from '../../src/node/heap-limit.js';

const MiB = 2 ** 20;
const V20 = 11,
  V22 = 12,
  V24 = 13;

// [heap_size_limit MiB, flags, old-generation limit MiB]
const MEASURED: [number, HeapFlags, number][] = [
  [144, { maxOldSpaceMb: 96, v8Major: V20 }, 96],
  [288, { maxOldSpaceMb: 96, v8Major: V24 }, 96],
  [56, { maxOldSpaceMb: 8, v8Major: V22 }, 8],
  [99, { maxOldSpaceMb: 96, maxSemiSpaceMb: 1, v8Major: V24 }, 96],
  [4144, { v8Major: V20 }, 4096], // no flag, 24 GiB host
  [4144, { v8Major: V22 }, 4096],
  [4288, { v8Major: V24 }, 4096],
  [4120, { maxSemiSpaceMb: 8, v8Major: V20 }, 4096],
  [259, { v8Major: V20 }, 256], // 256 MiB and 512 MiB cgroups
  [259, { v8Major: V24 }, 256],
  [524, { v8Major: V22 }, 512], // 1 GiB cgroup
  [560, { v8Major: V24 }, 512],
  [280, { maxSemiSpaceMb: 8, v8Major: V24 }, 256], // 256 MiB cgroup, semi-space 8
  [6218, { maxOldSpacePercentage: 25, v8Major: V24 }, 6026],
];

test('old-generation limit: the flag when set, else heap_size_limit minus the young generation as measured', () => {
  for (const [limit, flags, old] of MEASURED) {
    const r = oldGenerationLimit(limit * MiB, flags);
    assert.equal(Math.round(r.bytes / MiB), old, `${limit} MiB with ${JSON.stringify(flags)}`);
    assert.equal(r.bytes + r.youngBytes, limit * MiB);
    assert.equal(r.source, flags.maxOldSpaceMb !== undefined ? 'max-old-space-size' : 'heap_size_limit minus young generation');
  }
});

test('a --max-old-space-size that does not fit the heap limit is not believed (changed at run time)', () => {
  const r = oldGenerationLimit(144 * MiB, { maxOldSpaceMb: 512, v8Major: V20 });
  assert.equal(r.source, 'heap_size_limit minus young generation');
  assert.equal(r.bytes, 96 * MiB);
});
