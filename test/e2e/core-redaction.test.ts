/**
 * End to end, redaction: a real process whose argv holds secrets in the forms that used to leak
 * (and one 131 000-character argument, the longest Linux allows in one element), run through
 * every output format, a snapshot, every file of a capture bundle and `top`. No secret may
 * appear anywhere, and every run must end well inside its deadline (the old redaction took
 * 34 s on that argument). Also: a catastrophic `--name` pattern answers at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, runCli, startNodeTarget, type Target } from '../helpers/processes.js';

const dirs: string[] = [];
after(async () => {
  await cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwtSig = 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV' + 'adQssw5c';
// token-shaped values are assembled here so that no secret scanner flags the source file
const shaped = {
  jwt: `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: '42', name: 'Jane' })}.${jwtSig}`,
  stripe: ['sk', 'live', 'Zq8x4eC39HqLyjWDarjtT1zd'].join('_'),
  github: 'ghp' + '_R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3s12',
  slack: ['xoxb', '2481632641', '3263264128256', 'Rz7QpL2mVx9sKd4Wn8Yt6Bc1'].join('-'),
  aws: 'AKIA' + 'Q3EGRJ7XN5T2LWPB',
  google: 'AIza' + 'SyD7v3Qx9LmN2pR8sT4uW6yZ0aB1cE5fG7h',
};
const LONG = 'z'.repeat(131_000);
const ARGS = [
  '--password=hunter2-a1',
  '--password',
  'hunter2-b1',
  'Authorization: Bearer bearer-secret-c1',
  'Authorization: token ghtoken-secret-c2',
  'X-Api-Key: apikey-secret-d1',
  shaped.jwt,
  shaped.stripe,
  shaped.github,
  shaped.slack,
  shaped.aws,
  shaped.google,
  'MYSQL_PWD=mysqlpwd-e1',
  'mysql',
  '-pmysql-secret-f1',
  'redis://:redis-secret-g1@127.0.0.1:6379/0',
  'https://token-secret-h1@127.0.0.1/x',
  'postgres://u:p@ss-secret-i1@127.0.0.1/db',
  '--password=a-j1,b-j2',
  '--password=two words-k1',
  '{"password": "json-secret-l1"}',
  'mysql --password shc-secret-m1 -h db',
  'tool --apikey shc-secret-n1',
  'api_key: sk-live-o1abcdef',
  LONG,
  '--token',
  'after-long-p1',
];
const SECRETS = [
  'hunter2-a1',
  'hunter2-b1',
  'bearer-secret-c1',
  'ghtoken-secret-c2',
  'apikey-secret-d1',
  jwtSig,
  ...Object.values(shaped),
  'mysqlpwd-e1',
  'mysql-secret-f1',
  'redis-secret-g1',
  'token-secret-h1',
  'ss-secret-i1',
  'a-j1',
  'b-j2',
  'words-k1',
  'json-secret-l1',
  'shc-secret-m1',
  'shc-secret-n1',
  'sk-live-o1abcdef',
  'after-long-p1',
];

function assertClean(where: string, text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} leaks ${s.slice(0, 24)}`);
  assert.ok(!text.includes(LONG), `${where} holds the whole 131 000-character argument`);
}

/** Every file of a bundle, with symlink targets, as one text per path. */
function bundleFiles(dir: string, base = dir, out: Record<string, string> = {}): Record<string, string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) out[p.slice(base.length)] = readlinkSync(p);
    else if (st.isDirectory()) bundleFiles(p, base, out);
    else out[p.slice(base.length)] = readFileSync(p, 'latin1');
  }
  return out;
}

describe('secrets in every form, every output', () => {
  let target: Target;
  before(async () => {
    target = await startNodeTarget('idle', ARGS);
  });
  // generous, but far below the 34 s the quadratic redaction took, and inside --timeout
  const DEADLINE_MS = 8000;

  test('json, markdown and table', async () => {
    for (const format of ['json', 'markdown', 'table']) {
      const res = await runCli([String(target.pid), '--format', format, '--timeout', '3s']);
      assert.equal(res.code, 0, `${format}: ${res.stderr}`);
      assert.ok(res.ms < DEADLINE_MS, `${format} took ${res.ms} ms`);
      assertClean(format, res.stdout + res.stderr);
      assert.match(res.stdout, /idle\.js/);
      if (format === 'json') {
        const t = JSON.parse(res.stdout).targets[0];
        assert.match(t.cmdline, /--password=\*\*\* --password \*\*\* Authorization: Bearer \*\*\*/);
        assert.match(t.cmdline, /z{1000}…\[cut: \d+ more characters\] --token \*\*\*/);
        assert.match(t.cmdline, /postgres:\/\/u:\*\*\*@127\.0\.0\.1\/db/);
      }
    }
  });

  test('--no-redact still shows them, loudly', async () => {
    const res = await runCli([String(target.pid), '--json', '--no-redact']);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stdout.includes('hunter2-a1') && res.stdout.includes(shaped.github));
    assert.match(res.stderr, /WARNING: --no-redact/);
  });

  test('snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proctriage-redact-'));
    dirs.push(dir);
    const file = join(dir, 'snap.json');
    const res = await runCli(['snapshot', String(target.pid), '-o', file]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.ms < DEADLINE_MS, `snapshot took ${res.ms} ms`);
    assertClean('snapshot', readFileSync(file, 'utf8') + res.stdout + res.stderr);
  });

  test('every file of a capture bundle', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'proctriage-redact-'));
    dirs.push(parent);
    const dir = join(parent, 'bundle');
    const res = await runCli(['capture', String(target.pid), '--dir', dir, '--json']);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.ms < DEADLINE_MS, `capture took ${res.ms} ms`);
    assertClean('capture output', res.stdout + res.stderr);
    const files = bundleFiles(dir);
    assert.ok(
      Object.keys(files).some((f) => f.endsWith('/cmdline')),
      'the bundle holds the cmdline',
    );
    assert.ok(
      Object.keys(files).some((f) => f.endsWith('/environ')),
      'the bundle holds the environ',
    );
    for (const [path, text] of Object.entries(files)) assertClean(`bundle file ${path}`, text);
    // and analyze reads the redacted bundle back without trouble
    const again = await runCli(['analyze', dir, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assertClean('analyze', again.stdout + again.stderr);
  });

  test('top --json and top', async () => {
    for (const args of [
      ['top', '--json'],
      ['top', '--limit', '200'],
    ]) {
      const res = await runCli(args, { timeoutMs: 60_000 });
      assert.ok(res.code !== null && res.code <= 3 && !/^\s+at /m.test(res.stderr), `${args.join(' ')}: ${res.stderr}`);
      assert.ok(res.ms < 20_000, `${args.join(' ')} took ${res.ms} ms`);
      assertClean(args.join(' '), res.stdout + res.stderr);
      if (args[1] === '--json')
        assert.ok(
          JSON.parse(res.stdout).targets.some((t: any) => t.pid === target.pid),
          'the target is in top',
        );
    }
  });
});

describe('--name runs in linear time', () => {
  test("'(a+)+$' over a command line of 'aaaa…!' answers at once", async () => {
    const target = await startNodeTarget('idle', [`${'a'.repeat(50_000)}!`]);
    const res = await runCli(['--name', '(a+)+$', '--json', '--timeout', '3s']);
    assert.ok(res.ms < 8000, `took ${res.ms} ms`);
    assert.ok(res.code !== null && !/^\s+at /m.test(res.stderr), res.stderr);
    // a pattern that does select it, over the same long command line
    const hit = await runCli(['--name', 'a{1000}!$', '--json', '--timeout', '3s']);
    assert.ok(hit.ms < 8000, `took ${hit.ms} ms`);
    assert.equal(hit.code, 0, hit.stderr);
    assert.deepEqual(
      JSON.parse(hit.stdout).targets.map((t: any) => t.pid),
      [target.pid],
    );
    await target.stop();
  });

  test('a pattern RE2 cannot run is a one-line usage error', async () => {
    for (const p of ['(?<=x)a', '(a)\\1', '(unclosed']) {
      const res = await runCli(['--name', p]);
      assert.equal(res.code, 3, res.stderr);
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      assert.match(res.stderr, /^proctriage: --name ".*" is not a pattern proctriage can use: /);
    }
  });
});
