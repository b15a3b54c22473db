/**
 * Snapshots, diff and capture bundles on real processes: the delta and rate of a leaking child,
 * clean refusals of corrupt and mismatched snapshots, capture → analyze giving the same findings,
 * and no planted secret anywhere in a bundle.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FD_LEAK, startChild } from '../helpers/time.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { diagnose } from '../../src/engine/runner.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { PROBES } from '../../probes/index.js';
import { DiffReportSchema } from '../../src/engine/report-schema.js';
import { cleanup, runCli, sleep } from '../helpers/processes.js';
import { expectOneLineFailure as cleanFailure } from '../helpers/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'proctriage-bundle-'));
after(async () => {
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

describe('snapshot and diff', () => {
  let a: string, b: string, pid: number;

  before(async () => {
    const child = await startChild(FD_LEAK, { fdLimit: 512 });
    pid = child.pid;
    a = join(tmp, 'a.json');
    b = join(tmp, 'b.json');
    const first = await runCli(['snapshot', String(pid), '-o', a]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^proctriage: wrote \S+a\.json \([A-Z]+(: [^\n]*)?, pid \d+ node\)\n$/);
    assert.equal(first.stdout, '', 'the report is in the file, not printed besides');
    await sleep(3000); // the interval between the two snapshots is the measurement: 12 more fds
    const second = await runCli(['snapshot', String(pid), '-o', b, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, '', 'nothing on stdout under --json either');
    assert.match(second.stderr, /^proctriage: wrote \S+b\.json /);
    await child.stop();
  });

  test('a snapshot is the full, schema-versioned, redacted report with a timestamp', () => {
    const r = JSON.parse(readFileSync(a, 'utf8'));
    assert.equal(r.schemaVersion, 2);
    assert.equal(r.redacted, true);
    assert.ok(Number.isFinite(Date.parse(r.capturedAt)));
    assert.equal(r.targets[0].pid, pid);
    assert.ok(r.targets[0].startTicks > 0);
    assert.ok(r.targets[0].metrics['fd.open'] > 0);
  });

  test('diff of a leaking child: the right delta and rate per hour, and fd-growth', async () => {
    const ra = JSON.parse(readFileSync(a, 'utf8')),
      rb = JSON.parse(readFileSync(b, 'utf8'));
    const res = await runCli(['diff', a, b, '--json']);
    const d = JSON.parse(res.stdout);
    assert.equal(res.code, d.exitCode);
    const valid = DiffReportSchema.safeParse(d);
    assert.ok(valid.success, valid.success ? '' : JSON.stringify(valid.error.issues.slice(0, 3)));
    const seconds = (Date.parse(rb.capturedAt) - Date.parse(ra.capturedAt)) / 1000;
    assert.equal(d.elapsedSeconds, seconds);
    const fd = d.targets[0].changes.find((c: { metric: string }) => c.metric === 'fd.open');
    const delta = rb.targets[0].metrics['fd.open'] - ra.targets[0].metrics['fd.open'];
    assert.deepEqual([fd.from, fd.to, fd.change], [ra.targets[0].metrics['fd.open'], rb.targets[0].metrics['fd.open'], delta]);
    assert.ok(Math.abs(fd.perHour - (delta / seconds) * 3600) <= 1);
    assert.ok(delta >= 10, `the child leaked only ${delta} fds in ${seconds}s`);
    assert.ok(Math.abs(fd.perHour - 14_400) <= 0.25 * 14_400, `rate ${fd.perHour}/h`);
    assert.equal(d.targets[0].trends['fd.open'].significant, true);
    const f = d.targets[0].findings.find((x: { id: string }) => x.id === 'fd-growth');
    assert.equal(f?.severity, 'critical');
    assert.equal(d.exitCode, 2);
    assert.ok(
      d.targets[0].findings.every((x: { id: string }) => x.id.endsWith('-growth')),
      'only growth findings',
    );
  });

  test('diff renders as a table and as markdown, with the same exit code; order of the files does not matter', async () => {
    const [table, md, reversed] = await Promise.all([runCli(['diff', a, b]), runCli(['diff', a, b, '--format', 'markdown']), runCli(['diff', b, a, '--json'])]);
    assert.equal(table.code, 2);
    assert.match(table.stdout, /fd-growth/);
    assert.match(table.stdout, /^\s+fd\.open\s+\d+\s+\d+\s+\+\d+\s+\+[\d,]+\/h$/m);
    // the changes run in the report's key-numbers order (fd.open first), then the rest alphabetically
    const rows = table.stdout
      .split('\n\nchanges\n')[1]!
      .split('\n')
      .slice(1)
      .map((l) => /^ {2}(\S+) /.exec(l)?.[1])
      .filter((m): m is string => !!m);
    assert.equal(rows[0], 'fd.open', rows.join(' '));
    const KEY = [
      'fd.open',
      'fd.limit',
      'fd.utilization',
      'sockets.tcp.established',
      'sockets.tcp.closeWait',
      'sockets.tcp.timeWait',
      'memory.rss',
      'cgroup.memory.unreclaimable',
      'cgroup.memory.limit',
      'cgroup.memory.utilization',
      'cgroup.memory.oomKills',
      'threads',
      'cpu.percent',
    ];
    const firstOther = rows.findIndex((m) => !KEY.includes(m));
    const keyed = rows.slice(0, firstOther < 0 ? rows.length : firstOther),
      rest = firstOther < 0 ? [] : rows.slice(firstOther);
    assert.deepEqual(
      keyed,
      [...keyed].sort((x, y) => KEY.indexOf(x) - KEY.indexOf(y)),
      rows.join(' '),
    );
    assert.ok(
      rest.every((m) => !KEY.includes(m)),
      rows.join(' '),
    );
    assert.deepEqual(rest, [...rest].sort(), rows.join(' '));
    assert.equal(md.code, 2);
    assert.match(md.stdout, /^## proctriage diff: .* CRITICAL/m);
    assert.match(md.stdout, /^- `fd\.open`: \d+ → \d+ \(\+\d+, \+[\d,]+\/h\)$/m);
    assert.doesNotMatch(md.stdout, /^\||<details>/m, 'no tables, no HTML');
    assert.equal(reversed.code, 2);
    assert.equal(JSON.parse(reversed.stdout).from.file, a, 'compared in time order');
  });

  test('a version-1 snapshot (next steps as bare strings) is still read: diff and analyze take it', async () => {
    const v1 = JSON.parse(readFileSync(a, 'utf8'));
    v1.schemaVersion = 1;
    for (const t of v1.targets) for (const f of t.findings) f.nextSteps = f.nextSteps.map((s: { text: string }) => s.text);
    const old = join(tmp, 'v1.json');
    writeFileSync(old, JSON.stringify(v1));
    const res = await runCli(['diff', old, b, '--json']);
    assert.ok(res.code !== null && res.code <= 2, res.stderr);
    assert.equal(JSON.parse(res.stdout).schemaVersion, 2);
    assert.equal(res.stderr, '');
  });

  test('corrupt, truncated, foreign, future and mismatched snapshots fail cleanly with exit 3', async () => {
    const text = readFileSync(b, 'utf8');
    const r = JSON.parse(text);
    const write = (name: string, content: string) => {
      const p = join(tmp, name);
      writeFileSync(p, content);
      return p;
    };
    const edit = (name: string, f: (x: typeof r) => void) => {
      const x = JSON.parse(text);
      f(x);
      return write(name, JSON.stringify(x));
    };
    const cases: [string[], RegExp][] = [
      [[a, write('truncated.json', text.slice(0, text.length / 2))], /truncated\.json: not valid JSON: .*corrupt or truncated/],
      [[a, write('garbage.json', '\u0000\u0001binary')], /garbage\.json: not valid JSON/],
      [[a, write('empty.json', '')], /empty\.json: empty file/],
      [[a, write('foreign.json', JSON.stringify({ name: 'something else', version: 2 }))], /foreign\.json: not a proctriage snapshot/],
      [
        [
          a,
          edit('future.json', (x) => {
            x.schemaVersion = 99;
          }),
        ],
        /future\.json: written by a newer proctriage \(schemaVersion 99/,
      ],
      [
        [
          a,
          edit('bad-shape.json', (x) => {
            x.targets = 'nope';
          }),
        ],
        /bad-shape\.json: does not match the report schema \(targets/,
      ],
      [
        [
          a,
          edit('reused.json', (x) => {
            x.targets[0].startTicks += 100;
            x.targets[0].startedAt = '2030-01-01T00:00:00.000Z';
          }),
        ],
        /not the same process in both snapshots .*PID was reused/,
      ],
      [
        [
          a,
          edit('other-host.json', (x) => {
            x.host.hostname = 'elsewhere';
          }),
        ],
        /taken on host "elsewhere"|on "elsewhere"/,
      ],
      [
        [
          a,
          edit('other-pid.json', (x) => {
            x.targets[0].pid += 1;
          }),
        ],
        /have no process in common/,
      ],
      [[a, join(tmp, 'missing.json')], /missing\.json: no such file/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['diff', ...args])));
    results.forEach((res, i) => cleanFailure(res, cases[i]![1]));
  });
});

describe('capture and analyze', () => {
  const SECRET_ENV = 's3cr3t-planted',
    SECRET_ARG = 'hunter2';
  let dir: string, pid: number, captured: { exitCode: number; targets: { findings: { id: string }[] }[] };

  // a child with something to find: fds near a lowered limit, a deleted 11 MiB file held open, a loopback connection
  const CHILD = `const fs=require('fs'),net=require('net'),os=require('os'),path=require('path');
const f=path.join(os.tmpdir(),'pt-held-'+process.pid+'.log');fs.writeFileSync(f,Buffer.alloc(11<<20,65));
const keep=[fs.openSync(f,'r')];fs.unlinkSync(f);for(let i=0;i<60;i++)keep.push(fs.openSync('/dev/null','r'));
const srv=net.createServer((s)=>keep.push(s)).listen(0,'127.0.0.1',()=>{keep.push(net.connect(srv.address().port,'127.0.0.1',()=>console.log('ready')))});`;

  before(async () => {
    const child = await startChild(CHILD, {
      fdLimit: 100,
      env: { API_TOKEN: SECRET_ENV, DATABASE_URL: `postgres://app:${SECRET_ENV}@db/x` },
      args: [`--password=${SECRET_ARG}`, '--token', SECRET_ARG],
    });
    pid = child.pid;
    dir = join(tmp, 'bundle');
    const res = await runCli(['capture', String(pid), '--dir', dir, '--json']);
    assert.match(res.stderr, /^proctriage: wrote [^\n]+\n$/);
    captured = JSON.parse(res.stdout);
    assert.equal(res.code, 0, 'written: the verdict is in the bundle');
    await child.stop();
  });

  test('the bundle holds the raw files, the fd table as symlinks, the reports and a manifest of sha256', () => {
    const p = `proc/${pid}`;
    for (const f of ['stat', 'status', 'limits', 'cmdline', 'cgroup', 'environ', 'smaps_rollup', 'net/tcp', 'net/tcp6', 'net/unix', 'fd-sizes.json']) {
      assert.ok(lstatSync(join(dir, p, f)).isFile(), f);
    }
    for (const f of ['proc/self/mountinfo', 'proc/stat', 'proc/uptime', 'report.json', 'report.md', 'manifest.json'])
      assert.ok(lstatSync(join(dir, f)).isFile(), f);
    const fds = readdirSync(join(dir, p, 'fd'));
    assert.ok(fds.length >= 60);
    assert.ok(fds.every((fd) => lstatSync(join(dir, p, 'fd', fd)).isSymbolicLink()));
    assert.ok(fds.some((fd) => /^socket:\[\d+\]$/.test(readlinkSync(join(dir, p, 'fd', fd)))));
    assert.ok(readdirSync(join(dir, 'sys/fs/cgroup')).length > 0, 'cgroup files of the target');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.kind, 'proctriage-capture');
    assert.equal(manifest.pid, pid);
    assert.ok(manifest.files[`${p}/status`].sha256.match(/^[0-9a-f]{64}$/));
    assert.ok(manifest.files[`${p}/fd/${fds[0]}`].symlink !== undefined);
    // the deleted file's size survives in the sidecar, since the symlink cannot be followed
    const sizes = JSON.parse(readFileSync(join(dir, p, 'fd-sizes.json'), 'utf8'));
    assert.ok(Object.values(sizes).includes(11 << 20));
  });

  test('no planted secret anywhere in the bundle: file contents, names and link targets', () => {
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((n) => {
        const q = join(d, n);
        return lstatSync(q).isDirectory() ? walk(q) : [q];
      });
    const files = walk(dir);
    assert.ok(files.length > 50);
    for (const f of files) {
      const content = lstatSync(f).isSymbolicLink() ? readlinkSync(f) : readFileSync(f, 'latin1');
      for (const secret of [SECRET_ENV, SECRET_ARG]) {
        assert.ok(!content.includes(secret), `${f} contains ${secret}`);
        assert.ok(!f.includes(secret));
      }
    }
    const env = readFileSync(join(dir, `proc/${pid}/environ`), 'utf8');
    assert.doesNotMatch(env, /API_TOKEN|DATABASE_URL/, 'the environment is not copied');
    const argv = readFileSync(join(dir, `proc/${pid}/cmdline`), 'utf8').split('\0');
    assert.ok(argv.includes('--password=***') && argv.includes('--token') && argv.includes('***'), argv.slice(-4).join(' '));
  });

  test('analyze reproduces the capture-time finding ids, from the bundle alone', async () => {
    const ids = captured.targets[0]!.findings.map((f) => f.id).sort();
    assert.ok(ids.includes('fd-exhaustion') && ids.includes('deleted-files-held'), ids.join(', '));
    const res = await runCli(['analyze', dir, '--json']);
    assert.equal(res.stderr, '');
    const r = JSON.parse(res.stdout);
    assert.deepEqual(r.targets[0].findings.map((f: { id: string }) => f.id).sort(), ids);
    assert.equal(res.code, captured.exitCode);
    assert.equal(r.targets[0].pid, pid);
    const table = await runCli(['analyze', dir]);
    assert.match(table.stderr, /same findings as at capture time/);
    // a plain ProcFs rooted at the bundle reads it like /proc
    const again = await diagnose([pid], { proc: new ProcFs(dir), playbook: builtinPlaybook(), probes: PROBES, timeoutMs: 5000, redact: true, version: 'test' });
    assert.deepEqual(again.targets[0]!.findings.map((f) => f.id).sort(), ids);
    assert.equal(again.targets[0]!.metrics['fd.deletedBytes'], 11 << 20);
  });

  test('what was denied at capture time is denied again offline (same path, unknowns and findings)', async (t) => {
    // pid 1 is a process whose fds or environment are often off limits, even to root in a container
    const d = join(tmp, 'pid1');
    const cap = await runCli(['capture', '1', '--dir', d, '--json']);
    if (cap.code === null || !cap.stdout) return t.skip('cannot capture pid 1 here');
    let denied: string[] = [];
    try {
      denied = JSON.parse(readFileSync(join(d, 'denied.json'), 'utf8'));
    } catch {
      /* nothing denied */
    }
    if (!denied.length) return t.skip('nothing of pid 1 is denied on this machine');
    const ana = await runCli(['analyze', d, '--json']);
    const [x, y] = [JSON.parse(cap.stdout).targets[0], JSON.parse(ana.stdout).targets[0]];
    assert.equal(ana.code, JSON.parse(cap.stdout).exitCode); // capture itself exits 0 once written
    assert.deepEqual(
      y.findings.map((f: { id: string }) => f.id),
      x.findings.map((f: { id: string }) => f.id),
    );
    assert.deepEqual(y.path, x.path);
    assert.deepEqual(y.unknowns, x.unknowns);
    assert.deepEqual(
      y.probes.map((p: { status: string }) => p.status),
      x.probes.map((p: { status: string }) => p.status),
    );
  });

  test('a modified, extended, unfinished or missing bundle is refused with exit 3', async () => {
    const copy = (name: string) => {
      const d = join(tmp, name);
      cpSync(dir, d, { recursive: true, verbatimSymlinks: true });
      return d;
    };
    const edited = copy('edited');
    writeFileSync(join(edited, `proc/${pid}/limits`), readFileSync(join(dir, `proc/${pid}/limits`), 'utf8').replace(/100/g, '9999'));
    const extended = copy('extended');
    writeFileSync(join(extended, `proc/${pid}/extra`), 'x');
    const unfinished = copy('unfinished');
    rmSync(join(unfinished, 'manifest.json'));
    const nonEmpty = join(tmp, 'occupied');
    mkdirSync(nonEmpty);
    writeFileSync(join(nonEmpty, 'keep.txt'), 'mine');
    const [e, x, u, m, o] = await Promise.all([
      runCli(['analyze', edited]),
      runCli(['analyze', extended]),
      runCli(['analyze', unfinished]),
      runCli(['analyze', join(tmp, 'nowhere')]),
      runCli(['capture', String(process.pid), '--dir', nonEmpty]),
    ]);
    cleanFailure(e, new RegExp(`proc/${pid}/limits does not match its sha256`));
    cleanFailure(x, /extra is not listed in manifest\.json/);
    cleanFailure(u, /not a capture bundle \(no manifest\.json\)/);
    cleanFailure(m, /no such directory/);
    cleanFailure(o, /is not empty/);
    assert.equal(readFileSync(join(nonEmpty, 'keep.txt'), 'utf8'), 'mine');
  });
});

/**
 * A process up for two minutes whose fds we may read: an ancestor of this test (a shell, the CI
 * runner) if one is, else any other (CI starts its runner just before the tests).
 */
function longRunning(): number | undefined {
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const stat = (pid: number) => {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  };
  const usable = (pid: number) => {
    try {
      const fields = stat(pid);
      // a link, not only the listing: root may still be refused (a process of another user namespace)
      readlinkSync(`/proc/${pid}/fd/${readdirSync(`/proc/${pid}/fd`)[0]}`);
      // fields[6] is the flags: not a kernel thread (PF_KTHREAD), fields[19] the start time in ticks
      return (Number(fields[6]) & 0x200000) === 0 && uptime - Number(fields[19]) / 100 >= 120;
    } catch {
      return false;
    }
  };
  for (let pid = process.ppid, hops = 0; pid > 1 && hops < 20; hops++) {
    if (usable(pid)) return pid;
    try {
      pid = Number(stat(pid)[1]);
    } catch {
      break;
    }
  }
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .find(usable);
}

describe('one look and usage errors', () => {
  test('a one-shot report has no growth rate: a level over the uptime is not one, and one "a restart buys" figure', async (t) => {
    const target = longRunning();
    if (target === undefined) return t.skip('no process up for a minute whose fds we may read');
    const res = await runCli([String(target), '--json']);
    const tr = JSON.parse(res.stdout).targets[0];
    assert.equal(tr.trends, undefined);
    assert.ok(!tr.findings.some((f: { id: string }) => f.id.endsWith('-growth')));
    assert.ok(!Object.keys(tr.metrics).some((k) => k.startsWith('trend.')));
    const table = await runCli([String(target)]);
    assert.doesNotMatch(table.stdout, /on average since start|estimate/);
    assert.ok((table.stdout.match(/restart buys/g) ?? []).length <= 1, table.stdout);
  });

  test('watch: a missing process and bad durations are one-line errors with exit 3', async () => {
    const [gone, bad, inverted] = await Promise.all([
      runCli(['watch', '4194000', '--interval', '250ms', '--duration', '1s']),
      runCli(['watch', '1', '--interval', 'soon']),
      runCli(['watch', '1', '--interval', '10s', '--duration', '1s']),
    ]);
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /no such process/);
    cleanFailure(bad, /--interval "soon" is not a duration/);
    cleanFailure(inverted, /--interval is longer than --duration/);
  });
});
