/**
 * The pure rankings of recorded V8 profiles (test/fixtures/node-profiles/, taken from real Node 20
 * targets with the code of src/node/attribute.ts, paths moved under /srv/app): CPU self time
 * charged to the application frame, live bytes by allocation site, timers by callback location.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  rankCpuProfile,
  rankHeapProfile,
  rankPeers,
  rankTimerOrigins,
  scriptFile,
  type CpuProfile,
  type SamplingHeapProfile,
} from '../../src/node/profiles.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../../test/fixtures/node-profiles/${name}`, import.meta.url)), 'utf8')) as T;

test('CPU: time in native builtins (Hash, digest, update) and node internals is charged to the application function that called them', () => {
  const p = fixture<CpuProfile>('crypto.cpuprofile');
  const a = rankCpuProfile(p, '/srv/app', 'cpu');
  assert.equal(a.kind, 'hot-functions');
  assert.equal(a.total, p.samples!.length);
  const [top, second] = a.sites;
  assert.equal(top!.function, 'tick');
  assert.equal(top!.file, 'auth.js');
  // its own samples plus the builtins' below it: far more than the 56 V8 charged to it directly
  const own = p.samples!.filter((id) => p.nodes.find((n) => n.id === id)!.callFrame.functionName === 'tick').length;
  assert.ok(top!.value > own * 2, `${top!.value} vs ${own}`);
  assert.equal(second!.function, '(garbage collector)');
  assert.equal(second!.file, undefined);
  assert.ok(a.sites.every((s) => !['Hash', 'digest', 'update'].includes(s.function)));
  assert.ok(Math.abs(a.sites.reduce((x, s) => x + s.share, 0) - a.sites.reduce((x, s) => x + s.value, 0) / a.total) < 1e-9);
  assert.ok(a.windowSeconds! > 0.2 && a.windowSeconds! < 1);
});

test('CPU: a callee the optimiser inlined shows in its caller, at the line that calls it (position ticks)', () => {
  const a = rankCpuProfile(fixture<CpuProfile>('blocked.cpuprofile'), '/srv/app', 'cpu');
  assert.deepEqual(
    { function: a.sites[0]!.function, file: a.sites[0]!.file, line: a.sites[0]!.line },
    { function: 'onLogin', file: 'attr-blocked.cjs', line: 31 },
  );
  assert.ok(a.sites[0]!.share > 0.3);
  assert.ok(!a.sites.some((s) => s.function === '(idle)'), 'idle time holds nothing');
});

test('heap: live bytes by allocation site; the churning function keeps nothing', () => {
  const p = fixture<SamplingHeapProfile>('growth.heapprofile');
  const a = rankHeapProfile(p, '/srv/app', 'heap', 2);
  assert.equal(a.kind, 'allocation-growth');
  assert.equal(a.sites[0]!.function, 'rememberSessions');
  assert.equal(a.sites[0]!.file, 'attr-heap.cjs');
  assert.equal(a.sites[0]!.line, 9);
  assert.ok(a.sites[0]!.share > 0.9, String(a.sites[0]!.share));
  assert.ok(!a.sites.some((s) => s.function === 'renderPage' && s.share > 0.05));
  let sum = 0;
  const walk = (n: SamplingHeapProfile['head']): void => {
    sum += n.selfSize;
    (n.children ?? []).forEach(walk);
  };
  walk(p.head);
  assert.equal(a.total, sum);
  assert.equal(a.windowSeconds, 2);
});

test('heap: allocations inside node internals go to the application caller, with its callers as frames', () => {
  const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, url, lineNumber, scriptId: '1', columnNumber: 0 });
  const p: SamplingHeapProfile = {
    head: {
      callFrame: frame('(root)', '', -1),
      selfSize: 0,
      children: [
        {
          callFrame: frame('handle', 'file:///srv/app/server.js', 9),
          selfSize: 100,
          children: [
            {
              callFrame: frame('cacheBody', 'file:///srv/app/cache.js', 41),
              selfSize: 1000,
              children: [{ callFrame: frame('Buffer.from', 'node:buffer', 300), selfSize: 9000 }],
            },
          ],
        },
        { callFrame: frame('(V8 API)', '', -1), selfSize: 50 },
      ],
    },
  };
  const a = rankHeapProfile(p, '/srv/app', 'heap');
  assert.deepEqual(
    a.sites.map((s) => [s.function, s.file, s.line, s.value, s.frames]),
    [
      ['cacheBody', 'cache.js', 42, 10000, ['handle (server.js:10)']],
      ['handle', 'server.js', 10, 100, undefined],
      ['(V8 API)', undefined, undefined, 50, undefined],
    ],
  );
  assert.equal(a.total, 10150);
});

test('timers: grouped by callback location, one closure per timer folds into one site; counts scaled from a sample', () => {
  const groups = [
    { name: 'pollUpstream', n: 1200, intervals: 1200, url: 'file:///srv/app/src/poller.js', lineNumber: 41 },
    // 150 closures made in one loop: distinct functions, one location
    ...Array.from({ length: 150 }, () => ({ name: '', n: 1, intervals: 0, url: 'file:///srv/app/src/retry.js', lineNumber: 7 })),
    { name: 'unref', n: 2, intervals: 1 },
  ];
  const a = rankTimerOrigins(1352, groups, '/srv/app', 'timers');
  assert.equal(a.scaled, false);
  assert.deepEqual(
    a.sites.map((s) => [s.function, s.file, s.line, s.value, s.frames]),
    [
      ['pollUpstream', 'src/poller.js', 42, 1200, ['setInterval']],
      ['(anonymous)', 'src/retry.js', 8, 150, ['setTimeout']],
      ['unref', undefined, undefined, 2, ['setInterval ×1, setTimeout ×1']],
    ],
  );
  // 4 000 timers of which the census sent groups covering 2 000: every count doubles
  const s = rankTimerOrigins(
    4000,
    [
      { name: 'a', n: 1500, intervals: 1500, url: 'file:///x/a.js', lineNumber: 0 },
      { name: 'b', n: 500, intervals: 0, url: 'file:///x/b.js', lineNumber: 0 },
    ],
    undefined,
    'timers',
  );
  assert.equal(s.scaled, true);
  assert.deepEqual(
    s.sites.map((x) => x.value),
    [3000, 1000],
  );
  assert.equal(s.sites[0]!.file, '/x/a.js');
});

test('peers and script files', () => {
  const p = rankPeers(
    120,
    [
      { peer: '127.0.0.1:5432', n: 100 },
      { peer: '10.0.0.1 → :8080', n: 20 },
    ],
    'peers',
  );
  assert.deepEqual(
    p.sites.map((s) => [s.function, s.value, s.share]),
    [
      ['127.0.0.1:5432', 100, 100 / 120],
      ['10.0.0.1 → :8080', 20, 20 / 120],
    ],
  );
  assert.equal(scriptFile('file:///srv/app/a%20b.js', '/srv/app'), 'a b.js');
  assert.equal(scriptFile('node:internal/timers', '/srv/app'), 'node:internal/timers');
  assert.equal(scriptFile('', '/srv/app'), undefined);
});
