/**
 * The monitoring exports against the real components: Debian's node_exporter (run as its own
 * user where it exists) scrapes the textfile proctriage writes for a real CLOSE_WAIT leak;
 * promtool checks the exposition of a one-shot diagnosis and of top; the Nagios output of an OK,
 * a WARNING, a CRITICAL and an UNKNOWN target follows the plugin grammar with the right exit code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cleanup, runCli, spawnTracked, startService, unusedPid, waitFor, which } from '../helpers/processes.js';
import type { RunningService } from '../../src/demo/launch.js';

const tmp = mkdtempSync('/tmp/proctriage-export-');
after(async () => {
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

let critical: RunningService, warning: RunningService, healthy: RunningService;
before(async () => {
  critical = await startService('close-wait'); // 150 stuck sockets: critical
  warning = await startService('close-wait', { args: ['--count', '30'] }); // warning (10), below critical (100)
  healthy = await startService('healthy');
});

/** A port free on loopback a moment ago. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The uid/gid of a system user, if it exists. */
function user(name: string): { uid: number; gid: number } | undefined {
  const [u, g] = ['-u', '-g'].map((f) => spawnSync('id', [f, name], { encoding: 'utf8' }));
  return u?.status === 0 && g?.status === 0 ? { uid: Number(u.stdout), gid: Number(g.stdout) } : undefined;
}

describe('--textfile for node_exporter', () => {
  const exporter = which('prometheus-node-exporter') ?? which('node_exporter');

  test(
    'node_exporter serves proctriage_finding for a real CLOSE_WAIT leak',
    { skip: !exporter && 'prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter)' },
    async () => {
      const dir = mkdtempSync(join(tmp, 'textfile-'));
      for (const d of [tmp, dir]) chmodSync(d, 0o755); // node_exporter's own user must reach the file
      const res = await runCli([String(critical.pid), '--textfile', dir]);
      assert.equal(res.code, 2, res.stderr);
      assert.equal(res.stdout, '', 'nothing on stdout without a --format');
      // only the final file: the temp file was renamed, none is left
      assert.deepEqual(readdirSync(dir), ['proctriage.prom']);
      assert.equal(statSync(join(dir, 'proctriage.prom')).mode & 0o777, 0o644);
      // a second run replaces it (the point of a textfile), still atomically
      const again = await runCli([String(critical.pid), '--textfile', dir]);
      assert.equal(again.code, 2, again.stderr);
      assert.deepEqual(readdirSync(dir), ['proctriage.prom']);

      const as = user('prometheus');
      const port = await freePort();
      const ne = spawnTracked(
        exporter!,
        [`--web.listen-address=127.0.0.1:${port}`, '--collector.disable-defaults', '--collector.textfile', `--collector.textfile.directory=${dir}`],
        as ?? {},
      );
      try {
        let last = '';
        const body = await waitFor(
          async () => {
            if (!ne.alive()) throw new Error(`node_exporter exited: ${last}`);
            try {
              const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
              last = await r.text();
              return r.ok && last.includes('proctriage_') ? last : undefined;
            } catch {
              return undefined; // not listening yet
            }
          },
          15_000,
          () => `node_exporter on 127.0.0.1:${port} serving proctriage_ metrics (last: ${last.slice(0, 300)})`,
          100,
        );
        const finding = body.split('\n').find((l) => l.startsWith('proctriage_finding{') && l.includes('id="close-wait-leak"'));
        assert.ok(finding, body);
        assert.match(finding, new RegExp(`pid="${critical.pid}"`));
        assert.match(finding, /severity="critical"/);
        assert.match(finding, /\} 1$/);
        assert.match(body, new RegExp(`^proctriage_sockets_tcp_close_wait\\{[^}]*pid="${critical.pid}"[^}]*\\} 150$`, 'm'));
        assert.match(body, new RegExp(`^proctriage_status\\{[^}]*pid="${critical.pid}"[^}]*\\} 2$`, 'm'));
        assert.match(body, /^node_textfile_scrape_error 0$/m, 'node_exporter read the file without an error');
      } finally {
        await ne.stop();
      }
    },
  );

  test('a --textfile directory that does not exist is a one-line error before any work', async () => {
    const res = await runCli([String(healthy.pid), '--textfile', join(tmp, 'missing')]);
    assert.equal(res.code, 3);
    assert.match(res.stderr, /^proctriage: --textfile .*missing: no such directory\n$/);
    assert.equal(res.stdout, '');
  });
});

describe('promtool check metrics', () => {
  const promtool = which('promtool');
  const check = (text: string) => spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });

  test('accepts a one-shot diagnosis of several processes', { skip: !promtool && 'promtool is not installed (apt-get install prometheus)' }, async () => {
    const res = await runCli([String(critical.pid), String(healthy.pid), '--format', 'prometheus']);
    assert.equal(res.code, 2, res.stderr);
    const r = check(res.stdout);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}\n${res.stdout}`);
    assert.match(res.stdout, /^# TYPE proctriage_fd_open gauge$/m);
    assert.match(res.stdout, /^proctriage_fd_by_type\{pid="\d+",comm="[^"]*",type="socket"\} \d+$/m, 'a family is one metric with a label');
    assert.match(res.stdout, /^proctriage_run_duration_seconds \d/m);
    assert.doesNotMatch(res.stdout, /\} \S+ \d+$/m, 'no client timestamps');
  });

  test(
    'accepts top, which exports its top N plus every process with a problem',
    { skip: !promtool && 'promtool is not installed (apt-get install prometheus)' },
    async () => {
      const res = await runCli(['top', '--limit', '1', '--format', 'prometheus'], { timeoutMs: 90_000 });
      assert.ok(res.code !== null && res.code >= 1, res.stderr); // our two leaks at least
      const r = check(res.stdout);
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      const statuses = [...res.stdout.matchAll(/^proctriage_status\{pid="(\d+)"[^}]*\} (\d)$/gm)].map((m) => ({ pid: Number(m[1]), status: Number(m[2]) }));
      for (const s of [critical, warning])
        assert.ok(
          statuses.some((x) => x.pid === s.pid),
          `pid ${s.pid} exported`,
        );
      assert.ok(!statuses.some((x) => x.pid === healthy.pid), 'a healthy process beyond --limit is not exported');
      // beyond the one riskiest, only processes with a warning or critical finding
      assert.ok(statuses.filter((x) => x.status !== 1 && x.status !== 2).length <= 1, res.stdout);
    },
  );
});

describe('--format nagios', () => {
  const FIRST = /^(OK|WARNING|CRITICAL|UNKNOWN) - \S/;
  const PERF = /^'?[^=']+'?=[-0-9.]+[a-zA-Z%]*(;[-0-9.]*){0,4}$/;

  /** The plugin's output split as the guidelines define it: status line, perfdata, long text. */
  function parse(out: string): { status: string; perf: string[]; long: string[] } {
    const [first = '', ...long] = out.replace(/\n$/, '').split('\n');
    assert.match(first, FIRST, out);
    const [text = '', perf = '', ...rest] = first.split('|');
    assert.equal(rest.length, 0, 'one | on the status line');
    assert.ok(text.length > 10, first);
    for (const l of long) assert.ok(!l.includes('|'), `long text has no |: ${l}`);
    const tokens = perf.trim() ? perf.trim().split(/\s+/) : [];
    for (const t of tokens) assert.match(t, PERF);
    return { status: first.split(' ')[0] ?? '', perf: tokens, long };
  }

  for (const [name, svc, status, code] of [
    ['an OK', () => healthy, 'OK', 0],
    ['a WARNING', () => warning, 'WARNING', 1],
    ['a CRITICAL', () => critical, 'CRITICAL', 2],
  ] as const) {
    test(`${name} target: status line, perfdata, exit ${code}`, async () => {
      const pid = svc().pid;
      const res = await runCli([String(pid), '--format', 'nagios']);
      assert.equal(res.code, code, res.stderr);
      const out = parse(res.stdout);
      assert.equal(out.status, status);
      // thresholds from the playbook: close-wait-leak warns at 10 and is critical at 100
      const cw = out.perf.find((t) => t.startsWith('sockets_tcp_close_wait='));
      assert.match(cw ?? '', /^sockets_tcp_close_wait=\d+;10;100;0$/, res.stdout);
      assert.ok(
        out.perf.some((t) => /^fd_open=\d+;\d+;\d+;0;\d+$/.test(t)),
        res.stdout,
      );
      if (status !== 'OK') {
        assert.match(res.stdout, /^(WARNING|CRITICAL) - close-wait-leak: \d+ sockets in CLOSE_WAIT/);
        assert.ok(
          out.long.some((l) => l.startsWith(`pid ${pid} `) && l.includes(`${status.toLowerCase()} close-wait-leak:`)),
          res.stdout,
        );
      } else {
        assert.match(res.stdout, /^OK - no problems found in pid \d+/);
      }
    });
  }

  test('an UNKNOWN target: the reason on the status line, exit 3', async () => {
    const pid = unusedPid();
    const res = await runCli([String(pid), '--format', 'nagios']);
    assert.equal(res.code, 3, res.stderr);
    const out = parse(res.stdout);
    assert.equal(out.status, 'UNKNOWN');
    assert.match(res.stdout, new RegExp(`^UNKNOWN - pid ${pid}: no such process`));
  });

  test('several targets: the worst first, each in the long text, perfdata labels by pid', async () => {
    const res = await runCli([String(healthy.pid), String(critical.pid), '--format', 'nagios']);
    assert.equal(res.code, 2, res.stderr);
    const out = parse(res.stdout);
    assert.equal(out.status, 'CRITICAL');
    assert.match(res.stdout, new RegExp(`^CRITICAL - pid ${critical.pid} \\(`));
    for (const s of [healthy, critical]) {
      assert.ok(
        out.long.some((l) => l.startsWith(`pid ${s.pid} `)),
        res.stdout,
      );
      assert.ok(
        out.perf.some((t) => t.startsWith(`pid${s.pid}_fd_open=`)),
        res.stdout,
      );
    }
  });
});
