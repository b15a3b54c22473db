/**
 * The pprof HTTP client against fake endpoints on 127.0.0.1: one that hangs, one that drips,
 * one that answers HTML, one that cuts its body, one that streams a huge dump. Every server
 * is closed (and its sockets destroyed) after each test.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { closeLocalServers, listenLocal } from '../helpers/local-servers.js';
import {
  LineSplitter,
  checkPprofUrl,
  displayUrl,
  endpointUrl,
  getLines,
  getText,
  isLoopbackHost,
  notPprofText,
  parsePprofUrl,
  streamGet,
} from '../../src/transports/pprof.js';
import { GoroutineProfileReader, MAX_GROUPS } from '../../src/go/goroutines.js';
import { sameCmdline } from '../../src/go/discover.js';
import { connectHost } from '../../src/transports/loopback.js';
import { rowServes } from '../../src/engine/peer-owner.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
async function serve(handler: Handler, host = '127.0.0.1'): Promise<{ url: URL; connections: () => number }> {
  const { port, connections } = await listenLocal(http.createServer(handler), { host });
  return { url: new URL(`http://${host.includes(':') ? `[${host}]` : host}:${port}`), connections };
}

afterEach(closeLocalServers);

const opts = { timeoutMs: 2000, maxBytes: 1 << 20 };

test('--pprof argument forms', () => {
  assert.equal(parsePprofUrl('http://127.0.0.1:6060').href, 'http://127.0.0.1:6060/');
  assert.equal(parsePprofUrl('127.0.0.1:6060').href, 'http://127.0.0.1:6060/');
  assert.equal(parsePprofUrl('6060').href, 'http://127.0.0.1:6060/');
  assert.equal(parsePprofUrl('http://localhost:6060/debug/pprof/').href, 'http://localhost:6060/');
  assert.equal(parsePprofUrl('http://localhost:6060/debug/pprof/goroutine?debug=2').href, 'http://localhost:6060/');
  assert.equal(parsePprofUrl('http://[::1]:6060/admin/debug/pprof').href, 'http://[::1]:6060/admin');
  assert.throws(() => parsePprofUrl(''), /needs a URL/);
  assert.throws(() => parsePprofUrl('ftp://127.0.0.1/'), /only http and https/);
  assert.throws(() => parsePprofUrl('http://'), /not a URL/);
  assert.throws(() => parsePprofUrl('99999'), /not a (port|URL)/);
  assert.equal(displayUrl(new URL('http://user:secret@127.0.0.1:6060/')), 'http://127.0.0.1:6060');
  assert.equal(
    endpointUrl(new URL('http://127.0.0.1:1/admin'), '/debug/pprof/goroutine?debug=1').href,
    'http://127.0.0.1:1/admin/debug/pprof/goroutine?debug=1',
  );
  assert.equal(endpointUrl(new URL('http://127.0.0.1:1/'), '/debug/vars').href, 'http://127.0.0.1:1/debug/vars');
});

test('loopback addresses', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['10.0.0.1', '0.0.0.0', '::', '[::ffff:10.0.0.1]', 'example.com', '127.0.0.1.nip.io', 'localhost.evil.com']) assert.ok(!isLoopbackHost(h), h);
  assert.throws(
    () => checkPprofUrl(new URL('http://10.0.0.1:6060'), false),
    (e: any) => e.code === 'REFUSED' && /--allow-remote/.test(e.hint),
  );
  assert.throws(() => checkPprofUrl(new URL('http://db.internal:6060'), undefined), /not a loopback address/);
  checkPprofUrl(new URL('http://10.0.0.1:6060'), true);
  assert.equal(connectHost('0.0.0.0'), '127.0.0.1');
  assert.equal(connectHost('::'), '::1');
  assert.equal(connectHost('127.0.0.5'), '127.0.0.5');
  assert.equal(connectHost('10.1.1.1'), undefined);
});

test("a URL is the target's own when it listens on that port (there or on a wildcard)", () => {
  const row = (ip: string, port: number, state: 'listen' | 'established' = 'listen') => ({
    local: { ip, port },
    remote: { ip: '0.0.0.0', port: 0 },
    state,
    txQueue: 0,
    rxQueue: 0,
    uid: 0,
    inode: 1,
  });
  assert.ok(rowServes(row('127.0.0.1', 6060), '127.0.0.1', 6060));
  assert.ok(rowServes(row('0.0.0.0', 6060), '127.0.0.1', 6060));
  assert.ok(rowServes(row('::', 6060), '::1', 6060));
  assert.ok(rowServes(row('::', 6060), '127.0.0.1', 6060), 'a dual-stack wildcard takes IPv4 too');
  assert.ok(rowServes(row('127.0.0.1', 6060), '::ffff:127.0.0.1', 6060));
  assert.ok(!rowServes(row('0.0.0.0', 6060), '::1', 6060));
  assert.ok(!rowServes(row('127.0.0.1', 6060), '127.0.0.1', 6061));
  assert.ok(!rowServes(row('127.0.0.2', 6060), '127.0.0.1', 6060));
  assert.ok(!rowServes(row('127.0.0.1', 6060, 'established'), '127.0.0.1', 6060));
  assert.ok(sameCmdline('./svc\x00-port\x006060', ['./svc', '-port', '6060']));
  assert.ok(!sameCmdline('./other', ['./svc']));
});

test('a non-loopback address is refused before any connection; --allow-remote lets it through', async (t) => {
  // Everything runs in a network namespace made for this test: its own lo carries a TEST-NET
  // address (192.0.2.1), so no packet can leave the namespace even if the check were broken.
  const { spawnSync } = await import('node:child_process');
  const probe = spawnSync('unshare', ['-n', 'true']);
  if (probe.status !== 0) {
    t.skip('cannot create a network namespace here (unshare -n needs CAP_SYS_ADMIN)');
    return;
  }
  const transport = new URL('../../src/transports/pprof.js', import.meta.url).href;
  const script = `
    const http = await import('node:http');
    const { getText, streamGet, endpointUrl } = await import(${JSON.stringify(transport)});
    let connections = 0;
    const server = http.createServer((q, r) => r.end('goroutine profile: total 1\\n'));
    server.on('connection', () => connections++);
    await new Promise((r) => server.listen(0, '192.0.2.1', r));
    const url = new URL('http://192.0.2.1:' + server.address().port);
    const opts = { timeoutMs: 2000, maxBytes: 1 << 20 };
    const out = {};
    try { await streamGet(endpointUrl(url, '/debug/pprof/goroutine?debug=1'), opts, () => {}); } catch (e) { out.streamRefused = e.code; }
    try { await getText(url, { ...opts, allowRemote: false }); } catch (e) { out.getRefused = e.message; }
    await new Promise((r) => setTimeout(r, 50)); // the interval is the check: a connection would have arrived by now
    out.before = connections;
    out.allowed = (await getText(url, { ...opts, allowRemote: true })).status;
    out.after = connections;
    server.close();
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(
    'unshare',
    ['-n', 'sh', '-c', 'ip link set lo up && ip addr add 192.0.2.1/32 dev lo && exec "$0" --input-type=module -e "$1"', process.execPath, script],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (r.status !== 0 && /ip: not found|No such file/.test(r.stderr)) {
    t.skip('iproute2 (ip) is not installed');
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.streamRefused, 'REFUSED');
  assert.match(out.getRefused, /not a loopback address/);
  assert.equal(out.before, 0, 'nothing reached the non-loopback server');
  assert.equal(out.allowed, 200);
  assert.equal(out.after, 1);
});

test('"localhost" resolves to loopback only and works', async () => {
  const { url } = await serve((_req, res) => res.end('hi\n'));
  const r = await getText(new URL(`http://localhost:${url.port}/`), opts);
  assert.equal(r.text, 'hi\n');
});

test('a peer that accepts and never answers: the deadline holds', async () => {
  const { url } = await serve(() => {
    /* never answers */
  });
  const t0 = performance.now();
  await assert.rejects(getText(url, { ...opts, timeoutMs: 200 }), (e: any) => e.code === 'TIMEOUT' && /within 200 ms/.test(e.message));
  assert.ok(performance.now() - t0 < 1500);
});

test("the caller's abort signal ends a hung request", async () => {
  const { url } = await serve(() => {});
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const t0 = performance.now();
  await assert.rejects(getText(url, { ...opts, timeoutMs: 10_000, signal: ac.signal }), (e: any) => e.code === 'TIMEOUT' && /deadline/.test(e.message));
  assert.ok(performance.now() - t0 < 1500);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(getText(url, { ...opts, signal: aborted.signal }), /deadline/);
});

test('a body that drips forever is cut at the deadline with what was read', async () => {
  const { url } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('goroutine profile: total 5\n5 @ 0x1\n#\t0x1\tmain.stuck+0x1\t/x.go:1\n\n');
    const t = setInterval(() => res.write('\n'), 20);
    res.on('close', () => clearInterval(t));
  });
  const reader = new GoroutineProfileReader();
  const r = await getLines(url, { ...opts, timeoutMs: 300 }, (l) => reader.push(l));
  assert.equal(r.complete, false);
  assert.match(r.incomplete ?? '', /did not finish within 300 ms/);
  const p = reader.end(r.complete, r.incomplete);
  assert.equal(p.total, 5);
  assert.equal(p.groups[0]!.function, 'main.stuck');
  assert.match(p.problem ?? '', /incomplete/);
});

test('a truncated body (connection closed mid-dump) keeps the total and what came before', async () => {
  const body = 'goroutine profile: total 900\n800 @ 0x1\n#\t0x1\tmain.pollUpstream+0x1\t/x.go:1\n\n100 @ 0x2\n#\t0x2\tmain.wor';
  const { url } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length + 500) });
    res.write(body, () => setTimeout(() => res.socket?.destroy(), 20));
  });
  const reader = new GoroutineProfileReader();
  const r = await getLines(url, opts, (l) => reader.push(l));
  assert.equal(r.complete, false);
  assert.match(r.incomplete ?? '', /closed before the end/);
  const p = reader.end(r.complete, r.incomplete);
  assert.equal(p.total, 900);
  assert.equal(p.groups[0]!.function, 'main.pollUpstream');
  assert.ok(!p.groups.some((g) => g.function.startsWith('main.wor')), 'the cut fragment is not read as a function');
  assert.match(p.problem ?? '', /incomplete: the connection closed/);
});

test('an HTML page or an error status is not a profile', async () => {
  const { url } = await serve((req, res) => {
    if (req.url?.startsWith('/missing')) {
      res.writeHead(404);
      res.end('404 page not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>login</body></html>\n');
  });
  let first: string | undefined;
  const r = await getLines(endpointUrl(url, '/debug/pprof/goroutine?debug=1'), opts, (l) => {
    first ??= l;
  });
  assert.match(notPprofText(r, '/debug/pprof/goroutine', first) ?? '', /answered \/debug\/pprof\/goroutine with an HTML page/);
  const r404 = await getText(endpointUrl(url, '/missing'), opts);
  assert.match(notPprofText(r404, '/missing') ?? '', /^the endpoint answered HTTP 404 for \/missing: /);
  assert.match(notPprofText({ status: 200, contentType: 'text/plain', bytes: 1, capped: false, complete: true }, '/x', '<!doctype html>') ?? '', /HTML/);
  assert.equal(
    notPprofText({ status: 200, contentType: 'text/plain', bytes: 1, capped: false, complete: true }, '/x', 'goroutine profile: total 1'),
    undefined,
  );
});

test('connection refused is a clear error', async () => {
  const { url } = await serve(() => {});
  const port = url.port;
  await closeLocalServers();
  await assert.rejects(
    getText(new URL(`http://127.0.0.1:${port}/`), opts),
    (e: any) => e.code === 'TARGET_UNREACHABLE' && e.message === `connection refused: nothing listens on 127.0.0.1:${port} (ECONNREFUSED)`,
  );
});

test('the byte cap stops reading', async () => {
  const { url } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = 'x'.repeat(65536) + '\n';
    let n = 0;
    const more = () => {
      while (n++ < 64)
        if (!res.write(chunk)) {
          res.once('drain', more);
          return;
        }
      res.end();
    };
    more();
  });
  const r = await streamGet(url, { ...opts, maxBytes: 100_000 }, () => {});
  assert.equal(r.capped, true);
  assert.equal(r.bytes, 100_000);
  assert.match(r.incomplete ?? '', /after 100000 bytes/);
});

test('a million goroutines in 250 000 distinct stacks stream through in bounded memory', async () => {
  const GROUPS = 250_000;
  const { url } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.write(`goroutine profile: total ${GROUPS * 4}\n`);
    let i = 0;
    const more = () => {
      while (i < GROUPS) {
        let s = '';
        for (let k = 0; k < 500 && i < GROUPS; k++, i++)
          s += `4 @ 0x${i.toString(16)} 0x46bb01\n#\t0x${i.toString(16)}\tmain.handler${i}+0x35\t\t/srv/handlers.go:${i}\n\n`;
        if (!res.write(s)) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
  });
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const reader = new GoroutineProfileReader();
  let peak = 0;
  let lines = 0;
  const r = await getLines(url, { timeoutMs: 20_000, maxBytes: 64 << 20 }, (l) => {
    reader.push(l);
    if (++lines % 100_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before);
  });
  const p = reader.end(r.complete, r.incomplete);
  assert.ok(r.complete && r.bytes > 15 << 20, `streamed ${r.bytes} bytes`);
  assert.equal(p.total, 1_000_000);
  assert.equal(p.counted, 1_000_000);
  assert.equal(p.groups.length, MAX_GROUPS);
  assert.equal(p.otherCount, (GROUPS - MAX_GROUPS) * 4);
  assert.ok(peak < 120 << 20, `heap grew by ${Math.round(peak / 2 ** 20)} MiB while streaming ${Math.round(r.bytes / 2 ** 20)} MiB`);
});

test('LineSplitter: CRLF, UTF-8 split across chunks, over-long lines', () => {
  const got: string[] = [];
  const s = new LineSplitter((l) => got.push(l), 10);
  const euro = Buffer.from('a€b\r\n', 'utf8');
  s.push(euro.subarray(0, 2));
  s.push(euro.subarray(2));
  s.push('0123456789ABCDEF');
  s.push('GHIJ\nnext\nlast');
  s.end();
  assert.deepEqual(got, ['a€b', '0123456789', 'next', 'last']);
  assert.equal(s.longLines, 1);
});

test('every connection records its local endpoint in ownEndpoints, as the server sees the peer', async () => {
  const http = await import('node:http');
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const own = new Set<string>();
    const port = (server.address() as { port: number }).port;
    await getText(new URL(`http://127.0.0.1:${port}/a`), { timeoutMs: 2000, maxBytes: 100, ownEndpoints: own });
    await getText(new URL(`http://127.0.0.1:${port}/b`), { timeoutMs: 2000, maxBytes: 100, ownEndpoints: own });
    assert.deepEqual([...own].sort(), seen.sort());
    assert.equal(own.size, 2);
  } finally {
    server.close();
  }
});
