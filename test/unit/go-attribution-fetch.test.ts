/**
 * Taking Go profiles over HTTP (src/go/attribution.ts) from endpoints on 127.0.0.1 that serve
 * the recorded profiles: the goroutine leak profile, which Go 1.19 cannot produce (an index page
 * that lists it, served with the recorded goroutine profile, its format), and the ways a profile
 * request goes wrong: a body over the cap, a body cut short, an error status, a page that is not
 * a profile. Every server is closed after each test.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { closeLocalServers, listenLocal } from '../helpers/local-servers.js';
import { readFixture, readFixtureBuffer } from './paths.js';
import { cpuNow, heapDiff, heapNow, leakedNow, takeHeap, type Requester } from '../../src/go/attribution.js';

const requests: string[] = [];

async function serve(routes: Record<string, (res: http.ServerResponse) => void>): Promise<URL> {
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const route = routes[(req.url ?? '').split('?')[0]!];
    if (route) route(res);
    else {
      res.statusCode = 404;
      res.end('404 page not found\n');
    }
  });
  return new URL(`http://127.0.0.1:${(await listenLocal(server)).port}`);
}

afterEach(async () => {
  requests.length = 0;
  await closeLocalServers();
});

const req: Requester = (timeoutMs, maxBytes) => ({ timeoutMs, maxBytes });
const INDEX = readFixture('pprof/go1.19/index.html');
// what Go 1.26 with the experiment adds to the index: one more profile row
const INDEX_WITH_LEAK = INDEX.replace(
  "<tr><td>9</td><td><a href='heap?debug=1'>heap</a></td></tr>",
  "<tr><td>40</td><td><a href='goroutineleak?debug=1'>goroutineleak</a></td></tr>\n<tr><td>9</td><td><a href='heap?debug=1'>heap</a></td></tr>",
);
const send =
  (body: Buffer | string, status = 200) =>
  (res: http.ServerResponse) => {
    res.statusCode = status;
    res.end(body);
  };

test('goroutine leak profile offered: taken once the index lists it, ranked by parking site', async () => {
  const base = await serve({ '/debug/pprof/': send(INDEX_WITH_LEAK), '/debug/pprof/goroutineleak': send(readFixtureBuffer('pprof/go1.19/goroutine.pb.gz')) });
  const r = await leakedNow(base, req, '/somewhere');
  assert.equal(r.attribution.unavailable, undefined, r.attribution.unavailable);
  assert.equal(r.attribution.kind, 'leaked-goroutines');
  assert.equal(r.attribution.sites[0]!.function, 'main.pollUpstream');
  assert.equal(r.attribution.sites[0]!.value, 40);
  assert.deepEqual(r.requested, ['/debug/pprof/', '/debug/pprof/goroutineleak']);
  assert.deepEqual(requests, ['/debug/pprof/', '/debug/pprof/goroutineleak']);
});

test('goroutine leak profile not offered: not requested, and the attribution says which Go has it', async () => {
  const base = await serve({ '/debug/pprof/': send(INDEX) });
  const r = await leakedNow(base, req);
  assert.equal(r.attribution.unavailable, 'its pprof endpoint does not offer the goroutine leak profile');
  assert.match(r.attribution.hint!, /Go 1\.27/);
  assert.deepEqual(requests, ['/debug/pprof/']);
});

test('a heap profile over the byte cap is not decoded: the attribution says it is too large', async () => {
  const big = Buffer.alloc(17 * 2 ** 20, 1);
  const base = await serve({ '/debug/pprof/heap': send(big) });
  const r = await heapNow(base, req);
  assert.match(r.attribution.unavailable!, /the heap profile is larger than 16 MiB: not read/);
});

test('a body cut short, an error status, an HTML page: unavailable with the reason, never a throw', async () => {
  const gz = readFixtureBuffer('pprof/go1.19/heap-end.pb.gz');
  const base = await serve({
    '/debug/pprof/heap': (res) => {
      res.writeHead(200, { 'content-length': String(gz.length) });
      res.write(gz.subarray(0, 100));
      setTimeout(() => res.destroy(), 20);
    },
    '/debug/pprof/profile': send('Could not enable CPU profiling: cpu profiling already in use\n', 500),
  });
  const cut = await heapNow(base, req);
  assert.match(cut.attribution.unavailable!, /^the heap profile: the connection closed before the end of the body/);
  const cpu = await cpuNow(base, req, 10_000, undefined, 1);
  assert.equal(cpu.attribution.unavailable, 'the process is already being CPU-profiled (Could not enable CPU profiling: cpu profiling already in use)');
  assert.deepEqual(cpu.requested, ['/debug/pprof/profile?seconds=1']);
  const html = await serve({ '/debug/pprof/heap': send('<html><body>login</body></html>') });
  assert.match((await heapNow(html, req)).attribution.unavailable!, /^cannot parse the heap profile: not a pprof profile/);
  const missing = await serve({});
  assert.match((await heapNow(missing, req)).attribution.unavailable!, /\/debug\/pprof\/heap: HTTP 404 \(404 page not found\)/);
});

test('a CPU profile that does not fit in the time left is not requested', async () => {
  const base = await serve({});
  const r = await cpuNow(base, req, 1500);
  assert.match(r.attribution.unavailable!, /too little time left within --timeout for a 2 s CPU profile/);
  assert.deepEqual(r.requested, []);
  assert.deepEqual(requests, []);
});

test('heap growth between two recorded profiles served in turn; a lost first profile is said', async () => {
  let n = 0;
  const files = ['pprof/go1.19/heap-start.pb.gz', 'pprof/go1.19/heap-end.pb.gz'];
  const base = await serve({ '/debug/pprof/heap': (res) => send(readFixtureBuffer(files[Math.min(n++, 1)]!))(res) });
  const before = await takeHeap(base, req);
  const after = await takeHeap(base, req);
  const g = heapDiff(before, after);
  assert.equal(g.sites[0]!.function, 'main.leakyCache');
  assert.equal(typeof g.windowSeconds, 'number');
  const lost = heapDiff({ reason: 'HTTP 500' }, after);
  assert.match(lost.unavailable!, /the heap profile at the start of the watch was not taken: HTTP 500/);
});

test('a profile without function names (no symbols): unavailable, with how to read it', async () => {
  const { Profile, StringTable, Location, Sample, ValueType } = await import('pprof-format');
  const st = new StringTable();
  const types = ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space'].map(
    (t) => new ValueType({ type: st.dedup(t), unit: st.dedup(t.endsWith('space') ? 'bytes' : 'count') }),
  );
  const p = new Profile({
    stringTable: st,
    sampleType: types,
    location: [new Location({ id: 1, address: 0x4a3b2c })],
    sample: [new Sample({ locationId: [1], value: [1, 4096, 1, 4096] })],
  });
  const base = await serve({ '/debug/pprof/heap': send(gzipSync(p.encode())) });
  const r = await heapNow(base, req);
  assert.equal(r.attribution.unavailable, 'the profile has no function names (a binary built without symbols)');
  assert.match(r.attribution.hint!, /go tool pprof/);
});
