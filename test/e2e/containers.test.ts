/**
 * Containers, from the host: real namespaces and cgroups made here (as root).
 * - a Node service with its inspector on its own loopback, and a Go service with pprof, each in
 *   a network namespace of its own, are probed through a relay into that namespace (--inspect,
 *   --activate-inspector, pprof discovery); afterwards no relay runs and nothing we opened listens;
 * - without CAP_SYS_ADMIN the report names the missing privilege instead;
 * - a process in its own pid namespace shows its NSpid;
 * - a process in a cgroup laid out like a Kubernetes pod reports the pod uid, QoS and container id;
 * - --host-root over a recursive bind mount of / gives the findings of a direct run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLI,
  cleanup,
  procState,
  runCli,
  runJson,
  spawnTracked,
  startService,
  startTarget,
  TARGETS,
  waitFor,
  which,
  type Target,
} from '../helpers/processes.js';
import { createPodCgroup, memoryCgroupUnavailable, removePodCgroup } from '../helpers/cgroup.js';
import { buildService, goUnavailable, serviceEnv } from '../fixtures/go-service/service.js';
import { parseNetInet } from '../../src/procfs/net-sockets.js';
import { start, TARGETS as NODE_TARGETS } from '../fixtures/node-targets/harness.js';

after(cleanup);

function nsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, nsenter)';
  for (const tool of ['unshare', 'nsenter', 'ip']) if (!which(tool)) return `${tool} is not installed (util-linux / iproute2)`;
  const r = spawnSync('unshare', ['-n', 'true']);
  if (r.status !== 0) return `cannot create a network namespace here (unshare -n: ${r.stderr?.toString().trim()})`;
  return undefined;
}
const nsSkip = nsUnavailable();
if (nsSkip) console.log(`# containers: namespace tests skipped: ${nsSkip}`);

/** Start a command in a network namespace of its own, loopback up (unshare -n execs: the pid is the command's). */
function inOwnNetns(command: string, args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Target> {
  return startTarget('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', command, ...args], o);
}

/** Relay processes still running (ours: nsenter then node -e with our relay directory). */
function relays(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes('proctriage-relay-')) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** The TCP rows of the target's namespace, by state. */
function rows(pid: number) {
  return ['tcp', 'tcp6'].flatMap((f) => {
    try {
      return parseNetInet(readFileSync(`/proc/${pid}/net/${f}`, 'utf8'));
    } catch {
      return [];
    }
  });
}

const netnsOf = (pid: number) => readlinkSync(`/proc/${pid}/ns/net`);

describe('runtime probes in another network namespace', { skip: nsSkip }, () => {
  test("--inspect: a Node inspector on the target's own loopback is read through a relay, and left as it was", async () => {
    const t = await inOwnNetns(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'idle.js')]);
    assert.notEqual(netnsOf(t.pid), readlinkSync('/proc/self/ns/net'), 'the target is in a namespace of its own');
    const listenBefore = rows(t.pid)
      .filter((r) => r.state === 'listen')
      .map((r) => r.inode);
    const { res, report } = await runJson([String(t.pid), '--inspect']);
    const tr = report.targets[0];
    assert.equal(typeof tr.metrics['node.heap.used'], 'number', `${res.stderr} ${JSON.stringify(tr.unknowns)}`);
    assert.equal(typeof tr.metrics['node.eventLoop.delayP99Ms'], 'number');
    assert.ok(
      tr.actions.some((a: string) => /entered pid \d+'s network namespace .* nsenter --net/.test(a)),
      tr.actions.join('\n'),
    );
    assert.ok(tr.actions.some((a: string) => /ended the relay/.test(a)));
    // nothing left: no relay, the inspector it had is still its only listener, no connection of ours stays up
    await waitFor(() => relays().length === 0, 3000, 'no relay process left');
    assert.deepEqual(
      rows(t.pid)
        .filter((r) => r.state === 'listen')
        .map((r) => r.inode),
      listenBefore,
    );
    await waitFor(() => !rows(t.pid).some((r) => r.state === 'established'), 3000, 'no connection left open in the namespace');
  });

  test('--activate-inspector: SIGUSR1, probed from inside, the inspector closed again and no relay or guard left', async () => {
    const t = await inOwnNetns(process.execPath, [join(TARGETS, 'idle.js')]);
    assert.equal(rows(t.pid).filter((r) => r.state === 'listen').length, 0, 'nothing listens before');
    const { res, report } = await runJson([String(t.pid), '--activate-inspector']);
    const tr = report.targets[0];
    assert.equal(typeof tr.metrics['node.heap.used'], 'number', `${res.stderr} ${JSON.stringify(tr.unknowns)}`);
    assert.ok(tr.actions.some((a: string) => /sent SIGUSR1/.test(a)));
    assert.ok(
      tr.actions.some((a: string) => /closed it again/.test(a)),
      tr.actions.join('\n'),
    );
    assert.ok(tr.actions.some((a: string) => /entered pid \d+'s network namespace/.test(a)));
    await waitFor(() => relays().length === 0, 3000, 'no relay process left');
    await waitFor(() => rows(t.pid).filter((r) => r.state === 'listen').length === 0, 3000, 'the inspector we opened is closed');
    await waitFor(() => !spawnSync('pgrep', ['-f', 'node/guard.js']).stdout.toString().trim(), 8000, 'the guard has exited');
    assert.ok(t.proc.pid && existsSync(`/proc/${t.pid}`), 'the target is still running');
  });

  test('proctriage killed outright (SIGKILL) while the relay runs: the relay ends with it', async () => {
    // a loop that never yields keeps the probe (and its relay) busy for a while
    const t = await start('unshare', [
      '-n',
      'sh',
      '-c',
      'ip link set lo up && exec "$0" "$@"',
      process.execPath,
      '--inspect=127.0.0.1:0',
      join(NODE_TARGETS, 'busy.cjs'),
      '4000',
    ]);
    const cli = spawnTracked(process.execPath, [CLI, String(t.pid), '--inspect', '--json'], { env: { ...process.env, NO_COLOR: '1' } });
    const relay = await waitFor(() => relays()[0], 10_000, 'the relay to start');
    process.kill(cli.pid, 'SIGKILL');
    await cli.exited;
    await waitFor(() => !existsSync(`/proc/${relay}`) || procState(relay) === 'Z', 3000, `relay pid ${relay} to end once its stdin closed`);
    assert.deepEqual(relays(), []);
  });

  test(
    'without CAP_SYS_ADMIN the report says which privilege is missing (one line, no crash)',
    { skip: which('setpriv') ? undefined : 'setpriv (util-linux) is not installed' },
    async () => {
      const t = await inOwnNetns(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'idle.js')]);
      const { report } = await runJson([String(t.pid), '--inspect'], { prefix: ['setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin', '--'] });
      const u = report.targets[0].unknowns.find((x: { probe?: string }) => x.probe === 'node');
      assert.match(u.reason, /another network namespace .* needs CAP_SYS_ADMIN/);
      assert.equal(report.targets[0].metrics['node.heap.used'], undefined);
      assert.equal(relays().length, 0);
    },
  );

  test("Go pprof discovery inside the target's namespace", async (t) => {
    const skip = goUnavailable();
    if (skip) return t.skip(skip);
    const svc = await inOwnNetns(buildService(), [], { env: serviceEnv({ LEAK: '50' }), timeoutMs: 30_000 });
    const { res, report } = await runJson([String(svc.pid)]);
    const tr = report.targets[0];
    assert.ok(tr.metrics['go.goroutines'] >= 50, `${res.stderr} ${JSON.stringify(tr.unknowns)}`);
    assert.equal(typeof tr.metrics['go.heap.alloc'], 'number');
    assert.ok(
      tr.actions.some((a: string) => /entered pid \d+'s network namespace/.test(a)),
      tr.actions.join('\n'),
    );
    assert.ok(
      tr.actions.some((a: string) => /asked .*\/debug\/pprof\//.test(a) || /GET \/debug\/pprof\//.test(a)),
      tr.actions.join('\n'),
    );
    await waitFor(() => relays().length === 0, 3000, 'no relay process left');
    await waitFor(() => !rows(svc.pid).some((r) => r.state === 'established'), 5000, 'no connection left open in the namespace');
  });
});

describe('where a process runs', () => {
  test('a process in its own pid namespace shows its NSpid', { skip: nsSkip }, async () => {
    const outer = await startTarget('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, join(TARGETS, 'idle.js')]);
    // unshare --fork: the target is its child
    const inner = await waitFor(
      () => {
        const kids = readFileSync(`/proc/${outer.pid}/task/${outer.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        return kids[0];
      },
      3000,
      'the forked child',
    );
    const { report } = await runJson([String(inner)]);
    assert.equal(report.targets[0].pid, inner);
    assert.equal(report.targets[0].nsPid, 1);
    const text = await runCli([String(inner)]);
    assert.match(text.stdout, /pid 1 inside/);
    // a host process has no nsPid
    const { report: own } = await runJson([String(outer.pid)]);
    assert.equal(own.targets[0].nsPid, undefined);
  });

  const cgSkip = memoryCgroupUnavailable();
  test('a process in a cgroup laid out like a Kubernetes pod reports its pod uid, QoS class and container id', { skip: cgSkip }, async () => {
    const pod = createPodCgroup();
    const { top, leaf, uid, id } = pod;
    try {
      const t = await startTarget(process.execPath, [join(TARGETS, 'idle.js')]);
      writeFileSync(join(leaf, 'cgroup.procs'), String(t.pid));
      const { report } = await runJson([String(t.pid)]);
      assert.deepEqual(report.targets[0].container, { engine: 'unknown', id, podUid: uid, qosClass: 'burstable' });
      const md = await runCli([String(t.pid), '--format', 'markdown']);
      assert.match(md.stdout, new RegExp(`Runs in: container ${id.slice(0, 12)} · pod ${uid} \\(burstable\\)`));
      // a process outside any container: none
      const { report: host } = await runJson([String(process.pid)]);
      assert.equal(host.targets[0].container, undefined);
      // top: only that pod's / that container's processes, by a prefix of the uid or the id
      for (const filter of [
        ['--pod', uid],
        ['--pod', uid.slice(0, 8)],
        ['--pod', uid.replace(/-/g, '_')],
        ['--container', id.slice(0, 12)],
      ]) {
        const { report: top } = await runJson(['top', ...filter, '--limit', '50']);
        assert.deepEqual(
          top.targets.map((x: { pid: number }) => x.pid),
          [t.pid],
          filter.join(' '),
        );
      }
      const none = await runJson(['top', '--container', 'ffff0000', '--limit', '50']);
      assert.deepEqual(none.report.targets, []);
      const table = await runCli(['top', '--pod', uid]);
      assert.match(table.stdout, new RegExp(`│ container\\s+│ pod\\s+│[\\s\\S]*${id.slice(0, 12)}\\s+│ ${uid.slice(0, 8)}`));
      const bad = await runCli(['top', '--pod', 'not a uid']);
      assert.equal(bad.code, 3);
      assert.match(bad.stderr, /^proctriage: --pod "not a uid" is not a pod uid/);
      await t.stop();
    } finally {
      await cleanup();
      await removePodCgroup(pod);
    }
    assert.equal(existsSync(top), false, 'the cgroups are removed');
  });
});

describe('--host-root', () => {
  let root = '';
  let mounted = false;
  const skip = process.getuid?.() !== 0 ? 'needs root (mount --rbind)' : undefined;
  before(() => {
    if (skip) return;
    root = mkdtempSync(join(tmpdir(), 'pt-host-root-'));
    mkdirSync(join(root, 'host'));
    const r = spawnSync('mount', ['--rbind', '/', join(root, 'host')]);
    mounted = r.status === 0;
    // no mount event of ours may propagate back to the host
    if (mounted) spawnSync('mount', ['--make-rslave', join(root, 'host')]);
  });
  after(() => {
    if (mounted) spawnSync('umount', ['-R', join(root, 'host')]);
    if (root) {
      try {
        rmdirSync(join(root, 'host'));
        rmdirSync(root);
      } catch {
        // a mount that did not go: left for the operator, said here
        console.log(`# could not remove ${root}`);
      }
    }
  });

  test('over a bind mount of /: the same findings as a direct run on a leaking process', { skip }, async () => {
    assert.ok(mounted, 'mount --rbind / failed');
    const svc = await startService('deleted-log');
    const direct = await runJson([String(svc.pid)]);
    const hosted = await runJson(['--host-root', join(root, 'host'), String(svc.pid)]);
    const ids = (r: { report: any }) => r.report.targets[0].findings.map((f: { id: string }) => f.id).sort();
    assert.ok(ids(direct).includes('deleted-files-held'), JSON.stringify(ids(direct)));
    assert.deepEqual(ids(hosted), ids(direct));
    assert.equal(hosted.res.code, direct.res.code);
    const status = (r: { report: any }) => Object.fromEntries(r.report.targets[0].probes.map((p: { id: string; status: string }) => [p.id, p.status]));
    assert.deepEqual(status(hosted), status(direct), 'every probe ran the same way');
    // the option may follow the command too, and top takes it
    const top = await runJson(['top', '--host-root', join(root, 'host'), '--limit', '200']);
    assert.ok(top.report.targets.some((t: { pid: number }) => t.pid === svc.pid));
  });

  test('a directory without a procfs is refused in one line (exit 3)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'pt-no-proc-'));
    try {
      for (const args of [['--host-root', empty, '1'], ['top', '--host-root', empty], ['--host-root', join(empty, 'missing'), '1'], ['--host-root']]) {
        const r = await runCli(args);
        assert.equal(r.code, 3, args.join(' '));
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /^proctriage: --host-root /);
      }
    } finally {
      rmdirSync(empty);
    }
  });
});
