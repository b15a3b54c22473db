/**
 * Go protobuf profiles recorded from the real test service (test/fixtures/go-service, Go 1.19,
 * -trimpath; see test/fixtures/pprof/README.md): decoding, heap sites, heap growth between two
 * profiles, CPU by function and goroutines by parking site; and damaged or foreign inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readFixtureBuffer } from './paths.js';
import {
  MAX_PROFILE_BYTES,
  allocSites,
  allocatingFrame,
  cpuTop,
  decodeProfile,
  frameText,
  goroutineSites,
  heapGrowth,
  heapSites,
  isAllocationPlumbing,
  loneGoroutine,
  type GoProfile,
} from '../../src/go/profile.js';
import { ProctriageError } from '../../src/errors.js';

const fx = (name: string) => decodeProfile(readFixtureBuffer(`pprof/go1.19/${name}`), name);
const [START, END, CPU, GOROUTINES] = (await Promise.all(['heap-start.pb.gz', 'heap-end.pb.gz', 'cpu.pb.gz', 'goroutine.pb.gz'].map(fx))) as [
  GoProfile,
  GoProfile,
  GoProfile,
  GoProfile,
];

test('a heap profile decodes to its four sample types, symbolized frames innermost first', () => {
  assert.deepEqual(END.types, ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes']);
  assert.equal(END.symbolized, true);
  assert.equal(END.truncated, false);
  const leak = END.samples.find((s) => s.frames[0]?.function === 'main.leakyCache');
  assert.ok(leak, 'the leaking function is in the profile');
  assert.deepEqual(leak.frames[0], { function: 'main.leakyCache', file: './main.go', line: 51 });
  assert.ok(leak.values[3]! > 20 * 2 ** 20, `in-use ${leak.values[3]}`);
});

test('heap sites: in-use bytes by allocating site, the leak first, the churn (all freed) not listed', () => {
  const a = heapSites(END, 'Go heap profile');
  assert.equal(a.kind, 'allocation-sites');
  assert.equal(a.unit, 'bytes');
  assert.equal(a.sites[0]!.function, 'main.leakyCache');
  assert.equal(a.sites[0]!.file, './main.go');
  assert.equal(a.sites[0]!.line, 51);
  assert.ok(a.sites[0]!.share > 0.8 && a.sites[0]!.share <= 1, `share ${a.sites[0]!.share}`);
  assert.equal(
    a.sites.some((s) => s.function === 'main.churnBuffers'),
    false,
    'nothing of the churn is in use',
  );
  // ranked, at most five, shares of one total
  assert.ok(a.sites.length <= 5);
  assert.ok(a.sites.every((s, i) => i === 0 || s.value <= a.sites[i - 1]!.value));
  assert.ok(Math.abs(a.sites[0]!.value / a.total - a.sites[0]!.share) < 1e-9);
});

test('allocated since start: the churn allocates the most, though it holds nothing (what keeps the GC busy)', () => {
  const a = allocSites(END, 'Go heap profile');
  assert.equal(a.kind, 'allocation-sites');
  assert.equal(a.sites[0]!.function, 'main.churnBuffers');
  assert.equal(a.sites[1]!.function, 'main.leakyCache');
  assert.ok(a.sites[0]!.value > a.sites[1]!.value);
});

test('heap growth: the leak grew by the difference of its in-use bytes; the churn did not grow', () => {
  const g = heapGrowth(START, END, 'Go heap profiles', { windowSeconds: 4 });
  assert.equal(g.kind, 'allocation-growth');
  assert.equal(g.windowSeconds, 4);
  const top = g.sites[0]!;
  assert.equal(top.function, 'main.leakyCache');
  const inuse = (p: GoProfile) => p.samples.filter((s) => s.frames[0]?.function === 'main.leakyCache').reduce((n, s) => n + s.values[3]!, 0);
  assert.equal(top.value, inuse(END) - inuse(START));
  assert.ok(top.value > 10 * 2 ** 20, `growth ${top.value}`);
  assert.equal(
    g.sites.some((s) => s.function === 'main.churnBuffers'),
    false,
  );
  assert.ok(top.share > 0.9, `the leak explains the growth: ${top.share}`);
  // the same profile twice: nothing grew
  assert.deepEqual(heapGrowth(END, END, 'x').sites, []);
  // reversed: the leak "shrank", so it is not listed
  assert.equal(
    heapGrowth(END, START, 'x').sites.some((s) => s.function === 'main.leakyCache'),
    false,
  );
});

test('heap sites from a foreign profile: a ParseError that names the missing sample type', () => {
  assert.throws(
    () => heapSites(CPU, 'x'),
    (e: unknown) => e instanceof ProctriageError && e.code === 'PARSE_ERROR' && /inuse_space/.test(e.message),
  );
});

test('cpu: main.burnCPU holds all of the sampled time, self and cumulative', () => {
  const c = cpuTop(CPU, 'Go CPU profile');
  assert.equal(c.kind, 'hot-functions');
  assert.equal(c.unit, 'samples');
  assert.ok(c.windowSeconds! > 0.9 && c.windowSeconds! < 1.5, `window ${c.windowSeconds}`);
  const top = c.sites[0]!;
  assert.equal(top.function, 'main.burnCPU');
  assert.equal(top.file, './main.go');
  assert.equal(typeof top.line, 'number');
  // one sample of the 87 caught the runtime elsewhere
  assert.ok(top.value >= 0.95 * c.total, `self ${top.value} of ${c.total}`);
  assert.equal(top.cumulative, top.value);
  assert.ok(top.share >= 0.95);
});

/** A CPU profile of 2 s with these samples (values: count, then nanoseconds). */
const cpuProfile = (samples: GoProfile['samples']): GoProfile => ({
  types: ['samples/count', 'cpu/nanoseconds'],
  durationNanos: 2e9,
  timeNanos: 0,
  symbolized: true,
  truncated: false,
  samples,
});

test('cpu: self time charged to the leaf, cumulative to every function on the stack once', () => {
  const p = cpuProfile([
    {
      values: [6, 6e7],
      frames: [
        { function: 'crypto/sha256.block', file: '/go/src/crypto/sha256/sha256block.go', line: 10 },
        { function: 'main.hash', file: '/srv/app/auth.go', line: 17 },
        { function: 'main.handle', file: '/srv/app/server.go', line: 40 },
      ],
    },
    {
      values: [3, 3e7],
      frames: [
        { function: 'main.hash', file: '/srv/app/auth.go', line: 19 },
        { function: 'main.handle', file: '/srv/app/server.go', line: 40 },
      ],
    },
    // recursion: a function twice on one stack counts once
    {
      values: [1, 1e7],
      frames: [
        { function: 'main.walk', file: '/srv/app/tree.go', line: 5 },
        { function: 'main.walk', file: '/srv/app/tree.go', line: 7 },
        { function: 'main.handle', file: '/srv/app/server.go', line: 41 },
      ],
    },
  ]);
  const c = cpuTop(p, 'x', { cwd: '/srv/app' });
  assert.equal(c.total, 10);
  assert.equal(c.windowSeconds, 2);
  assert.deepEqual(
    c.sites.map((s) => [s.function, s.value, s.cumulative]),
    [
      ['crypto/sha256.block', 6, 6],
      ['main.hash', 3, 9],
      ['main.walk', 1, 1],
    ],
  );
  assert.equal(c.sites[1]!.file, 'auth.go', 'relative to the working directory');
  assert.equal(c.sites[1]!.line, 19);
  assert.deepEqual(c.sites[0]!.frames, ['main.hash (auth.go:17)', 'main.handle (server.go:40)']);
  assert.deepEqual(c.sites[2]!.frames, ['main.handle (server.go:41)'], 'the recursive frame is not its own caller');
});

test('allocation plumbing: runtime, internal and growth helpers are skipped, else the first frame', () => {
  assert.ok(isAllocationPlumbing('runtime.mallocgc'));
  assert.ok(isAllocationPlumbing('internal/bytealg.MakeNoZero'));
  assert.ok(isAllocationPlumbing('bytes.growSlice'));
  assert.ok(!isAllocationPlumbing('main.leakyCache'));
  assert.ok(!isAllocationPlumbing('encoding/json.Marshal'));
  const f = (fn: string) => ({ function: fn });
  assert.equal(allocatingFrame([f('runtime.makeslice'), f('bytes.growSlice'), f('bytes.(*Buffer).grow'), f('main.render')]), 3);
  assert.equal(allocatingFrame([f('runtime.malg'), f('runtime.newproc1')]), 0);
  assert.equal(frameText({ function: 'main.a', file: '/srv/app/x.go', line: 3 }, '/srv/app'), 'main.a (x.go:3)');
  assert.equal(frameText({ function: 'main.a', file: '/other/x.go', line: 3 }, '/srv/app'), 'main.a (/other/x.go:3)');
  assert.equal(frameText({ function: '0x4a3b2c' }), '0x4a3b2c');
});

test('goroutines by parking site: the first function outside the standard library', () => {
  assert.deepEqual(GOROUTINES.types, ['goroutine/count']);
  const g = goroutineSites(GOROUTINES, 'Go goroutine leak profile', 'leaked-goroutines');
  assert.equal(g.kind, 'leaked-goroutines');
  assert.equal(g.unit, 'count');
  assert.deepEqual(
    g.sites.slice(0, 2).map((s) => [s.function, s.value]),
    [
      ['main.pollUpstream', 40],
      ['main.subscriberLoop', 3],
    ],
  );
  // parked in the standard library only: the goroutine's entry (the two accept loops)
  assert.deepEqual(
    g.sites
      .filter((s) => s.value === 2)
      .map((s) => s.function)
      .sort(),
    ['main.lockedUpdate', 'net/http.(*Server).Serve'],
  );
  assert.equal(g.sites[0]!.file, './main.go');
  assert.equal(typeof g.sites[0]!.line, 'number');
  assert.ok(g.total >= 45);
});

test('a profile without symbols: addresses stand in for functions, and it says it is not symbolized', async () => {
  const { Profile, StringTable, Location, Sample, ValueType } = await import('pprof-format');
  const st = new StringTable();
  const p = new Profile({
    stringTable: st,
    sampleType: [new ValueType({ type: st.dedup('inuse_space'), unit: st.dedup('bytes') })],
    location: [new Location({ id: 1, address: 0x4a3b2c })],
    sample: [new Sample({ locationId: [1], value: [4096] })],
  });
  const d = await decodeProfile(gzipSync(p.encode()));
  assert.equal(d.symbolized, false);
  assert.equal(d.samples[0]!.frames[0]!.function, '0x4a3b2c');
});

test('damaged input: ParseErrors, never a crash; a decompression bomb is refused', async () => {
  const isParse = (e: unknown) => e instanceof ProctriageError && e.code === 'PARSE_ERROR';
  const gz = readFixtureBuffer('pprof/go1.19/heap-end.pb.gz');
  await assert.rejects(decodeProfile(gz.subarray(0, gz.length - 20)), isParse);
  await assert.rejects(decodeProfile(Buffer.from([0x1f, 0x8b, 1, 2, 3])), isParse);
  await assert.rejects(decodeProfile(Buffer.from('<html>not a profile</html>')), isParse);
  const bomb = gzipSync(Buffer.alloc(MAX_PROFILE_BYTES + 1));
  await assert.rejects(decodeProfile(bomb), (e: unknown) => isParse(e) && /larger than 128 MiB/.test((e as Error).message));
  // an empty body is an empty profile, not an error
  assert.deepEqual((await decodeProfile(Buffer.alloc(0))).samples, []);
});

test('lone goroutine: the recorded CPU profile of main.burnCPU, charged to the one goroutine started there', () => {
  const look = new Map<number, string | undefined>([
    [1, 'main.main'],
    [6, 'main.burnCPU'],
    [18, 'net/http.(*conn).serve'],
    [19, 'net/http.(*conn).serve'],
  ]);
  const lone = loneGoroutine(CPU, [look, look, look]);
  assert.equal(lone.function, 'main.burnCPU');
  assert.equal(lone.id, 6);
  // the recorded profile: main.burnCPU's samples over its one second (the service also allocated)
  assert.equal(lone.percent, 77.7);
});

test('lone goroutine: a function that started several goroutines, one missing at a look, or an unknown start is never charged', () => {
  const p = cpuProfile([
    { frames: [{ function: 'crypto/sha256.block' }, { function: 'main.poolWorker' }, { function: 'runtime.goexit' }], values: [190, 1.9e9] },
    { frames: [{ function: 'main.spin' }, { function: 'runtime.goexit' }], values: [100, 1e9] },
    { frames: [{ function: 'main.main' }, { function: 'runtime.main' }], values: [180, 1.8e9] },
  ]);
  const pool = (ids: number[]) => ids.map((id) => [id, 'main.poolWorker'] as [number, string]);
  const looks = [
    new Map<number, string | undefined>([...pool([7, 8]), [9, 'main.spin'], [1, undefined]]),
    new Map<number, string | undefined>([...pool([7, 8]), [1, undefined]]),
    new Map<number, string | undefined>([...pool([7, 8]), [9, 'main.spin'], [1, undefined]]),
  ];
  // the pool: two goroutines; main.spin: gone at the second look; main.main: its start elided
  assert.deepEqual(loneGoroutine(p, looks), { percent: 0 });
  looks[1]!.set(9, 'main.spin');
  assert.deepEqual(loneGoroutine(p, looks), { percent: 50, id: 9, function: 'main.spin' });
  assert.throws(() => loneGoroutine({ ...p, types: ['samples/count'] }, looks), /no cpu\/nanoseconds/);
});
