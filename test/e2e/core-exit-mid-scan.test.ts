/**
 * A target that dies while it is being scanned. Its parent does not reap it, so it stays a
 * zombie: /proc/PID still exists, and its fd table reads as empty. A dead service must never
 * come out as healthy: the target is reported as exited, exit 3.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcFs, type ScanAlongside } from '../../src/procfs/procfs.js';
import { diagnose } from '../../src/engine/runner.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { PROBES } from '../../probes/index.js';
import { cleanup, startTarget, TARGETS, type Target } from '../helpers/processes.js';

let parent: Target;
let pid: number;
before(async () => {
  // sh starts the target in the background, then becomes `sleep`, which never reaps it. The
  // target keeps our stdin pipe (it leaves when the pipe closes) through fd 3: sh gives a
  // background command /dev/null as stdin before its own redirections, so `<&0` would not do.
  parent = await startTarget('sh', ['-c', 'exec 3<&0; node "$0" <&3 3<&- & exec sleep 120 3<&-', join(TARGETS, 'idle.js')]);
  pid = parent.info.pid as number;
});
after(cleanup);

/** The real /proc, but the target is killed right after its fd table is read. */
class KillMidScan extends ProcFs {
  override readFdLinks<T>(p: number, each: (fd: string, link: string) => T, alongside?: ScanAlongside): T[] {
    const out = super.readFdLinks(p, each, alongside);
    process.kill(pid, 'SIGKILL');
    // bounded wait until the kernel shows it dead (a zombie: its parent never waits for it)
    for (let i = 0; i < 200 && !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
    return out;
  }
}

test('a target killed mid-scan and left a zombie is reported as exited (unknown, exit 3), not healthy', async () => {
  assert.notEqual(pid, parent.pid, 'the target is the background child, not its parent');
  const report = await diagnose([pid], {
    proc: new KillMidScan(),
    playbook: builtinPlaybook(),
    probes: PROBES,
    timeoutMs: 5000,
    redact: true,
    version: 'test',
  });
  assert.match(readFileSync(`/proc/${pid}/stat`, 'utf8'), /^\d+ \(.*\) Z /, 'the target is a zombie now');
  const t = report.targets[0]!;
  assert.equal(t.error?.code, 'NO_SUCH_PROCESS');
  assert.match(t.error?.message ?? '', /exited during the scan/);
  assert.equal(t.status, 'unknown');
  assert.equal(report.exitCode, 3);
});
