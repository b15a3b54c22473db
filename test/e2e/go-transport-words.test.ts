/**
 * What a --pprof endpoint that cannot be read looks like to an on-call: one line in words, with
 * the code in brackets, for the failures met in practice — https given to a plain HTTP port and
 * the reverse, 404, 500, nothing listening, an endpoint that never answers. Real servers on
 * 127.0.0.1 started by the test (the TLS one with a certificate made by openssl).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, runCli, runJson, startTarget, type Target } from '../helpers/processes.js';
import { testCertificate } from '../helpers/servers.js';
import { closeLocalServers, listenLocal } from '../helpers/local-servers.js';

let sleeper: Target;
const tmp = mkdtempSync(join(tmpdir(), 'proctriage-words-tls-'));

const listen = async (server: net.Server): Promise<number> => (await listenLocal(server)).port;

before(async () => {
  sleeper = await startTarget('/bin/sh', ['-c', 'echo \'{"ready":true}\'; exec sleep 120']);
});
after(async () => {
  await closeLocalServers();
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

/** The go probe's unknowns, and the report as text: each reason must be one line of it. */
async function reasons(url: string, extra: string[] = []): Promise<{ reasons: string[]; text: string; ms: number }> {
  const { res, report } = await runJson([String(sleeper.pid), '--trust-peer', '--pprof', url, ...extra]);
  const t = report.targets[0];
  assert.equal('go.goroutines' in t.metrics, false);
  const found = t.unknowns.filter((u: any) => u.probe === 'go' || String(u.metric).startsWith('go.')).map((u: any) => u.reason as string);
  for (const r of found) {
    assert.doesNotMatch(r, /\n/, 'one line');
    assert.doesNotMatch(r, /SSL routines|openssl|\.c:\d+|socket hang up/, `no library internals: ${r}`);
  }
  const text = await runCli([String(sleeper.pid), '--trust-peer', '--pprof', url, ...extra]);
  for (const r of found)
    assert.ok(
      text.stdout.split('\n').some((l) => l.includes(r)),
      `"${r}" on one line of:\n${text.stdout}`,
    );
  assert.doesNotMatch(text.stderr, /\n.+\n/, 'stderr: at most one line');
  return { reasons: found, text: text.stdout, ms: res.ms };
}

test('https:// given to a plain HTTP port: TLS handshake failed (ERR_SSL_WRONG_VERSION_NUMBER), said once', async () => {
  const port = await listen(
    http.createServer((_req, res) => {
      res.writeHead(404);
      res.end('404 page not found\n');
    }),
  );
  const { reasons: r } = await reasons(`https://127.0.0.1:${port}`);
  assert.deepEqual(r, [
    'TLS handshake failed (ERR_SSL_WRONG_VERSION_NUMBER): the port speaks plain HTTP? (give an http:// URL): goroutines, heap and GC figures unknown',
  ]);
});

test('http:// given to a TLS port: closed before any answer (ECONNRESET), the port speaks https?', async (t) => {
  const tls = testCertificate(tmp, 'proctriage test');
  if (!tls) return t.skip('openssl is not installed (it makes the test certificate)');
  const port = await listen(https.createServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.end('x')));
  const { reasons: r } = await reasons(`http://127.0.0.1:${port}`);
  assert.deepEqual(r, [
    'the connection was closed before any answer (ECONNRESET): the port speaks https? (give an https:// URL): goroutines, heap and GC figures unknown',
  ]);
});

test('HTTP 404 and HTTP 500: the status and the path asked', async () => {
  const notFound = await listen(
    http.createServer((_req, res) => {
      res.writeHead(404);
      res.end('404 page not found\n');
    }),
  );
  const nf = await reasons(`http://127.0.0.1:${notFound}`);
  assert.equal(nf.reasons[0], 'the endpoint answered HTTP 404 for /debug/pprof/goroutine: no such profile there (is net/http/pprof registered on this mux?)');
  assert.match(nf.reasons[1] ?? '', /^the endpoint answered HTTP 404 for \/debug\/pprof\/heap: .*; the endpoint answered HTTP 404 for \/debug\/vars: /);

  const broken = await listen(
    http.createServer((_req, res) => {
      res.writeHead(500);
      res.end('internal error\n');
    }),
  );
  const five = await reasons(`http://127.0.0.1:${broken}`);
  assert.deepEqual(five.reasons, [
    'the endpoint answered HTTP 500 for /debug/pprof/goroutine',
    'the endpoint answered HTTP 500 for /debug/pprof/heap; the endpoint answered HTTP 500 for /debug/vars',
  ]);
});

test('nothing listens: connection refused (ECONNREFUSED), said once', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const { reasons: r } = await reasons(`http://127.0.0.1:${port}`);
  assert.deepEqual(r, [`connection refused: nothing listens on 127.0.0.1:${port} (ECONNREFUSED): goroutines, heap and GC figures unknown`]);
});

test('an endpoint that accepts and never answers: "did not answer /debug/pprof/goroutine within 3000 ms"', async () => {
  const port = await listen(
    http.createServer(() => {
      /* hang */
    }),
  );
  const { reasons: r } = await reasons(`http://127.0.0.1:${port}`);
  assert.equal(r[0], 'the endpoint accepted the connection but did not answer /debug/pprof/goroutine within 3000 ms');
  assert.match(r[1] ?? '', /^the endpoint accepted the connection but did not answer \/debug\/pprof\/heap within 3000 ms; .* \/debug\/vars within 1500 ms$/);
});
