/**
 * Redaction and terminal safety for everything that came from the target.
 * Redaction is on by default: reports go into tickets.
 */
const SECRET_NAME = /(pass(word|wd)?|secret|token|api[-_]?key|apikey|auth|credential|private[-_]?key|access[-_]?key|session|cookie|signature|dsn)/i;
export const REDACTED = '***';

/** Redact one argv element, given the previous one (for "--password hunter2"). */
export function redactArg(arg: string, prev?: string): string {
  if (prev !== undefined && /^--?[A-Za-z][\w.-]*$/.test(prev) && SECRET_NAME.test(prev) && !arg.startsWith('-')) return REDACTED;
  return redactText(arg);
}

export function redactArgv(argv: string[]): string[] {
  return argv.map((a, i) => redactArg(a, argv[i - 1]));
}

/** Redact secrets inside free text: URL credentials, key=value pairs with secret-looking keys, bearer tokens. */
export function redactText(s: string): string {
  return s
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+):([^\s/@]+)@/gi, `$1$2:${REDACTED}@`)
    .replace(/((?:^|[\s?&;,])-{0,2}[\w.-]*?)([\w.-]*)([=:])([^\s&;,]+)/g, (m, pre: string, name: string, sep: string, val: string) => {
      const key = pre.replace(/^[\s?&;,]*-{0,2}/, '') + name;
      if (val === REDACTED) return m;
      // not a secret itself, but the value may hold one (a URL's ?token=…): look inside it
      if (!SECRET_NAME.test(key) || val.startsWith('//')) return `${pre}${name}${sep}${redactText(val)}`;
      return `${pre}${name}${sep}${REDACTED}`;
    })
    .replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`);
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

/** Deep-clean every string in a value (evidence objects: file names, peers …). */
export function cleanDeep<T>(v: T, redact: boolean): T {
  if (typeof v === 'string') return clean(redact ? redactText(v) : v) as T;
  if (Array.isArray(v)) return v.map((x) => cleanDeep(x, redact)) as T;
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [clean(k), cleanDeep(x, redact)])) as T;
  }
  return v;
}
