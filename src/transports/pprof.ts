/**
 * HTTP client for a Go process's net/http/pprof endpoint. Everything here is bounded: every
 * request has a deadline (and honours the caller's abort signal), bodies are streamed and
 * capped in bytes, and a host that is not loopback is refused before any connection unless
 * the caller allows remote endpoints.
 */
import type * as Http from 'node:http';
import type * as Dns from 'node:dns';
import type * as Tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { LookupAddress } from 'node:dns';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { isLoopbackAddress, isLoopbackHost } from './loopback.js';
import { recordLocalEndpoint } from './endpoints.js';
import type { NetRoute } from './netns-relay.js';
import type * as Net from 'node:net';
import { ProctriageError, Refused, UsageError } from '../errors.js';
import { ERRNO_WORDS, errnoWords, say } from '../messages.js';

// http, https and dns load on the first request: most runs (no Go target) never make one
const load = createRequire(import.meta.url);

/**
 * The roots for https: Node's own plus the user's NODE_EXTRA_CA_CERTS file, which
 * bin/proctriage.js hands over as PROCTRIAGE_EXTRA_CA_CERTS so that Node 20 does not load it at start.
 */
function extraCa(): { ca?: string[] } {
  const file = process.env.PROCTRIAGE_EXTRA_CA_CERTS;
  if (!file) return {};
  try {
    return { ca: [...(load('node:tls') as typeof Tls).rootCertificates, readFileSync(file, 'utf8')] };
  } catch {
    return {}; // unreadable: Node's own roots, as Node does with a NODE_EXTRA_CA_CERTS it cannot load
  }
}

export const REMOTE_HINT = 'pass --allow-remote to probe a pprof endpoint on another host (it exposes heap contents and command lines)';

/**
 * Parse a --pprof argument into the base URL the /debug/pprof/ paths hang off.
 * Accepts "http://127.0.0.1:6060", "127.0.0.1:6060", a bare port "6060" (127.0.0.1), and
 * URLs that already name /debug/pprof/... (the base is what comes before it).
 */
export function parsePprofUrl(raw: string): URL {
  const s = String(raw ?? '').trim();
  if (!s) throw new UsageError('--pprof needs a URL, e.g. http://127.0.0.1:6060');
  let text = s;
  if (/^\d+$/.test(s)) text = `http://127.0.0.1:${s}`;
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) text = `http://${s}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--pprof "${s}" is not a URL`, 'e.g. --pprof http://127.0.0.1:6060');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--pprof "${s}": only http and https URLs are supported`);
  }
  if (/^\d+$/.test(s) && (Number(s) < 1 || Number(s) > 65535)) throw new UsageError(`--pprof "${s}" is not a port`);
  url.search = '';
  url.hash = '';
  const i = url.pathname.indexOf('/debug/pprof');
  let path = i >= 0 ? url.pathname.slice(0, i) : url.pathname;
  path = path.replace(/\/+$/, '');
  url.pathname = path || '/';
  return url;
}

export { isLoopbackAddress, isLoopbackHost } from './loopback.js';

/** Refuse a non-loopback endpoint unless remote endpoints are allowed. No network is touched. */
export function checkPprofUrl(url: URL, allowRemote: boolean | undefined): void {
  if (allowRemote) return;
  if (!isLoopbackHost(url.hostname)) {
    throw new Refused(`--pprof ${displayUrl(url)} is not a loopback address: refused (nothing was sent)`, REMOTE_HINT);
  }
}

/** The URL as shown in reports and next steps: no credentials, no trailing slash. */
export function displayUrl(url: URL): string {
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

/** base + "/debug/pprof/goroutine?debug=1" etc., keeping any path prefix of the base. */
export function endpointUrl(base: URL, path: string): URL {
  const u = new URL(base.href);
  const [p, q] = path.split('?');
  u.pathname = (base.pathname === '/' ? '' : base.pathname.replace(/\/+$/, '')) + p;
  u.search = q ? `?${q}` : '';
  return u;
}

export interface GetOptions {
  /** deadline for the whole request, body included */
  timeoutMs: number;
  /** stop reading after this many body bytes */
  maxBytes: number;
  /** the caller's deadline (the probe's) */
  signal?: AbortSignal;
  /** allow a non-loopback address (re-checked here, before connecting) */
  allowRemote?: boolean;
  /** where the local end of every connection made is recorded (ProbeOptions.ownEndpoints) */
  ownEndpoints?: Set<string>;
  /** connect through this (a relay into the target's network namespace) instead of from here */
  route?: NetRoute;
}

export interface StreamResult {
  status: number;
  contentType: string;
  /** body bytes received (up to maxBytes) */
  bytes: number;
  /** the byte cap was reached and the rest of the body was not read */
  capped: boolean;
  /** the body ended normally */
  complete: boolean;
  /** why the body did not end normally (deadline, connection closed, stopped by the consumer) */
  incomplete?: string;
}

/** A name that resolves only to loopback addresses (used for "localhost" when remote is not allowed). */
function loopbackLookup(
  hostname: string,
  options: object,
  cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  (load('node:dns') as typeof Dns).lookup(hostname, { all: true }, (err, addrs) => {
    if (err) return cb(err, '');
    const ok = addrs.filter((a) => isLoopbackAddress(a.address));
    const [first] = ok;
    if (!first) {
      const e = new Error(`${hostname} does not resolve to a loopback address`) as NodeJS.ErrnoException;
      e.code = 'ENOTLOOPBACK';
      return cb(e, '');
    }
    if ((options as { all?: boolean }).all) return cb(null, ok);
    cb(null, first.address, first.family);
  });
}

/**
 * GET a URL and hand the body to `onData` chunk by chunk (return false to stop reading).
 * Rejects when no response arrives (refused, timeout, not loopback); once a response has
 * started, resolves and says in the result whether the body was complete.
 */
export function streamGet(url: URL, opts: GetOptions, onData: (chunk: Buffer) => boolean | void): Promise<StreamResult> {
  const shown = displayUrl(url) + url.search;
  try {
    checkPprofUrl(url, opts.allowRemote);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  if (opts.signal?.aborted) return Promise.reject(new ProctriageError('TIMEOUT', `${shown}: the probe's deadline has passed`));
  return new Promise<StreamResult>((resolve, reject) => {
    const ac = new AbortController();
    let why: 'deadline' | 'caller' | 'stopped' | undefined;
    const timer = setTimeout(() => {
      why = 'deadline';
      ac.abort();
    }, opts.timeoutMs);
    const onCallerAbort = () => {
      why ??= 'caller';
      ac.abort();
    };
    opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
    let settled = false;
    let result: StreamResult | undefined;
    const finish = (err: unknown, r?: StreamResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onCallerAbort);
      if (r) resolve(r);
      else reject(err instanceof Error ? err : new Error(String(err)));
    };
    let connected = false;
    const failure = (err: unknown): ProctriageError => {
      if (why === 'deadline') {
        return new ProctriageError(
          'TIMEOUT',
          connected ? say('pprof.noAnswer', { path: url.pathname, ms: opts.timeoutMs }) : say('pprof.noConnection', { host: url.host, ms: opts.timeoutMs }),
        );
      }
      if (why === 'caller') return new ProctriageError('TIMEOUT', say('pprof.deadline', { path: url.pathname }));
      const e = err as NodeJS.ErrnoException;
      if (e instanceof ProctriageError) return e;
      if (e?.code === 'ENOTLOOPBACK') return new Refused(`${shown}: ${e.message}`, REMOTE_HINT);
      return new ProctriageError('TARGET_UNREACHABLE', describe(e, url));
    };
    const isLocalName = !opts.allowRemote && isIP(url.hostname.replace(/^\[|\]$/g, '')) === 0;
    const https = url.protocol === 'https:';
    const mod = load(https ? 'node:https' : 'node:http') as typeof Http;
    let req: Http.ClientRequest;
    try {
      req = mod.get(url, {
        signal: ac.signal,
        // no agent with a route: an agent would make its own connection, ignoring createConnection
        ...(opts.route ? {} : { agent: false }),
        headers: { accept: 'text/plain, application/json;q=0.9, */*;q=0.1', 'accept-encoding': 'identity', 'user-agent': 'proctriage' },
        ...(isLocalName ? { lookup: loopbackLookup } : {}),
        ...(https ? extraCa() : {}),
        ...(opts.route ? { createConnection: routed(url, opts.route, https) } : {}),
      });
    } catch (err) {
      finish(failure(err));
      return;
    }
    req.on('socket', (sock) => {
      recordLocalEndpoint(sock, opts.ownEndpoints);
      sock.once('connect', () => {
        connected = true;
      });
      sock.once('secureConnect', () => {
        connected = true;
      });
    });
    req.on('error', (err) => {
      if (result) finish(null, { ...result, complete: false, incomplete: result.incomplete ?? incompleteReason(why, err, opts) });
      else finish(failure(err));
    });
    req.on('response', (res) => {
      result = {
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        bytes: 0,
        capped: false,
        complete: false,
      };
      const r = result;
      const stop = (reason: string) => {
        r.incomplete ??= reason;
        why ??= 'stopped';
        res.destroy();
        finish(null, r);
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        let c = chunk;
        const room = opts.maxBytes - r.bytes;
        if (c.length > room) {
          c = c.subarray(0, Math.max(0, room));
          r.capped = true;
        }
        r.bytes += c.length;
        let more: boolean | void = true;
        if (c.length) {
          try {
            more = onData(c);
          } catch (err) {
            res.destroy();
            finish(err);
            return;
          }
        }
        if (r.capped) stop(say('pprof.bodyCapped', { bytes: opts.maxBytes }));
        else if (more === false) stop('stopped by the reader');
      });
      res.on('end', () => {
        r.complete = true;
        finish(null, r);
      });
      res.on('aborted', () => finish(null, { ...r, incomplete: r.incomplete ?? incompleteReason(why, undefined, opts) }));
      res.on('error', (err) => finish(null, { ...r, incomplete: r.incomplete ?? incompleteReason(why, err, opts) }));
      res.on('close', () => {
        if (!r.complete) finish(null, { ...r, incomplete: r.incomplete ?? incompleteReason(why, undefined, opts) });
      });
    });
  });
}

/** A connection through the route to the URL's address (TLS over it for https, checked as usual). */
function routed(url: URL, route: NetRoute, https: boolean): () => Net.Socket {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (https ? 443 : 80));
  return () => {
    const sock = route.connect(host, port);
    if (!https) return sock;
    return (load('node:tls') as typeof Tls).connect({ socket: sock, servername: isIP(host) ? undefined : host, ...extraCa() });
  };
}

/** TLS verification failures that a private CA explains */
const UNTRUSTED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

/**
 * A transport failure in words an on-call reads, with the code in brackets: "connection refused:
 * nothing listens on 127.0.0.1:6060 (ECONNREFUSED)", "TLS handshake failed
 * (ERR_SSL_WRONG_VERSION_NUMBER): the port speaks plain HTTP?". The same for every path of one
 * endpoint, so that the probe says it once.
 */
function describe(e: NodeJS.ErrnoException | undefined, url: URL): string {
  const code = e?.code;
  const https = url.protocol === 'https:';
  if (code === 'ECONNREFUSED') return say('pprof.refused', { host: url.host });
  const ssl = sslCode(e);
  if (ssl) return https && ssl === 'ERR_SSL_WRONG_VERSION_NUMBER' ? say('pprof.tlsToPlain', { code: ssl }) : say('pprof.tlsFailed', { code: ssl });
  // a TLS server given plain HTTP hangs up on it (Node's) or answers 400 (Go's: see notPprofText)
  if (!https && code === 'ECONNRESET') return say('pprof.resetOnHttp', { code });
  if (code && UNTRUSTED.has(code)) return say('pprof.untrusted', { code });
  if (code?.includes('CERT')) return say('pprof.certRefused', { code });
  if (code?.startsWith('HPE_')) return say('pprof.notHttp', { code });
  if (code) return say('pprof.network', { words: ERRNO_WORDS[code] ? errnoWords(code) : code, code });
  return say('pprof.failed', { error: e?.message ?? 'no reason given' });
}

/** OpenSSL's reason as Node names it ("wrong version number" → ERR_SSL_WRONG_VERSION_NUMBER), from an EPROTO error. */
function sslCode(e: NodeJS.ErrnoException | undefined): string | undefined {
  if (e?.code?.startsWith('ERR_SSL_')) return e.code;
  const reason = /SSL routines:[^:]*:([^:]+):/.exec(e?.message ?? '')?.[1];
  return reason
    ? `ERR_SSL_${reason
        .trim()
        .toUpperCase()
        .replace(/[^A-Z0-9]+/g, '_')}`
    : undefined;
}

function incompleteReason(why: string | undefined, err: unknown, opts: GetOptions): string {
  if (why === 'deadline') return say('pprof.bodyLate', { ms: opts.timeoutMs });
  if (why === 'caller') return say('pprof.bodyDeadline');
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return say('pprof.bodyClosed', code ? { code } : {});
}

/** Split a byte stream into lines (no terminators); an over-long line is cut at maxLine characters. */
export class LineSplitter {
  private decoder = new StringDecoder('utf8');
  private rest = '';
  private skipping = false;
  longLines = 0;
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 64 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    let text = this.rest + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const line = text.slice(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    text = text.slice(start);
    if (text.length > this.maxLine) {
      // a line without end: keep its beginning, drop the rest up to the next newline
      if (!this.skipping) {
        this.longLines++;
        this.onLine(text.slice(0, this.maxLine));
      }
      this.skipping = true;
      text = '';
    }
    this.rest = text;
  }

  /** Flush the last line (a body that did not end with a newline). */
  end(): void {
    const text = this.rest + this.decoder.end();
    this.rest = '';
    if (text && !this.skipping) this.onLine(text.endsWith('\r') ? text.slice(0, -1) : text);
    this.skipping = false;
  }
}

/** GET and collect the body as text, up to maxBytes. */
export async function getText(url: URL, opts: GetOptions): Promise<StreamResult & { text: string }> {
  const parts: Buffer[] = [];
  const r = await streamGet(url, opts, (c) => {
    parts.push(Buffer.from(c));
  });
  return { ...r, text: Buffer.concat(parts).toString('utf8') };
}

/** GET and collect the body as bytes, up to maxBytes (a protobuf profile). */
export async function getBytes(url: URL, opts: GetOptions): Promise<StreamResult & { body: Buffer }> {
  const parts: Buffer[] = [];
  const r = await streamGet(url, opts, (c) => {
    parts.push(Buffer.from(c));
  });
  return { ...r, body: Buffer.concat(parts) };
}

/** GET and feed the body line by line to `onLine`. */
export async function getLines(url: URL, opts: GetOptions, onLine: (line: string) => void): Promise<StreamResult> {
  const split = new LineSplitter(onLine);
  const r = await streamGet(url, opts, (c) => {
    split.push(c);
  });
  // a body that did not end may stop mid-line: that fragment is not offered
  if (r.complete) split.end();
  return r;
}

/**
 * A response that cannot be a pprof text profile: an error status or an HTML page, said with
 * the path asked ("the endpoint answered HTTP 404 for /debug/pprof/goroutine").
 */
export function notPprofText(r: StreamResult, path: string, firstLine?: string): string | undefined {
  if (r.status === 404) return say('pprof.notFound', { path });
  if (r.status === 400 && firstLine !== undefined && /HTTP request to an HTTPS server/i.test(firstLine)) return say('pprof.httpToTls', { path });
  if (r.status !== 200) return say('pprof.status', { status: r.status, path });
  if (/text\/html/i.test(r.contentType) || (firstLine !== undefined && /^\s*</.test(firstLine))) return say('pprof.html', { path });
  return undefined;
}
