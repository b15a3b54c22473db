import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcFs } from '../../src/procfs/procfs.js';
import { HostSources, TargetSources } from '../../src/engine/sources.js';
import { probe } from '../../probes/sockets.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (i: number, local: string, remote: string, st: string, inode: number) =>
  `${String(i).padStart(4)}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 1 0000000000000000 20 4 30 10 -1`;

test('a socket the kernel printed twice (the table changed between two reads) is counted once', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pt-sockets-'));
  try {
    mkdirSync(join(root, 'proc/42/fd'), { recursive: true });
    mkdirSync(join(root, 'proc/42/net'), { recursive: true });
    symlinkSync('socket:[100]', join(root, 'proc/42/fd/3'));
    symlinkSync('socket:[101]', join(root, 'proc/42/fd/4'));
    const closeWait = row(2, '0100007F:9C40', '0F00140A:20FB', '08', 101);
    writeFileSync(
      join(root, 'proc/42/net/tcp'),
      [
        HEADER,
        row(0, '0100007F:1F90', '0100007F:C350', '01', 100),
        row(1, '0100007F:1F91', '0100007F:C351', '01', 999), // another process's socket
        closeWait,
        closeWait.replace(/^ {3}2:/, '   3:'), // the same socket again
      ].join('\n') + '\n',
    );
    writeFileSync(join(root, 'proc/42/net/tcp6'), HEADER + '\n');
    const proc = new ProcFs(root);
    const out = await probe.run({ pid: 42, proc, sources: new TargetSources(proc, 42, new HostSources(proc)), options: {}, actions: [] } as never);
    assert.equal(out.metrics['sockets.tcp.established'], 1);
    assert.equal(out.metrics['sockets.tcp.closeWait'], 1);
    assert.equal(out.metrics['sockets.tcp.total'], 2);
    assert.deepEqual(out.evidence?.['sockets.peers.closeWait'], [{ endpoint: '10.20.0.15:8443', count: 1 }]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
