import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../src/commands/options.js';

test('parseDuration understands ms, s, m, h and bare seconds', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10'), 10_000);
  assert.equal(parseDuration('2m'), 120_000);
  assert.throws(() => parseDuration('soon'), /not a duration/);
});
