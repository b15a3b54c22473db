/**
 * Reaching a loopback address inside another network namespace (a container's 127.0.0.1).
 *
 * A relay process is started in the target's namespace with util-linux `nsenter --net=<ns file>`
 * (no fork: nsenter enters and execs), running our own Node.js with the fixed script below. Its
 * arguments are only what we validated: a private directory of ours (mode 0700) and loopback
 * `ip:port` pairs. For each pair it listens on a unix socket in that directory (a path in the
 * filesystem, which a network namespace does not separate) and pipes every connection made
 * there to that address, connected from inside the namespace. Nothing else is reachable through
 * it, and only by our user: the directory is ours alone.
 *
 * Its lifetime is ours: it ends when its stdin (a pipe from us) closes, which the kernel does
 * when we exit in any way (SIGKILL included), and at the latest after its own deadline.
 * It reports the local end of each connection it makes, so our own connections are never
 * counted as the target's.
 */
import type { ChildProcess } from 'node:child_process';
import type * as Net from 'node:net';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { isLoopbackAddress } from './loopback.js';
import { formatEndpoint } from '../procfs/net-sockets.js';
import { ProctriageError } from '../errors.js';
import { say } from '../messages.js';

const load = createRequire(import.meta.url);

/** How our clients reach an address: through a relay into the target's namespace. */
export interface NetRoute {
  /** a connected (or connecting) socket to host:port inside the namespace; an error socket for an address not relayed */
  connect(host: string, port: number): Net.Socket;
}

/** CAP_SYS_ADMIN: setns(2) into a network namespace needs it (in the namespace's owning user namespace). */
const CAP_SYS_ADMIN = 21;

/**
 * May this process enter another process's network namespace? undefined when it may, else the
 * missing privilege in a few words.
 */
export function enterPrivilegeMissing(statusText?: string): string | undefined {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return say('netns.capsUnreadable');
    }
  }
  const hex = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(text)?.[1];
  if (hex && ((BigInt('0x' + hex) >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n) return undefined;
  return say('netns.capMissing');
}

/** nsenter from util-linux on PATH (or the usual places), or undefined. */
export function findNsenter(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = join(d, 'nsenter');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The relay, run as `node -e RELAY_SCRIPT -- DIR MAX_MS IP:PORT…`. Fixed text: nothing of the target's is in it. */
export const RELAY_SCRIPT = String.raw`'use strict';
const net = require('net');
const [, dir, maxMs, ...targets] = process.argv;
const conns = new Set();
const servers = [];
let ending = false;
function end() {
  if (ending) return;
  ending = true;
  for (const s of servers) s.close();
  for (const c of conns) c.destroy();
  process.exit(0);
}
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.stdout.on('error', end);
process.stdin.on('data', () => {});
process.stdin.on('end', end);
process.stdin.on('close', end);
process.stdin.on('error', end);
setTimeout(end, Math.min(Number(maxMs) || 0, 600000));
let ready = 0;
targets.forEach((t, i) => {
  const j = t.lastIndexOf(':');
  const host = t.slice(0, j), port = Number(t.slice(j + 1));
  const loop = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(host);
  if (!loop || !Number.isInteger(port) || port < 1 || port > 65535) process.exit(2);
  const srv = net.createServer((c) => {
    const up = net.connect({ host, port });
    conns.add(c);
    conns.add(up);
    const done = () => { c.destroy(); up.destroy(); conns.delete(c); conns.delete(up); };
    up.on('connect', () => process.stdout.write('conn ' + up.localAddress + ' ' + up.localPort + '\n'));
    c.on('error', done); up.on('error', done); c.on('close', done); up.on('close', done);
    c.pipe(up);
    up.pipe(c);
  });
  srv.on('error', () => process.exit(3));
  srv.listen(dir + '/' + i, () => { if (++ready === targets.length) process.stdout.write('ready\n'); });
  servers.push(srv);
});
`;

export interface RelayOptions {
  /** how long to wait for the relay to listen */
  startMs: number;
  /** the relay's own deadline: it ends then whatever happens */
  maxMs: number;
  /** where the local end of each connection the relay makes is recorded (ProbeOptions.ownEndpoints) */
  ownEndpoints?: Set<string>;
}

const key = (host: string, port: number) => `${host.toLowerCase()}|${port}`;

/**
 * Relays into one network namespace, grown as addresses are needed (an inspector that opens
 * after SIGUSR1 gets a relay of its own). close() ends every relay process and removes the directory.
 */
export class NetnsRelay implements NetRoute {
  private readonly paths = new Map<string, string>();
  private readonly children: ChildProcess[] = [];
  private dir: string | undefined;
  private started = 0;
  /** the pids of the relay processes started (for the report and the tests) */
  readonly pids: number[] = [];

  constructor(
    private readonly nsFile: string,
    private readonly nsenter: string,
    private readonly o: RelayOptions,
  ) {}

  /** Make each address reachable (a relay for those not yet relayed). Throws TargetUnreachable with the reason. */
  async ensure(addrs: Array<{ host: string; port: number }>): Promise<void> {
    const fresh = addrs
      .filter((a) => !this.paths.has(key(a.host, a.port)))
      .filter((a, i, all) => all.findIndex((b) => key(b.host, b.port) === key(a.host, a.port)) === i);
    if (!fresh.length) return;
    for (const a of fresh) {
      if (isIP(a.host) === 0 || !isLoopbackAddress(a.host) || !Number.isInteger(a.port) || a.port < 1 || a.port > 65535) {
        throw new ProctriageError('REFUSED', say('netns.notLoopback', { host: a.host, port: a.port }));
      }
    }
    this.dir ??= mkdtempSync(join(tmpdir(), 'proctriage-relay-'));
    const sub = `${this.dir}/${this.started++}`;
    (load('node:fs') as typeof import('node:fs')).mkdirSync(sub, { mode: 0o700 });
    const { spawn } = load('node:child_process') as typeof import('node:child_process');
    const args = [
      '--net=' + this.nsFile,
      '--',
      process.execPath,
      '-e',
      RELAY_SCRIPT,
      '--',
      sub,
      String(this.o.maxMs),
      ...fresh.map((a) => `${a.host}:${a.port}`),
    ];
    // a minimal environment: NODE_OPTIONS (--inspect, --require …) must not reach the relay
    const child = spawn(this.nsenter, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    this.children.push(child);
    if (child.pid !== undefined) this.pids.push(child.pid);
    child.stdin.on('error', () => {});
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 2000) err += d;
    });
    const ready = await new Promise<string | undefined>((resolve) => {
      const t = setTimeout(() => resolve(say('netns.relayNoStart', { ms: this.o.startMs })), this.o.startMs);
      let buf = '';
      let said = false;
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line === 'ready' && !said) {
            said = true;
            clearTimeout(t);
            resolve(undefined);
          }
          const m = /^conn (\S+) (\d+)$/.exec(line);
          if (m) this.o.ownEndpoints?.add(formatEndpoint({ ip: m[1]!.replace(/^::ffff:(?=\d+\.)/, ''), port: Number(m[2]) }));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve(say('netns.relayExited', { code: String(code ?? 'signal'), stderr: err.trim() ? err.trim().split('\n')[0]! : '' }));
      });
      child.once('error', (e) => {
        clearTimeout(t);
        resolve(e.message);
      });
    });
    if (ready !== undefined) {
      this.kill(child);
      throw new ProctriageError('TARGET_UNREACHABLE', say('netns.relayBroken', { why: ready }));
    }
    // it must not keep us running; it ends when we do (its stdin closes)
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
    fresh.forEach((a, i) => this.paths.set(key(a.host, a.port), `${sub}/${i}`));
  }

  connect(host: string, port: number): Net.Socket {
    const net = load('node:net') as typeof Net;
    const path = this.paths.get(key(host, port));
    if (path) return net.connect({ path });
    const s = new net.Socket();
    process.nextTick(() => s.destroy(Object.assign(new Error(`${host}:${port} is not relayed into the target's namespace`), { code: 'ECONNREFUSED' })));
    return s;
  }

  /** End every relay (their stdin closes: they exit) and remove our directory. */
  close(): void {
    for (const c of this.children) this.kill(c);
    this.children.length = 0;
    this.paths.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private kill(c: ChildProcess): void {
    try {
      c.stdin?.end();
    } catch {
      // gone
    }
    // it exits on end of input; a relay that did not is stopped
    const t = setTimeout(() => {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }, 500);
    t.unref();
    c.once('exit', () => clearTimeout(t));
  }
}

/**
 * A relay into the network namespace behind `nsFile` (/proc/PID/ns/net, under a host root too),
 * or the privilege or tool that is missing, in a few words. Nothing is started until ensure().
 */
export function relayInto(nsFile: string, o: RelayOptions): { relay: NetnsRelay; missing?: undefined } | { missing: string; relay?: undefined } {
  const missing = enterPrivilegeMissing();
  if (missing) return { missing };
  const nsenter = findNsenter();
  if (!nsenter) return { missing: say('netns.noNsenter') };
  return { relay: new NetnsRelay(nsFile, nsenter, o) };
}
