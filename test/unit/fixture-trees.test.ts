/**
 * The whole /proc pipeline on recorded trees (test/fixtures/{v2-container,v1-nested,healthy},
 * written by test/fixtures/make-trees.mjs): the real runner, probes and built-in playbook read
 * them through `new ProcFs(root)` exactly as they read the live /proc.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnose } from '../../src/engine/runner.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { ReportSchema } from '../../src/engine/report-schema.js';
import { PROBES } from '../../probes/index.js';
import type { Report, TargetReport } from '../../src/engine/report.js';
import { fixture } from './paths.js';

const MiB = 1024 * 1024;
const TREES = ['v2-container', 'v1-nested', 'v1-container', 'healthy'];

async function run(tree: string, pids: number[]): Promise<Report> {
  return diagnose(pids, {
    proc: new ProcFs(fixture(tree)),
    playbook: builtinPlaybook(),
    probes: PROBES,
    timeoutMs: 5000,
    redact: true,
    version: 'test',
  });
}

const severities = (t: TargetReport) => Object.fromEntries(t.findings.map((f) => [f.id, f.severity]));
const probeStatus = (t: TargetReport) => Object.fromEntries(t.probes.map((p) => [p.id, p.status]));
const finding = (t: TargetReport, id: string) => {
  const f = t.findings.find((x) => x.id === id);
  assert.ok(f, `finding ${id} not raised`);
  return f;
};

function pick(metrics: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, metrics[k]]));
}

describe('fixture trees are intact', () => {
  test('fd entries are real symlinks (a checkout without symlink support would turn them into files)', () => {
    for (const [tree, pid] of [
      ['v2-container', 4242],
      ['v1-nested', 31337],
      ['v1-container', 5150],
      ['healthy', 777],
    ] as const) {
      const dir = fixture(`${tree}/proc/${pid}/fd`);
      const entries = readdirSync(dir);
      assert.ok(entries.length > 0);
      for (const e of entries) assert.ok(lstatSync(join(dir, e)).isSymbolicLink(), `${tree} fd/${e} is not a symlink`);
    }
    assert.equal(readlinkSync(fixture('v2-container/proc/4242/fd/5')), 'anon_inode:inotify');
  });

  test('the committed trees are exactly what make-trees.mjs writes', () => {
    const out = mkdtempSync(join(tmpdir(), 'proctriage-trees-'));
    try {
      execFileSync(process.execPath, [fixture('make-trees.mjs'), out]);
      for (const tree of TREES) {
        const want = listTree(join(out, tree));
        const have = listTree(fixture(tree));
        assert.deepEqual(have, want, `${tree} differs from the generator's output: rerun node test/fixtures/make-trees.mjs`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test('these fixtures stay small (< 200 KB of content, the third-party corpus included)', () => {
    let total = 0;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else total += lstatSync(p).size;
      }
    };
    for (const d of [...TREES, 'procfs-corpus']) walk(fixture(d));
    total += lstatSync(fixture('make-trees.mjs')).size;
    assert.ok(total < 200 * 1024, `${total} bytes`);
  });
});

/** path → file content or "-> target" for symlinks */
function listTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name),
        r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) out[r] = '-> ' + readlinkSync(p);
      else if (e.isDirectory()) walk(p, r);
      else out[r] = readFileSync(p, 'utf8');
    }
  };
  walk(root, '');
  return out;
}

describe('v2-container: a leaking Node.js service in a container (cgroup v2, limits on its own cgroup)', () => {
  let report: Report;
  let t: TargetReport;
  before(async () => {
    report = await run('v2-container', [4242]);
    t = report.targets[0]!;
  });

  test('status critical, exit code 2, host facts from the recorded tree', () => {
    assert.equal(report.status, 'critical');
    assert.equal(report.exitCode, 2);
    assert.deepEqual(report.host, { hostname: 'recorded', kernel: 'recorded', cgroupVersion: '2' });
    assert.equal(t.status, 'critical');
    assert.equal(t.error, undefined);
  });

  test('identity: comm, redacted cmdline, runtime, start time from btime + starttime', () => {
    assert.equal(t.pid, 4242);
    assert.equal(t.comm, 'node');
    assert.equal(t.cmdline, 'node --max-old-space-size=512 /srv/app/server.js --db-password=*** --port=8080');
    assert.equal(t.runtime, 'node');
    assert.equal(t.startedAt, '2026-11-03T01:01:24.510Z');
    assert.equal(t.uptimeSeconds, 3700);
  });

  test('no secret from the command line or the environment reaches the report', () => {
    const json = JSON.stringify(report);
    for (const secret of ['hunter2', 's3cr3t-db-pass', 'zzz-fixture-key', 'DATABASE_URL', 'API_KEY']) {
      assert.ok(!json.includes(secret), `${secret} leaked into the report`);
    }
  });

  test('probes: the /proc probes are ok; cpu is skipped on a recorded tree', () => {
    const s = probeStatus(t);
    for (const id of ['process', 'memory', 'fds', 'sockets', 'cgroup', 'runtime']) assert.equal(s[id], 'ok', id);
    assert.equal(s.cpu, 'skipped');
    assert.equal(t.metrics['cpu.percent'], undefined);
  });

  test('fd metrics: count, limit, utilization and every link type', () => {
    assert.deepEqual(
      pick(t.metrics, ['fd.open', 'fd.limit', 'fd.limitHard', 'fd.utilization', 'fd.deleted', 'fd.filePattern.maxCount', 'fd.filePattern.datedMaxCount']),
      {
        'fd.open': 182,
        'fd.limit': 190,
        'fd.limitHard': 4096,
        'fd.utilization': 182 / 190,
        'fd.deleted': 11,
        'fd.filePattern.maxCount': 22,
        'fd.filePattern.datedMaxCount': 22,
      },
    );
    assert.deepEqual(
      pick(
        t.metrics,
        ['file', 'socket', 'pipe', 'eventpoll', 'eventfd', 'inotify', 'timerfd', 'signalfd', 'device', 'other'].map((k) => `fd.byType.${k}`),
      ),
      {
        'fd.byType.file': 34,
        'fd.byType.socket': 138,
        'fd.byType.pipe': 2,
        'fd.byType.eventpoll': 1,
        'fd.byType.eventfd': 1,
        'fd.byType.inotify': 1,
        'fd.byType.timerfd': 1,
        'fd.byType.signalfd': 1,
        'fd.byType.device': 1,
        'fd.byType.other': 2,
      },
    );
    assert.deepEqual(t.evidence?.['fd.filePatterns'], [
      { pattern: '/var/log/app/app-<date>.log', count: 22, example: '/var/log/app/app-2026-10-10.log' },
      { pattern: '/var/spool/app/chunk-<n>.tmp', count: 11, example: '/var/spool/app/chunk-1.tmp' },
    ]);
  });

  test('sockets: joined on the fd inodes across tcp and tcp6; rows of other processes not counted', () => {
    assert.deepEqual(
      pick(t.metrics, [
        'sockets.tcp.established',
        'sockets.tcp.closeWait',
        'sockets.tcp.timeWait',
        'sockets.tcp.listen',
        'sockets.tcp.total',
        'sockets.tcp.maxPerRemote',
        'sockets.udp',
        'sockets.unix',
        'sockets.queued',
        'sockets.listenQueued',
      ]),
      {
        'sockets.tcp.established': 14, // 12 clients + redis over a v4-mapped tcp6 socket + an IPv6 upstream
        'sockets.tcp.closeWait': 120, // not 124: four CLOSE_WAIT rows belong to another process
        'sockets.tcp.timeWait': 5, // the 5 on our listening port; the one to our redis peer has no known owner, nor have 3 unrelated ones
        'sockets.tcp.listen': 1,
        'sockets.tcp.total': 135, // sockets held as fds: TIME_WAIT has none
        'sockets.tcp.maxPerRemote': 90,
        'sockets.udp': 1,
        'sockets.unix': 2,
        'sockets.queued': 1,
        'sockets.listenQueued': 3,
      },
    );
    assert.deepEqual(t.evidence?.['sockets.peers.closeWait'], [
      { endpoint: '10.20.0.15:8443', count: 90 },
      { endpoint: '10.20.0.16:8443', count: 30 },
    ]);
    // the backlog is not in /proc/net/tcp (only ss knows it): a recorded tree leaves it out rather than guess
    assert.deepEqual(t.evidence?.['sockets.listen'], [{ endpoint: '0.0.0.0:8080', queued: 3 }]);
    // the TIME_WAIT to our redis peer (tcp) and the live connection to it (tcp6, v4-mapped) name the
    // same peer, shown as IPv4; the TIME_WAIT is context only: another process may have left it
    const context = t.evidence?.['sockets.namespace.timeWait'] as { count: number; topRemotes: { endpoint: string; count: number }[] };
    assert.equal(context.count, 4);
    assert.deepEqual(
      context.topRemotes.find((r) => r.endpoint === '127.0.0.1:6379'),
      { endpoint: '127.0.0.1:6379', count: 1 },
    );
  });

  test('cgroup v2: limit, working set, OOM kills, pids, CPU quota and throttling', () => {
    assert.deepEqual(
      pick(t.metrics, [
        'cgroup.memory.limit',
        'cgroup.memory.usage',
        'cgroup.memory.workingSet',
        'cgroup.memory.unreclaimable',
        'cgroup.memory.pageCache',
        'cgroup.memory.utilization',
        'cgroup.memory.high',
        'cgroup.memory.oomKills',
        'cgroup.memory.events.max',
        'cgroup.memory.events.high',
        'cgroup.pids.limit',
        'cgroup.pids.current',
        'cgroup.cpu.quotaCores',
        'cgroup.cpu.throttledRatio',
      ]),
      {
        'cgroup.memory.limit': 256 * MiB,
        'cgroup.memory.usage': 248 * MiB,
        'cgroup.memory.workingSet': 240 * MiB, // usage minus inactive_file (8 MiB)
        'cgroup.memory.unreclaimable': 248 * MiB - 16 * MiB - 1210336, // usage minus page cache (file 16 MiB, no shmem) and reclaimable slab
        'cgroup.memory.pageCache': 16 * MiB,
        'cgroup.memory.utilization': (248 * MiB - 16 * MiB - 1210336) / (256 * MiB),
        'cgroup.memory.high': undefined, // "max" everywhere: absent, not Infinity
        'cgroup.memory.oomKills': 2,
        'cgroup.memory.events.max': 57,
        'cgroup.memory.events.high': 0,
        'cgroup.pids.limit': 512,
        'cgroup.pids.current': 23,
        'cgroup.cpu.quotaCores': 0.5,
        'cgroup.cpu.throttledRatio': 0.3,
      },
    );
    const dir = '/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7f3c.slice/cri-containerd-9a1b2c.scope';
    assert.equal(t.evidence?.['cgroup.memory.limitSource'], dir);
    assert.equal(t.evidence?.['cgroup.path'], dir);
    assert.equal(t.evidence?.['cgroup.version'], '2');
  });

  test('process, memory and runtime metrics', () => {
    assert.deepEqual(
      pick(t.metrics, [
        'process.uptimeSeconds',
        'threads',
        'ctxSwitches.voluntary',
        'ctxSwitches.involuntary',
        'memory.rss',
        'memory.hwm',
        'memory.swap',
        'memory.pss',
        'runtime',
        'node.maxOldSpaceSizeMb',
      ]),
      {
        'process.uptimeSeconds': 3700,
        threads: 11,
        'ctxSwitches.voluntary': 184221,
        'ctxSwitches.involuntary': 30412,
        'memory.rss': 245760 * 1024,
        'memory.hwm': 251904 * 1024,
        'memory.swap': 0,
        'memory.pss': (245760 - 2048) * 1024,
        runtime: 'node',
        'node.maxOldSpaceSizeMb': 512,
      },
    );
  });

  test('findings and severities', () => {
    assert.deepEqual(severities(t), {
      'fd-exhaustion': 'critical',
      'close-wait-leak': 'critical',
      'memory-near-limit': 'critical',
      'oom-kills': 'warning', // a recorded tree has no kernel log: the kills cannot be dated
      'file-handle-pileup': 'warning',
      'deleted-files-held': 'warning', // the count rule (11 ≥ 10): sizes cannot be read through fixture links
      'runtime-limit-mismatch': 'warning', // --max-old-space-size=512 over a 256 MiB cgroup
      'cpu-throttling': 'warning',
      'recent-deploy': 'info',
    });
    // most severe first
    assert.deepEqual(
      t.findings.map((f) => f.severity),
      [...t.findings.map((f) => f.severity)].sort((a, b) => ['critical', 'warning', 'info'].indexOf(a) - ['critical', 'warning', 'info'].indexOf(b)),
    );
  });

  test('the cgroup next steps read the cgroup the probe found: its memory accounting and its cpu.stat (v2)', () => {
    const dir = '/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7f3c.slice/cri-containerd-9a1b2c.scope';
    const mem = finding(t, 'memory-near-limit').nextSteps.map((s) => s.text);
    assert.ok(mem.includes(`tail -n +1 ${dir}/memory.max ${dir}/memory.current ${dir}/memory.events ${dir}/memory.stat`), mem.join('\n'));
    const cpu = finding(t, 'cpu-throttling').nextSteps.map((s) => s.text);
    assert.ok(
      cpu.some((c) => c.startsWith(`cat ${dir}/cpu.stat `)),
      cpu.join('\n'),
    );
    assert.ok(![...mem, ...cpu].some((c) => c.includes('/proc/4242/cgroup')), 'not the membership file');
  });

  test('finding texts are filled from the facts; next steps name the leaking peer', () => {
    const cw = finding(t, 'close-wait-leak');
    assert.equal(cw.summary, '120 sockets in CLOSE_WAIT, most to 10.20.0.15:8443 (90): the peer hung up but this process never closed its side');
    assert.deepEqual(
      cw.nextSteps.find((s) => s.text.startsWith('ss -tn state close-wait dst')),
      { kind: 'command', text: 'ss -tn state close-wait dst 10.20.0.15:8443 | head' },
    );
    assert.match(cw.seed, /unclosed HTTP response bodies left thousands of CLOSE_WAIT/);
    const fd = finding(t, 'fd-exhaustion');
    assert.match(fd.summary, /^182 of 190 file descriptors in use \(96%\)/);
    assert.ok(
      fd.nextSteps.some((s) => s.kind === 'command' && s.text.startsWith('prlimit --pid 4242 --nofile=4096:4096')),
      JSON.stringify(fd.nextSteps),
    );
    // soft < hard here: the privileged raise (soft = hard) is left out
    assert.ok(!fd.nextSteps.some((s) => s.text.includes('CAP_SYS_RESOURCE')), JSON.stringify(fd.nextSteps));
    assert.ok(
      cw.nextSteps.some((s) => s.kind === 'command' && s.text.startsWith("ss -tnp state close-wait | grep 'pid=4242,'")),
      JSON.stringify(cw.nextSteps),
    );
    const deleted = finding(t, 'deleted-files-held');
    assert.ok(
      deleted.nextSteps.some((s) => s.kind === 'command' && /^df -h \/proc\/4242\/fd\/\d+ /.test(s.text)),
      JSON.stringify(deleted.nextSteps),
    );
    assert.deepEqual(fd.evidence['fd.byType'], {
      file: 34,
      socket: 138,
      pipe: 2,
      eventpoll: 1,
      eventfd: 1,
      inotify: 1,
      timerfd: 1,
      signalfd: 1,
      device: 1,
      other: 2,
    });
    assert.match(
      finding(t, 'memory-near-limit').summary,
      /holds 231 MiB the kernel cannot reclaim, of its 256 MiB limit \(90%; 16\.0 MiB more is page cache it can drop\)/,
    );
    assert.match(finding(t, 'oom-kills').summary, /since it was created; the kernel log is not readable/);
    assert.match(finding(t, 'cpu-throttling').summary, /30% of CPU periods \(quota 0\.50 cores\)/);
    for (const f of t.findings) {
      assert.doesNotMatch(f.summary, /[{}]/, `${f.id}: unfilled placeholder in "${f.summary}"`);
      for (const s of f.nextSteps) assert.doesNotMatch(s.text, /\{[a-zA-Z.0-9]+(:[a-z]+)?\}/, `${f.id}: unfilled next step "${s.text}"`);
    }
  });

  test('deleted files: the count is known, the sizes are not (fixture links cannot be followed)', () => {
    const d = finding(t, 'deleted-files-held');
    assert.match(d.summary, /^Deleted but still open: 11 file\(s\), e\.g\. /);
    const files = t.evidence?.['fd.deletedFiles'] as { fd: string; path: string }[];
    assert.equal(files.length, 5);
    assert.ok(files.every((f) => /^\/var\/spool\/app\/chunk-\d+\.tmp$/.test(f.path)));
  });

  test('the decision path answers every step and ends with the mitigation', () => {
    assert.deepEqual(
      t.path.map((p) => p.step),
      ['deploy', 'fds', 'memory', 'counts', 'latency', 'pool', 'mitigation'],
    );
    assert.equal(t.path[1]!.answer, 'yes: fd-exhaustion (critical), close-wait-leak (critical), file-handle-pileup (warning), deleted-files-held (warning)');
    assert.equal(t.path[3]!.answer, 'no: threads 11');
    assert.equal(t.path[5]!.answer, '14 established connections, 1 with queued bytes, 3 waiting to be accepted');
    assert.match(t.path[6]!.answer, /it took 1h 1m to get here/);
  });

  test('the report satisfies the published report schema', () => {
    const r = ReportSchema.safeParse(JSON.parse(JSON.stringify(report)));
    assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3)));
  });
});

describe('v1-nested: limits on the PARENT cgroup only (cgroup v1, hybrid host)', () => {
  let report: Report;
  let t: TargetReport;
  before(async () => {
    report = await run('v1-nested', [31337]);
    t = report.targets[0]!;
  });

  test('status warning, exit code 1, hybrid host', () => {
    assert.equal(report.status, 'warning');
    assert.equal(report.exitCode, 1);
    assert.equal(report.host.cgroupVersion, 'hybrid');
  });

  test('comm with spaces and parentheses; "--password VALUE" redacted; python runtime', () => {
    assert.equal(t.comm, 'my (weird) proc');
    assert.equal(t.cmdline, 'python3 worker.py --queue jobs --password ***');
    assert.equal(t.runtime, 'python');
    assert.equal(t.uptimeSeconds, 3 * 86400);
    assert.ok(!JSON.stringify(report).includes('wJalrXUtnFEMIK7MDENGbPxRfiCYzzzz'));
  });

  test('the memory limit comes from the ancestor, not the unlimited sentinel of the own cgroup', () => {
    assert.deepEqual(
      pick(t.metrics, [
        'cgroup.memory.limit',
        'cgroup.memory.usage',
        'cgroup.memory.workingSet',
        'cgroup.memory.utilization',
        'cgroup.memory.oomKills',
        'cgroup.memory.events.max',
      ]),
      {
        'cgroup.memory.limit': 512 * MiB,
        'cgroup.memory.usage': 470 * MiB, // charged where the limit is: the parent, all workers
        'cgroup.memory.workingSet': 450 * MiB, // minus the parent's total_inactive_file (20 MiB)
        'cgroup.memory.utilization': 430 / 512, // unreclaimable: minus the parent's whole total_cache (40 MiB, no shmem)
        'cgroup.memory.oomKills': 0,
        'cgroup.memory.events.max': 12, // the parent's failcnt: it is the one that hit its limit
      },
    );
    assert.equal(t.evidence?.['cgroup.memory.limitSource'], '/sys/fs/cgroup/memory/jobs/batch');
    assert.equal(t.evidence?.['cgroup.path'], '/sys/fs/cgroup/memory/jobs/batch/worker-3');
    assert.equal(t.evidence?.['cgroup.version'], 'hybrid');
  });

  test('pids and CPU quota from the parent too; throttling from the own cpu.stat', () => {
    assert.deepEqual(pick(t.metrics, ['cgroup.pids.limit', 'cgroup.pids.current', 'cgroup.cpu.quotaCores', 'cgroup.cpu.throttledRatio', 'threads']), {
      'cgroup.pids.limit': 100,
      'cgroup.pids.current': 87,
      'cgroup.cpu.quotaCores': 2,
      'cgroup.cpu.throttledRatio': 0.02,
      threads: 85,
    });
  });

  test('fds and sockets: v4-mapped CLOSE_WAIT peers on IPv6 sockets shown as IPv4', () => {
    assert.deepEqual(
      pick(t.metrics, [
        'fd.open',
        'fd.limit',
        'fd.utilization',
        'fd.byType.socket',
        'fd.byType.pipe',
        'fd.byType.inotify',
        'fd.byType.device',
        'fd.byType.file',
        'fd.deleted',
      ]),
      {
        'fd.open': 40,
        'fd.limit': 48,
        'fd.utilization': 40 / 48,
        'fd.byType.socket': 19,
        'fd.byType.pipe': 3,
        'fd.byType.inotify': 6,
        'fd.byType.device': 2,
        'fd.byType.file': 9,
        'fd.deleted': 0,
      },
    );
    assert.deepEqual(
      pick(t.metrics, ['sockets.tcp.closeWait', 'sockets.tcp.established', 'sockets.tcp.listen', 'sockets.tcp.total', 'sockets.unix', 'sockets.queued']),
      {
        'sockets.tcp.closeWait': 15,
        'sockets.tcp.established': 2,
        'sockets.tcp.listen': 1,
        'sockets.tcp.total': 18,
        'sockets.unix': 1,
        'sockets.queued': 1,
      },
    );
    assert.deepEqual(t.evidence?.['sockets.peers.closeWait'], [{ endpoint: '10.9.8.7:3306', count: 15 }]);
    assert.deepEqual((t.evidence?.['sockets.queues'] as unknown[])[0], {
      local: '[2001:db8:5::7]:51234',
      remote: '[2001:db8::10]:443',
      state: 'established',
      rx: 0,
      tx: 1400,
    });
  });

  test('findings and severities', () => {
    assert.deepEqual(severities(t), {
      'fd-exhaustion': 'warning',
      'close-wait-leak': 'warning',
      'memory-near-limit': 'warning',
      'thread-explosion': 'warning', // 85 threads against the parent's pids.max of 100
    });
    assert.match(finding(t, 'memory-near-limit').summary, /430 MiB the kernel cannot reclaim, of its 512 MiB limit \(84%; 40\.0 MiB more is page cache/);
    assert.equal(finding(t, 'memory-near-limit').evidence['cgroup.memory.limitSource'], '/sys/fs/cgroup/memory/jobs/batch');
  });

  test('the report satisfies the published report schema', () => {
    const r = ReportSchema.safeParse(JSON.parse(JSON.stringify(report)));
    assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3)));
  });
});

describe('v1-container: seen from inside a container, the limiting parent is out of sight', () => {
  let report: Report;
  let t: TargetReport;
  before(async () => {
    report = await run('v1-container', [5150]);
    t = report.targets[0]!;
  });

  test('the limit comes from memory.stat hierarchical_memory_limit; usage from the own cgroup', () => {
    assert.equal(report.host.cgroupVersion, '1');
    assert.deepEqual(
      pick(t.metrics, ['cgroup.memory.limit', 'cgroup.memory.usage', 'cgroup.memory.workingSet', 'cgroup.memory.utilization', 'cgroup.memory.oomKills']),
      {
        'cgroup.memory.limit': 512 * MiB,
        'cgroup.memory.usage': 480 * MiB,
        'cgroup.memory.workingSet': 470 * MiB,
        'cgroup.memory.utilization': 468 / 512, // usage minus total_cache (12 MiB)
        'cgroup.memory.oomKills': 1,
      },
    );
    // the mount root is the container's own cgroup: its directory is the mount point itself
    assert.equal(t.evidence?.['cgroup.path'], '/sys/fs/cgroup/memory');
  });

  test('no pids or cpu controller visible: those metrics are absent, not zero', () => {
    for (const k of ['cgroup.pids.limit', 'cgroup.pids.current', 'cgroup.cpu.quotaCores', 'cgroup.cpu.throttledRatio']) {
      assert.equal(t.metrics[k], undefined, k);
    }
  });

  test('findings: memory near the hidden limit, and the OOM kill', () => {
    assert.deepEqual(severities(t), { 'memory-near-limit': 'critical', 'oom-kills': 'warning' }); // undated kill: warning
    assert.equal(report.exitCode, 2);
    assert.equal(t.runtime, 'java');
  });
});

describe('healthy: a quiet service with headroom everywhere', () => {
  let report: Report;
  let t: TargetReport;
  before(async () => {
    report = await run('healthy', [777]);
    t = report.targets[0]!;
  });

  test('no warning or critical finding, status ok, exit code 0', () => {
    assert.deepEqual(
      t.findings.filter((f) => f.severity !== 'info').map((f) => f.id),
      [],
    );
    assert.equal(t.status, 'ok');
    assert.equal(report.status, 'ok');
    assert.equal(report.exitCode, 0);
  });

  test('the facts were really read (not an empty report that is trivially healthy)', () => {
    assert.deepEqual(
      pick(t.metrics, [
        'fd.open',
        'fd.limit',
        'sockets.tcp.established',
        'sockets.tcp.listen',
        'cgroup.memory.limit',
        'cgroup.memory.workingSet',
        'cgroup.cpu.quotaCores',
        'threads',
        'runtime',
        'go.memLimitEnv',
      ]),
      {
        'fd.open': 12,
        'fd.limit': 65536,
        'sockets.tcp.established': 4,
        'sockets.tcp.listen': 1,
        'cgroup.memory.limit': 1024 * MiB,
        'cgroup.memory.workingSet': 70 * MiB,
        'cgroup.cpu.quotaCores': 2,
        threads: 14,
        runtime: 'go',
        'go.memLimitEnv': 800 * MiB,
      },
    );
    for (const id of ['process', 'memory', 'fds', 'sockets', 'cgroup', 'runtime']) assert.equal(probeStatus(t)[id], 'ok', id);
  });

  test('the path answers "no" with the numbers and leaves out the mitigation', () => {
    const answers = Object.fromEntries(t.path.map((p) => [p.step, p.answer]));
    assert.equal(answers.deploy, 'no: up 3d 0h');
    assert.match(answers.fds!, /^no: 12 of 65,536 open/);
    assert.match(answers.memory!, /^no: [\d.]+ MiB unreclaimable of 1\.0 GiB \([\d.]+%\), 38\.0 MiB page cache/);
    assert.equal(answers.mitigation, undefined);
    assert.ok(t.path.every((p) => !p.answer.startsWith('yes')));
  });
});

describe('targets with nothing to diagnose', () => {
  test('a pid missing from the tree → unknown, exit 3, NO_SUCH_PROCESS', async () => {
    const r = await run('healthy', [999999]);
    assert.equal(r.exitCode, 3);
    assert.equal(r.targets[0]!.status, 'unknown');
    assert.equal(r.targets[0]!.error?.code, 'NO_SUCH_PROCESS');
  });

  test('a kernel thread and a zombie are refused with their own codes', async () => {
    const r = await run('healthy', [2, 666]);
    assert.deepEqual(
      r.targets.map((t) => t.error?.code),
      ['KERNEL_THREAD', 'ZOMBIE_PROCESS'],
    );
    assert.equal(r.exitCode, 3);
  });

  test('one bad pid does not hide a real finding on another (worst status wins)', async () => {
    const proc = new ProcFs(fixture('v2-container'));
    const r = await diagnose([4242, 31337], { proc, playbook: builtinPlaybook(), probes: PROBES, timeoutMs: 5000, redact: true, version: 'test' });
    assert.deepEqual(
      r.targets.map((t) => t.status),
      ['critical', 'unknown'],
    );
    assert.equal(r.status, 'critical');
    assert.equal(r.exitCode, 2);
  });

  test('ProcFs lists the pids of a tree', () => {
    assert.deepEqual(
      new ProcFs(fixture('healthy')).pids().sort((a, b) => a - b),
      [2, 666, 777],
    );
  });
});
