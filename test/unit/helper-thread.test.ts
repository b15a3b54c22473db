import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelperThread, type HelperLink } from '../../src/procfs/helper-thread.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'pt-helper-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('HelperThread', () => {
  test('hands over each file once, as read; a path it was not given, or could not read, is undefined', () =>
    withDir((dir) => {
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

  test('shares a link scan: every index read once, by one thread or the other; then scans alone', () =>
    withDir((dir) => {
      const count = 3000;
      for (let i = 0; i < count; i++) symlinkSync(`socket:[${i}]`, join(dir, String(i)));
      writeFileSync(join(dir, 'ready'), '');
      const h = HelperThread.start([join(dir, 'ready')]);
      assert.equal(h.take(join(dir, 'ready')), ''); // read by one thread or the other
      const pause = new Int32Array(new SharedArrayBuffer(4));
      const links = new Map<number, HelperLink | undefined>();
      const put = (i: number, link: HelperLink | undefined) => {
        assert.ok(!links.has(i), `index ${i} read twice`);
        links.set(i, link);
      };
      let mine = 0,
        betweens = 0;
      const readHere = (i: number) => {
        mine++;
        try {
          put(i, readlinkSync(join(dir, String(i))));
        } catch {
          put(i, undefined);
        }
      };
      // by number, one past the last link: that one is gone. `between` gives the helper time to
      // read and post the other chunks, then takes them in (delivered() does): none may be left
      // unaccepted, or this would wait for more until the timeout.
      const started = performance.now();
      h.shareLinks({ prefix: `${dir}/`, count: count + 1 }, readHere, put, () => {
        betweens++;
        Atomics.wait(pause, 0, 0, 20);
        h.delivered(join(dir, 'ready'));
      });
      assert.ok(performance.now() - started < 2000, 'no wait for chunks already received');
      assert.equal(links.size, count + 1);
      for (let i = 0; i < count; i++) assert.equal(links.get(i), `socket:[${i}]`);
      const last = links.get(count);
      assert.ok(last === undefined || (typeof last === 'object' && last.code === 'ENOENT'), JSON.stringify(last));
      assert.ok(mine < count, 'the helper read part of the list');
      assert.ok(mine > 0, 'this thread read part of the list');
      assert.ok(betweens > 0, 'between chunks, this thread could do other work');

      // a second list, by name: read here alone
      mine = 0;
      links.clear();
      const names = ['7', '3', '11'];
      h.shareLinks(
        { prefix: `${dir}/`, names, count: names.length },
        (i) => {
          mine++;
          put(i, readlinkSync(join(dir, names[i]!)));
        },
        put,
      );
      assert.deepEqual(
        [...links.entries()].sort(([a], [b]) => a - b),
        [
          [0, 'socket:[7]'],
          [1, 'socket:[3]'],
          [2, 'socket:[11]'],
        ],
      );
      assert.equal(mine, 3, 'a second list is read here alone');
    }));
});
