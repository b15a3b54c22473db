/**
 * The V8 inspector of a Node.js process, spoken to from outside over the Chrome DevTools
 * Protocol: HTTP GET /json/list to find the session URL, then a WebSocket (the `ws` package)
 * carrying JSON-RPC messages.
 *
 * The inspector hands whoever connects the power to run code as the target's user, so:
 * - connecting to anything but a loopback address is refused unless allowRemote is set, and
 *   that check runs before any socket is created;
 * - the WebSocket URL the peer advertises is never followed to another host: only its path
 *   is used, on the address we were allowed to reach;
 * - only an allow-list of protocol methods can be sent: reads, the two samplers (CPU and heap),
 *   and of the Debugger domain only enable, setSkipAllPauses and disable (to learn the URLs of
 *   the scripts a timer's callback lives in: nothing that pauses or sets a breakpoint);
 * - every request has a deadline, and a peer that hangs, closes or answers garbage turns
 *   into a typed error with the reason, never a hang.
 */
import type * as Http from 'node:http';
import type * as Net from 'node:net';
import { createRequire } from 'node:module';
import type { ProtocolMapping } from 'devtools-protocol/types/protocol-mapping.js';
import type WebSocketType from 'ws';
import { isLoopbackHost } from './loopback.js';
import { recordLocalEndpoint } from './endpoints.js';
import type { NetRoute } from './netns-relay.js';
import { errnoText, Refused, TargetUnreachable, TimeoutExpired, UsageError, ProctriageError } from '../errors.js';

// http loads on the first connection: most runs never make one
const load = createRequire(import.meta.url);

export interface InspectorAddress {
  /** what to connect to: an IP literal (localhost is mapped to 127.0.0.1, never resolved) or a host name */
  host: string;
  port: number;
  /** set for a ws:// URL: the session path, so /json/list is skipped */
  path?: string;
  loopback: boolean;
}

/** Parse `9229`, `host:9229`, `[::1]:9229` or `ws://host:port/uuid`. Throws UsageError. */
export function parseInspectAddress(spec: string): InspectorAddress {
  const s = String(spec).trim();
  const bad = () => new UsageError(`--inspect "${s}" is not [host:]port or a ws:// URL`, 'e.g. --inspect 9229, --inspect 127.0.0.1:9229');
  let host = '127.0.0.1',
    portText: string,
    path: string | undefined;
  if (/^wss?:\/\//i.test(s)) {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw bad();
    }
    if (u.protocol !== 'ws:') throw new UsageError(`--inspect "${s}": only ws:// is supported (the Node inspector does not speak TLS)`);
    if (u.username || u.password) throw bad();
    host = u.hostname.replace(/^\[|\]$/g, '');
    portText = u.port || '80';
    path = (u.pathname || '/') + u.search;
  } else if (/^\d+$/.test(s)) {
    portText = s;
  } else {
    const [, bracketed, plain, p] = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/[\]]+)):(\d+)$/.exec(s) ?? [];
    const h = bracketed ?? plain;
    if (h === undefined || p === undefined) throw bad();
    host = h;
    portText = p;
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad();
  if (host.toLowerCase() === 'localhost') host = '127.0.0.1';
  if (!host) throw bad();
  return { host, port, ...(path !== undefined ? { path } : {}), loopback: isLoopbackHost(host) };
}

export { isLoopbackHost } from './loopback.js';

export function formatAddress(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The safety gate. Runs before any socket is created; throws Refused for a non-loopback address. */
export function assertConnectAllowed(a: InspectorAddress | { host: string; port: number }, allowRemote: boolean | undefined): void {
  if (allowRemote) return;
  if (isLoopbackHost(a.host)) return;
  throw new Refused(
    `refusing to connect to the inspector at ${formatAddress(a)}: it is not a loopback address, and a Node.js inspector runs any code it is sent with the target's privileges (unauthenticated, unencrypted)`,
    'pass --allow-remote to connect anyway, or run proctriage on the target host (nsenter -t PID -n for a container)',
  );
}

export interface Deadline {
  timeoutMs: number;
  signal?: AbortSignal;
  /** where the local end of every connection made is recorded (ProbeOptions.ownEndpoints) */
  ownEndpoints?: Set<string>;
  /** connect through this (a relay into the target's network namespace) instead of from here */
  route?: NetRoute;
}

export interface InspectorTarget {
  id: string;
  type: string;
  description: string;
  /** path (and query) of the advertised WebSocket URL; its host is ignored */
  path: string;
}

/** A target list as listTargets returns it: never empty. */
export type TargetList = [InspectorTarget, ...InspectorTarget[]];

const MAX_LIST_BYTES = 1 << 20;

/** GET /json/list. Throws TargetUnreachable / TimeoutExpired with a reason fit for `unknowns`. */
export function listTargets(addr: InspectorAddress, allowRemote: boolean | undefined, d: Deadline): Promise<TargetList> {
  assertConnectAllowed(addr, allowRemote);
  const where = `inspector at ${formatAddress(addr)}`;
  return new Promise((resolve, reject) => {
    if (d.signal?.aborted) return reject(new TimeoutExpired(`${where} (/json/list)`, 0));
    let settled = false;
    const done = (err: Error | undefined, v?: TargetList) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      d.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      if (err) reject(err);
      else resolve(v!);
    };
    const req = (load('node:http') as typeof Http).request(
      {
        host: addr.host,
        port: addr.port,
        path: '/json/list',
        method: 'GET',
        // no agent: an agent would make its own connection, ignoring createConnection
        ...(d.route ? { createConnection: () => d.route!.connect(addr.host, addr.port) } : { agent: false }),
        headers: { host: formatAddress(addr), accept: 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_LIST_BYTES) return done(new TargetUnreachable(where, 'answered /json/list with more than 1 MiB: not a Node.js inspector'));
          chunks.push(c);
        });
        res.on('error', (e) => done(new TargetUnreachable(where, `connection failed while reading /json/list: ${errnoText(e)}`)));
        res.on('end', () => {
          if (res.statusCode !== 200) {
            return done(
              new TargetUnreachable(
                where,
                `answered /json/list with HTTP ${res.statusCode}`,
                res.statusCode === 404
                  ? 'a target started with --inspect-publish-uid=stderr hides the list: pass the ws:// URL it printed to --inspect'
                  : undefined,
              ),
            );
          }
          try {
            done(undefined, parseTargetList(Buffer.concat(chunks).toString('utf8')));
          } catch (e) {
            done(new TargetUnreachable(where, (e as Error).message));
          }
        });
      },
    );
    req.on('socket', (sock) => recordLocalEndpoint(sock, d.ownEndpoints));
    req.on('error', (e: NodeJS.ErrnoException) => done(new TargetUnreachable(where, describeNetError(e))));
    const onAbort = () => done(new TimeoutExpired(`${where} (/json/list, deadline passed)`, d.timeoutMs));
    d.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => done(new TargetUnreachable(where, `accepted the connection but did not answer /json/list within ${d.timeoutMs} ms`)),
      d.timeoutMs,
    );
    req.end();
  });
}

/** Validate a /json/list body; throws with a reason when it is not an inspector's target list. */
export function parseTargetList(body: string): TargetList {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new Error('answered /json/list with something that is not JSON (not a Node.js inspector?)');
  }
  if (!Array.isArray(v)) throw new Error('answered /json/list with JSON that is not a target list');
  const out: InspectorTarget[] = [];
  for (const t of v.slice(0, 100)) {
    if (!t || typeof t !== 'object') continue;
    const o = t as Record<string, unknown>;
    if (typeof o.webSocketDebuggerUrl !== 'string') continue;
    let path: string;
    try {
      const u = new URL(o.webSocketDebuggerUrl);
      if (u.protocol !== 'ws:') continue;
      path = u.pathname + u.search;
    } catch {
      continue;
    }
    const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
    out.push({ id: text(o.id), type: text(o.type), description: text(o.description), path });
  }
  const [first, ...rest] = out;
  if (!first) throw new Error('answered /json/list without any WebSocket target (not a Node.js inspector, or a debugger is already attached)');
  return [first, ...rest];
}

function describeNetError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens there)';
    case 'ECONNRESET':
      return 'the peer reset the connection';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return 'network unreachable';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_VERSION':
    case 'HPE_INVALID_STATUS':
    case 'HPE_INVALID_HEADER_TOKEN':
      return 'answered with something that is not HTTP (not a Node.js inspector)';
    default:
      return e.code && String(e.code).startsWith('HPE_') ? `answered with malformed HTTP (${e.code})` : e.message;
  }
}

/**
 * The protocol methods proctriage may send, and nothing else. Of the Debugger domain only what
 * maps a script id to its URL (enable reports every script parsed; pauses are skipped at once;
 * disable): never pause, resume, step, set a breakpoint or evaluate on a frame. The samplers
 * (Profiler, HeapProfiler.startSampling) are always stopped by their caller, whatever happens.
 */
export type AllowedMethod =
  | 'Runtime.evaluate'
  | 'Runtime.getHeapUsage'
  | 'Runtime.queryObjects'
  | 'Runtime.callFunctionOn'
  | 'Runtime.getProperties'
  | 'Runtime.releaseObjectGroup'
  | 'Debugger.enable'
  | 'Debugger.setSkipAllPauses'
  | 'Debugger.disable'
  | 'Profiler.enable'
  | 'Profiler.setSamplingInterval'
  | 'Profiler.start'
  | 'Profiler.stop'
  | 'Profiler.disable'
  | 'HeapProfiler.startSampling'
  | 'HeapProfiler.stopSampling'
  | 'HeapProfiler.takeHeapSnapshot';
export const ALLOWED_METHODS: readonly AllowedMethod[] = [
  'Runtime.evaluate',
  'Runtime.getHeapUsage',
  'Runtime.queryObjects',
  'Runtime.callFunctionOn',
  'Runtime.getProperties',
  'Runtime.releaseObjectGroup',
  'Debugger.enable',
  'Debugger.setSkipAllPauses',
  'Debugger.disable',
  'Profiler.enable',
  'Profiler.setSamplingInterval',
  'Profiler.start',
  'Profiler.stop',
  'Profiler.disable',
  'HeapProfiler.startSampling',
  'HeapProfiler.stopSampling',
  'HeapProfiler.takeHeapSnapshot',
];
const ALLOWED = new Set<string>(ALLOWED_METHODS);

type ParamsTuple<M extends AllowedMethod> = ProtocolMapping.Commands[M]['paramsType'];
/** the params object of a command (undefined for commands without params) */
type Params<M extends AllowedMethod> =
  ParamsTuple<M> extends [] ? undefined : ParamsTuple<M> extends [infer P] ? P : ParamsTuple<M> extends [(infer Q)?] ? Q | undefined : never;
type Returns<M extends AllowedMethod> = ProtocolMapping.Commands[M]['returnType'];
type EventName = keyof ProtocolMapping.Events;

export class CdpError extends ProctriageError {
  constructor(message: string) {
    super('TARGET_UNREACHABLE', message);
  }
}

/** A request the peer did not answer within its wait (the session may still be healthy). */
export class CdpTimeout extends CdpError {
  constructor(
    where: string,
    readonly method: string,
    readonly waitedMs: number,
    extra = '',
  ) {
    super(`${where} did not answer ${method} within ${waitedMs} ms${extra}`);
  }
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  cleanup: () => void;
}

export interface OpenOptions extends Deadline {
  allowRemote?: boolean;
  /** largest message accepted from the peer (a hostile peer cannot make us buffer more) */
  maxPayload?: number;
}

/** One CDP session over a WebSocket. */
export class CdpSession {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Map<string, Array<(p: unknown) => void>>();
  private closedReason: string | undefined;
  /** messages from the peer that were not valid protocol messages */
  malformed = 0;
  lastMalformed: string | undefined;

  private constructor(
    private readonly ws: WebSocketType,
    readonly where: string,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', (code) => this.fail(`the inspector closed the connection (code ${code})`));
    ws.on('error', (e) => this.fail(`connection error: ${errnoText(e)}`));
  }

  /** Connect to ws://addr/path. The peer's host never comes from the peer. */
  static async open(addr: InspectorAddress, path: string, o: OpenOptions): Promise<CdpSession> {
    assertConnectAllowed(addr, o.allowRemote);
    if (!path.startsWith('/')) path = '/' + path;
    const where = `inspector at ${formatAddress(addr)}`;
    const { default: WebSocket } = await import('ws');
    const url = `ws://${formatAddress(addr)}${path}`;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: o.maxPayload ?? 64 * 1024 * 1024,
      handshakeTimeout: Math.max(1, o.timeoutMs),
      followRedirects: false,
      createConnection: (opts: Net.NetConnectOpts) => {
        const sock = o.route ? o.route.connect(addr.host, addr.port) : (load('node:net') as typeof Net).connect(opts);
        recordLocalEndpoint(sock, o.ownEndpoints);
        return sock;
      },
    } as WebSocketType.ClientOptions);
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        ws.off('open', onOpen);
        ws.off('error', onError);
        ws.off('unexpected-response', onUnexpected);
        ws.off('close', onClose);
        if (err) {
          ws.on('error', () => {}); // a late error after terminate must not crash us
          ws.terminate();
          reject(err);
        } else resolve(new CdpSession(ws, where));
      };
      const onOpen = () => done();
      const onError = (e: Error) =>
        done(
          /handshake has timed out/i.test(e.message)
            ? new TargetUnreachable(where, `did not complete the WebSocket handshake within ${o.timeoutMs} ms`)
            : new TargetUnreachable(where, `WebSocket connection failed: ${describeNetError(e)}`),
        );
      const onUnexpected = (_req: unknown, res: { statusCode?: number }) =>
        done(
          new TargetUnreachable(where, `refused the WebSocket upgrade (HTTP ${res.statusCode}): another debugger may be attached, or this is not an inspector`),
        );
      const onClose = () => done(new TargetUnreachable(where, 'closed the connection during the WebSocket handshake'));
      const onAbort = () => done(new TimeoutExpired(`${where} (WebSocket handshake, deadline passed)`, o.timeoutMs));
      const timer = setTimeout(() => done(new TargetUnreachable(where, `did not complete the WebSocket handshake within ${o.timeoutMs} ms`)), o.timeoutMs + 50);
      ws.once('open', onOpen);
      ws.once('error', onError);
      ws.once('unexpected-response', onUnexpected);
      ws.once('close', onClose);
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Send one allowed command and wait for its reply within the deadline. */
  send<M extends AllowedMethod>(method: M, params: Params<M>, d: Deadline): Promise<Returns<M>> {
    if (!ALLOWED.has(method)) {
      return Promise.reject(new Refused(`protocol method ${method} is not allowed`));
    }
    if (this.closedReason) return Promise.reject(new CdpError(`${this.where}: ${this.closedReason}`));
    if (d.signal?.aborted) return Promise.reject(new TimeoutExpired(`${this.where} (${method}, deadline passed)`, 0));
    const id = this.nextId++;
    return new Promise<Returns<M>>((resolve, reject) => {
      const onAbort = () => this.settle(id, new TimeoutExpired(`${this.where} (${method}, deadline passed)`, d.timeoutMs));
      const cleanup = () => d.signal?.removeEventListener('abort', onAbort);
      const timer = setTimeout(() => {
        const extra = this.malformed
          ? ` (it sent ${this.malformed} malformed message${this.malformed > 1 ? 's' : ''}${this.lastMalformed ? `: ${this.lastMalformed}` : ''})`
          : '';
        this.settle(id, new CdpTimeout(this.where, method, d.timeoutMs, extra));
      }, d.timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer, cleanup });
      d.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.ws.send(JSON.stringify(params === undefined ? { id, method } : { id, method, params }), (err) => {
          if (err) this.settle(id, new CdpError(`${this.where}: could not send ${method}: ${err.message}`));
        });
      } catch (err) {
        this.settle(id, new CdpError(`${this.where}: could not send ${method}: ${(err as Error).message}`));
      }
    });
  }

  /** Listen to a protocol event (e.g. HeapProfiler.addHeapSnapshotChunk). */
  on<E extends EventName>(event: E, fn: (params: ProtocolMapping.Events[E][0]) => void): () => void {
    const list = this.listeners.get(event) ?? [];
    list.push(fn as (p: unknown) => void);
    this.listeners.set(event, list);
    return () => {
      const l = this.listeners.get(event);
      if (l)
        this.listeners.set(
          event,
          l.filter((f) => f !== fn),
        );
    };
  }

  /** Stop reading from the socket (backpressure while a slow disk catches up). */
  pause(): void {
    this.ws.pause();
  }
  resume(): void {
    this.ws.resume();
  }

  /** Close our connection (the inspector itself stays as it was). */
  close(): void {
    this.fail('closed by proctriage');
    try {
      this.ws.close();
    } catch {
      // already closing
    }
    const t = setTimeout(() => this.ws.terminate(), 200);
    t.unref();
  }

  private settle(id: number, err?: Error, value?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.cleanup();
    if (err) p.reject(err);
    else p.resolve(value);
  }

  private fail(reason: string): void {
    if (this.closedReason === undefined) this.closedReason = reason;
    for (const [id, p] of [...this.pending]) this.settle(id, new CdpError(`${this.where}: ${reason} while waiting for ${p.method}`));
  }

  private bad(why: string): void {
    this.malformed++;
    this.lastMalformed = why;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.bad('a binary frame');
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.bad('text that is not JSON');
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return this.bad('JSON that is not a protocol message');
    const m = msg as Record<string, unknown>;
    if (typeof m.id === 'number') {
      const p = this.pending.get(m.id);
      if (!p) return this.bad(`a reply to unknown request ${m.id}`);
      if (m.error !== undefined) {
        const e = m.error as Record<string, unknown> | null;
        const text = e && typeof e === 'object' && typeof e.message === 'string' ? e.message.slice(0, 200) : 'malformed error';
        return this.settle(m.id, new CdpError(`${this.where} rejected ${p.method}: ${text}`));
      }
      if (!m.result || typeof m.result !== 'object' || Array.isArray(m.result)) {
        this.bad(`a malformed reply to ${p.method}`);
        return this.settle(m.id, new CdpError(`${this.where} sent a malformed reply to ${p.method}`));
      }
      return this.settle(m.id, undefined, m.result);
    }
    if (typeof m.method === 'string') {
      for (const fn of this.listeners.get(m.method) ?? []) {
        try {
          fn(m.params ?? {});
        } catch {
          // a listener's failure is its own business
        }
      }
      return;
    }
    this.bad('JSON that is not a protocol message');
  }
}
