import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoPath } from './paths.js';
import { FD_RETURNING, generateScript, LIBC_CREATORS } from '../../src/trace/script.js';
import { parseStack, parseTraceOutput, stackFrames } from '../../src/trace/parse.js';
import { fileAddress, frameKey, loadSegments, parseAddr2lineBlocks, parseMaps, type Location } from '../../src/trace/symbolise.js';
import { buildTraceReport, runtimeOf, type TraceInputs } from '../../src/engine/trace.js';
import { formatRate, renderTraceMarkdown, renderTraceText } from '../../src/render/trace.js';
import { privileged } from '../../src/commands/trace.js';
import { symbolCacheEnv } from '../../src/trace/runner.js';
import { classifyFdLink } from '../../src/procfs/fd.js';

/** Output of the generated program, recorded from bpftrace 0.17 on test/fixtures/trace/leaky.{c,go}. */
const recorded = (name: string) => readFileSync(repoPath(`test/fixtures/trace/recorded/${name}.ndjson`), 'utf8');

test('the script: every probe is filtered on the pid, its only variable parts are numbers and names of our own', () => {
  const s = generateScript({ pid: 4123, libc: ['open', 'socket'], deadlineSeconds: 45 });
  for (const sc of FD_RETURNING) assert.match(s, new RegExp(`^tracepoint:syscalls:sys_exit_${sc} /pid == 4123 && @go/`, 'm'));
  for (const sc of ['pipe', 'pipe2', 'socketpair', 'fcntl']) assert.match(s, new RegExp(`sys_enter_${sc} /pid == 4123 && @go/`));
  assert.match(s, /^tracepoint:syscalls:sys_enter_close \/pid == 4123 && @go\//m);
  assert.match(s, /sys_enter_close_range/);
  assert.match(s, /sys_exit_execve, tracepoint:syscalls:sys_exit_execveat .*\n\s+clear\(@fd\)/);
  assert.match(s, /^uprobe:libc:open \/pid == 4123 && @go\/ \{ @stash\[tid\] = ustack\(perf, 32\); @ra\[tid\] = \*\(uint64 \*\)uptr\(reg\("sp"\)\)/m);
  assert.match(s, /^uprobe:libc:socket /m);
  assert.match(s, /^interval:s:45 \{ printf\("deadline\\n"\); exit\(\); \}/m);
  assert.match(s, /sched_process_exit \/pid == 4123 && tid == 4123\//);
  assert.match(s, /if \(@n > 5000000\) \{ printf\("cap\\n"\); exit\(\); \}/);
  // every probe line names only our pid
  const numbers = new Set([...s.matchAll(/pid == (\d+)/g)].map((m) => m[1]));
  assert.deepEqual([...numbers], ['4123']);
});

test('the script without libc (Go, static binaries) keeps the stack at the system call and has no stash', () => {
  const s = generateScript({ pid: 77, libc: [], deadlineSeconds: 10, eventCap: 1000, stackDepth: 16 });
  assert.doesNotMatch(s, /uprobe|@stash|@has|@ra\[/);
  assert.match(s, /@fd\[\$fd\] = ustack\(perf, 16\); @fdra\[\$fd\] = 0;/);
  assert.match(s, /@n > 1000/);
});

test('the script refuses anything that is not a number it checked, or a name not on its list', () => {
  assert.throws(() => generateScript({ pid: 1.5, libc: [], deadlineSeconds: 10 }), RangeError);
  assert.throws(() => generateScript({ pid: -1, libc: [], deadlineSeconds: 10 }), RangeError);
  assert.throws(() => generateScript({ pid: 1, libc: [], deadlineSeconds: 1e9 }), RangeError);
  assert.throws(() => generateScript({ pid: 1, libc: ['open/ { system("id") } uprobe:x:y'], deadlineSeconds: 10 }), /not a known libc entry point/);
  assert.ok(LIBC_CREATORS.every((n) => /^[a-z_0-9]+$/.test(n)));
});

test('parse: a recorded C trace (ready, events, per-stack counts, the fds still open)', () => {
  const o = parseTraceOutput(recorded('c-leak'));
  assert.equal(o.ready, true);
  assert.deepEqual(o.events, ['deadline']);
  assert.equal(o.malformed, 0);
  assert.ok(o.eventCount > 1000);
  const live = [...o.live.values()].reduce((a, b) => a + b, 0);
  assert.equal(live, o.fds.length, 'every fd still open belongs to one stack');
  const churn = [...o.opens].find(([k]) => k.includes('churn_file'))!;
  assert.ok(churn[1] > 1000);
  assert.equal(o.live.get(churn[0]), 0);
});

test('parse: a stack seen on several threads is one stack (bpftrace prints it once per thread; JSON.parse would keep the last)', () => {
  const o = parseTraceOutput(recorded('go-leak'));
  const text = recorded('go-leak');
  const leakKeys = [...text.matchAll(/main\.leakFiles/g)].length;
  assert.ok(leakKeys > 3, 'the recording has the leaking stack under several threads');
  const leak = [...o.opens].filter(([k]) => k.includes('main.leakFiles'));
  assert.equal(leak.length, 1);
  assert.equal(o.live.get(leak[0]![0]), o.fds.length);
  assert.equal(leak[0]![1], o.fds.length);
});

test('parse: frames as ustack(perf) prints them, and the return address kept at a libc entry', () => {
  const frames = parseStack(
    '\n\t7f51d2f82dc0 __GI___socket+0 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n\t555b9364a3dc main+293 (/tmp/leaky)\n' +
      '\t7964616572006c 0x7964616572006c ([unknown])\n\t401000 ns::Cls::f(int, char const*)+12 (/opt/my app (1)/bin)\n',
  );
  assert.deepEqual(frames, [
    { address: '7f51d2f82dc0', symbol: '__GI___socket', offset: 0, module: '/usr/lib/x86_64-linux-gnu/libc.so.6' },
    { address: '555b9364a3dc', symbol: 'main', offset: 293, module: '/tmp/leaky' },
    { address: '7964616572006c' },
    { address: '401000', symbol: 'ns::Cls::f(int, char const*)', offset: 12, module: '/opt/my app (1)/bin' },
  ]);
  const key = '\n\t7f51d2f82dc0 __GI___socket+0 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n\t555b9364a3dc main+293 (/tmp/leaky)\n';
  assert.deepEqual(
    stackFrames(`${key},${0x555b9364a1f5}`).map((f) => f.address),
    ['7f51d2f82dc0', '555b9364a1f5', '555b9364a3dc'],
  );
  // the kernel already had it (the function begins with push %rbp or endbr64): not twice
  assert.deepEqual(
    stackFrames(`${key},${0x555b9364a3dc}`).map((f) => f.address),
    ['7f51d2f82dc0', '555b9364a3dc'],
  );
  assert.equal(stackFrames(`${key},0`).length, 2);
});

test("parse: lines that are not the program's are counted, not trusted", () => {
  const o = parseTraceOutput(
    '{"type": "printf", "data": "ready\\n"}\nnot json\n{"type": "printf", "data": "hello\\n"}\n{"type": "map", "data": {"@other": {"x": 1}}}\n',
  );
  assert.equal(o.ready, true);
  assert.equal(o.malformed, 3);
  assert.equal(o.opens.size, 0);
});

test('symbolise: maps, ELF load segments, file addresses, addr2line -a -f -i blocks', () => {
  const maps = parseMaps(
    '00400000-00485000 r-xp 00000000 fe:00 22 /tmp/leakygo\n55a4ae2b2000-55a4ae2b3000 r--p 00000000 fe:00 9 /tmp/leaky\n55a4ae2b3000-55a4ae2b4000 r-xp 00001000 fe:00 9 /tmp/leaky\n7ffd1000-7ffd2000 rw-p 00000000 00:00 0 \n',
  );
  assert.equal(maps[0]!.range, '400000-485000', 'map_files names carry no leading zeros');
  assert.equal(maps[3]!.path, undefined);
  // a PIE text segment: file offset 0x1000 at virtual address 0x1000
  const loads = [
    { offset: 0n, vaddr: 0n, filesz: 0x1000n },
    { offset: 0x1000n, vaddr: 0x1000n, filesz: 0x1000n },
  ];
  assert.equal(fileAddress(0x55a4ae2b31f5n, maps[2]!, loads), 0x11f5n);
  // a non-PIE Go binary: the address is the virtual address
  assert.equal(fileAddress(0x484cabn, maps[0]!, [{ offset: 0n, vaddr: 0x400000n, filesz: 0x85000n }]), 0x484cabn);
  assert.equal(loadSegments(Buffer.from('not an elf')), undefined);
  const self = loadSegments(readFileSync(process.execPath).subarray(0, 65536));
  assert.ok(self && self.length >= 2);
  assert.deepEqual(
    parseAddr2lineBlocks(
      '0x0000000000484cab\nos.Open\n/usr/lib/go/src/os/file.go:318\nmain.leakFiles\n/src/leaky.go:17\n0x1\n??\n??:0\n0x11f5\nleak_socket\n/src/leaky.c:20 (discriminator 1)\n',
    ),
    [{ file: '/src/leaky.go', line: 17, function: 'main.leakFiles' }, undefined, { file: '/src/leaky.c', line: 20, function: 'leak_socket' }],
  );
});

function inputs(name: string, over: Partial<TraceInputs> = {}): TraceInputs {
  const output = parseTraceOutput(recorded(name));
  const fdTable = new Map([
    [0, classifyFdLink('/dev/pts/0')],
    [1, classifyFdLink('pipe:[1]')],
    [2, classifyFdLink('pipe:[2]')],
  ]);
  for (const fd of output.fds) fdTable.set(fd, name.startsWith('go') ? classifyFdLink('/dev/null') : classifyFdLink(`socket:[${1000 + fd}]`));
  return {
    pid: 4123,
    comm: 'leaky',
    runtime: 'native',
    requestedMs: 2000,
    windowMs: 2000,
    endedBy: 'duration',
    output,
    fdTable,
    locations: new Map<string, Location>(),
    redact: true,
    version: 'test',
    now: new Date(0),
    ...over,
  };
}

test('report: the leaking stack ranks first, the churn is apart, the fds from before the window are counted', () => {
  const output = parseTraceOutput(recorded('c-leak'));
  const locations = new Map<string, Location>();
  for (const key of output.opens.keys()) {
    stackFrames(key).forEach((f, i) => {
      if (f.address === '55a4ae2b31f5') locations.set(frameKey(f, i), { function: 'leak_socket', file: '/src/leaky.c', line: 20, module: '/tmp/tx/leaky' });
    });
  }
  const r = buildTraceReport(inputs('c-leak', { locations }));
  const top = r.outstanding[0]!;
  assert.equal(top.frames[1]!.function, 'leak_socket', 'the frame the kernel walk left out, named from DWARF');
  assert.equal(top.frames[1]!.file, '/src/leaky.c');
  assert.equal(top.fdType, 'socket');
  assert.equal(top.truncated, false);
  assert.equal(top.ratePerSecond, top.outstanding / 2);
  assert.ok(r.outstanding.every((g) => !g.frames.some((f) => f.function === 'churn_file')));
  assert.equal(r.churn[0]!.frames[1]!.function, 'churn_file');
  assert.equal(r.totals.predating, 3);
  assert.equal(r.totals.outstanding, output.fds.length);
  // the stacks taken at the system call inside libc (the uprobe missed them) say so
  assert.ok(r.outstanding.concat(r.churn).some((g) => g.truncated));
  assert.ok(r.notes.some((n) => n.code === 'trace.truncated'));
  const text = renderTraceText(r);
  assert.match(text, /#1 96 still open of 96 opened \(48\/s\), socket\n\s+leak_socket \/src\/leaky\.c:20/);
  assert.match(renderTraceMarkdown(r), /\| 1 \| 96 \| 96 \| 48\/s \| socket \| {2}\| `leak_socket \/src\/leaky\.c:20`/);
});

test('report: a target that exited says so; what it held when it exited is shown, unnamed frames as addresses', () => {
  const r = buildTraceReport(inputs('c-exit', { endedBy: 'exit', fdTable: undefined }));
  assert.equal(r.exited, true);
  assert.equal(r.window.endedBy, 'exit');
  assert.ok(r.notes.some((n) => n.code === 'trace.exited'));
  assert.ok(!r.notes.some((n) => n.code === 'trace.fdTableUnreadable'));
  assert.equal(r.totals.openAtEnd, undefined);
  assert.match(renderTraceText(r), /\(the process exited\)[\s\S]*#1 210 still open[\s\S]*0x5560ba9c21f5/);
});

test('report: Go stacks read fully; the system-call wrappers are left out of what is shown', () => {
  const r = buildTraceReport(inputs('go-leak', { runtime: 'go' }));
  assert.equal(r.outstanding.length, 1);
  assert.equal(r.outstanding[0]!.example, '/dev/null');
  const text = renderTraceText(r);
  assert.match(text, /#1 187 still open of 187 opened .*device e\.g\. \/dev\/null\n\s+os\.openFileNolog/);
  assert.doesNotMatch(text.split('churn')[0]!, /syscall\.Syscall6/);
});

test('report: JIT and interpreter frames are named as such, with the better tool', () => {
  const out = parseTraceOutput(
    '{"type": "map", "data": {"@opens": {"\\n\\t7f00 __GI___libc_open+0 (/usr/lib/x86_64-linux-gnu/libc.so.6)\\n\\t3a2b 0x3a2b ([unknown])\\n,0": 3}}}\n' +
      '{"type": "map", "data": {"@live": {"\\n\\t7f00 __GI___libc_open+0 (/usr/lib/x86_64-linux-gnu/libc.so.6)\\n\\t3a2b 0x3a2b ([unknown])\\n,0": 3}}}\n',
  );
  const node = buildTraceReport(inputs('c-leak', { runtime: 'node', output: out }));
  assert.equal(node.outstanding[0]!.frames[1]!.kind, 'jit');
  assert.ok(node.notes.some((n) => n.code === 'trace.jitNode' && /--inspect/.test(n.text)));
  assert.match(renderTraceText(node), /\[JIT\] 0x3a2b/);
  const py = parseTraceOutput('{"type": "map", "data": {"@opens": {"\\n\\t7f00 _PyEval_EvalFrameDefault+99 (/usr/bin/python3.11)\\n,0": 1}}}\n');
  const r = buildTraceReport(inputs('c-leak', { runtime: 'python', output: py }));
  assert.equal(r.churn[0]!.frames[0]!.kind, 'interpreter');
  assert.ok(r.notes.some((n) => /py-spy/.test(n.text)));
  assert.equal(runtimeOf('node', [], false), 'node');
  assert.equal(runtimeOf('java', ['/usr/lib/jvm/java-17/lib/server/libjvm.so'], false), 'java');
  assert.equal(runtimeOf('python3.11', [], false), 'python');
  assert.equal(runtimeOf('leaky', ['/usr/lib/x86_64-linux-gnu/libc.so.6'], false), 'native');
  assert.equal(runtimeOf('svc', [], true), 'go');
});

test('report: a stack counted below zero says its counts are not exact (they lost updates), and shows none open', () => {
  const stack = '\\n\\t401000 open_for_handoff+20 (/tmp/a)\\n,0';
  const out = parseTraceOutput(`{"type": "map", "data": {"@opens": {"${stack}": 5000}}}\n{"type": "map", "data": {"@live": {"${stack}": -12}}}\n`);
  const r = buildTraceReport(inputs('c-leak', { output: out }));
  assert.equal(r.totals.outstanding, 0);
  assert.ok(
    r.notes.some((n) => n.code === 'trace.countsLost' && /1 stack/.test(n.text)),
    JSON.stringify(r.notes),
  );
  const exact = buildTraceReport(inputs('c-leak'));
  assert.ok(!exact.notes.some((n) => n.code === 'trace.countsLost'));
});

test('report: target strings are cleaned and redacted; markdown cannot be broken out of', () => {
  const out = parseTraceOutput(
    '{"type": "map", "data": {"@opens": {"\\n\\t401000 evil|`x`\\u001b[31m+1 (/tmp/a)\\n,0": 1}}}\n{"type": "map", "data": {"@live": {"\\n\\t401000 evil|`x`\\u001b[31m+1 (/tmp/a)\\n,0": 1}}}\n' +
      '{"type": "map", "data": {"@ex": {"\\n\\t401000 evil|`x`\\u001b[31m+1 (/tmp/a)\\n,0": 9}}}\n',
  );
  const fdTable = new Map([[9, classifyFdLink('/srv/app/db?password=hunter2')]]);
  const r = buildTraceReport(inputs('c-leak', { output: out, fdTable }));
  const g = r.outstanding[0]!;
  assert.doesNotMatch(JSON.stringify(r), /\u001b|hunter2/);
  const md = renderTraceMarkdown(r);
  assert.match(md, /\| `evil\\\|'x'\\x1b\[31m \(\/tmp\/a\)` \|/);
  assert.equal(g.example, '/srv/app/db?password=***');
});

test('rates read as an engineer says them', () => {
  assert.equal(formatRate(4458), '4458/s');
  assert.equal(formatRate(2.54), '2.5/s');
  assert.equal(formatRate(0.1), '6/min');
  assert.equal(formatRate(1 / 600), 'one every 10 min');
  assert.equal(formatRate(0.004), '14/h');
  assert.equal(formatRate(0.002), 'one every 8 min');
  assert.equal(formatRate(1 / 90), '40/h');
  assert.equal(formatRate(1 / 36_000), 'one every 10 h');
  assert.equal(formatRate(0), 'none');
});

test('bpftrace 0.17 and older are told to keep the symbol tables they read; later ones cache per process already', () => {
  assert.deepEqual(symbolCacheEnv('bpftrace v0.17.0\n'), { BPFTRACE_CACHE_USER_SYMBOLS: '1' });
  assert.deepEqual(symbolCacheEnv('bpftrace v0.9.4'), { BPFTRACE_CACHE_USER_SYMBOLS: '1' });
  // later versions refuse 0 or 1 for this variable: told nothing
  assert.deepEqual(symbolCacheEnv('bpftrace v0.18.0'), {});
  assert.deepEqual(symbolCacheEnv('bpftrace v0.21.2-12-gabcdef0'), {});
  assert.deepEqual(symbolCacheEnv('bpftrace v1.0.0'), {});
  assert.deepEqual(symbolCacheEnv(''), {});
});

test('privileges: root, CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON', () => {
  assert.equal(privileged('CapEff:\t000001ffffffffff\n'), true);
  assert.equal(privileged('CapEff:\t0000000000000000\n'), false);
  assert.equal(privileged(`CapEff:\t${((1n << 39n) | (1n << 38n)).toString(16).padStart(16, '0')}\n`), true);
  assert.equal(privileged(`CapEff:\t${(1n << 39n).toString(16).padStart(16, '0')}\n`), false);
  assert.equal(privileged(`CapEff:\t${(1n << 21n).toString(16).padStart(16, '0')}\n`), true);
  assert.equal(privileged('no such line'), false);
});

test('a report satisfies the published trace schema', async () => {
  const { TraceReportSchema } = await import('../../src/engine/trace-schema.js');
  for (const name of ['c-leak', 'go-leak', 'c-exit']) {
    const parsed = TraceReportSchema.safeParse(JSON.parse(JSON.stringify(buildTraceReport(inputs(name)))));
    assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)));
  }
});
