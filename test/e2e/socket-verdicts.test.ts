/**
 * Socket verdicts against the misbehaviours that fooled them, each next to its healthy
 * look-alike, with real processes and real sockets on loopback:
 *  - TIME_WAIT has no owner: a process holding ONE pooled connection to a server is not charged
 *    the TIME_WAIT another, exited, process left towards the same server; but a server that
 *    closes first owns the TIME_WAIT on its listening port.
 *  - proctriage's own connections (pprof, inspector) are not the target's growth.
 *  - CLOSE_WAIT: a socket that stays there is a leak (positive control); sockets that pass
 *    through it for 150 ms on their way to being closed are not.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, finding, problems, runJson, sleep, startNodeTarget, startService, startTarget, TARGETS, waitFor } from '../helpers/processes.js';
import { churn, closeWaitInodes, ssCount, ssOwned, timeWaitOn } from '../helpers/servers.js';
import { buildService, goUnavailable, serviceEnv } from '../fixtures/go-service/service.js';
import { start as startNode } from '../fixtures/node-targets/harness.js';
import { join } from 'node:path';

after(cleanup);

const SOCKET_FINDINGS = ['connection-storm', 'socket-growth', 'close-wait-leak'];

function show(label: string, t: any): void {
  const m = t.metrics;
  console.log(
    `# ${label}: ${t.pid} ${t.comm}: tcp total ${m['sockets.tcp.total']} est ${m['sockets.tcp.established']} tw ${m['sockets.tcp.timeWait']} ` +
      `cw ${m['sockets.tcp.closeWait']} maxPerRemote ${m['sockets.tcp.maxPerRemote']}; findings: ${t.findings.map((f: any) => `${f.id}(${f.severity})`).join(' ') || 'none'}`,
  );
  for (const f of problems(t)) console.log(`#     ${f.severity} ${f.id}: ${f.summary}`);
}

const socketProblems = (t: any) => t.findings.filter((f: any) => SOCKET_FINDINGS.includes(f.id)).map((f: any) => `${f.id} ${f.severity}: ${f.summary}`);

describe('TIME_WAIT ownership', () => {
  test('the innocent neighbour: one pooled connection, 3 000 TIME_WAIT of an exited client to the same server: not charged', { timeout: 120_000 }, async () => {
    const server = await startNodeTarget('http-server');
    const port = Number(server.info.port);
    const a = await startNodeTarget('pooled-client', [String(port)]);
    // B hangs up first on each of its 3 000 connections and exits: the TIME_WAIT is B's side
    const twBefore = ssCount(`state time-wait '( dport = :${port} )'`);
    const b = await churn(port, 3000, 'client-closes');
    const left = ssCount(`state time-wait '( dport = :${port} )'`) - twBefore;
    console.log(`# B: ${b.summary}; TIME_WAIT towards 127.0.0.1:${port} left by it: ${left}`);
    assert.ok(left >= 2900, `B's TIME_WAIT is there (${left})`);
    assert.deepEqual(ssOwned([a.pid]).get(a.pid)!.states, { ESTAB: 1 }, 'A really owns one connection');

    const { res, report } = await runJson([String(a.pid)]);
    const t = report.targets[0];
    show('A, one-shot', t);
    assert.deepEqual(socketProblems(t), [], 'no socket finding for A');
    assert.equal(t.metrics['sockets.tcp.total'], 1, "A's TCP total is its one connection");
    assert.equal(t.metrics['sockets.tcp.established'], 1);
    assert.equal(t.metrics['sockets.tcp.timeWait'], 0, "B's TIME_WAIT is not A's");
    assert.ok(t.metrics['sockets.tcp.maxPerRemote'] <= 1, `maxPerRemote ${t.metrics['sockets.tcp.maxPerRemote']}`);
    assert.equal(res.code, 0, `exit ${res.code}: ${problems(t).map((f: any) => f.id)}`);

    // and while B churns: no growth is charged to A either
    const watching = runJson(['watch', String(a.pid), '--interval', '250ms', '--duration', '4s'], { timeoutMs: 30_000 });
    const b2 = await churn(port, 3000, 'client-closes', 20);
    const w = (await watching).report.targets[0];
    console.log(`# B again, during watch: ${b2.summary}; A's sockets.tcp.total trend ${JSON.stringify(w.trends?.['sockets.tcp.total'])}`);
    show('A, watch', w);
    assert.deepEqual(socketProblems(w), [], 'no socket finding for A in watch');
    assert.equal(w.metrics['sockets.tcp.total'], 1);
    assert.ok(!w.trends?.['sockets.tcp.total']?.significant, `A's socket count did not grow: ${JSON.stringify(w.trends?.['sockets.tcp.total'])}`);
    await Promise.all([a.stop(), server.stop()]);
  });

  test('the reverse: a server that closes first owns the TIME_WAIT on its listening port', { timeout: 120_000 }, async () => {
    const s = await startNodeTarget('http-server', ['close']);
    const port = Number(s.info.port);
    const c = await churn(port, 3000, 'server-closes');
    const tw0 = timeWaitOn([port]);
    const { report } = await runJson([String(s.pid)]);
    const tw1 = timeWaitOn([port]);
    const t = report.targets[0];
    console.log(`# client: ${c.summary}; TIME_WAIT on the server's port ${port}: ${tw0}..${tw1}`);
    show('S', t);
    // most of them: on a busy host a few 4-tuples are recycled by new connections before we look
    assert.ok(tw1 >= 2400, `the server's side is in TIME_WAIT (${tw1})`);
    const tw = t.metrics['sockets.tcp.timeWait'];
    assert.ok(tw >= tw1 && tw <= tw0, `sockets.tcp.timeWait ${tw}, ss ${tw0}..${tw1}`);
    assert.equal(t.metrics['sockets.tcp.listen'], 1);
    // a TIME_WAIT holds no fd: it is the server's, but not one of the sockets it holds open
    assert.equal(t.metrics['sockets.tcp.total'], 1, 'the listening socket alone is held open');
    assert.equal(finding(t, 'connection-storm'), undefined, 'each TIME_WAIT has a different client port: no storm');
    await s.stop();
  });
});

describe("proctriage's own connections", () => {
  const GROWTH = ['fd-growth', 'socket-growth'];

  function judgeWatch(label: string, w: any, baseline: Record<string, number>): void {
    show(label, w);
    const fd = w.trends?.['fd.open'];
    const tcp = w.trends?.['sockets.tcp.total'];
    console.log(`#   trends: fd.open ${JSON.stringify(fd)}, sockets.tcp.total ${JSON.stringify(tcp)}; ss before: ${JSON.stringify(baseline)}`);
    assert.ok(fd && !fd.significant, `precondition: fd.open is flat (${JSON.stringify(fd)})`);
    assert.deepEqual(
      w.findings.filter((f: any) => GROWTH.includes(f.id)).map((f: any) => `${f.id} ${f.severity}: ${f.summary}`),
      [],
      'no growth finding',
    );
    assert.ok(!tcp?.significant, `sockets.tcp.total has no trend of its own: ${JSON.stringify(tcp)}`);
    assert.equal(w.metrics['sockets.tcp.established'], baseline.ESTAB ?? 0, 'our own connection to the target is not counted');
  }

  const goSkip = goUnavailable();
  test('watch --pprof on an idle Go service, 1 s interval for 20 s', { skip: goSkip, timeout: 120_000 }, async () => {
    const svc = await startTarget(buildService(), [], { env: serviceEnv({ LEAK: '10', GOMAXPROCS: '2' }), timeoutMs: 20_000 });
    const baseline = ssOwned([svc.pid]).get(svc.pid)!.states;
    const { res, report } = await runJson(
      ['watch', String(svc.pid), '--pprof', `http://127.0.0.1:${svc.info.pprof}`, '--interval', '1s', '--duration', '20s'],
      { timeoutMs: 60_000 },
    );
    console.log(`# watch --pprof: exit ${res.code} in ${res.ms} ms`);
    judgeWatch('go service', report.targets[0], baseline);
    await svc.stop();
  });

  test('watch --inspect on an idle Node service, 1 s interval for 20 s', { timeout: 120_000 }, async () => {
    const svc = await startNode(process.execPath, ['--inspect=127.0.0.1:0', join(TARGETS, 'http-server.js')], {
      inspect: true,
      env: { PROCTRIAGE_SERVICE_WATCHDOG: 'stdin' },
    });
    const baseline = ssOwned([svc.pid]).get(svc.pid)!.states;
    const { res, report } = await runJson(['watch', String(svc.pid), '--inspect', String(svc.port), '--interval', '1s', '--duration', '20s'], {
      timeoutMs: 60_000,
    });
    console.log(`# watch --inspect: exit ${res.code} in ${res.ms} ms`);
    judgeWatch('node service', report.targets[0], baseline);
    await svc.stop();
  });
});

describe('CLOSE_WAIT: stuck versus closing', () => {
  test('positive control: 150 sockets that stay in CLOSE_WAIT are a critical close-wait-leak, with the count', { timeout: 60_000 }, async () => {
    const svc = await startService('close-wait', { args: ['--count', '150'] });
    const { res, report } = await runJson([String(svc.pid)]);
    const t = report.targets[0];
    show('stuck', t);
    const f = finding(t, 'close-wait-leak');
    assert.ok(f, `close-wait-leak raised: ${t.findings.map((x: any) => x.id)}`);
    assert.equal(f.severity, 'critical');
    assert.match(f.summary, /\b150\b/, 'the summary gives the persistent count');
    assert.equal(t.metrics['sockets.tcp.closeWait'], 150);
    assert.equal(res.code, 2);
    await svc.stop();
  });

  test('40 sockets at a time passing through CLOSE_WAIT for 150 ms each: no close-wait-leak', { timeout: 60_000 }, async () => {
    const server = await startNodeTarget('http-server', ['close']);
    const port = Number(server.info.port);
    const client = await startNodeTarget('transient-close-wait', [String(port), '40', '150', '60']);
    // ground truth from ss: many at once (once the client is up to speed), none twice 400 ms apart
    const first = await waitFor(
      () => {
        const s = closeWaitInodes([port]);
        return s.size >= 10 && s;
      },
      10_000,
      '10 sockets in CLOSE_WAIT at once',
    ).catch(() => closeWaitInodes([port]));
    await sleep(400); // the interval between the two looks is the measurement
    const second = closeWaitInodes([port]);
    const stayed = [...first].filter((i) => second.has(i)).length;
    console.log(`# ss: ${first.size} in CLOSE_WAIT, ${second.size} 400 ms later, ${stayed} of them the same sockets`);
    assert.ok(first.size >= 10, `the look-alike is there: ${first.size} in CLOSE_WAIT`);
    assert.equal(stayed, 0, 'none of them stays');
    const runs: string[] = [];
    let seen = 0;
    for (let i = 1; i <= 3; i++) {
      const { report } = await runJson([String(client.pid)]);
      const t = report.targets[0];
      show(`transient, run ${i}`, t);
      seen = Math.max(seen, t.evidence?.['sockets.closeWait']?.seen ?? 0);
      const f = finding(t, 'close-wait-leak');
      if (f) runs.push(`run ${i}: ${f.severity} ${f.summary}`);
    }
    assert.deepEqual(runs, [], 'sockets on their way to being closed are not a leak');
    assert.ok(seen >= 1, 'proctriage itself saw sockets in CLOSE_WAIT on its first look, and let them go on the second');
    await Promise.all([client.stop(), server.stop()]);
  });
});

describe('listen backlog', () => {
  // a listener that never accepts: the connections wait in its accept queue, which ss sizes
  const NOT_ACCEPTING = `
import json, socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(7)
port = s.getsockname()[1]
clients = [socket.create_connection(('127.0.0.1', port)) for _ in range(3)]
print(json.dumps({'ready': True, 'port': port}), flush=True)
time.sleep(120)
`;

  test(
    'a full-ish accept queue shows its backlog from ss; an idle listener is not asked about (no child process for a healthy server)',
    { timeout: 60_000 },
    async () => {
      const stuck = await startTarget('python3', ['-c', NOT_ACCEPTING]);
      const idle = await startNodeTarget('http-server');
      const [{ report: a }, { report: b }] = [await runJson([String(stuck.pid)]), await runJson([String(idle.pid)])];
      const queuedListen = a.targets[0].evidence['sockets.listen'];
      const idleListen = b.targets[0].evidence['sockets.listen'];
      console.log(`# not accepting: ${JSON.stringify(queuedListen)}; idle: ${JSON.stringify(idleListen)}`);
      assert.deepEqual(queuedListen, [{ endpoint: `127.0.0.1:${stuck.info.port}`, queued: 3, backlog: 7 }]);
      assert.equal(a.targets[0].metrics['sockets.listenQueued'], 3);
      assert.equal(idleListen.length, 1);
      assert.equal(idleListen[0].queued, 0);
      assert.ok(!('backlog' in idleListen[0]), 'no backlog asked for an empty queue');
      await Promise.all([stuck.stop(), idle.stop()]);
    },
  );
});
