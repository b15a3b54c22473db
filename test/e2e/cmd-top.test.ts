/**
 * `proctriage top` over the real host, with real processes of ours among the others: one near
 * its fd limit, one with stuck CLOSE_WAIT sockets, idle ones. The riskiest ranks first in every
 * format, --limit is honoured in every format, the exit code follows the worst status, a
 * process it cannot read is not ranked below healthy ones, and a process that dies during the
 * scan does not break it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  CLI,
  REPO,
  cleanup,
  runCli,
  which,
  runJson,
  startNodeTarget,
  startService,
  startTarget,
  TARGETS,
  type CliResult,
  type Target,
} from '../helpers/processes.js';
import { startChild, type Child } from '../helpers/time.js';
import { ProcFs, type ScanAlongside } from '../../src/procfs/procfs.js';

after(async () => {
  await cleanup();
});

const EXIT: Record<string, number> = { ok: 0, warning: 1, critical: 2, unknown: 3 };
const RANK: Record<string, number> = { critical: 3, warning: 2, unknown: 1, ok: 0 };

/** A child that fills its fd table, then frees 3: 97 of 100 in use, fd-exhaustion critical. */
const NEAR_LIMIT = `const fs=require('fs');const held=[];try{for(let i=0;i<1000;i++)held.push(fs.openSync('/dev/null','r'))}catch{}for(let i=0;i<3;i++)fs.closeSync(held.pop());setInterval(()=>{},1e9);console.log('ready')`;

/** The pids of the table's rows, top to bottom. */
function tableRows(out: string): { pid: number; status: string }[] {
  // columns by the header: a container and a pod column appear when any process on the host is in one
  const cells = (l: string) =>
    l
      .split('│')
      .slice(1, -1)
      .map((c) => c.trim());
  const lines = out.split('\n').filter((l) => l.startsWith('│'));
  const header = cells(lines[0] ?? '');
  const [pid, status] = [header.indexOf('pid'), header.indexOf('status')];
  assert.ok(pid >= 0 && status >= 0, `no pid and status columns in ${out}`);
  return lines
    .slice(1)
    .map(cells)
    .filter((c) => /^\d+$/.test(c[pid] ?? ''))
    .map((c) => ({ pid: Number(c[pid]), status: c[status]! }));
}

/** The pids of the markdown report's target sections, top to bottom. */
function markdownPids(out: string): number[] {
  return [...out.matchAll(/^### .*? pid (\d+) /gm)].map((m) => Number(m[1]));
}

function noCrash(res: CliResult): void {
  assert.ok(res.code !== null && res.code >= 0 && res.code <= 3, `exit ${res.code} ${res.signal ?? ''}: ${res.stderr}`);
  assert.doesNotMatch(res.stderr, /internal error|\n\s+at /);
}

describe('top ranks real processes by risk', () => {
  let fds: Child, closeWait: number, idle: Target[];

  before(async () => {
    // started healthiest first, so PID order is the reverse of risk order: a ranking by PID fails
    idle = [await startNodeTarget('idle'), await startNodeTarget('idle')];
    // 30 stuck sockets: warning (10), below critical (100)
    const cw = await startService('close-wait', { args: ['--count', '30'] });
    closeWait = cw.pid;
    fds = await startChild(NEAR_LIMIT, { fdLimit: 100 });
  });

  test('table: the fd-exhausted process first of ours, then CLOSE_WAIT, then the idle ones; statuses never rise down the table', async () => {
    const res = await runCli(['top', '--limit', '100000']);
    noCrash(res);
    const rows = tableRows(res.stdout);
    const at = (pid: number) => rows.findIndex((r) => r.pid === pid);
    assert.ok(at(fds.pid) >= 0 && at(closeWait) >= 0 && idle.every((t) => at(t.pid) >= 0), res.stdout);
    assert.equal(rows[at(fds.pid)]!.status, 'critical');
    assert.equal(rows[at(closeWait)]!.status, 'warning');
    for (const t of idle) assert.equal(rows[at(t.pid)]!.status, 'ok');
    assert.ok(at(fds.pid) < at(closeWait), 'fd-exhausted above CLOSE_WAIT');
    for (const t of idle) assert.ok(at(closeWait) < at(t.pid), 'CLOSE_WAIT above idle');
    // critical and warning rows come before every other row
    const worst = rows.findIndex((r) => RANK[r.status]! < RANK.warning!);
    if (worst >= 0)
      assert.ok(
        rows.slice(worst).every((r) => RANK[r.status]! < RANK.warning!),
        res.stdout,
      );
    const summary = /\d+ processes: [1-9]\d* critical, ([1-9]\d*) (warnings?), \d+ unknown; showing the \d+ riskiest/.exec(res.stdout);
    assert.ok(summary, res.stdout);
    assert.equal(summary[2], summary[1] === '1' ? 'warning' : 'warnings', 'the count agrees with its noun');
  });

  test('exit code follows the worst status of the host (critical here: exit 2)', async () => {
    const { res, report } = await runJson(['top', '--limit', '100000']);
    const statuses: string[] = report.targets.map((t: { status: string }) => t.status);
    const worst = ['critical', 'warning', 'unknown', 'ok'].find((s) => statuses.includes(s))!;
    assert.equal(worst, 'critical');
    assert.equal(report.status, worst);
    assert.equal(res.code, EXIT[worst]);
    assert.equal(report.exitCode, res.code);
    const table = await runCli(['top', '--limit', '1']);
    assert.equal(table.code, 2, 'the table exits the same even when the critical row were cut');
  });

  test('--limit N: N rows in the table, the riskiest one kept', async () => {
    const res = await runCli(['top', '--limit', '2']);
    noCrash(res);
    const rows = tableRows(res.stdout);
    assert.equal(rows.length, 2, res.stdout);
    assert.equal(rows[0]!.status, 'critical');
    assert.match(res.stdout, /showing the 2 riskiest/);
  });

  test('table: uptime and runtime columns, and a line saying what top did not probe', async () => {
    const res = await runCli(['top', '--limit', '100000']);
    noCrash(res);
    const head = res.stdout.split('\n').find((l) => /^│ pid /.test(l))!;
    assert.deepEqual(
      head
        .split('│')
        .map((h) => h.trim())
        .filter(Boolean),
      ['pid', 'command', 'status', 'up', 'runtime', 'finding', 'fds', 'fd%', 'CLOSE_WAIT', 'rss', 'mem%', 'threads'],
    );
    // our idle Node target: its runtime is named and its uptime is a duration
    const row = res.stdout.split('\n').find((l) => l.startsWith(`│ ${idle[0]!.pid} `))!;
    const cells = row.split('│').map((x) => x.trim());
    assert.match(cells[4]!, /^\d+(s|m \d+s)$|^\d+m$/, row);
    assert.equal(cells[5], 'node', row);
    assert.match(res.stdout, /^not probed: cpu, go, node \(top reads \/proc only: no CPU window, no Node or Go runtime\)/m);
  });

  test(
    'on an 80-column terminal the table fits: columns are left out, and the output says which',
    { skip: which('script') ? undefined : 'script (util-linux) is not installed' },
    () => {
      const r = spawnSync('script', ['-qec', `stty cols 80 rows 24; exec "${process.execPath}" "${CLI}" top --limit 5`, '/dev/null'], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, NO_COLOR: '1' },
      });
      const lines = r.stdout
        .replace(/\r/g, '')
        .replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '')
        .split('\n');
      assert.deepEqual(
        lines.filter((l) => [...l].length > 80),
        [],
        r.stdout,
      );
      assert.ok(
        lines.some((l) => /^│ pid +│ command +│ status +│/.test(l)),
        r.stdout,
      );
      assert.ok(
        lines.some((l) => l.startsWith('left out to fit the terminal: threads')),
        r.stdout,
      );
    },
  );

  test('--json: riskiest first, our fd-exhausted process above our idle ones', async () => {
    const { report } = await runJson(['top', '--limit', '100000']);
    const pids: number[] = report.targets.map((t: { pid: number }) => t.pid);
    const ranks: number[] = report.targets.map((t: { status: string }) => RANK[t.status]);
    assert.ok(
      ranks.every((r, i) => i === 0 || r <= ranks[i - 1]!),
      `statuses in order: ${report.targets.map((t: { status: string }) => t.status).join(' ')}`,
    );
    assert.ok(pids.indexOf(fds.pid) < pids.indexOf(closeWait) && idle.every((t) => pids.indexOf(closeWait) < pids.indexOf(t.pid)));
  });

  test('--format markdown: riskiest first', async () => {
    const res = await runCli(['top', '--format', 'markdown', '--limit', '100000']);
    noCrash(res);
    const pids = markdownPids(res.stdout);
    assert.ok(pids.includes(fds.pid) && pids.includes(closeWait), res.stdout.slice(0, 2000));
    assert.ok(pids.indexOf(fds.pid) < pids.indexOf(closeWait) && idle.every((t) => pids.indexOf(closeWait) < pids.indexOf(t.pid)));
  });

  test('--limit N is honoured by --json and --format markdown too', async () => {
    const [{ report }, md] = await Promise.all([runJson(['top', '--limit', '2']), runCli(['top', '--format', 'markdown', '--limit', '2'])]);
    assert.equal(report.targets.length, 2);
    assert.equal(report.targets[0].status, 'critical');
    assert.equal(markdownPids(md.stdout).length, 2);
  });

  test('a bad --limit is a one-line usage error, exit 3', async () => {
    for (const bad of ['0', '-1', '2.5', 'ten']) {
      const res = await runCli(['top', '--limit', bad]);
      assert.equal(res.code, 3, `${bad}: ${res.stderr}`);
      assert.equal(res.stdout, '');
      assert.match(res.stderr.trim(), /^proctriage: .*--limit must be a positive whole number[^\n]*$/);
    }
  });
});

describe('top and processes it cannot read', () => {
  const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
  let unreadable: Target, readable: Target[];

  before(async (t) => {
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv')) return;
    // ours, readable to nobody: idle and healthy; a root process: its fds are off limits to nobody
    readable = [
      await startTarget(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, join(TARGETS, 'idle.js')]),
      await startTarget(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, join(TARGETS, 'idle.js')]),
    ];
    unreadable = await startNodeTarget('idle');
    void t;
  });

  test('as nobody: our root-owned process is unknown, and it is not ranked below the healthy ones', async (t) => {
    if (!readable) return t.skip('needs root and setpriv to run top as nobody');
    const res = await runCli(['top', '--limit', '100000'], { prefix: NOBODY });
    noCrash(res);
    const rows = tableRows(res.stdout);
    const at = (pid: number) => rows.findIndex((r) => r.pid === pid);
    assert.equal(rows[at(unreadable.pid)]?.status, 'unknown', res.stdout);
    for (const r of readable) assert.equal(rows[at(r.pid)]?.status, 'ok', res.stdout);
    for (const r of readable) assert.ok(at(unreadable.pid) < at(r.pid), `unknown row ${at(unreadable.pid)} below ok row ${at(r.pid)}`);
  });

  test('as nobody: the exit code is UNKNOWN (3), not OK, when nothing worse is seen', async (t) => {
    if (!readable) return t.skip('needs root and setpriv to run top as nobody');
    const { res, report } = await runJson(['top'], { prefix: NOBODY });
    const statuses: string[] = report.targets.map((x: { status: string }) => x.status);
    assert.ok(statuses.includes('unknown'));
    if (!statuses.includes('critical') && !statuses.includes('warning')) assert.equal(res.code, 3);
    else assert.ok(res.code === 1 || res.code === 2);
  });
});

describe('top and a process that dies during the scan', () => {
  let a: Target, b: Target;
  before(async () => {
    a = await startNodeTarget('idle');
    b = await startNodeTarget('idle');
  });

  /** The real /proc; a's fd table is read, then a and b are killed (b before its own turn). */
  class KillDuringScan extends ProcFs {
    override readFdLinks<T>(p: number, each: (fd: string, link: string) => T, alongside?: ScanAlongside): T[] {
      const out = super.readFdLinks(p, each, alongside);
      if (p === a.pid) {
        for (const pid of [a.pid, b.pid]) process.kill(pid, 'SIGKILL');
        // bounded wait until the kernel shows both dead (zombies until our event loop reaps them)
        const dead = (pid: number) => {
          try {
            return /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
          } catch {
            return true;
          }
        };
        for (let i = 0; i < 400 && !(dead(a.pid) && dead(b.pid)); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
      return out;
    }
  }

  test('the scan finishes, the output parses, and neither dead process is reported OK', async () => {
    const { run } = await import('../../src/commands/top.js');
    let out = '';
    const write = process.stdout.write;
    process.stdout.write = (s: string | Uint8Array) => {
      out += String(s);
      return true;
    };
    let code: number;
    try {
      code = await run({ json: true, format: 'table', limit: 100000, proc: new KillDuringScan() });
    } finally {
      process.stdout.write = write;
    }
    const report = JSON.parse(out);
    assert.ok(code >= 0 && code <= 3);
    assert.equal(report.exitCode, code);
    for (const pid of [a.pid, b.pid]) {
      const t = report.targets.find((x: { pid: number }) => x.pid === pid);
      assert.ok(!t || t.status !== 'ok', `dead pid ${pid} reported ${t?.status}`);
    }
    assert.ok(report.targets.length > 0, 'the other processes are still there');
  });
});
