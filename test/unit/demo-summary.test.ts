/** The demo's summary is a table laid out by cli-table3: columns line up whatever the names, a miss is said with why. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderDemoSummary } from '../../src/render/demo.js';

test('one aligned row per sample, then the closing sentence', () => {
  const text = renderDemoSummary(
    [
      { name: 'close-wait', pid: 101, status: 'critical' },
      { name: 'a-much-longer-sample-name', pid: 20202, status: 'warning', problem: 'expected critical' },
      { name: 'healthy', status: undefined },
    ],
    { color: false, ok: false },
  );
  const lines = text.split('\n');
  assert.equal(lines[1], 'summary');
  const rows = lines.slice(2, 5);
  assert.match(rows[0]!, /^ {2}close-wait +CRITICAL +✓ as expected +pid 101$/);
  assert.match(rows[1]!, /^ {2}a-much-longer-sample-name +WARNING +✖ unexpected \(expected critical\) +pid 20202 *$/);
  assert.match(rows[2]!, /^ {2}healthy +NOT RUN +✓ as expected *$/);
  // the verdicts start in one column
  const at = rows.map((r) => r.search(/CRITICAL|WARNING|NOT RUN/));
  assert.deepEqual(new Set(at).size, 1, rows.join('\n'));
  assert.equal(lines.at(-2), 'The demo did not go as intended (see above).');
});

test('colour only when asked', () => {
  const plain = renderDemoSummary([{ name: 'x', pid: 1, status: 'ok' }], { color: false, ok: true });
  assert.doesNotMatch(plain, /\x1b\[/);
  assert.match(plain, /Every sample got the diagnosis it should/);
  assert.match(renderDemoSummary([{ name: 'x', pid: 1, status: 'ok' }], { color: true, ok: true }), /\x1b\[/);
});

test('a skipped sample shows why, and the closing sentence counts it without calling the run a failure', () => {
  const text = renderDemoSummary(
    [
      { name: 'close-wait', pid: 101, status: 'critical' },
      { name: 'busy-wait', skipped: 'needs the Go toolchain to build it: not installed' },
    ],
    { color: false, ok: true },
  );
  assert.match(text, /^ {2}busy-wait +SKIPPED +needs the Go toolchain to build it: not installed$/m);
  assert.doesNotMatch(text, /busy-wait.*as expected/);
  assert.match(text, /Every sample that ran got the diagnosis it should \(1 skipped, see above\)/);
  // a skip does not hide a real miss
  const failed = renderDemoSummary(
    [
      { name: 'rotation', pid: 7, status: 'ok', problem: 'expected critical' },
      { name: 'busy-wait', skipped: 'go build failed: x' },
    ],
    { color: false, ok: false },
  );
  assert.match(failed, /The demo did not go as intended/);
});
