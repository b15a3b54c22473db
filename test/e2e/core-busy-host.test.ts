/**
 * A process with thousands of fds in a namespace with thousands of TCP sockets: a helper thread
 * shares its fd scan and reads the TCP tables meanwhile (src/procfs/helper-thread.ts). What it
 * reads must be exactly what a plain read gives, and what ls and ss show.
 *
 * The target gets a network namespace of its own where the machine allows it: the kernel serves
 * /proc/net/tcp a page at a time, and rows are skipped when sockets of the namespace come and go
 * between two reads, as those of the tests running alongside do.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { ProcFs } from '../../src/procfs/procfs.js';
import { FastReads } from '../../src/procfs/fast-reads.js';
import { HostSources, TargetSources } from '../../src/engine/sources.js';
import { cleanup, runCli, runJson, sh, startTarget, which, type Target } from '../helpers/processes.js';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TARGETS } from '../helpers/processes.js';

// 4 200 fds and rows: above the 8 192 fd slots (FDSize) and 2 000 rows at which the helper starts
const CONNECTIONS = 2100;

let target: Target | undefined;
let why = '';
/** runs a command in the target's network namespace (empty when it shares ours) */
let inTargetNet: string[] = [];
before(async () => {
  const hard = sh('ulimit -Hn').trim();
  if (hard !== 'unlimited' && Number(hard) < 2 * CONNECTIONS + 100) {
    why = `the hard fd limit (${hard}) is below the ${2 * CONNECTIONS + 100} fds the target needs`;
    return;
  }
  const ownNet = which('ip') && which('nsenter') && spawnSync('unshare', ['-n', 'true']).status === 0;
  if (!ownNet) console.log("# busy host: the target shares this network namespace (unshare -n, ip or nsenter missing); other tests' sockets may skew a read");
  const script = `${ownNet ? 'ip link set lo up && ' : ''}ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"`;
  target = await startTarget(
    ownNet ? 'unshare' : 'sh',
    [...(ownNet ? ['-n', 'sh'] : []), '-c', script, process.execPath, join(TARGETS, 'many-connections.js'), String(CONNECTIONS)],
    { timeoutMs: 30_000 },
  );
  if (ownNet) inTargetNet = ['nsenter', `--net=/proc/${target.pid}/ns/net`];
});
after(cleanup);

describe('a busy network namespace', () => {
  test('the fd table and TCP tables read with the helper thread equal a plain read', (t) => {
    if (!target) return t.skip(why);
    if (availableParallelism() < 2) return t.skip('one CPU: no helper thread is started');
    // the helper this target gets: one that reads the TCP tables ahead (a second, on its own)
    const helper = new FastReads((pid, rel) => `/proc/${pid}/${rel}`, true).helperFor(target.pid);
    assert.deepEqual(helper?.files, [`/proc/${target.pid}/net/tcp`, `/proc/${target.pid}/net/tcp6`]);
    helper?.noLinks();
    const proc = new ProcFs();
    proc.headStart(target.pid); // as the command does: the scan below then shares it
    const sources = new TargetSources(proc, target.pid, new HostSources(proc));
    const slow = new ProcFs('/', { fast: false });
    const plain = new TargetSources(slow, target.pid, new HostSources(slow));
    const byFd = (a: { fd: string }, b: { fd: string }) => Number(a.fd) - Number(b.fd);
    assert.deepEqual([...sources.fdTable()].sort(byFd), [...plain.fdTable()].sort(byFd));
    const mine = (rows: { inode: number }[], inodes: Set<number>) => rows.filter((r) => inodes.has(r.inode));
    const inodes = plain.socketInodes();
    assert.ok(inodes.size > 2 * CONNECTIONS, `${inodes.size} socket inodes`);
    assert.deepEqual(mine(sources.inet('tcp'), inodes), mine(plain.inet('tcp'), inodes));
    assert.deepEqual(sources.inet('tcp6'), plain.inet('tcp6'));
  });

  test('the CLI counts every fd and connection, as ls and ss do', async (t) => {
    if (!target) return t.skip(why);
    const { res, report } = await runJson([String(target.pid)]);
    assert.equal(res.stderr, '');
    const m = report.targets[0].metrics;
    assert.equal(m['sockets.tcp.established'], 2 * CONNECTIONS);
    assert.equal(m['sockets.tcp.listen'], 1);
    // and its stdio, which the launcher gives it as unix sockets (of our namespace: not in its net/unix)
    assert.equal(m['fd.byType.socket'], Number(sh(`ls -l /proc/${target.pid}/fd | grep -c 'socket:'`).trim()));
    assert.ok(m['fd.byType.socket'] >= 2 * CONNECTIONS + 1);
    assert.equal(m['fd.open'], Number(sh(`ls /proc/${target.pid}/fd | wc -l`).trim()));
    if (!which('ss')) return;
    const port = target.info.port;
    const ss = sh(`${inTargetNet.join(' ')} ss -tanH state established '( sport = :${port} or dport = :${port} )'`)
      .split('\n')
      .filter(Boolean);
    assert.equal(ss.length, m['sockets.tcp.established']);
  });

  test('a capture holds the whole fd table: analyzed offline, it counts the same', async (t) => {
    if (!target) return t.skip(why);
    const dir = join(mkdtempSync(join(tmpdir(), 'pt-busy-')), 'bundle');
    try {
      const cap = await runCli(['capture', String(target.pid), '--dir', dir, '--json'], { timeoutMs: 60_000 });
      assert.equal(cap.code, 0, cap.stderr);
      assert.match(cap.stderr, /^proctriage: wrote [^\n]+\n$/, 'one line: what was written');
      const live = JSON.parse(cap.stdout).targets[0].metrics;
      // a table this big is read by number, without a listing: the bundle lists what was read
      assert.equal(readdirSync(join(dir, `proc/${target.pid}/fd`)).length, live['fd.open']);
      const { report } = await runJson(['analyze', dir], { timeoutMs: 60_000 });
      const offline = report.targets[0].metrics;
      for (const key of ['fd.open', 'fd.byType.socket', 'sockets.tcp.established', 'sockets.tcp.listen']) {
        assert.equal(offline[key], live[key], key);
      }
    } finally {
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });
});
