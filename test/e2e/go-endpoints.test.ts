/**
 * The go probe end to end against endpoints that misbehave (fake servers on 127.0.0.1) and
 * targets without one: a Go service without pprof, a process that is not Go, a --pprof URL
 * that is not loopback. The CLI must stay within its deadlines and say what it could not read.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { cleanup, runCli, runJson, startTarget, type Target } from '../helpers/processes.js';
import { buildService, goUnavailable, serviceEnv } from '../fixtures/go-service/service.js';
import { testCertificate } from '../helpers/servers.js';
import { closeLocalServers, listenLocal } from '../helpers/local-servers.js';

const D1 = readFileSync(fileURLToPath(new URL('../../../test/fixtures/pprof/go1.19/goroutine-debug1.txt', import.meta.url)), 'utf8');
const goSkip = goUnavailable();
if (goSkip) console.log(`# go tests skipped: ${goSkip}`);

let sleeper: Target;

async function serve(handler: http.RequestListener, host = '127.0.0.1'): Promise<{ url: string; connections: () => number }> {
  const { port, connections } = await listenLocal(http.createServer(handler), { host });
  return { url: `http://${host}:${port}`, connections };
}

before(async () => {
  // a target that is not Go (runtime unknown), and endpoints served by this test process, not by
  // the target: --trust-peer says they are to be used anyway (as for a port forward)
  sleeper = await startTarget('/bin/sh', ['-c', 'echo \'{"ready":true}\'; exec sleep 120']);
});
after(async () => {
  await closeLocalServers();
  await cleanup();
});

const goProbe = (t: any) => t.probes.find((p: any) => p.id === 'go');

test('an endpoint that accepts and never answers: the run ends on time, goroutines unknown', async () => {
  const { url } = await serve(() => {
    /* hang */
  });
  const { res, report } = await runJson([String(sleeper.pid), '--trust-peer', '--pprof', url, '--timeout', '2s']);
  assert.ok(res.ms < 6000, `took ${res.ms} ms`);
  const t = report.targets[0];
  assert.equal('go.goroutines' in t.metrics, false);
  const p = goProbe(t);
  assert.ok(p.status === 'error' || p.status === 'partial', p.status);
  const text = JSON.stringify([p, t.unknowns]);
  assert.match(text, /within \d+ ms|deadline/);
});

test('an endpoint that answers HTML (a login page): clear unknown, no crash', async () => {
  const { url } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>Sign in</body></html>');
  });
  const { res, report } = await runJson([String(sleeper.pid), '--trust-peer', '--pprof', url]);
  assert.notEqual(res.code, null);
  const t = report.targets[0];
  assert.equal('go.goroutines' in t.metrics, false);
  assert.ok(
    t.unknowns.some((u: any) => u.metric === 'go.goroutines' && /HTML page/.test(u.reason)),
    JSON.stringify(t.unknowns),
  );
  assert.equal(goProbe(t).status, 'partial');
});

test('a dump cut mid-way: the count from its first line, the stacks read so far, a partial probe', async () => {
  const cut = D1.slice(0, D1.indexOf('main.lockedUpdate') + 5);
  const { url } = await serve((req, res) => {
    if (!req.url?.startsWith('/debug/pprof/goroutine')) {
      res.writeHead(404);
      res.end('404 page not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(D1.length) });
    res.write(cut, () => setTimeout(() => res.socket?.destroy(), 10));
  });
  const { report } = await runJson([String(sleeper.pid), '--trust-peer', '--pprof', url]);
  const t = report.targets[0];
  assert.equal(t.metrics['go.goroutines'], 12012);
  assert.equal(t.evidence['go.topStacks'][0].function, 'main.pollUpstream');
  assert.equal(t.findings.find((f: any) => f.id === 'goroutine-explosion')?.severity, 'warning');
  const p = goProbe(t);
  assert.equal(p.status, 'partial');
  assert.match(p.error, /incomplete|truncated/);
  assert.match(p.error, /heap and GC figures unknown/);
});

test('a non-loopback --pprof is a usage error before any connection (inside an empty network namespace)', async (t) => {
  // Even a broken check could not send a packet: the CLI runs in a network namespace of its own
  // with nothing but a down loopback. The address is TEST-NET (192.0.2.0/24). Reaching a remote
  // endpoint with --allow-remote is tested in the transport's unit tests, also in a namespace.
  if (spawnSync('unshare', ['-n', 'true']).status !== 0) {
    t.skip('cannot create a network namespace here (unshare -n needs CAP_SYS_ADMIN)');
    return;
  }
  const res = await runCli([String(sleeper.pid), '--pprof', 'http://192.0.2.1:6060', '--json'], { prefix: ['unshare', '-n'] });
  assert.equal(res.code, 3, res.stderr);
  assert.equal(res.stdout, '', 'no report: the arguments were refused');
  assert.match(res.stderr, /^proctriage: --pprof http:\/\/192\.0\.2\.1:6060 is not a loopback address: refused \(nothing was sent\).*--allow-remote/);
  assert.equal(res.stderr.trim().split('\n').length, 1, 'one line');
});

test('a process that is not Go: the go probe is skipped with a reason, nothing is sent', async () => {
  const { report } = await runJson([String(sleeper.pid)]);
  const p = goProbe(report.targets[0]);
  assert.equal(p.status, 'skipped');
  assert.match(p.error, /not a Go process/);
  const node = await runJson([String(process.pid), '--pprof', 'http://127.0.0.1:9']);
  assert.match(goProbe(node.report.targets[0]).error, /runtime node/);
});

test('a Go process without a pprof endpoint: runtime go, and the hint to add one', { skip: goSkip }, async () => {
  const svc = await startTarget(buildService(), ['nopprof'], { env: serviceEnv({ LEAK: '50', NOPPROF: '1' }), timeoutMs: 20_000 });
  const { res, report } = await runJson([String(svc.pid)]);
  const t = report.targets[0];
  assert.equal(t.runtime, 'go', 'from the build info: no GO* variable is set');
  assert.equal('go.goroutines' in t.metrics, false);
  const u = t.unknowns.find((x: any) => x.probe === 'go');
  assert.equal(u.hint, 'Go process, no pprof endpoint: import net/http/pprof and listen on localhost, then --pprof URL');
  assert.match(u.reason, new RegExp(`port ${svc.info.app}`));
  assert.ok(
    t.actions.some((a: string) => a.includes(`port ${svc.info.app}`)),
    'the one GET it sent is reported',
  );
  assert.notEqual(res.code, 3);
});

test('a watch finds the endpoint once: the app listener gets one GET /debug/pprof/, not one per sample', { skip: goSkip }, async () => {
  const svc = await startTarget(buildService(), [], { env: serviceEnv({ LEAK: '0' }), timeoutMs: 20_000 });
  const res = await runCli(['watch', String(svc.pid), '--interval', '300ms', '--duration', '2s', '--json'], { timeoutMs: 30_000 });
  const t = JSON.parse(res.stdout).targets[0];
  assert.ok(t.metrics['go.goroutines'] > 0, 'the endpoint was read at every sample');
  const appRequests = await (await fetch(`http://127.0.0.1:${svc.info.app}/requests`)).text();
  assert.equal(appRequests.trim(), '1', "asked once, then remembered while it stays one of the process's own listeners");
  const asked = t.actions.filter((a: string) => a.startsWith('asked GET /debug/pprof/'));
  assert.equal(asked.length, 1, String(t.actions));
  assert.doesNotMatch(asked[0], /times\)/, 'once, not once per sample');
  await svc.stop();
});

test('GO* variables on a program that is not Go: its listeners are not probed', async () => {
  // perl listening on loopback, with GOGC inherited from its environment
  const script =
    '$|=1; my $s=IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>0,Listen=>5) or die; ' +
    'print "{\\"ready\\":true,\\"port\\":".$s->sockport."}\\n"; while (my $c=$s->accept) { print STDERR "connection\\n"; close $c }';
  const perl = await startTarget('perl', ['-MIO::Socket::INET', '-e', script], { env: { ...process.env, GOGC: '200' } });
  const { report } = await runJson([String(perl.pid)]);
  const t = report.targets[0];
  assert.equal(t.runtime, 'go', 'the runtime probe goes by the variables');
  const u = t.unknowns.find((x: any) => x.probe === 'go');
  assert.match(u.reason, /no Go build info/);
  assert.equal(t.actions, undefined, 'nothing was sent to it');
  assert.equal(t.metrics['go.gogcEnv'], 200);
});

test('--pprof over https with a private CA named in NODE_EXTRA_CA_CERTS: trusted, though Node never loaded it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proctriage-tls-'));
  try {
    const tls = testCertificate(dir, 'proctriage test CA');
    if (!tls) return t.skip('openssl is not installed (it makes the test certificate)');
    const cert = tls.certFile;
    const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      if (!req.url?.startsWith('/debug/pprof/goroutine')) {
        res.writeHead(404);
        res.end('404 page not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(D1);
    });
    const url = `https://127.0.0.1:${(await listenLocal(server, { event: 'secureConnection' })).port}`;

    // as an installed command runs: the sh line hands the variable over, the pprof client adds the file
    const trusted = await runJson([String(sleeper.pid), '--trust-peer', '--pprof', url], { direct: true, env: { NODE_EXTRA_CA_CERTS: cert } });
    assert.equal(trusted.report.targets[0].metrics['go.goroutines'], 12012, JSON.stringify(goProbe(trusted.report.targets[0])));

    // without it (or with this machine's own setting, which cannot know a certificate made just now)
    // the certificate is refused, and said so
    const untrusted = await runJson([String(sleeper.pid), '--trust-peer', '--pprof', url], { direct: true });
    const u = untrusted.report.targets[0];
    assert.equal('go.goroutines' in u.metrics, false);
    assert.match(JSON.stringify(u.unknowns), /certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\): name its CA file in NODE_EXTRA_CA_CERTS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
