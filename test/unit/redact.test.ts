import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clean, cleanDeep, redactArg, redactArgv, redactText, REDACTED } from '../../src/engine/redact.js';

describe('redactText: secrets are removed', () => {
  // [input, expected output, the secret that must not survive]
  const cases: [string, string, string][] = [
    ['--password=hunter2', `--password=${REDACTED}`, 'hunter2'],
    ['-password=hunter2', `-password=${REDACTED}`, 'hunter2'],
    ['--db-password=hunter2', `--db-password=${REDACTED}`, 'hunter2'],
    ['postgres://user:secret@db/x', `postgres://user:${REDACTED}@db/x`, 'secret'],
    ['mongodb+srv://admin:p%40ss@cluster0.example.net/app', `mongodb+srv://admin:${REDACTED}@cluster0.example.net/app`, 'p%40ss'],
    ['https://api.example.com/v1?token=abc&x=1', `https://api.example.com/v1?token=${REDACTED}&x=1`, 'abc'],
    ['?token=abc&x=1', `?token=${REDACTED}&x=1`, 'abc'],
    ['API_KEY=zzz', `API_KEY=${REDACTED}`, 'zzz'],
    ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI', `AWS_SECRET_ACCESS_KEY=${REDACTED}`, 'wJalrXUtnFEMI'],
    ['Authorization: Bearer abcdefgh123', `Authorization: Bearer ${REDACTED}`, 'abcdefgh123'],
    ['authorization: basic dXNlcjpwYXNzd29yZA==', `authorization: basic ${REDACTED}`, 'dXNlcjpwYXNzd29yZA'],
    ['--client-secret=s3cr3t', `--client-secret=${REDACTED}`, 's3cr3t'],
    ['session_id=0123456789abcdef', `session_id=${REDACTED}`, '0123456789abcdef'],
    ['a=1;auth_token=xyz;b=2', `a=1;auth_token=${REDACTED};b=2`, 'xyz'],
    ['url=https://bob:pw@host/ token=t0k3n', `url=https://bob:${REDACTED}@host/ token=${REDACTED}`, 't0k3n'],
  ];
  for (const [input, want, secret] of cases) {
    test(input, () => {
      const out = redactText(input);
      assert.equal(out, want);
      assert.ok(!out.includes(secret), `${secret} survived in ${out}`);
    });
  }

  test('redaction is idempotent', () => {
    for (const [input] of cases) assert.equal(redactText(redactText(input)), redactText(input));
  });
});

describe('redactText: ordinary text is left alone', () => {
  const untouched = [
    '--port=8080',
    'server.js',
    '--max-old-space-size=512',
    '/usr/local/bin/node',
    '--inspect=127.0.0.1:9229',
    'http://example.com:8080/health',
    '-Xmx2g',
    'KEY_COUNT=12',
    'host=db.internal',
    '10.20.0.15:8443',
    'logs-2024-01-05.json',
    'worker.py --queue jobs',
  ];
  for (const s of untouched) test(s, () => assert.equal(redactText(s), s));
});

describe('redactArg / redactArgv', () => {
  test('a secret-named flag redacts the NEXT argument', () => {
    assert.deepEqual(redactArgv(['app', '--password', 'hunter2', '--port', '8080']), ['app', '--password', REDACTED, '--port', '8080']);
    assert.deepEqual(redactArgv(['python3', 'worker.py', '--queue', 'jobs', '--password', 'hunter2']),
      ['python3', 'worker.py', '--queue', 'jobs', '--password', REDACTED]);
    assert.deepEqual(redactArgv(['cli', '--api-key', 'k-123', 'run']), ['cli', '--api-key', REDACTED, 'run']);
  });
  test('a flag after a secret-named flag is not swallowed', () => {
    assert.deepEqual(redactArgv(['app', '--token', '--verbose']), ['app', '--token', '--verbose']);
  });
  test('inline forms and ordinary args', () => {
    assert.deepEqual(
      redactArgv(['node', '--max-old-space-size=512', 'server.js', '--db-password=hunter2', '--port=8080']),
      ['node', '--max-old-space-size=512', 'server.js', `--db-password=${REDACTED}`, '--port=8080'],
    );
  });
  test('a value after a non-flag is not redacted even if it looks like a secret name', () => {
    assert.equal(redactArg('hunter2', 'password.txt'), 'hunter2');
    assert.equal(redactArg('8080', '--port'), '8080');
  });
});

describe('clean: target-controlled text made safe for a terminal', () => {
  const cases: [string, string][] = [
    ['\x1b[31mred\x1b[0m', '\\x1b[31mred\\x1b[0m'],
    ['line1\nline2', 'line1\\x0aline2'],
    ['tab\there', 'tab\\x09here'],
    ['cr\rover', 'cr\\x0dover'],
    ['nul\0byte', 'nul\\x00byte'],
    ['del\x7f', 'del\\x7f'],
    ['c1\x9bcsi', 'c1\\x9bcsi'],
    ['evil\u202egnp.exe', 'evil\\u202egnp.exe'],
    ['\u2066isolate\u2069', '\\u2066isolate\\u2069'],
    ['plain /var/log/app.log', 'plain /var/log/app.log'],
    ['ünïcødé 日本語 ok', 'ünïcødé 日本語 ok'],
  ];
  for (const [input, want] of cases) test(JSON.stringify(input), () => assert.equal(clean(input), want));

  test('the result contains no control or bidi characters', () => {
    let all = '';
    for (let c = 0; c < 0xa0; c++) all += String.fromCharCode(c);
    all += '\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069';
    assert.doesNotMatch(clean(all), /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  test('cleanDeep cleans keys and string values at any depth, redacting when asked', () => {
    const v = { 'a\nb': ['x\x1by', { path: '/tmp/\u202etxt.sh', url: 'postgres://u:pw@db/x', n: 3 }] };
    assert.deepEqual(cleanDeep(v, true), { 'a\\x0ab': ['x\\x1by', { path: '/tmp/\\u202etxt.sh', url: `postgres://u:${REDACTED}@db/x`, n: 3 }] });
    assert.deepEqual(cleanDeep(v, false), { 'a\\x0ab': ['x\\x1by', { path: '/tmp/\\u202etxt.sh', url: 'postgres://u:pw@db/x', n: 3 }] });
  });
});
