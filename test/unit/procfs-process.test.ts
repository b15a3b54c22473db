import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStat, parseBootTime, parseUptime, PF_KTHREAD } from '../../src/procfs/proc-stat.js';
import { parseProcStatus, statusBytes, statusNumber, hasSignal, innermostPid } from '../../src/procfs/proc-status.js';
import { parseProcLimits } from '../../src/procfs/proc-limits.js';
import { parseCmdline, parseEnviron } from '../../src/procfs/proc-cmdline.js';
import { parseSmapsRollup } from '../../src/procfs/smaps-rollup.js';
import { ParseError } from '../../src/errors.js';

/** A /proc/PID/stat line with the given comm and numbered fields 3..52 (field N = value of N unless overridden). */
function statLine(pid: number, comm: string, over: Record<number, string | number> = {}, fields = 52): string {
  const rest: (string | number)[] = [];
  for (let n = 3; n <= fields; n++) rest.push(over[n] ?? (n === 3 ? 'S' : n));
  return `${pid} (${comm}) ${rest.join(' ')}\n`;
}

const isParseError = (e: unknown) => e instanceof ParseError && e.code === 'PARSE_ERROR';

describe('parseProcStat', () => {
  const cases: { name: string; comm: string }[] = [
    { name: 'plain', comm: 'node' },
    { name: 'spaces', comm: 'Web Content' },
    { name: 'nested parentheses', comm: 'my (weird) proc' },
    { name: 'a lone closing parenthesis', comm: 'a) b' },
    { name: 'starts and ends with parentheses', comm: '(sd-pam)' },
    { name: 'looks like the next fields', comm: 'x) R 1 2 3 (y' },
    { name: 'empty', comm: '' },
  ];
  for (const c of cases) {
    test(`comm: ${c.name}`, () => {
      const s = parseProcStat(statLine(1234, c.comm, { 4: 77, 14: 1500, 15: 250, 20: 9, 22: 123456, 24: 4096 }));
      assert.equal(s.pid, 1234);
      assert.equal(s.comm, c.comm);
      assert.equal(s.state, 'S');
      assert.equal(s.ppid, 77);
      assert.equal(s.utimeTicks, 1500);
      assert.equal(s.stimeTicks, 250);
      assert.equal(s.numThreads, 9);
      assert.equal(s.starttimeTicks, 123456);
      assert.equal(s.rssPages, 4096);
    });
  }

  test('kernel thread flag (PF_KTHREAD) is visible in flags; a user process has it clear', () => {
    const kthread = parseProcStat(statLine(2, 'kthreadd', { 9: 0x208040 }));
    assert.ok(kthread.flags & PF_KTHREAD);
    const user = parseProcStat(statLine(900, 'bash', { 9: 0x400100 }));
    assert.equal(user.flags & PF_KTHREAD, 0);
  });

  test('zombie state is read as Z', () => {
    assert.equal(parseProcStat(statLine(5, 'defunct thing', { 3: 'Z' })).state, 'Z');
  });

  test('a 22-field stat (older kernels print fewer trailing fields) still gives field 24', () => {
    const s = parseProcStat(statLine(9, 'old', { 24: 321 }, 24));
    assert.equal(s.rssPages, 321);
  });

  const bad: [string, string][] = [
    ['too few fields', statLine(9, 'short', {}, 23)],
    ['no comm parentheses', '1234 node S 1 2 3\n'],
    ['only an opening parenthesis', '1234 (node S 1 2 3\n'],
    ['a non-numeric field', statLine(9, 'x', { 20: 'many' })],
    ['empty', ''],
  ];
  for (const [name, text] of bad) {
    test(`ParseError: ${name}`, () => assert.throws(() => parseProcStat(text), isParseError));
  }
});

describe('parseBootTime / parseUptime', () => {
  test('btime from /proc/stat', () => {
    assert.equal(parseBootTime('cpu  1 2 3\nctxt 99\nbtime 1793577600\nprocesses 3\n'), 1793577600);
    assert.throws(() => parseBootTime('cpu  1 2 3\n'), isParseError);
  });
  test('uptime is the first number', () => {
    assert.equal(parseUptime('93784.51 180021.44\n'), 93784.51);
    assert.throws(() => parseUptime('soon'), isParseError);
  });
});

const STATUS = [
  'Name:\tmy (weird) proc',
  'Umask:\t0022',
  'State:\tS (sleeping)',
  'Pid:\t4242',
  'NStgid:\t4242\t17\t1',
  'NSpid:\t4242\t17\t1',
  'VmHWM:\t  251904 kB',
  'VmRSS:\t  245760 kB',
  'VmSwap:\t       0 kB',
  'Threads:\t11',
  'SigBlk:\t0000000000000000',
  'SigIgn:\t0000000000001000',
  'SigCgt:\t0000000108004602',
  'voluntary_ctxt_switches:\t184221',
  'nonvoluntary_ctxt_switches:\t30412',
  '',
].join('\n');

describe('parseProcStatus', () => {
  const st = parseProcStatus(STATUS);

  test('keys keep values after the first colon, trimmed', () => {
    assert.equal(st.Name, 'my (weird) proc');
    assert.equal(st.State, 'S (sleeping)');
  });

  test('statusBytes converts kB to bytes; absent key → undefined', () => {
    assert.equal(statusBytes(st, 'VmRSS'), 245760 * 1024);
    assert.equal(statusBytes(st, 'VmHWM'), 251904 * 1024);
    assert.equal(statusBytes(st, 'VmSwap'), 0);
    assert.equal(statusBytes(st, 'RssAnon'), undefined);
    assert.throws(() => statusBytes(st, 'Threads'), isParseError);
  });

  test('statusNumber', () => {
    assert.equal(statusNumber(st, 'Threads'), 11);
    assert.equal(statusNumber(st, 'voluntary_ctxt_switches'), 184221);
    assert.equal(statusNumber(st, 'Nope'), undefined);
    assert.throws(() => statusNumber(st, 'Name'), isParseError);
  });

  const signals: [string, number, boolean][] = [
    ['0000000000000200', 10, true], // SIGUSR1 caught (bit 9)
    ['0000000000000000', 10, false],
    ['0000000000000400', 10, false], // SIGSEGV (11), not SIGUSR1
    ['0000000000000400', 11, true],
    ['0000000108004602', 10, true], // a Node process
    ['0000000180004002', 10, false],
    ['fffffffc7fc1feff', 10, true],
    ['8000000000000000', 64, true], // the highest real-time signal
    ['0000000000000001', 1, true],
  ];
  for (const [mask, sig, want] of signals) {
    test(`hasSignal(SigCgt=${mask}, ${sig}) = ${want}`, () => {
      assert.equal(hasSignal({ Name: 'x', SigCgt: mask }, 'SigCgt', sig), want);
    });
  }

  test('hasSignal reads SigBlk and SigIgn too, and rejects a missing or non-hex mask', () => {
    assert.equal(hasSignal(st, 'SigBlk', 10), false);
    assert.equal(hasSignal(st, 'SigIgn', 13), true); // SIGPIPE ignored (0x1000)
    assert.throws(() => hasSignal({ Name: 'x' }, 'SigCgt', 10), isParseError);
    assert.throws(() => hasSignal({ Name: 'x', SigCgt: 'zz' }, 'SigCgt', 10), isParseError);
  });

  test('innermostPid is the last NSpid field', () => {
    assert.equal(innermostPid(st), 1);
    assert.equal(innermostPid(parseProcStatus('Name:\tx\nNSpid:\t812\n')), 812);
    assert.equal(innermostPid(parseProcStatus('Name:\tx\nPid:\t812\n')), undefined);
  });

  test('a text with neither Name nor Pid is not a status file', () => {
    assert.throws(() => parseProcStatus('hello world\n'), isParseError);
    assert.throws(() => parseProcStatus(''), isParseError);
  });
});

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max stack size            8388608              unlimited            bytes     
Max processes             96365                96365                processes 
Max open files            1024                 524288               files     
Max locked memory         unlimited            unlimited            bytes     
Max nice priority         0                    0                    
Max realtime timeout      unlimited            unlimited            us        
`;

describe('parseProcLimits', () => {
  const l = parseProcLimits(LIMITS);
  test('numbers and unlimited → Infinity', () => {
    assert.deepEqual(l['Max open files'], { soft: 1024, hard: 524288 });
    assert.deepEqual(l['Max stack size'], { soft: 8388608, hard: Infinity });
    assert.deepEqual(l['Max cpu time'], { soft: Infinity, hard: Infinity });
    assert.deepEqual(l['Max locked memory'], { soft: Infinity, hard: Infinity });
    assert.deepEqual(l['Max nice priority'], { soft: 0, hard: 0 });
    assert.deepEqual(l['Max realtime timeout'], { soft: Infinity, hard: Infinity });
  });
  test('missing header → ParseError', () => {
    assert.throws(() => parseProcLimits(LIMITS.split('\n').slice(1).join('\n')), isParseError);
    assert.throws(() => parseProcLimits(''), isParseError);
  });
  test('a value that is neither a number nor unlimited → ParseError', () => {
    assert.throws(() => parseProcLimits(LIMITS.replace('1024   ', 'lots   ')), isParseError);
  });
});

describe('parseCmdline / parseEnviron', () => {
  const cases: [string, string | Buffer, string[]][] = [
    ['NUL-separated with a trailing NUL', 'node\0--inspect\0server.js\0', ['node', '--inspect', 'server.js']],
    ['no trailing NUL', 'node\0server.js', ['node', 'server.js']],
    ['rewritten with spaces (setproctitle)', 'nginx: worker process', ['nginx: worker process']],
    ['an empty argument in the middle survives', 'prog\0\0last\0', ['prog', '', 'last']],
    ['padded with NULs after the title', 'com.example.app' + '\0'.repeat(40), ['com.example.app']],
    ['empty (kernel thread or exited)', '', []],
    ['a Buffer with UTF-8', Buffer.from('grep\0héllo wörld\0', 'utf8'), ['grep', 'héllo wörld']],
  ];
  for (const [name, input, want] of cases) test(`cmdline: ${name}`, () => assert.deepEqual(parseCmdline(input), want));

  test('environ: KEY=value pairs, first = splits, junk without = is skipped', () => {
    const env = parseEnviron(Buffer.from('PATH=/usr/bin:/bin\0DATABASE_URL=postgres://u:p@db/x?a=b\0EMPTY=\0junk\0=novalue\0'));
    assert.deepEqual(env, { PATH: '/usr/bin:/bin', DATABASE_URL: 'postgres://u:p@db/x?a=b', EMPTY: '' });
  });
});

describe('parseSmapsRollup', () => {
  const text = `55e0c2a00000-7ffd2f5fe000 ---p 00000000 00:00 0                          [rollup]
Rss:               29948 kB
Pss:               29944 kB
Pss_Anon:          20000 kB
Anonymous:         20756 kB
Swap:               1940 kB
`;
  test('values in bytes, keyed by name', () => {
    const r = parseSmapsRollup(text);
    assert.equal(r.Rss, 29948 * 1024);
    assert.equal(r.Pss, 29944 * 1024);
    assert.equal(r.Pss_Anon, 20000 * 1024);
    assert.equal(r.Swap, 1940 * 1024);
  });
  test('no Rss line → ParseError', () => {
    assert.throws(() => parseSmapsRollup('Pss: 1 kB\n'), isParseError);
  });
});
