import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelperThread } from '../../src/procfs/helper-thread.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'pt-helper-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('HelperThread', () => {
  test('hands over each file once, as read; a path it was not given, or could not read, is undefined', () => withDir((dir) => {
    const big = 'x'.repeat(3 << 20) + 'é\n';
    writeFileSync(join(dir, 'big'), big);
    writeFileSync(join(dir, 'small'), 'small\n');
    const live = `/proc/${process.pid}/net/tcp`;
    const h = HelperThread.start([join(dir, 'small'), join(dir, 'big'), join(dir, 'missing'), live]);
    h.noLinks();
    assert.equal(h.take(join(dir, 'big')), big); // out of order: the earlier one is kept
    assert.equal(h.take(join(dir, 'small')), 'small\n');
    assert.equal(h.take(join(dir, 'small')), undefined); // once
    assert.equal(h.take(join(dir, 'missing')), undefined);
    assert.equal(h.take(join(dir, 'never-asked')), undefined);
    assert.match(h.take(live) ?? '', /^\s*sl\s+local_address/);
  }));

  test('shares a link scan: every index read once, by one thread or the other; then scans alone', () => withDir((dir) => {
    const names = Array.from({ length: 3000 }, (_, i) => String(i));
    for (const n of names) symlinkSync(`socket:[${n}]`, join(dir, n));
    names.push('gone'); // listed, then closed before it was read
    writeFileSync(join(dir, 'ready'), '');
    const h = HelperThread.start([join(dir, 'ready')]);
    assert.equal(h.take(join(dir, 'ready')), ''); // the helper runs and waits for the list
    const pause = new Int32Array(new SharedArrayBuffer(4));
    let mine = 0;
    const here = (i: number) => {
      mine++;
      Atomics.wait(pause, 0, 0, 0.05); // a slower reader here, so the helper surely takes chunks
      try {
        return readlinkSync(join(dir, names[i]));
      } catch {
        return undefined;
      }
    };
    const links = h.shareLinks(dir, names, here);
    assert.equal(links.length, names.length);
    names.slice(0, -1).forEach((n, i) => assert.equal(links[i], `socket:[${n}]`));
    const last = links[names.length - 1];
    assert.ok(last === undefined || (typeof last === 'object' && last.code === 'ENOENT'), JSON.stringify(last));
    assert.ok(mine < names.length, 'the helper read part of the list');
    assert.ok(mine > 0, 'this thread read part of the list');

    mine = 0;
    assert.deepEqual(h.shareLinks(dir, names.slice(0, 10), here), names.slice(0, 10).map((n) => `socket:[${n}]`));
    assert.equal(mine, 10, 'a second list is read here alone');
  }));
});
