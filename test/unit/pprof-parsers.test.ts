/**
 * Parsers of net/http/pprof text formats, on responses recorded from the real test service
 * (test/fixtures/go-service, Go 1.19) and on cut and damaged variants of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  GoroutineEntryReader,
  GoroutineProfileReader,
  entryFunction,
  MAX_GROUPS,
  isUserFunction,
  meaningfulFunction,
  mergeStates,
  parseGoroutineDump,
  parseGoroutineProfile,
  parseLabels,
  parseWaitState,
  topStacks,
  trimRuntime,
} from '../../src/go/goroutines.js';
import { NO_LIMIT, memLimitFromVars, parseGogc, parseGomaxprocs, parseHeapProfile, parseVars } from '../../src/go/memstats.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = /[/\\]dist[/\\]test[/\\]unit[/\\]?$/.test(here) ? '../../../' : '../../';
const fx = (rel: string) => readFileSync(fileURLToPath(new URL(`${root}test/fixtures/pprof/${rel}`, import.meta.url)), 'utf8');

const D1 = fx('go1.19/goroutine-debug1.txt');
const D2 = fx('go1.19/goroutine-debug2.txt');
const D2_123 = fx('go1.23-style/goroutine-debug2.txt');
const HEAP = fx('go1.19/heap-debug1.txt');
const VARS = fx('go1.19/vars.json');

test('debug=1: total, groups by count, top meaningful frame, labels', () => {
  const p = parseGoroutineProfile(D1);
  assert.equal(p.problem, undefined);
  assert.equal(p.total, 12012);
  assert.equal(p.counted, 12012);
  assert.equal(p.groups[0]!.count, 12000);
  assert.equal(p.groups[0]!.function, 'main.pollUpstream');
  assert.deepEqual(p.groups[0]!.frames, ['main.pollUpstream']);
  const sub = p.groups.find((g) => g.function === 'main.subscriberLoop');
  assert.deepEqual(sub?.labels, { tenant: 'acme', worker: 'subscriber' });
  assert.equal(sub?.count, 3);
  // blocked on a mutex: the first frames are sync internals, the meaningful one is ours
  const locked = p.groups.find((g) => g.frames.includes('main.lockedUpdate'));
  assert.equal(locked?.function, 'main.lockedUpdate');
  assert.equal(locked?.frames[0], 'sync.runtime_SemacquireMutex');
  // standard-library-only goroutines are named by their entry function
  assert.ok(p.groups.some((g) => g.function === 'net/http.Serve'));
  assert.ok(p.groups.some((g) => g.function === 'net/http.(*conn).serve'));
  const top = topStacks(p.groups);
  assert.equal(top.length, 5);
  assert.deepEqual(top[0], { count: 12000, function: 'main.pollUpstream', frames: ['main.pollUpstream'] });
});

test('debug=1: frames are split on runs of tabs (the tabwriter pads columns)', () => {
  const p = parseGoroutineProfile(
    'goroutine profile: total 2\n2 @ 0x1 0x2\n#\t0x1\tinternal/poll.runtime_pollWait+0x88\t\truntime/netpoll.go:305\n#\t0x2\tgithub.com/acme/db.(*Conn).recv+0x31\t\t\tdb/conn.go:84\n\n',
  );
  assert.deepEqual(p.groups[0]!.frames, ['internal/poll.runtime_pollWait', 'github.com/acme/db.(*Conn).recv']);
  assert.equal(p.groups[0]!.function, 'github.com/acme/db.(*Conn).recv');
  assert.equal(p.problem, undefined);
});

test('debug=1: Go 1.23 style (labels, generic names, unknown PCs) and same-stack groups merge', () => {
  const text = [
    'goroutine profile: total 7',
    '4 @ 0x43b316 0x407e5b 0x681336 0x46bb01',
    '#\t0x681335\tmain.worker[...]+0x35\t/src/main.go:41',
    '',
    '2 @ 0x43b316 0x407e5b 0x681399 0x46bb01',
    '#\t0x681398\tmain.worker[...]+0x99\t/src/main.go:44',
    '',
    '1 @ 0x43b316 0x99',
    '# labels: {"route":"/api/v1/\\"x\\""}',
    '#\t0x99',
    '',
  ].join('\n');
  const p = parseGoroutineProfile(text);
  assert.equal(p.problem, undefined);
  assert.equal(p.groups[0]!.count, 6, 'two call sites in one function are one stack by function names');
  assert.equal(p.groups[0]!.function, 'main.worker[...]');
  assert.deepEqual(p.groups[1]!.labels, { route: '/api/v1/"x"' });
});

test('debug=1: truncated and malformed variants never throw and say what is wrong', () => {
  const lines = D1.split('\n');
  const cases: { name: string; text: string; total?: number; top?: string; problem: RegExp | undefined; notProfile?: boolean }[] = [
    { name: 'complete', text: D1, total: 12012, top: 'main.pollUpstream', problem: undefined },
    { name: 'empty', text: '', problem: /empty/, notProfile: true },
    { name: 'HTML page', text: fx('go1.19/index.html'), problem: /not a goroutine profile/, notProfile: true },
    { name: 'JSON', text: '{"error":"nope"}\n', problem: /not a goroutine profile/, notProfile: true },
    { name: 'header only', text: lines[0] + '\n', total: 12012, problem: /truncated|no stacks/ },
    { name: 'cut inside the header line', text: D1.slice(0, 12), problem: /empty|not a goroutine/, notProfile: true },
    { name: 'cut after the first group header', text: lines.slice(0, 2).join('\n') + '\n', total: 12012, problem: /truncated/ },
    { name: 'cut mid-frame', text: D1.slice(0, D1.indexOf('main.pollUpstream') + 7), total: 12012, problem: /truncated|middle of a line/ },
    {
      name: 'cut after half the groups',
      text: lines.slice(0, 20).join('\n') + '\n',
      total: 12012,
      top: 'main.pollUpstream',
      problem: /truncated: groups account for \d+ of 12012/,
    },
    { name: 'garbage lines', text: D1.replace('\n\n', '\nthis is not pprof\n\x00\x01\n\n'), total: 12012, top: 'main.pollUpstream', problem: /2 malformed/ },
    { name: 'CRLF line ends', text: D1.replace(/\n/g, '\r\n'), total: 12012, top: 'main.pollUpstream', problem: undefined },
  ];
  for (const c of cases) {
    const p = parseGoroutineProfile(c.text);
    assert.equal(p.total, c.total, `${c.name}: total`);
    if (c.top) assert.equal(p.groups[0]?.function, c.top, `${c.name}: top`);
    if (c.problem) assert.match(p.problem ?? '', c.problem, `${c.name}: problem`);
    else assert.equal(p.problem, undefined, `${c.name}: no problem`);
    assert.equal(!!p.notProfile, !!c.notProfile, `${c.name}: notProfile`);
  }
});

test('debug=1: every cut of the recorded dump parses without throwing; lost goroutines are reported', () => {
  // a cut after the last group header may lose only trailing frames, which no count reveals
  const lastHeader = [...D1.matchAll(/\n\d+ @/g)].pop()!.index;
  for (let n = 0; n <= D1.length; n += 7) {
    const p = parseGoroutineProfile(D1.slice(0, n));
    assert.ok(p.groups.every((g) => g.count > 0 && typeof g.function === 'string'));
    if (n <= lastHeader) assert.ok(p.problem, `cut at ${n} must be reported`);
  }
});

test('debug=1: a dump with more distinct stacks than MAX_GROUPS stays bounded', () => {
  const r = new GoroutineProfileReader();
  const n = MAX_GROUPS + 500;
  r.push(`goroutine profile: total ${n * 2}`);
  for (let i = 0; i < n; i++) {
    r.push(`2 @ 0x${i.toString(16)}`);
    r.push(`#\t0x${i.toString(16)}\tmain.f${i}+0x1\t/x.go:1`);
    r.push('');
  }
  const p = r.end();
  assert.equal(p.groups.length, MAX_GROUPS);
  assert.equal(p.otherCount, 1000);
  assert.equal(p.counted, n * 2);
  assert.equal(p.problem, undefined);
});

test('debug=2 (Go 1.19): states, wait minutes, creators, aggregated by stack', () => {
  const p = parseGoroutineDump(D2);
  assert.equal(p.problem, undefined);
  assert.ok(p.total! >= 40);
  const poll = p.groups.find((g) => g.function === 'main.pollUpstream');
  assert.equal(poll?.count, 40);
  assert.equal(poll?.state, 'chan receive');
  assert.ok((poll?.waitMinutes ?? 0) >= 1, 'recorded after more than a minute of waiting');
  assert.equal(poll?.createdBy, 'main.main');
  assert.deepEqual(poll?.frames, ['main.pollUpstream'], 'leading runtime frames dropped as in debug=1');
  const locked = p.groups.find((g) => g.function === 'main.lockedUpdate');
  assert.equal(locked?.state, 'semacquire');
  assert.ok(
    p.groups.some((g) => g.state === 'running'),
    'the goroutine writing the dump',
  );
});

test('debug=2 (Go 1.21+/1.23 wording): "created by X in goroutine N", [sync.Mutex.Lock]', () => {
  const p = parseGoroutineDump(D2_123);
  assert.equal(p.problem, undefined);
  const poll = p.groups.find((g) => g.function === 'main.pollUpstream');
  assert.equal(poll?.createdBy, 'main.main');
  assert.equal(poll?.count, 40);
  assert.equal(p.groups.find((g) => g.function === 'main.lockedUpdate')?.state, 'sync.Mutex.Lock');
});

test('debug=2 states merge into the debug=1 groups with the same stack', () => {
  const merged = mergeStates(parseGoroutineProfile(D1).groups, parseGoroutineDump(D2));
  const poll = merged.find((g) => g.function === 'main.pollUpstream')!;
  assert.equal(poll.count, 12000, 'counts stay those of debug=1');
  assert.equal(poll.state, 'chan receive');
  assert.equal(merged.find((g) => g.function === 'main.lockedUpdate')?.state, 'semacquire');
  assert.equal(merged.find((g) => g.function === 'main.subscriberLoop')?.state, 'select');
});

test('debug=2: truncated and malformed variants', () => {
  assert.match(parseGoroutineDump('').problem ?? '', /not a goroutine dump/);
  assert.match(parseGoroutineDump('<html><body>hi</body></html>\n').problem ?? '', /not a goroutine dump/);
  const cut = parseGoroutineDump(D2.slice(0, Math.floor(D2.length / 2)));
  assert.match(cut.problem ?? '', /incomplete|middle of a line/);
  for (let n = 0; n <= D2.length; n += 101) parseGoroutineDump(D2.slice(0, n));
  const junk = parseGoroutineDump('goroutine 1 [running]:\nmain.main()\n\t/x.go:1 +0x1\n???\n\n');
  assert.match(junk.problem ?? '', /1 malformed/);
});

test('wait states across versions', () => {
  assert.deepEqual(parseWaitState('chan receive, 3 minutes'), { state: 'chan receive', minutes: 3 });
  assert.deepEqual(parseWaitState('select, 1 minutes'), { state: 'select', minutes: 1 });
  assert.deepEqual(parseWaitState('syscall, 12 minutes, locked to thread'), { state: 'syscall', minutes: 12 });
  assert.deepEqual(parseWaitState('sync.Mutex.Lock'), { state: 'sync.Mutex.Lock' });
  assert.deepEqual(parseWaitState('chan receive (nil chan)'), { state: 'chan receive (nil chan)' });
});

test('function names: user code vs standard library', () => {
  assert.ok(isUserFunction('main.pollUpstream'));
  assert.ok(isUserFunction('main.(*server).handle.func1'));
  assert.ok(isUserFunction('github.com/lib/pq.(*conn).recv'));
  assert.ok(isUserFunction('golang.org/x/net/http2.(*serverConn).serve'));
  assert.ok(!isUserFunction('net/http.(*conn).serve'));
  assert.ok(!isUserFunction('sync.(*WaitGroup).Wait'));
  assert.ok(!isUserFunction('internal/poll.runtime_pollWait'));
  assert.equal(meaningfulFunction(['time.Sleep', 'main.loop']), 'main.loop');
  assert.equal(meaningfulFunction(['os/signal.signal_recv', 'os/signal.loop']), 'os/signal.loop');
  assert.equal(meaningfulFunction([]), '?');
  assert.deepEqual(trimRuntime(['runtime.gopark', 'runtime.chanrecv1', 'main.f', 'runtime.goexit']), ['main.f']);
  assert.deepEqual(trimRuntime(['runtime.gopark', 'runtime.bgsweep']), ['runtime.gopark', 'runtime.bgsweep']);
  assert.deepEqual(parseLabels('{"a":"b", "c\\td":"e"}'), { a: 'b', 'c\td': 'e' });
  assert.deepEqual(parseLabels('not labels'), {});
});

test('heap?debug=1: the MemStats totals at the end', () => {
  const h = parseHeapProfile(HEAP);
  assert.equal(h.problem, undefined);
  assert.ok(h.isHeapProfile && h.hasMemStats);
  assert.ok(h.stats.heapAlloc! > 0 && h.stats.heapSys! >= h.stats.heapAlloc!);
  assert.equal(typeof h.stats.numGC, 'number');
  assert.ok(h.stats.gcCpuFraction! >= 0 && h.stats.gcCpuFraction! < 1);
});

test('heap?debug=1: cut, HTML, and scientific notation', () => {
  const cutBefore = parseHeapProfile(HEAP.slice(0, HEAP.indexOf('# runtime.MemStats')));
  assert.match(cutBefore.problem ?? '', /no runtime.MemStats block/);
  const cutInside = parseHeapProfile(HEAP.slice(0, HEAP.indexOf('# HeapSys')));
  assert.match(cutInside.problem ?? '', /incomplete/);
  assert.ok(cutInside.stats.heapAlloc! > 0, 'what was read is kept');
  assert.match(parseHeapProfile(fx('go1.19/index.html')).problem ?? '', /not a heap profile/);
  assert.match(parseHeapProfile('').problem ?? '', /not a heap profile/);
  const sci = parseHeapProfile(
    'heap profile: 0: 0 [0: 0] @ heap/1048576\n\n# runtime.MemStats\n# HeapAlloc = 10\n# NumGC = 3\n# GCCPUFraction = 1.5e-05\n# PauseNs = [1 2 3]\n',
  );
  assert.equal(sci.stats.gcCpuFraction, 1.5e-5);
  assert.equal(sci.problem, undefined);
});

test('/debug/vars: memstats, the published limit, truncation', () => {
  const v = parseVars(VARS);
  assert.equal(v.problem, undefined);
  assert.ok(v.stats.heapAlloc! > 0);
  assert.equal(typeof v.stats.gcCpuFraction, 'number');
  assert.equal(v.memLimit, null, 'the recorded service runs without a limit: math.MaxInt64');
  assert.equal(Object.keys(v).includes('cmdline'), false);
  assert.match(parseVars(VARS.slice(0, 500)).problem ?? '', /not valid JSON, truncated or malformed/);
  assert.match(parseVars('<html></html>').problem ?? '', /not valid JSON/);
  assert.match(parseVars('[1,2]').problem ?? '', /not a JSON object/);
  assert.match(parseVars('{"cmdline":["x"]}').problem ?? '', /no memstats/);
  assert.equal(memLimitFromVars({ gomemlimit: 209715200 }), 209715200);
  assert.equal(memLimitFromVars({ GOMEMLIMIT: '1073741824' }), 1073741824);
  assert.equal(memLimitFromVars({ runtime: { '/gc/gomemlimit:bytes': 5e8 } }), 5e8);
  // Go's math.MaxInt64, as /debug/vars prints it: JSON numbers lose its last digits, which is the point
  // eslint-disable-next-line no-loss-of-precision
  assert.equal(memLimitFromVars({ gomemlimit: 9223372036854775807 }), null);
  // eslint-disable-next-line no-loss-of-precision
  assert.ok(NO_LIMIT < 9223372036854775807);
  assert.equal(memLimitFromVars({ memstats: { x: 1 } }), undefined);
});

test('GOGC and GOMAXPROCS from the environment', () => {
  assert.equal(parseGogc('150'), 150);
  assert.equal(parseGogc('off'), -1);
  assert.equal(parseGogc('OFF'), -1);
  assert.equal(parseGogc('fast'), undefined);
  assert.equal(parseGogc(undefined), undefined);
  assert.equal(parseGomaxprocs('4'), 4);
  assert.equal(parseGomaxprocs('0'), undefined);
  assert.equal(parseGomaxprocs('x'), undefined);
});

test('debug=2 entries: each goroutine id with the function it started in, in both wordings; elided frames leave it unknown', () => {
  for (const text of [D2, D2_123]) {
    const reader = new GoroutineEntryReader();
    for (const line of text.split('\n')) reader.push(line);
    const { entries, complete } = reader.end();
    assert.equal(complete, true);
    assert.equal(entries.size, 52);
    assert.equal([...entries.values()].filter((f) => f === 'main.pollUpstream').length, 40);
    assert.equal([...entries.values()].filter((f) => f === 'main.main').length, 1);
    assert.equal([...entries.values()].filter((f) => f === 'main.subscriberLoop').length, 3);
  }
  const cut = new GoroutineEntryReader();
  for (const line of [
    'goroutine 7 [running]:',
    'main.deep()',
    '\t/src/main.go:9 +0x1',
    '...additional frames elided...',
    'created by main.main',
    '\t/src/main.go:3 +0x2',
    '',
  ])
    cut.push(line);
  assert.deepEqual([...cut.end().entries], [[7, undefined]]);
  assert.equal(new GoroutineEntryReader().end().complete, false, 'no goroutine at all: not a dump');
  assert.equal(entryFunction(['crypto/sha256.block', 'main.worker', 'runtime.goexit']), 'main.worker');
  assert.equal(entryFunction(['runtime.gcBgMarkWorker', 'runtime.goexit']), undefined);
});
