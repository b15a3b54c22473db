/**
 * Redaction and terminal safety for everything that came from the target or a peer.
 * Redaction is on by default: reports go into tickets.
 *
 * Cost: every string is cut to MAX_SCAN characters first (the cut is said in the text), then
 * read once, left to right, by a small scanner: words (quote-aware, so `--password='two words'`
 * and a whole `sh -c` script are understood), and inside each word key=value / key:value pairs,
 * URL userinfo and the token shapes of secret-shapes.ts, tried only where a word starts. No regex
 * here can backtrack over more than the token it is looking at, so the time is linear.
 *
 * What is redacted:
 * - the value of a secret-named key (see isSecretKey) in `--key=v`, `--key v`, `KEY=v`, `key: v`,
 *   `"key": "v"`, `?key=v&`; a quoted value whole, an unquoted one up to whitespace, `&` or `;`
 *   (commas are part of it: `--password=a,b`);
 * - HTTP headers: `Authorization:` / `Proxy-Authorization:` (all but the scheme word), `Cookie:`
 *   and `Set-Cookie:` (all of it), up to the end of the line or of the quoted string;
 *   `Bearer <token>` anywhere;
 * - URL userinfo: the password of `user:pw@`, with `@` allowed in it (the last `@` of the
 *   authority ends it); userinfo without a password (`https://TOKEN@host`) whole, except for
 *   ssh-like schemes, where it is a login name;
 * - short flags that carry a password for a few known programs (`mysql -pX`, `redis-cli -a X`,
 *   `sshpass -p X`, `mongosh -p X`, `curl -u user:pw`);
 * - private key blocks (BEGIN … END) and the well-known token shapes.
 * Not redacted, on purpose: paths, ports, sizes, UUIDs, hex ids, e-mail addresses, `key=value`
 * with a key that names no secret (`--port=8080`, `--max-old-space-size=96`), and keys that name a
 * secret's file, path, type, size, timeout or name rather than the secret (`--password-file=…`).
 */
import { PRIVATE_KEY_BEGIN, PRIVATE_KEY_END, PRIVATE_KEY_HEADER, SHAPES_BY_FIRST } from './secret-shapes.js';

export const REDACTED = '***';
/** Characters of one string that are scanned (and kept); the rest is cut, and the cut is said. */
export const MAX_SCAN = 16_384;
/** Quoted strings inside quoted strings are read this deep; deeper quotes are plain characters. */
const MAX_DEPTH = 4;
const MAX_KEY = 64;

// Key words, matched on the key lower-cased with separators removed (STRONG, as substrings) or
// on its words (split at - _ . and camelCase; WEAK, whole words only).
const STRONG = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'credential',
  'privatekey',
  'accesskey',
  'signingkey',
  'encryptionkey',
  'masterkey',
  'authkey',
  'cookie',
  'signature',
  'bearer',
  'jwt',
  'sessionid',
  'sessionkey',
  'authorization',
  'connectionstring',
];
const WEAK = new Set(['pwd', 'pass', 'pw', 'auth', 'session', 'dsn', 'creds', 'pat', 'otp', 'passin', 'passout']);
/** a key whose last word is one of these names something about the secret, not the secret */
const NOT_LAST = new Set([
  'file',
  'files',
  'path',
  'dir',
  'directory',
  'type',
  'timeout',
  'ttl',
  'age',
  'expiry',
  'expires',
  'expiration',
  'length',
  'len',
  'size',
  'count',
  'limit',
  'max',
  'min',
  'mode',
  'name',
  'interval',
  'retries',
  'enabled',
  'disabled',
  'required',
  'format',
  'algorithm',
  'algo',
  'method',
  'scheme',
  'policy',
  'domain',
  'version',
  'url',
  'uri',
  'endpoint',
  'host',
  'port',
  'user',
  'username',
  'header',
  'env',
  'var',
  'prefix',
  'tokens',
  'tokenizer',
  'level',
  'strategy',
  'backend',
  'store',
  'provider',
  'location',
  'cache',
]);
/** … or whose first word is one of these (a switch or a count) */
const NOT_FIRST = new Set(['no', 'disable', 'enable', 'without', 'skip', 'max', 'min', 'num', 'use', 'require', 'allow', 'ignore', 'show', 'print', 'has']);
/** environment variables that look like secrets and are not (PWD is the working directory) */
const NOT_EXACT = new Set(['pwd', 'oldpwd']);

/** Does this key (flag name, variable, JSON key, header) name a secret? */
export function isSecretKey(key: string): boolean {
  if (!key || key.length > MAX_KEY) return false;
  return remembered(secretKeys, key, secretKeyWords);
}

function secretKeyWords(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const [first] = words,
    lastWord = words.at(-1);
  if (first === undefined || lastWord === undefined || NOT_FIRST.has(first) || NOT_LAST.has(lastWord)) return false;
  const norm = words.join('');
  if (NOT_EXACT.has(norm)) return false;
  return STRONG.some((t) => norm.includes(t)) || words.some((w) => WEAK.has(w));
}

/** Header names whose whole value is a credential (the auth scheme word is kept). */
function headerMode(key: string): 'auth' | 'rest' | 'value' {
  const n = key.toLowerCase().replace(/[^a-z]/g, '');
  if (n === 'authorization' || n === 'proxyauthorization') return 'auth';
  if (n === 'cookie' || n === 'setcookie') return 'rest';
  return 'value';
}
const AUTH_SCHEMES = new Set([
  'bearer',
  'basic',
  'token',
  'digest',
  'negotiate',
  'ntlm',
  'bot',
  'apikey',
  'key',
  'jwt',
  'mac',
  'hoba',
  'aws4-hmac-sha256',
  'oauth',
  'sso-key',
  'splunk',
  'ssws',
  'dpop',
  'gnap',
]);

/** Short flags that carry a password, per program (the flag's next word, or its attached value). */
const MYSQL = { attached: ['-p'], separate: [] as string[] };
const SEPARATE_P = { attached: ['-p'], separate: ['-p'] };
/** A program's password flags: attached (`-psecret`) and separate (`-p secret`). */
interface ProgramFlags {
  attached: string[];
  separate: string[];
}
const PROGRAMS: Record<string, ProgramFlags> = {
  mysql: MYSQL,
  mysqldump: MYSQL,
  mysqladmin: MYSQL,
  mysqlimport: MYSQL,
  mysqlcheck: MYSQL,
  mysqlshow: MYSQL,
  mysqlslap: MYSQL,
  mariadb: MYSQL,
  'mariadb-dump': MYSQL,
  'mariadb-admin': MYSQL,
  mysqlsh: MYSQL,
  'redis-cli': { attached: ['-a'], separate: ['-a'] },
  'valkey-cli': { attached: ['-a'], separate: ['-a'] },
  sshpass: SEPARATE_P,
  mongo: SEPARATE_P,
  mongosh: SEPARATE_P,
  mongodump: SEPARATE_P,
  mongorestore: SEPARATE_P,
  mongoexport: SEPARATE_P,
  mongoimport: SEPARATE_P,
  curl: { attached: ['-u'], separate: ['-u'] },
};
function programOf(word: string): ProgramFlags | undefined {
  const base = word.slice(word.lastIndexOf('/') + 1);
  return Object.hasOwn(PROGRAMS, base) ? PROGRAMS[base] : undefined;
}

/** schemes whose userinfo is a login name, never a credential */
const LOGIN_SCHEMES = new Set(['ssh', 'git+ssh', 'ssh+git', 'sftp', 'scp', 'rsync']);

/** Cut a string to MAX_SCAN characters, not inside a word when a word boundary is near. */
function bound(s: string): { head: string; note: string } {
  if (s.length <= MAX_SCAN) return { head: s, note: '' };
  let end = MAX_SCAN;
  // a word cut in two could be the start of a secret that no rule recognises any more
  if (!isSpace(s[end]) && !isSpace(s[end - 1])) {
    let k = end - 1;
    while (k > MAX_SCAN - 1024 && !isSpace(s[k])) k--;
    if (isSpace(s[k])) end = k + 1;
  }
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // not half a surrogate pair
  return { head: s.slice(0, end), note: `…[cut: ${s.length - end} more characters]` };
}

/** Redact secrets inside free text (a log line, an argv element, a header, a script, JSON …). */
export function redactText(s: string): string {
  return s.length <= MEMO_LENGTH ? remembered(redactedTexts, s, redactUncached) : redactUncached(s);
}

function redactUncached(s: string): string {
  const { head, note } = bound(s);
  return scan(privateKeys(head), 0) + note;
}

/**
 * The same short strings (metric keys, fd types, states) come back for every target of a report:
 * `top` redacts each of them once per process. Both functions are pure, so their answers are kept,
 * up to a bound (a long run over many distinct strings starts afresh rather than grow).
 */
const MEMO_LENGTH = 128;
const MEMO_ENTRIES = 20_000;
const secretKeys = new Map<string, boolean>();
const redactedTexts = new Map<string, string>();

function remembered<T>(memo: Map<string, T>, key: string, compute: (key: string) => T): T {
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  if (memo.size >= MEMO_ENTRIES) memo.clear();
  const value = compute(key);
  memo.set(key, value);
  return value;
}

/** Redact a multi-line text (a goroutine dump, a /proc file) line by line, each line bounded. */
export function redactLines(text: string): string {
  return privateKeys(text).split('\n').map(redactText).join('\n');
}

/** Keep the BEGIN/END lines of a private key block, redact what is between. */
function privateKeys(s: string): string {
  let at = s.indexOf(PRIVATE_KEY_BEGIN);
  if (at < 0) return s;
  let out = '';
  let copied = 0;
  while (at >= 0) {
    PRIVATE_KEY_HEADER.lastIndex = at;
    const m = PRIVATE_KEY_HEADER.exec(s);
    if (!m) {
      at = s.indexOf(PRIVATE_KEY_BEGIN, at + 1);
      continue;
    }
    const body = at + m[0].length;
    const end = s.indexOf(PRIVATE_KEY_END, body);
    const stop = end < 0 ? s.length : end;
    out += s.slice(copied, body) + (s.slice(body, stop).trim() === REDACTED ? s.slice(body, stop) : REDACTED);
    copied = stop;
    at = end < 0 ? -1 : s.indexOf(PRIVATE_KEY_BEGIN, end + PRIVATE_KEY_END.length);
  }
  return out + s.slice(copied);
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isKeyChar = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' || c === '-' || c === '.' || c === '+';
const isWordChar = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_');

interface Part {
  q: '' | '"' | "'";
  text: string;
}

/** A word split into unquoted runs and quoted strings; `next` caches where no closing quote is left. */
function splitWord(s: string, from: number, depth: number, next: { "'": number; '"': number }): { parts: Part[]; end: number } {
  const parts: Part[] = [];
  let run = from;
  let i = from;
  while (i < s.length && !isSpace(s[i])) {
    const c = s[i];
    if ((c === '"' || c === "'") && depth < MAX_DEPTH && i >= next[c]) {
      const close = closing(s, i, c);
      if (close < 0) {
        next[c] = Infinity; // no closing quote anywhere after here: quotes are plain characters
      } else {
        if (i > run) parts.push({ q: '', text: s.slice(run, i) });
        parts.push({ q: c, text: s.slice(i + 1, close) });
        i = close + 1;
        run = i;
        continue;
      }
    }
    i++;
  }
  if (i > run) parts.push({ q: '', text: s.slice(run, i) });
  return { parts, end: i };
}

function closing(s: string, open: number, q: string): number {
  if (q === "'") return s.indexOf("'", open + 1);
  for (let k = s.indexOf('"', open + 1); k >= 0; k = s.indexOf('"', k + 1)) {
    let bs = 0;
    while (s[k - 1 - bs] === '\\') bs++;
    if (bs % 2 === 0) return k;
  }
  return -1;
}

/** A whole word redacted, its quotes kept. */
/** The word's one part, when it has exactly one. */
const single = (parts: Part[]): Part | undefined => (parts.length === 1 ? parts[0] : undefined);
const redactWhole = (parts: Part[]) => {
  const one = single(parts);
  return one?.q ? one.q + REDACTED + one.q : REDACTED;
};
/** A value word: a leading quoted string redacted and what follows it read as usual (`"v"},`), else all of it. */
const redactValue = (parts: Part[], depth: number) => {
  const [head] = parts;
  return head?.q ? head.q + REDACTED + head.q + inline(parts.slice(1), depth) : REDACTED;
};
const KEY_WORD = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const FLAG_WORD = /^-{1,2}[A-Za-z][A-Za-z0-9_.-]*$/;
/** a token after "Bearer": long enough and not an ordinary word */
const tokenLike = (w: string) => w.length >= 8 && /[0-9._~+/=-]/.test(w);

type Pending = 'none' | 'value' | 'flag' | 'auth' | 'rest' | 'bearer' | 'eq';

/** Word by word: flags and their values, headers, `key = value`, programs' password flags. */
/**
 * A source file's name, as runtimes print code locations (auth.js:42): only these extensions, so
 * that `api.token:4827361` stays a key and its value.
 */
const SOURCE_FILE = /\.(?:[cm]?[jt]sx?|go|py|rb|java|kt|scala|c|cc|cpp|cxx|h|hh|hpp|rs|php|cs|swift|lua|pl|exs?|erl|clj)$/;

function scan(s: string, depth: number): string {
  let out = '';
  let pending: Pending = 'none';
  let prog: ProgramFlags | undefined;
  const next = { "'": 0, '"': 0 };
  let i = 0;
  while (i < s.length) {
    const gap = i;
    while (i < s.length && isSpace(s[i])) i++;
    const space = s.slice(gap, i);
    out += space;
    if (i >= s.length) break;
    if (space.includes('\n')) {
      // a header's value ends with its line
      if (pending === 'rest' || pending === ('auth' as Pending)) pending = 'none';
      prog = undefined;
    }
    const { parts, end } = splitWord(s, i, depth, next);
    const raw = s.slice(i, end);
    i = end;
    const one = single(parts);
    const plain = one && !one.q ? raw : undefined;
    const unq = one ? one.text : raw;

    if (pending === 'rest') {
      out += redactWhole(parts);
      continue;
    }
    if (pending === 'value') {
      out += redactValue(parts, depth);
      pending = 'none';
      continue;
    }
    if (pending === 'auth') {
      pending = 'rest';
      if (AUTH_SCHEMES.has(unq.toLowerCase())) out += raw;
      else out += redactWhole(parts);
      continue;
    }
    if (pending === 'flag' || pending === 'bearer') {
      const was = pending;
      pending = 'none';
      if (was === 'flag' ? !raw.startsWith('-') : tokenLike(unq)) {
        out += redactValue(parts, depth);
        continue;
      }
    }
    if (pending === 'eq') {
      pending = 'none';
      if (raw === '=' || raw === ':') {
        out += raw;
        pending = 'value';
        continue;
      }
      if (plain && /^[=:]./.test(plain) && plain[1] !== ':') {
        out += plain[0] + REDACTED;
        continue;
      }
    }
    if (raw === ';' || raw === '|' || raw === '||' || raw === '&&' || raw === '&') prog = undefined;

    if (plain) {
      if (plain.toLowerCase() === 'bearer') {
        out += raw;
        pending = 'bearer';
        continue;
      }
      if (prog) {
        if (prog.separate.includes(plain)) {
          out += raw;
          pending = 'flag';
          continue;
        }
        const att = prog.attached.find((f) => plain.startsWith(f) && plain.length > f.length);
        if (att) {
          out += att + REDACTED;
          continue;
        }
      }
      if (FLAG_WORD.test(plain) && isSecretKey(plain.replace(/^-+/, ''))) {
        out += raw;
        pending = 'flag';
        continue;
      }
      if (KEY_WORD.test(plain) && isSecretKey(plain)) {
        out += raw;
        pending = 'eq';
      }
    }
    // `key:` / `KEY=` / `"key":` / `{"key":` with the value in the next word
    const last = raw[raw.length - 1];
    if ((last === ':' || last === '=') && raw[raw.length - 2] !== last) {
      const key = keyBefore(parts);
      if (key !== undefined && isSecretKey(key)) {
        out += raw;
        const mode = headerMode(key);
        pending = mode;
        continue;
      }
    }
    if (pending === 'eq') continue;
    out += inline(parts, depth);
    const p = plain && programOf(plain);
    if (p) prog = p;
    if (raw.endsWith(';') || raw.endsWith('|')) prog = undefined;
  }
  return out;
}

/** The key of a word that ends in its separator: `key:`, `--key=`, `"key":`, `{"key":`, `,'key':`. */
function keyBefore(parts: Part[]): string | undefined {
  const lastPart = parts.at(-1);
  if (!lastPart || lastPart.q) return undefined;
  const head = lastPart.text.slice(0, -1);
  const before = parts.at(-2);
  if (head === '' && before?.q) {
    const k = before.text;
    return KEY_WORD.test(k) ? k : undefined;
  }
  if (parts.length !== 1) return undefined;
  const k = head.replace(/^[{[(,]*-{0,2}/, '');
  return KEY_WORD.test(k) ? k : undefined;
}

/** Inside one word: quoted strings (read as text of their own), key=value pairs, URLs, token shapes. */
function inline(parts: Part[], depth: number): string {
  let out = '';
  let valueNext = false; // the previous run ended in `secret=`: this quoted string is the value
  for (const [n, p] of parts.entries()) {
    if (p.q) {
      if (valueNext) out += p.q + REDACTED + p.q;
      else out += p.q + scan(p.text, depth + 1) + p.q;
      valueNext = false;
      continue;
    }
    // a quoted key just before (`"password":…`), for a run that starts with the separator
    const prev = parts[n - 1];
    const quotedKey = prev?.q && KEY_WORD.test(prev.text) ? prev.text : undefined;
    const r = run(p.text, quotedKey);
    out += r.text;
    valueNext = r.valueNext;
  }
  return out;
}

/** One unquoted run (no whitespace, no quotes). */
function run(t: string, quotedKey?: string): { text: string; valueNext: boolean } {
  let out = '';
  let copied = 0;
  let keyStart = 0;
  let valueNext = false;
  const redactSpan = (a: number, b: number) => {
    if (b <= a || t.slice(a, b) === REDACTED) return;
    out += t.slice(copied, a) + REDACTED;
    copied = b;
  };
  let i = 0;
  while (i < t.length) {
    const c = t.charAt(i);
    // a token shape, where a token can start
    const shapes = !isWordChar(t[i - 1]) ? SHAPES_BY_FIRST.get(c) : undefined;
    if (shapes) {
      let hit = 0;
      for (const sh of shapes) {
        // a token cannot start right after a character of its own kind: each place is tried once
        if (!t.startsWith(sh.prefix, i) || (i > 0 && sh.tail?.test(t.charAt(i - 1)))) continue;
        sh.re.lastIndex = i;
        const m = sh.re.exec(t);
        if (!m || (sh.tail && sh.tail.test(t[i + m[0].length] ?? '')) || (sh.digit && !/[0-9]/.test(m[0]))) continue;
        hit = m[0].length;
        break;
      }
      if (hit) {
        redactSpan(i, i + hit);
        i += hit;
        keyStart = i;
        continue;
      }
    }
    if (c === ':' && t[i + 1] === '/' && t[i + 2] === '/') {
      const scheme = t.slice(keyStart, i);
      if (/^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme)) {
        const a = i + 3;
        let e = a;
        let at = -1; // the LAST @ of the authority ends the userinfo: a password may hold @
        let colon = -1;
        for (; e < t.length && t[e] !== '/' && t[e] !== '?' && t[e] !== '#'; e++) {
          if (t[e] === '@') at = e;
          else if (t[e] === ':' && colon < 0) colon = e;
        }
        if (at >= 0) {
          if (colon >= 0 && colon < at) redactSpan(colon + 1, at);
          else if (!LOGIN_SCHEMES.has(scheme.toLowerCase())) redactSpan(a, at);
          i = at + 1;
        } else {
          i = a;
        }
        keyStart = i;
        continue;
      }
    }
    if (c === '=' || c === ':') {
      let key = t.slice(keyStart, i).replace(/^[-+.]+/, '');
      const json = key === '' && keyStart === 0 && quotedKey !== undefined;
      if (json) key = quotedKey!;
      // "auth.js:42" is a file and its line, not a key and its value (a code location from a runtime)
      const fileLine = c === ':' && SOURCE_FILE.test(key) && /^\d{1,7}(?::\d{1,7})?(?![\w.])/.test(t.slice(i + 1, i + 17));
      if (t[i + 1] !== c && !fileLine && isSecretKey(key)) {
        let j = i + 1;
        if (t[j] === '=' || t[j] === '>') j++; // := and =>
        let e = j;
        while (e < t.length && t[e] !== '&' && t[e] !== ';' && !(json && (t[e] === ',' || t[e] === '}' || t[e] === ']'))) e++;
        if (e === j && j === t.length) valueNext = true;
        else redactSpan(j, e);
        i = e;
        keyStart = i + 1;
        continue;
      }
    }
    if (!isKeyChar(c)) keyStart = i + 1;
    i++;
  }
  return { text: out + t.slice(copied), valueNext };
}

/** Redact one argv element, given the previous one (for "--password hunter2"). */
export function redactArg(arg: string, prev?: string): string {
  // redactArgv gives one element per element; the fallback is never used, and hides rather than shows
  return (prev === undefined ? redactArgv([arg]) : redactArgv([prev, arg])).at(-1) ?? REDACTED;
}

const FLAG_EQ = /^(-{1,2}[A-Za-z][A-Za-z0-9_.-]{0,63})=/;
const ENV_EQ = /^([A-Za-z_][A-Za-z0-9_]{0,63})=/;

/**
 * Redact a command line, element by element: a secret flag's next element, `--secret=…` whole
 * (spaces and commas included: one element is one value), programs' password flags, and
 * everything redactText finds inside an element (URLs, headers, JSON, sh -c scripts).
 */
export function redactArgv(argv: string[]): string[] {
  const out: string[] = [];
  let flag = false;
  let prog: ProgramFlags | undefined;
  for (const [n, a] of argv.entries()) {
    const was = flag;
    flag = false;
    if (was && !a.startsWith('-')) {
      out.push(REDACTED);
      continue;
    }
    const flagKey = FLAG_EQ.exec(a)?.[1];
    if (flagKey !== undefined && isSecretKey(flagKey.replace(/^-+/, ''))) {
      out.push(`${flagKey}=${REDACTED}`);
      continue;
    }
    const envKey = ENV_EQ.exec(a)?.[1];
    // `env X_PASSWORD=two words` is one value; a shell script (after -c) is read as text
    if (envKey !== undefined && isSecretKey(envKey) && argv[n - 1] !== '-c') {
      out.push(`${envKey}=${REDACTED}`);
      continue;
    }
    if (prog) {
      if (prog.separate.includes(a)) {
        out.push(a);
        flag = true;
        continue;
      }
      const att = prog.attached.find((f) => a.startsWith(f) && a.length > f.length);
      if (att) {
        out.push(att + REDACTED);
        continue;
      }
    }
    if (FLAG_WORD.test(a) && isSecretKey(a.replace(/^-+/, ''))) {
      out.push(a);
      flag = true;
      continue;
    }
    out.push(redactText(a));
    prog = programOf(a.slice(0, 256)) ?? prog;
  }
  return out;
}

/**
 * Make target-controlled text safe for a terminal: C0/C1 control characters and bidi
 * overrides become visible escapes (\x1b, \u202e). JSON stays valid for any input.
 */
export function clean(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

/**
 * Redact every string in a value (evidence, peer answers, labels): a string under a secret-named
 * key (`{api_key: "…"}`) whole, any other string by redactText; keys by redactText too.
 */
export function redactDeep<T>(v: T, key?: string): T {
  if (typeof v === 'string') return (key !== undefined && isSecretKey(key) ? REDACTED : redactText(v)) as T;
  if (Array.isArray(v)) return (v as unknown[]).map((x) => redactDeep(x, key)) as T;
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [redactText(k), redactDeep(x, k)])) as T;
  }
  return v;
}

/** Deep-clean every string in a value (evidence objects: file names, peers …), redacting first when asked. */
export function cleanDeep<T>(v: T, redact: boolean): T {
  const r = redact ? redactDeep(v) : v;
  const walk = (x: unknown): unknown => {
    if (typeof x === 'string') return clean(x);
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [clean(k), walk(y)]));
    return x;
  };
  return walk(r) as T;
}
