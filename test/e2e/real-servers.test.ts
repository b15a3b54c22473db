/**
 * Real servers from Debian packages under real load: nginx (static page and proxy_pass to a
 * Node upstream, both churning connections) under wrk, redis-server and a redis-cli subscriber
 * under redis-benchmark, memcached under a bounded client loop. The built CLI runs against
 * every process of each server several times while the load runs and once right after it
 * ends (TIME_WAIT from the load is then everywhere in the namespace). A healthy server under
 * load is healthy: every run must be OK with no warning or critical finding, and the raw
 * readings must still match `ls /proc/PID/fd` and `ss` wherever the process stood still.
 * Each run's findings are printed, so the output records what was measured.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, problems, runJson, startNodeTarget, waitFor } from '../helpers/processes.js';
import {
  closeWaitInodes,
  lsFdCount,
  memcacheLoad,
  missing,
  redisBenchmark,
  ssCount,
  ssOwned,
  startMemcached,
  timeWaitOn,
  startNginx,
  startRedis,
  startRedisSubscriber,
  wrk,
  type Load,
  type LoadResult,
  type Server,
} from '../helpers/servers.js';

after(cleanup);

/** A run after the load must start this soon after the load generator exited. */
const AFTER_WITHIN_MS = 2000;

interface Run {
  label: string;
  pids: number[];
  code: number | null;
  report: any;
}

/** Problems across every run of a test: asserted empty at its end, so one report lists them all. */
class Verdicts {
  readonly bad: string[] = [];
  readonly raw: string[] = [];
  runs = 0;
  /** runs in which the CLI reported a socket in CLOSE_WAIT */
  closeWaitRuns = 0;

  /** Run the CLI on these PIDs, print what it found, and note anything that is not a clean OK. */
  async triage(label: string, pids: number[]): Promise<Run> {
    const { res, report } = await runJson(pids.map(String), { timeoutMs: 30_000 });
    this.runs++;
    console.log(`# ${label}: exit ${res.code} (${report.status}) in ${res.ms} ms`);
    if (report.targets.some((t: any) => t.metrics['sockets.tcp.closeWait'] > 0)) this.closeWaitRuns++;
    for (const t of report.targets) {
      const m = t.metrics;
      const f = t.findings.map((x: any) => `${x.id}(${x.severity})`).join(' ') || 'none';
      console.log(
        `#   ${t.pid} ${t.comm}: fd ${m['fd.open']}, tcp total ${m['sockets.tcp.total']} est ${m['sockets.tcp.established']} ` +
          `tw ${m['sockets.tcp.timeWait']} cw ${m['sockets.tcp.closeWait']} listen ${m['sockets.tcp.listen']} maxPerRemote ${m['sockets.tcp.maxPerRemote']}; findings: ${f}`,
      );
      for (const p of problems(t)) {
        this.bad.push(`${label}: ${t.pid} ${t.comm} ${p.id} ${p.severity}: ${p.summary}`);
        console.log(`#     ${p.severity} ${p.id}: ${p.summary}`);
      }
    }
    if (res.code !== 0 || report.status !== 'ok')
      this.bad.push(`${label}: exit ${res.code}, status ${report.status}${res.stderr ? `, stderr ${res.stderr.trim()}` : ''}`);
    assert.deepEqual(
      report.targets.map((t: any) => t.pid),
      pids,
      `${label}: one report per PID`,
    );
    return { label, pids, code: res.code, report };
  }

  /**
   * The same run, with `ls /proc/PID/fd` and `ss -tanp` read just before and just after it:
   * where a process stood still (both reads equal) its figures must match them exactly.
   * TIME_WAIT on a server's listening ports only drains once the load is over, so then the
   * reported count lies between the two reads.
   */
  async triageChecked(label: string, pids: number[], loadEndedAt?: number): Promise<Run> {
    const fd0 = pids.map(lsFdCount),
      ss0 = ssOwned(pids),
      tw0 = pids.map((p) => timeWaitOn(ss0.get(p)!.listenPorts));
    if (loadEndedAt !== undefined) {
      const late = Math.round(performance.now() - loadEndedAt);
      assert.ok(late <= AFTER_WITHIN_MS, `${label}: started ${late} ms after the load ended`);
      label += ` (started ${late} ms after it ended)`;
    }
    const run = await this.triage(label, pids);
    const fd1 = pids.map(lsFdCount),
      ss1 = ssOwned(pids),
      tw1 = pids.map((p) => timeWaitOn(ss0.get(p)!.listenPorts));
    console.log(
      `#   TIME_WAIT on each one's listening ports: ${pids.map((p, i) => `${p} ${tw0[i]}..${tw1[i]}`).join(', ')}; in the namespace: ${ssCount('state time-wait')}`,
    );
    pids.forEach((pid, i) => {
      const m = run.report.targets[i].metrics;
      if (fd0[i] === fd1[i]) {
        if (m['fd.open'] !== fd0[i]) this.raw.push(`${label}: ${pid} fd.open ${m['fd.open']}, ls /proc/${pid}/fd ${fd0[i]}`);
        this.compared++;
      }
      const a = ss0.get(pid)!.states,
        b = ss1.get(pid)!.states;
      if (JSON.stringify(a) === JSON.stringify(b)) {
        for (const [metric, state] of [
          ['established', 'ESTAB'],
          ['listen', 'LISTEN'],
          ['closeWait', 'CLOSE-WAIT'],
        ] as const) {
          if (m[`sockets.tcp.${metric}`] !== (a[state] ?? 0))
            this.raw.push(`${label}: ${pid} sockets.tcp.${metric} ${m[`sockets.tcp.${metric}`]}, ss ${a[state] ?? 0}`);
        }
        this.compared++;
      }
      // once the load is over TIME_WAIT only drains; on its own listening ports it is the server's (it closed first)
      if (tw1[i]! <= tw0[i]! && (m['sockets.tcp.timeWait'] < tw1[i]! || m['sockets.tcp.timeWait'] > tw0[i]!)) {
        this.raw.push(`${label}: ${pid} sockets.tcp.timeWait ${m['sockets.tcp.timeWait']}, ss on its listening ports ${tw0[i]}..${tw1[i]}`);
      }
    });
    return run;
  }

  compared = 0;

  done(): void {
    console.log(`# ${this.runs} runs, ${this.compared} raw comparisons, ${this.bad.length} problems, ${this.raw.length} raw mismatches`);
    assert.ok(this.compared > 0, 'no process stood still for a comparison with ls and ss');
    assert.deepEqual(this.raw, [], 'raw readings match ls /proc/PID/fd and ss');
    assert.deepEqual(this.bad, [], 'every run on a healthy server under load is OK with no warning or critical finding');
  }
}

/**
 * One load: wait until it is flowing, triage `during` times while it runs, then once within
 * AFTER_WITHIN_MS of its end. Each group of PIDs is one CLI run (a server's processes
 * together); only the first group is looked at during the load, every group after it.
 */
async function underLoad(v: Verdicts, label: string, load: Load, flowing: () => boolean, during: number, groups: () => number[][]): Promise<LoadResult> {
  let ended = false;
  void load.done.then(() => {
    ended = true;
  });
  await waitFor(() => ended || flowing(), 10_000, `${label}: load to flow`);
  for (let i = 1; i <= during && !ended; i++) {
    await v.triage(`${label}, during load, run ${i}`, groups()[0]!);
  }
  const r = await load.done;
  const endedAt = performance.now();
  console.log(`# ${label}: ${r.name} exit ${r.code} in ${r.ms} ms: ${r.summary}`);
  assert.equal(r.code, 0, `${r.name}: ${r.summary}`);
  const [first, ...rest] = groups();
  await v.triageChecked(`${label}, right after the load`, first!, endedAt);
  for (const pids of rest) await v.triageChecked(`${label}, after the load`, pids);
  return r;
}

const established = (port: number, atLeast: number) => () => ssCount(`state established '( sport = :${port} )'`) >= atLeast;

describe('nginx (nginx-light) under wrk', { skip: missing('nginx', 'wrk', 'ss') }, () => {
  let nginx: Server;
  let upstream: { pid: number; port: number };
  const all = () => [nginx.pid, ...nginx.workers];

  before(async () => {
    const u = await startNodeTarget('http-server');
    upstream = { pid: u.pid, port: Number(u.info.port) };
    nginx = await startNginx({ upstream: upstream.port });
    console.log(
      `# nginx master ${nginx.pid}, workers ${nginx.workers.join(' ')} on 127.0.0.1:${nginx.port} (${nginx.dir}); upstream node ${upstream.pid} on ${upstream.port}`,
    );
  });

  test('static page, wrk -c500 then -c100: OK on master and workers during and right after each load', { timeout: 120_000 }, async () => {
    const v = new Verdicts();
    for (const c of [500, 100]) {
      const url = `http://127.0.0.1:${nginx.port}/static/index.html`;
      const r = await underLoad(v, `static -c${c}`, wrk(url, { connections: c, seconds: 5 }), established(nginx.port, c * 0.8), 2, () => [all()]);
      assert.ok(Number(/^(\d+) requests/.exec(r.summary)?.[1]) > 1000, `real load: ${r.summary}`);
    }
    // a quiet look at the master: it stood still, so every figure was compared
    await v.triageChecked('static, quiet', [nginx.pid]);
    v.done();
  });

  test('proxy_pass to a Node upstream, no upstream keep-alive, wrk -c500 x3: transient CLOSE_WAIT and churn raise nothing', { timeout: 180_000 }, async () => {
    const v = new Verdicts();
    const cw = closeWaitWatch([nginx.port, upstream.port]);
    try {
      for (let round = 1; round <= 3; round++) {
        const url = `http://127.0.0.1:${nginx.port}/proxy/big`;
        const r = await underLoad(v, `proxy round ${round}`, wrk(url, { connections: 500, seconds: 5 }), established(nginx.port, 400), 4, () => [
          all(),
          [upstream.pid],
        ]);
        assert.ok(Number(/^(\d+) requests/.exec(r.summary)?.[1]) > 1000, `real load: ${r.summary}`);
        assert.doesNotMatch(r.summary, /Non-2xx/, 'the upstream answered every proxied request');
      }
    } finally {
      cw.stop();
    }
    // what makes this the transient case: CLOSE_WAIT was there, and none of it stayed
    const seen = cw.result();
    console.log(
      `# CLOSE_WAIT on nginx's and the upstream's ports, seen by ss every 250 ms: ${seen.distinct} sockets, at most ${seen.maxAtOnce} at once, ` +
        `at most ${seen.maxLingering} at once that had been in CLOSE_WAIT for a second or more, the longest-lived for ${seen.longestMs} ms; ` +
        `the CLI reported CLOSE_WAIT in ${v.closeWaitRuns} of ${v.runs} runs`,
    );
    assert.ok(seen.distinct > 0, 'the proxy load put sockets in CLOSE_WAIT');
    assert.ok(seen.maxLingering < 10, `${seen.maxLingering} sockets stayed in CLOSE_WAIT for a second or more at once: not the transient case`);
    v.done();
  });
});

/** Sample the inodes in CLOSE_WAIT on these ports every 250 ms: how many, and for how long each was seen. */
function closeWaitWatch(ports: number[]) {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let maxAtOnce = 0;
  let maxLingering = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const inodes = closeWaitInodes(ports);
    maxAtOnce = Math.max(maxAtOnce, inodes.size);
    let lingering = 0;
    for (const i of inodes) {
      if (!first.has(i)) first.set(i, now);
      else if (now - first.get(i)! >= 1000) lingering++;
      last.set(i, now);
    }
    maxLingering = Math.max(maxLingering, lingering);
  }, 250);
  return {
    stop: () => clearInterval(timer),
    result: () => ({
      distinct: first.size,
      maxAtOnce,
      maxLingering,
      longestMs: Math.round(Math.max(0, ...[...first].map(([i, t]) => last.get(i)! - t))),
    }),
  };
}

describe('redis-server under redis-benchmark, with a redis-cli subscriber', { skip: missing('redis-server', 'redis-benchmark', 'redis-cli', 'ss') }, () => {
  let redis: Server;
  let subscriber: { pid: number };

  before(async () => {
    redis = await startRedis();
    subscriber = await startRedisSubscriber(redis.port);
    console.log(`# redis-server ${redis.pid} on 127.0.0.1:${redis.port} (${redis.dir}); redis-cli subscriber ${subscriber.pid}`);
  });

  test('redis-benchmark -n 50000 -c 50: OK on the server and on the subscriber, whose one connection stays one', { timeout: 180_000 }, async () => {
    const v = new Verdicts();
    const pids = () => [redis.pid, subscriber.pid];
    const load = redisBenchmark(redis.port, { requests: 50_000, clients: 50 });
    await underLoad(v, 'redis-benchmark', load, established(redis.port, 40), 5, () => [pids()]);
    const quiet = await v.triageChecked('redis, quiet', pids());
    // the subscriber owns exactly one socket, whatever redis-benchmark left in the namespace
    const sub = quiet.report.targets[1];
    if (sub.metrics['sockets.tcp.total'] !== 1)
      v.bad.push(`redis, quiet: the subscriber's sockets.tcp.total is ${sub.metrics['sockets.tcp.total']}, not its one connection`);
    v.done();
  });
});

describe('memcached under a bounded client loop', { skip: missing('memcached', 'ss') }, () => {
  let mc: Server;

  before(async () => {
    mc = await startMemcached();
    console.log(`# memcached ${mc.pid} on 127.0.0.1:${mc.port}`);
  });

  test('50 clients, set+get, reconnecting every 100 operations, 8 s at most: OK during and after', { timeout: 120_000 }, async () => {
    const v = new Verdicts();
    const load = memcacheLoad(mc.port, { connections: 50, ops: 150_000, reconnectEvery: 100, maxMs: 8000 });
    const r = await underLoad(v, 'memcached', load, established(mc.port, 40), 3, () => [[mc.pid]]);
    assert.ok(JSON.parse(r.stdout).done > 1000, `real load: ${r.summary}`);
    v.done();
  });
});
