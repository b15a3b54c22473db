/**
 * A namespace with thousands of TCP sockets: its tables are read on a second thread while the
 * fd table is scanned (src/procfs/prefetch.ts). What the sockets probe reports must be exactly
 * what a plain read gives, and what ss shows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { ProcFs } from '../../src/procfs/procfs.js';
import { HostSources, TargetSources } from '../../src/engine/sources.js';
import { cleanup, runJson, sh, startTarget, which, type Target } from '../helpers/processes.js';
import { join } from 'node:path';
import { TARGETS } from '../helpers/processes.js';

const CONNECTIONS = 1100; // 2 200 rows: above the 2 000 at which the tables are prefetched

/** Records the prefetches it is asked for, and does them. */
class WatchedProcFs extends ProcFs {
  readonly prefetches: string[][] = [];
  override prefetch(pid: number, rels: string[]): void {
    this.prefetches.push(rels);
    super.prefetch(pid, rels);
  }
}

let target: Target | undefined;
let why = '';
before(async () => {
  const hard = sh('ulimit -Hn').trim();
  if (hard !== 'unlimited' && Number(hard) < 2 * CONNECTIONS + 100) {
    why = `the hard fd limit (${hard}) is below the ${2 * CONNECTIONS + 100} fds the target needs`;
    return;
  }
  target = await startTarget('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"', process.execPath,
    join(TARGETS, 'many-connections.js'), String(CONNECTIONS)], { timeoutMs: 30_000 });
});
after(cleanup);

describe('a busy network namespace', () => {
  test('the TCP tables read on a second thread equal a plain read', (t) => {
    if (!target) return t.skip(why);
    if (availableParallelism() < 2) return t.skip('one CPU: the tables are never prefetched');
    const proc = new WatchedProcFs();
    const sources = new TargetSources(proc, target.pid, new HostSources(proc));
    sources.prefetchNetTables();
    assert.deepEqual(proc.prefetches, [['net/tcp', 'net/tcp6']]);
    const plain = new TargetSources(new ProcFs(), target.pid, new HostSources(new ProcFs()));
    const mine = (rows: { inode: number }[], inodes: Set<number>) => rows.filter((r) => inodes.has(r.inode));
    const inodes = plain.socketInodes();
    assert.ok(inodes.size > 2 * CONNECTIONS, `${inodes.size} socket inodes`);
    assert.deepEqual(mine(sources.inet('tcp'), inodes), mine(plain.inet('tcp'), inodes));
    assert.deepEqual(sources.inet('tcp6'), plain.inet('tcp6'));
  });

  test('the CLI counts every connection, as ss does', async (t) => {
    if (!target) return t.skip(why);
    const { res, report } = await runJson([String(target.pid)]);
    assert.equal(res.stderr, '');
    const m = report.targets[0].metrics;
    assert.equal(m['sockets.tcp.established'], 2 * CONNECTIONS);
    assert.equal(m['sockets.tcp.listen'], 1);
    // and its stdio, which the launcher gives it as unix sockets
    assert.equal(m['fd.byType.socket'], 2 * CONNECTIONS + 1 + m['sockets.unix']);
    if (!which('ss')) return;
    const port = target.info.port;
    const ss = sh(`ss -tanH state established '( sport = :${port} or dport = :${port} )'`).split('\n').filter(Boolean);
    assert.equal(ss.length, m['sockets.tcp.established']);
  });
});
