/**
 * Cross-check of the parsers against an independent, third-party /proc corpus
 * (test/fixtures/procfs-corpus, see its README): files we did not write ourselves.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStat, PF_KTHREAD } from '../../src/procfs/proc-stat.js';
import { parseProcStatus, statusBytes, statusNumber, hasSignal, innermostPid } from '../../src/procfs/proc-status.js';
import { parseProcLimits } from '../../src/procfs/proc-limits.js';
import { parseCmdline, parseEnviron } from '../../src/procfs/proc-cmdline.js';
import { parseNetInet, parseNetUnix, formatEndpoint } from '../../src/procfs/net-sockets.js';
import { parseMountinfo } from '../../src/procfs/cgroup.js';
import { parseSmapsRollup } from '../../src/procfs/smaps-rollup.js';
import { ParseError } from '../../src/errors.js';
import { readFixture, readFixtureBuffer } from './paths.js';

const corpus = (rel: string) => readFixture('procfs-corpus/proc/' + rel);

describe('third-party corpus: per-process files', () => {
  test('26231/stat (vim)', () => {
    const s = parseProcStat(corpus('26231/stat'));
    assert.deepEqual(
      [s.pid, s.comm, s.state, s.ppid, s.utimeTicks, s.stimeTicks, s.numThreads, s.starttimeTicks, s.rssPages],
      [26231, 'vim', 'R', 5392, 1677, 44, 1, 82375, 1981],
    );
    assert.equal(s.flags & PF_KTHREAD, 0);
  });

  test('26232/stat is a kernel thread (ata_sff) with extreme signed values in other fields', () => {
    const s = parseProcStat(corpus('26232/stat'));
    assert.equal(s.comm, 'ata_sff');
    assert.equal(s.ppid, 2);
    assert.notEqual(s.flags & PF_KTHREAD, 0);
    assert.equal(s.rssPages, 0);
  });

  test('584/stat: comm "(a b ) ( c d) " with spaces and parentheses, and a trailing junk line', () => {
    const s = parseProcStat(corpus('584/stat'));
    assert.equal(s.pid, 1020);
    assert.equal(s.comm, '(a b ) ( c d) ');
    assert.equal(s.state, 'R');
    assert.equal(s.ppid, 28378);
    assert.equal(s.numThreads, 1);
    assert.equal(s.starttimeTicks, 10839175);
    assert.equal(s.rssPages, 155);
  });

  test('27079/stat and a task stat of the same process', () => {
    const p = parseProcStat(corpus('27079/stat'));
    assert.equal(p.comm, 'pthread_load');
    assert.equal(p.numThreads, 5);
    assert.equal(p.utimeTicks, 58125);
    const t = parseProcStat(corpus('27079/task/27080/stat'));
    assert.equal(t.pid, 27080);
    assert.equal(t.utimeTicks, 34136);
  });

  test('26231/status: sizes, signals, NSpid', () => {
    const st = parseProcStatus(corpus('26231/status'));
    assert.equal(st.Name, 'prometheus');
    assert.equal(statusBytes(st, 'VmRSS'), 6716 * 1024);
    assert.equal(statusBytes(st, 'VmHWM'), 8028 * 1024);
    assert.equal(statusBytes(st, 'VmSwap'), 660 * 1024);
    assert.equal(statusBytes(st, 'RssAnon'), 2092 * 1024);
    assert.equal(statusNumber(st, 'Threads'), 1);
    assert.equal(statusNumber(st, 'voluntary_ctxt_switches'), 4742839);
    assert.equal(hasSignal(st, 'SigCgt', 10), false); // 0x4ec: not SIGUSR1
    assert.equal(hasSignal(st, 'SigCgt', 11), true);
    assert.equal(hasSignal(st, 'SigIgn', 13), true);
    assert.equal(innermostPid(st), 1);
  });

  test('26235/status: space-separated (not tab) values still parse', () => {
    const st = parseProcStatus(corpus('26235/status'));
    assert.equal(st.Name, 'kube-proxy');
    assert.equal(statusBytes(st, 'VmRSS'), 42652 * 1024);
    assert.equal(statusBytes(st, 'RssFile'), 17800 * 1024);
    assert.equal(statusNumber(st, 'Threads'), 51);
    assert.equal(hasSignal(st, 'SigCgt', 10), true); // fffffffc7fc1feff
    assert.equal(innermostPid(st), 1);
  });

  test('limits of 26231 and 26232', () => {
    const a = parseProcLimits(corpus('26231/limits'));
    assert.deepEqual(a['Max open files'], { soft: 2048, hard: 4096 });
    assert.deepEqual(a['Max address space'], { soft: 8589934592, hard: Infinity });
    assert.equal(a['Max locked memory']!.soft, 18446744073708503040);
    assert.equal(Object.keys(a).length, 16);
    const b = parseProcLimits(corpus('26232/limits'));
    assert.deepEqual(b['Max open files'], { soft: 1024, hard: 4096 });
    assert.deepEqual(b['Max processes'], { soft: 29436, hard: 29436 });
  });

  test('cmdline and environ with real NULs', () => {
    assert.deepEqual(parseCmdline(readFixtureBuffer('procfs-corpus/proc/26231/cmdline')), ['vim', 'test.go', '+10']);
    const env = parseEnviron(readFixtureBuffer('procfs-corpus/proc/26231/environ'));
    assert.equal(env.GOLANG_VERSION, '1.12.5');
    assert.equal(env.HOME, '/root');
    assert.equal(env.PATH, '/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    assert.equal(Object.keys(env).length, 6);
  });

  test('a cmdline padded with NULs after the name (argv rewritten by the process)', () => {
    assert.deepEqual(parseCmdline(readFixtureBuffer('procfs-corpus/proc/26233/cmdline')), ['com.github.uiautomator']);
  });

  test('smaps_rollup', () => {
    const r = parseSmapsRollup(corpus('26231/smaps_rollup'));
    assert.equal(r.Rss, 29948 * 1024);
    assert.equal(r.Pss, 29944 * 1024);
    assert.equal(r.Swap, 1940 * 1024);
  });

  test('mountinfo of another machine parses without error', () => {
    const mounts = parseMountinfo(corpus('26231/mountinfo'));
    assert.equal(mounts.length, 8);
    assert.ok(mounts.some((m) => m.mountPoint === '/sys' && m.fsType === 'sysfs'));
    assert.ok(mounts.some((m) => m.mountPoint === '/' && m.fsType === 'ext4'));
    assert.ok(mounts.some((m) => m.fsType === 'nfs4' && m.superOptions.includes('vers=4.0')));
    assert.equal(mounts.filter((m) => m.fsType.startsWith('cgroup')).length, 0);
  });
});

describe('third-party corpus: /proc/net', () => {
  test('net/tcp: three LISTEN rows on port 22 with queues', () => {
    const rows = parseNetInet(corpus('net/tcp'));
    assert.deepEqual(
      rows.map((r) => [formatEndpoint(r.local), r.state, r.txQueue, r.rxQueue, r.inode]),
      [
        ['10.0.0.5:22', 'listen', 0, 1, 2740],
        ['0.0.0.0:22', 'listen', 1, 0, 2740],
        ['0.0.0.0:22', 'listen', 1, 1, 2740],
      ],
    );
  });

  test('net/tcp6: unspecified and link-local addresses, state 07, uid', () => {
    const rows = parseNetInet(corpus('net/tcp6'), 'net/tcp6');
    assert.deepEqual(
      rows.map((r) => [formatEndpoint(r.local), formatEndpoint(r.remote), r.state, r.uid, r.inode]),
      [
        ['[::]:5355', '[::]:0', 'close', 981, 21040],
        ['[fe80::56e1:adff:fe7c:6609]:51073', '[::]:0', 'close', 1000, 11337031],
      ],
    );
  });

  test('net/udp and net/udp6 read with the same parser', () => {
    assert.equal(parseNetInet(corpus('net/udp'), 'net/udp').length, 3);
    const v6 = parseNetInet(corpus('net/udp6'), 'net/udp6');
    assert.deepEqual(
      v6.map((r) => r.inode),
      [21040, 11337031],
    );
  });

  test('net/udp_broken (a row with four fields) is rejected with a ParseError', () => {
    assert.throws(
      () => parseNetInet(corpus('net/udp_broken'), 'net/udp_broken'),
      (e: unknown) => e instanceof ParseError && /net\/udp_broken/.test((e as Error).message),
    );
  });

  test('net/unix', () => {
    const rows = parseNetUnix(corpus('net/unix'));
    assert.deepEqual(
      rows.map((r) => [r.inode, r.type, r.state, r.path]),
      [
        [3442596, 1, 1, '/var/run/postgresql/.s.PGSQL.5432'],
        [10061, 5, 1, '/run/udev/control'],
        [12392, 2, 1, '/dev/log'],
        [4787297, 1, 3, '/var/run/postgresql/.s.PGSQL.5432'],
        [5091797, 1, 3, undefined],
      ],
    );
  });

  test('net/unix_without_inode does not crash and yields no inode-less rows', () => {
    assert.deepEqual(parseNetUnix(corpus('net/unix_without_inode')), []);
  });
});
