import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clean, cleanDeep, isSecretKey, MAX_SCAN, redactArg, redactArgv, redactDeep, redactLines, redactText, REDACTED } from '../../src/engine/redact.js';

// Token-shaped test values, built at run time so that no secret scanner flags this file.
const rnd = (n: number, alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789') => {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[(i * 7 + n) % alphabet.length];
  return s;
};
const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
export const TOKENS = {
  jwt: `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: '1234567890', name: 'Jane' })}.${rnd(43)}`,
  stripe: `sk_${'live'}_${rnd(24)}`,
  github: `ghp_${rnd(36)}`,
  githubFine: `github_pat_${rnd(22)}_${rnd(59)}`,
  slack: `xoxb-${'1234567890'}-${'1234567890123'}-${rnd(24)}`,
  aws: `AKIA${'IOSFODNN7'}${'EXAMPL3'}`,
  google: `AIza${rnd(35)}`,
  gitlab: `glpat-${rnd(20)}`,
  npm: `npm_${rnd(36)}`,
  openai: `sk-proj-${rnd(20)}T3B${rnd(20)}9`,
};

describe('redactText: secrets are removed', () => {
  // [input, expected output, the secrets that must not survive]
  const cases: [string, string, string[]][] = [
    ['--password=hunter2', `--password=${REDACTED}`, ['hunter2']],
    ['-password=hunter2', `-password=${REDACTED}`, ['hunter2']],
    ['--db-password=hunter2', `--db-password=${REDACTED}`, ['hunter2']],
    ['postgres://user:secret@db/x', `postgres://user:${REDACTED}@db/x`, ['secret']],
    ['mongodb+srv://admin:p%40ss@cluster0.example.net/app', `mongodb+srv://admin:${REDACTED}@cluster0.example.net/app`, ['p%40ss']],
    ['https://api.example.com/v1?token=abc&x=1', `https://api.example.com/v1?token=${REDACTED}&x=1`, ['abc']],
    ['?token=abc&x=1', `?token=${REDACTED}&x=1`, ['abc']],
    ['API_KEY=zzz', `API_KEY=${REDACTED}`, ['zzz']],
    ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI', `AWS_SECRET_ACCESS_KEY=${REDACTED}`, ['wJalrXUtnFEMI']],
    ['Authorization: Bearer abcdefgh123', `Authorization: Bearer ${REDACTED}`, ['abcdefgh123']],
    ['authorization: basic dXNlcjpwYXNzd29yZA==', `authorization: basic ${REDACTED}`, ['dXNlcjpwYXNzd29yZA']],
    ['--client-secret=s3cr3t', `--client-secret=${REDACTED}`, ['s3cr3t']],
    ['session_id=0123456789abcdef', `session_id=${REDACTED}`, ['0123456789abcdef']],
    ['a=1;auth_token=xyz;b=2', `a=1;auth_token=${REDACTED};b=2`, ['xyz']],
    ['url=https://bob:pw@host/ token=t0k3n', `url=https://bob:${REDACTED}@host/ token=${REDACTED}`, ['t0k3n']],
    // the forms that survived before
    ['Authorization: token gho_short1', `Authorization: token ${REDACTED}`, ['gho_short1']],
    ['Authorization: Bearer t1', `Authorization: Bearer ${REDACTED}`, ['t1']],
    ['Proxy-Authorization: Digest username="bob", response="6629fae4"', `Proxy-Authorization: Digest ${REDACTED} ${REDACTED}`, ['6629fae4', 'bob']],
    ['X-Api-Key: k3y-v4lue', `X-Api-Key: ${REDACTED}`, ['k3y-v4lue']],
    ['x-api-key:k3y-v4lue', `x-api-key:${REDACTED}`, ['k3y-v4lue']],
    ['Cookie: sid=abc123; theme=dark', `Cookie: ${REDACTED} ${REDACTED}`, ['abc123', 'dark']],
    ['curl -H "Authorization: Bearer zz9-top" https://api.example.com', `curl -H "Authorization: Bearer ${REDACTED}" https://api.example.com`, ['zz9-top']],
    [`jwt ${TOKENS.jwt} seen`, `jwt ${REDACTED} seen`, [TOKENS.jwt.split('.')[2]!]],
    [TOKENS.stripe, REDACTED, [TOKENS.stripe]],
    [`key ${TOKENS.github},`, `key ${REDACTED},`, [TOKENS.github]],
    [TOKENS.githubFine, REDACTED, [TOKENS.githubFine]],
    [`slack=${TOKENS.slack}`, `slack=${REDACTED}`, [TOKENS.slack]],
    [`(${TOKENS.aws})`, `(${REDACTED})`, [TOKENS.aws]],
    [`maps ${TOKENS.google}`, `maps ${REDACTED}`, [TOKENS.google]],
    [TOKENS.gitlab, REDACTED, [TOKENS.gitlab]],
    [TOKENS.npm, REDACTED, [TOKENS.npm]],
    [TOKENS.openai, REDACTED, [TOKENS.openai]],
    ['MYSQL_PWD=hunter2', `MYSQL_PWD=${REDACTED}`, ['hunter2']],
    ['PGPASSWORD=hunter2 psql -h db', `PGPASSWORD=${REDACTED} psql -h db`, ['hunter2']],
    ['mysql -uroot -phunter2 shop', `mysql -uroot -p${REDACTED} shop`, ['hunter2']],
    ['mysql -pmy-secret-1 shop', `mysql -p${REDACTED} shop`, ['my-secret-1']],
    ['redis-cli -a hunter2 ping', `redis-cli -a ${REDACTED} ping`, ['hunter2']],
    ['sshpass -p hunter2 ssh host', `sshpass -p ${REDACTED} ssh host`, ['hunter2']],
    ['curl -u bob:hunter2 https://x', `curl -u ${REDACTED} https://x`, ['hunter2']],
    ['redis://:hunter2@cache:6379/0', `redis://:${REDACTED}@cache:6379/0`, ['hunter2']],
    ['https://tok3nvalue@github.com/org/repo.git', `https://${REDACTED}@github.com/org/repo.git`, ['tok3nvalue']],
    ['postgres://u:p@ss@db.internal:5432/app', `postgres://u:${REDACTED}@db.internal:5432/app`, ['p@ss', 'ss@db']],
    ['--password=a,b', `--password=${REDACTED}`, ['a,b']],
    ["--password='two words' --port=1", `--password='${REDACTED}' --port=1`, ['two', 'words']],
    ['--password "two words"', `--password "${REDACTED}"`, ['two', 'words']],
    ['{"password": "hunter2", "user": "bob"}', `{"password": "${REDACTED}", "user": "bob"}`, ['hunter2']],
    ['{"password":"hunter2","user":"bob"}', `{"password":"${REDACTED}","user":"bob"}`, ['hunter2']],
    ['{"apiKey":"h\\"unter2"}', `{"apiKey":"${REDACTED}"}`, ['unter2']],
    ['{"token":hunter2}', `{"token":${REDACTED}}`, ['hunter2']],
    ['mysql --password hunter2 -h db', `mysql --password ${REDACTED} -h db`, ['hunter2']],
    ['tool --apikey hunter2', `tool --apikey ${REDACTED}`, ['hunter2']],
    ['sh -c \'mysql -phunter2 -e "select 1"\'', `sh -c 'mysql -p${REDACTED} -e "select 1"'`, ['hunter2']],
    ['api_key: sk-live-abc123', `api_key: ${REDACTED}`, ['sk-live-abc123']],
    ['password = hunter2', `password = ${REDACTED}`, ['hunter2']],
    ['password=', 'password=', []],
    // a dotted key with a numeric value is not a code location unless the key is a source file's name
    ['api.token:4827361', `api.token:${REDACTED}`, ['4827361']],
    ['app.secret: 1234567', `app.secret: ${REDACTED}`, ['1234567']],
    ['openssl rsa -passin pass:hunter2', `openssl rsa -passin ${REDACTED}`, ['hunter2']],
    [
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7v\nabc=\n-----END RSA PRIVATE KEY-----',
      `-----BEGIN RSA PRIVATE KEY-----${REDACTED}-----END RSA PRIVATE KEY-----`,
      ['MIIEowIBAAKCAQEA7v'],
    ],
    ['-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXk', `-----BEGIN OPENSSH PRIVATE KEY-----${REDACTED}`, ['b3BlbnNzaC1rZXk']],
    ['export GITHUB_TOKEN=abc; run', `export GITHUB_TOKEN=${REDACTED}; run`, ['abc']],
    ['DATABASE_URL=mysql://app:hunter2@db/app', `DATABASE_URL=mysql://app:${REDACTED}@db/app`, ['hunter2']],
  ];
  for (const [input, want, secrets] of cases) {
    test(input, () => {
      const out = redactText(input);
      assert.equal(out, want);
      for (const secret of secrets) assert.ok(!out.includes(secret), `${secret} survived in ${out}`);
    });
  }

  test('redaction is idempotent', () => {
    for (const [input] of cases) assert.equal(redactText(redactText(input)), redactText(input), input);
  });
});

describe('redactText: ordinary text is left alone', () => {
  const untouched = [
    '--port=8080',
    'server.js',
    // code locations from a runtime profile: a file and its line, however the file is named
    'tick (auth.js:8)',
    'login (src/auth/token.js:12:7)',
    'secret.ts:4',
    '--max-old-space-size=512',
    '--max-old-space-size=96',
    '/usr/local/bin/node',
    '--inspect=127.0.0.1:9229',
    'http://example.com:8080/health',
    'https://example.com/@user/status',
    '-Xmx2g',
    'KEY_COUNT=12',
    'host=db.internal',
    '10.20.0.15:8443',
    'logs-2024-01-05.json',
    'worker.py --queue jobs',
    'PWD=/srv/app',
    'OLDPWD=/root',
    '--password-file=/run/secrets/db',
    'TOKEN_FILE=/run/secrets/token',
    '--token-url=https://auth.example.com/oauth/token',
    'max_tokens=4096',
    '--tokenizer=bert-base-uncased',
    '--session-timeout=30',
    '--auth-type=basic',
    '--no-auth server.js',
    'ssh://git@github.com/org/repo.git',
    'git@github.com:org/repo.git',
    'mail ops@example.com',
    '/var/lib/docker/overlay2/3f2b1c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c/merged',
    '/srv/uploads/123e4567-e89b-12d3-a456-426614174000/file.bin',
    'the bearer of bad news',
    'basic configuration',
    'disk-usage-report-for-the-whole-host',
    'main.(*Server).handleSession(0xc000123456, 0x1)',
    'net/http.(*conn).serve',
    'std::string::npos',
    'key=value a=b c:d',
    'xoxo hugs',
    'AKIA is a prefix',
    'eyJhbGciOi is not a token',
    'socket:[123456]',
    'anon_inode:[eventfd]',
    '/tmp/my file (deleted)',
    "it's fine, isn't it",
    '{"name": "web", "port": 8080}',
    'mysql -h db -P 3306 shop',
    'node --inspect-port=0 app.js -p 8080',
  ];
  for (const s of untouched) test(s, () => assert.equal(redactText(s), s));
});

describe('isSecretKey', () => {
  test('names that hold secrets', () => {
    for (const k of [
      'password',
      'PGPASSWORD',
      'MYSQL_PWD',
      'apiKey',
      'x-api-key',
      'client_secret',
      'AUTH',
      'auth_token',
      'SESSION',
      'github_pat',
      'dsn',
      'Authorization',
      'Set-Cookie',
      'AWS_SECRET_ACCESS_KEY',
      'privateKey',
    ]) {
      assert.equal(isSecretKey(k), true, k);
    }
  });
  test('names that do not', () => {
    for (const k of [
      'port',
      'PWD',
      'host',
      'max_tokens',
      'tokenizer',
      'password_file',
      'session-timeout',
      'no-auth',
      'KEY_COUNT',
      'key',
      'path',
      'author',
      'passenger',
      'x'.repeat(200),
    ]) {
      assert.equal(isSecretKey(k), false, k);
    }
  });
});

describe('redactArg / redactArgv', () => {
  test('a secret-named flag redacts the NEXT argument', () => {
    assert.deepEqual(redactArgv(['app', '--password', 'hunter2', '--port', '8080']), ['app', '--password', REDACTED, '--port', '8080']);
    assert.deepEqual(redactArgv(['python3', 'worker.py', '--queue', 'jobs', '--password', 'hunter2']), [
      'python3',
      'worker.py',
      '--queue',
      'jobs',
      '--password',
      REDACTED,
    ]);
    assert.deepEqual(redactArgv(['cli', '--api-key', 'k-123', 'run']), ['cli', '--api-key', REDACTED, 'run']);
  });
  test('a flag after a secret-named flag is not swallowed', () => {
    assert.deepEqual(redactArgv(['app', '--token', '--verbose']), ['app', '--token', '--verbose']);
  });
  test('inline forms and ordinary args', () => {
    assert.deepEqual(redactArgv(['node', '--max-old-space-size=512', 'server.js', '--db-password=hunter2', '--port=8080']), [
      'node',
      '--max-old-space-size=512',
      'server.js',
      `--db-password=${REDACTED}`,
      '--port=8080',
    ]);
  });
  test('one element is one value: spaces and commas included', () => {
    assert.deepEqual(redactArgv(['app', '--password=two words', '--password=a,b']), ['app', `--password=${REDACTED}`, `--password=${REDACTED}`]);
    assert.deepEqual(redactArgv(['env', 'MYSQL_PWD=two words', 'mysql']), ['env', `MYSQL_PWD=${REDACTED}`, 'mysql']);
  });
  test("programs' password flags", () => {
    assert.deepEqual(redactArgv(['/usr/bin/mysql', '-uroot', '-phunter2', 'shop']), ['/usr/bin/mysql', '-uroot', `-p${REDACTED}`, 'shop']);
    assert.deepEqual(redactArgv(['mysql', '-pmysql-secret-1']), ['mysql', `-p${REDACTED}`]);
    assert.deepEqual(redactArgv(['sudo', 'redis-cli', '-a', 'hunter2', 'ping']), ['sudo', 'redis-cli', '-a', REDACTED, 'ping']);
    // -p is a port for most programs
    assert.deepEqual(redactArgv(['python3', 'serve.py', '-p', '8080', '-p9090']), ['python3', 'serve.py', '-p', '8080', '-p9090']);
  });
  test('sh -c: a whole command line in one element', () => {
    assert.deepEqual(redactArgv(['sh', '-c', 'mysql --password hunter2 -h db && curl -H "X-Api-Key: k3y" https://x']), [
      'sh',
      '-c',
      `mysql --password ${REDACTED} -h db && curl -H "X-Api-Key: ${REDACTED}" https://x`,
    ]);
    assert.deepEqual(redactArgv(['bash', '-c', 'exec tool --apikey hunter2']), ['bash', '-c', `exec tool --apikey ${REDACTED}`]);
  });
  test('a value after a non-flag is not redacted even if it looks like a secret name', () => {
    assert.equal(redactArg('hunter2', 'password.txt'), 'hunter2');
    assert.equal(redactArg('8080', '--port'), '8080');
    assert.equal(redactArg('hunter2', '--password'), REDACTED);
  });
});

describe('bounded, linear-time scanning', () => {
  const time = (f: () => void) => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  test('a 131 000-character argument is cut, says so, and takes well under a second', () => {
    for (const arg of [
      'a'.repeat(131_000),
      '-'.repeat(131_000),
      'a-'.repeat(65_500),
      'x=y&'.repeat(32_750),
      'eyJ-'.repeat(32_750),
      'sk-a'.repeat(32_750),
      'a://'.repeat(32_750),
      `"${'\\'.repeat(131_000)}`,
    ]) {
      let out: string[] = [];
      const ms = time(() => {
        out = redactArgv(['app', arg, '--password', 'hunter2']);
      });
      assert.ok(ms < 500, `${arg.slice(0, 8)}…: ${ms.toFixed(0)} ms`);
      assert.match(out[1]!, /…\[cut: \d+ more characters\]$/);
      assert.ok(out[1]!.length <= MAX_SCAN + 40);
      assert.equal(out[3], REDACTED);
    }
  });
  test('a 40 MB goroutine-dump line takes well under a second', () => {
    const line = `# labels: {"k":"${'a'.repeat(40 * 2 ** 20)}"}`;
    const dump = `goroutine profile: total 1\n1 @ 0x1\n${line}\n#\t0x1\tmain.f+0x1\t/x.go:1\n`;
    let out = '';
    const ms = time(() => {
      out = redactLines(dump);
    });
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
    assert.match(out, /\n# labels: \{"k":"a+…\[cut: \d+ more characters\]\n#\t0x1\tmain\.f/);
  });
  test('cut before a partial word, never inside a surrogate pair', () => {
    const s = `${'a '.repeat(MAX_SCAN / 2 - 4)}xyz ${TOKENS.github}${'b'.repeat(1000)}`;
    const out = redactText(s);
    assert.ok(!out.includes('ghp_'), 'a cut token prefix survived');
    const emoji = 'x' + '😀'.repeat(MAX_SCAN);
    assert.ok(!/[\ud800-\udbff]…/.test(redactText(emoji)));
  });
  test('many words of every kind scan in linear time', () => {
    const unit = '--password x a=b "c:d" https://u:p@h/ ?token=t ';
    const small = unit.repeat(100);
    const big = unit.repeat(300); // ~15 000 chars, under the cap
    const tSmall =
      time(() => {
        for (let i = 0; i < 30; i++) redactText(small);
      }) / 30;
    const tBig = time(() => redactText(big));
    assert.ok(tBig < 200, `${tBig.toFixed(1)} ms`);
    assert.ok(tBig < Math.max(5, tSmall * 3) * 10, `3x the input took ${(tBig / tSmall).toFixed(1)}x the time`);
  });
});

describe('redactDeep / cleanDeep: structured values', () => {
  test('a string under a secret-named key is redacted whole (pprof labels)', () => {
    const labels = { labels: { api_key: 'sk-live-abc', handler: '/api/orders', SessionToken: 'x' } };
    assert.deepEqual(redactDeep(labels), { labels: { api_key: REDACTED, handler: '/api/orders', SessionToken: REDACTED } });
  });
  test('numbers and ordinary keys are kept', () => {
    assert.deepEqual(redactDeep({ count: 3, 'go.pprofUrl': 'http://127.0.0.1:6060/debug/pprof/', token_count: 2 }), {
      count: 3,
      'go.pprofUrl': 'http://127.0.0.1:6060/debug/pprof/',
      token_count: 2,
    });
  });
  test('redactLines keeps lines and redacts a private key across them', () => {
    const text = 'a=1\npassword=x\n-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\nz\n';
    assert.equal(redactLines(text), `a=1\npassword=${REDACTED}\n-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----\nz\n`);
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
  test('redaction runs before clean: a value on the next line is not glued to its key', () => {
    assert.equal(cleanDeep('password:\nsecret', true), `password:\\x0a${REDACTED}`);
  });
});

describe('pprof goroutine dumps from a hostile peer', () => {
  test('label values under secret-named keys are redacted in evidence', async () => {
    const { parseGoroutineProfile, topStacks } = await import('../../src/go/goroutines.js');
    const dump =
      'goroutine profile: total 3\n3 @ 0x1 0x2\n# labels: {"api_key":"sk-live-abc123", "handler":"/orders", "auth":"Bearer xyz12345"}\n#\t0x1\tmain.serve+0x1\t/x.go:1\n\n';
    const ev = cleanDeep({ 'go.topStacks': topStacks(parseGoroutineProfile(dump).groups) }, true) as any;
    assert.deepEqual(ev['go.topStacks'][0].labels, { api_key: REDACTED, handler: '/orders', auth: REDACTED });
    assert.equal(redactLines(dump).includes('sk-live-abc123'), false, 'the bundle copy of the dump is redacted too');
  });
  test('a 40 MB line is parsed and redacted in well under a few seconds, without a stack overflow', async () => {
    const { parseGoroutineProfile, topStacks } = await import('../../src/go/goroutines.js');
    const big = 'a'.repeat(40 * 2 ** 20);
    for (const line of [`# labels: {"api_key":"${big}"}`, `# labels: {"k":"v", "x":"${big}"}`, `#\t0x1\tmain.${big}+0x1\t/x.go:1`]) {
      const t = performance.now();
      const p = parseGoroutineProfile(`goroutine profile: total 1\n1 @ 0x1\n${line}\n#\t0x1\tmain.f+0x1\t/x.go:1\n\n`);
      const ev = JSON.stringify(cleanDeep(topStacks(p.groups), true));
      const ms = performance.now() - t;
      assert.ok(ms < 3000, `${ms.toFixed(0)} ms`);
      assert.ok(ev.length < 64 * 1024, 'what reaches a report is bounded');
    }
  });
});
