import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefetch } from '../../src/procfs/prefetch.js';

describe('Prefetch (files read on a worker thread, taken synchronously)', () => {
  test('hands over each file once, as read; a path it was not given, or could not read, is undefined', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-prefetch-'));
    try {
      const big = 'x'.repeat(3 << 20) + 'é\n';
      writeFileSync(join(dir, 'big'), big);
      writeFileSync(join(dir, 'small'), 'small\n');
      const live = `/proc/${process.pid}/net/tcp`;
      const p = Prefetch.start([join(dir, 'small'), join(dir, 'big'), join(dir, 'missing'), live]);
      assert.equal(p.take(join(dir, 'big')), big); // out of order: the earlier one is kept
      assert.equal(p.take(join(dir, 'small')), 'small\n');
      assert.equal(p.take(join(dir, 'small')), undefined); // once
      assert.equal(p.take(join(dir, 'missing')), undefined);
      assert.equal(p.take(join(dir, 'never-asked')), undefined);
      assert.match(p.take(live) ?? '', /^\s*sl\s+local_address/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

});
