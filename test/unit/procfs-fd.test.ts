import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyFdLink, foldFileName, type FdTarget } from '../../src/procfs/fd.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { ProctriageError } from '../../src/errors.js';

describe('classifyFdLink', () => {
  const cases: [string, FdTarget][] = [
    ['socket:[1234]', { type: 'socket', inode: 1234 }],
    ['socket:[4026531993]', { type: 'socket', inode: 4026531993 }],
    ['pipe:[5]', { type: 'pipe', inode: 5 }],
    ['anon_inode:[eventpoll]', { type: 'eventpoll' }],
    ['anon_inode:[eventfd]', { type: 'eventfd' }],
    ['anon_inode:inotify', { type: 'inotify' }], // no brackets: that is how the kernel names it
    ['anon_inode:[timerfd]', { type: 'timerfd' }],
    ['anon_inode:[signalfd]', { type: 'signalfd' }],
    ['anon_inode:[pidfd]', { type: 'other' }],
    ['anon_inode:[io_uring]', { type: 'other' }],
    ['anon_inode:bpf-map', { type: 'other' }],
    ['/memfd:x (deleted)', { type: 'other' }], // anonymous memory, not a held file
    ['/memfd:doublemapper (deleted)', { type: 'other' }],
    ['/var/log/a.log (deleted)', { type: 'file', path: '/var/log/a.log', deleted: true }],
    ['/var/log/a.log', { type: 'file', path: '/var/log/a.log', deleted: false }],
    ['/srv/my file (1).txt', { type: 'file', path: '/srv/my file (1).txt', deleted: false }],
    ['/dev/null', { type: 'device', path: '/dev/null', deleted: false }],
    ['/dev/pts/0', { type: 'device', path: '/dev/pts/0', deleted: false }],
    ['/dev/urandom', { type: 'device', path: '/dev/urandom', deleted: false }],
    ['/dev/shm/sem.lock', { type: 'file', path: '/dev/shm/sem.lock', deleted: false }], // tmpfs file, not a device
    ['/dev/shm/buf (deleted)', { type: 'file', path: '/dev/shm/buf', deleted: true }],
    ['net:[4026531840]', { type: 'other' }],
    ['mnt:[4026531841]', { type: 'other' }],
    ['', { type: 'other' }],
  ];
  for (const [link, want] of cases) {
    test(JSON.stringify(link), () => assert.deepEqual(classifyFdLink(link), want));
  }
});

describe('foldFileName', () => {
  const same: [string, string][] = [
    ['/var/log/logs-2024-01-05.json', '/var/log/logs-2024-01-06.json'],
    ['/var/log/app.1.log', '/var/log/app.2.log'],
    ['/var/log/app-20240105.log', '/var/log/app-20240212.log'],
    ['/var/log/app-2024-01-05T10-30-00.log', '/var/log/app-2024-02-11T23-59-59.log'],
    ['/var/log/app-2024-01-05_10:30.log', '/var/log/app-2024-01-06_11:00.log'],
    ['/tmp/upload-3f9a2c1d7b.tmp', '/tmp/upload-aa01bb02cc.tmp'],
    ['/data/shard-1.db', '/data/shard-128.db'],
    ['/var/log/app/app-2026-10-10.log', '/var/log/app/app-2026-10-31.log'],
  ];
  for (const [a, b] of same) {
    test(`${a} and ${b} share a pattern`, () => assert.equal(foldFileName(a), foldFileName(b)));
  }

  const different: [string, string][] = [
    ['/var/log/app.1.log', '/var/log/db.1.log'],
    ['/var/log/app-2024-01-05.log', '/var/log/app-2024-01-05.json'],
    ['/srv/a/app.log', '/srv/b/app.log'],
  ];
  for (const [a, b] of different) {
    test(`${a} and ${b} differ`, () => assert.notEqual(foldFileName(a), foldFileName(b)));
  }

  const exact: [string, string][] = [
    ['/var/log/logs-2024-01-05.json', '/var/log/logs-<date>.json'],
    ['/var/log/app.1.log', '/var/log/app.<n>.log'],
    ['/var/log/syslog', '/var/log/syslog'],
    ['/tmp/upload-3f9a2c1d7b.tmp', '/tmp/upload-<hex>.tmp'],
  ];
  for (const [path, want] of exact) test(`${path} → ${want}`, () => assert.equal(foldFileName(path), want));
});

describe('ProcFs.readFdLinks', () => {
  test('reads every link of a directory, ours live and a tree by its root, in fd order, and leaves the cwd as it was', () => {
    const cwd = process.cwd();
    const live = new ProcFs().readFdLinks(process.pid, (n, l) => [n, l] as const);
    assert.equal(live.length, readdirSync('/proc/self/fd').length - 1); // minus the fd readdirSync itself held
    assert.deepEqual(
      live.map(([n]) => Number(n)),
      live.map(([n]) => Number(n)).sort((a, b) => a - b),
    );
    assert.equal(process.cwd(), cwd);

    const root = mkdtempSync(join(tmpdir(), 'pt-links-'));
    try {
      mkdirSync(join(root, 'proc/42/fd'), { recursive: true });
      symlinkSync('socket:[7]', join(root, 'proc/42/fd/3'));
      symlinkSync('/var/log/a.log (deleted)', join(root, 'proc/42/fd/10'));
      symlinkSync('pipe:[9]', join(root, 'proc/42/fd/4'));
      assert.deepEqual(
        new ProcFs(root).readFdLinks(42, (n, l) => [n, l]),
        [
          ['3', 'socket:[7]'],
          ['4', 'pipe:[9]'],
          ['10', '/var/log/a.log (deleted)'],
        ],
      );
      // an entry that is not a link fails the read with a typed error, and the cwd is restored
      writeFileSync(join(root, 'proc/42/fd/5'), '');
      assert.throws(
        () => new ProcFs(root).readFdLinks(42, (n) => n),
        (e: unknown) => e instanceof ProctriageError && /fd\/5/.test(e.message),
      );
      assert.equal(process.cwd(), cwd);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a big table is read by number, and still whole when a hole pushes fds past the numbers tried', (t) => {
    // Linux 6.2 and later tell the number of open fds as the size of /proc/PID/fd
    if (statSync('/proc/self/fd').size === 0) return t.skip('this kernel does not report open fds as the size of /proc/PID/fd (Linux < 6.2)');
    const need = 2600;
    const limit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 0);
    if (limit < need + 200) return t.skip(`needs a soft fd limit of ${need + 200}, this process has ${limit}`);
    class CountingProcFs extends ProcFs {
      listings = 0;
      override readdir(pid: number | null, rel: string): string[] {
        this.listings++;
        return super.readdir(pid, rel);
      }
    }
    const opened: number[] = [];
    try {
      for (let i = 0; i < need; i++) opened.push(openSync('/dev/null', 'r'));
      const dense = new CountingProcFs();
      const all = dense.readFdLinks(process.pid, (fd, link) => [Number(fd), link] as const);
      assert.equal(dense.listings, 0, 'no listing of a dense table');
      const got = new Map(all);
      for (const fd of opened) assert.equal(got.get(fd), '/dev/null');
      assert.deepEqual(
        all.map(([fd]) => fd),
        [...got.keys()].sort((a, b) => a - b),
        'in fd order',
      );

      // close 300 fds in the middle: the highest ones now lie beyond the open count plus slack
      const closed = opened.splice(1000, 300);
      for (const fd of closed) closeSync(fd);
      const holed = new CountingProcFs();
      const after = new Map(holed.readFdLinks(process.pid, (fd, link) => [Number(fd), link] as const));
      assert.equal(holed.listings, 1, 'the listing finds the fds past the numbers tried');
      for (const fd of opened) assert.equal(after.get(fd), '/dev/null', `fd ${fd}`);
      for (const fd of closed) assert.ok(!after.has(fd), `closed fd ${fd}`);
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  });
});
