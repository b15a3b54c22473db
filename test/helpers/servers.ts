/**
 * Real servers from Debian packages (nginx-light, redis-server, memcached) and real load
 * generators (wrk, redis-benchmark, a bounded memcached client loop) for the end-to-end tests.
 * Every server listens on 127.0.0.1 only, on a free port, runs in the foreground from a
 * temporary directory of its own (config, pid file, logs), and is tracked by processes.ts:
 * cleanup() stops it and removes its directory even when a test fails. Every load is bounded
 * in count and in time.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess } from '../../src/demo/launch.js';
import { TARGETS, procState, sh, track, waitFor, which } from './processes.js';

/** The Debian package of each command the tests use. */
const PACKAGE: Record<string, string> = {
  nginx: 'nginx-light',
  wrk: 'wrk',
  'redis-server': 'redis-server',
  'redis-benchmark': 'redis-tools',
  'redis-cli': 'redis-tools',
  memcached: 'memcached',
  ss: 'iproute2',
};

/** Why these commands cannot be used here (the first one missing), or undefined. */
export function missing(...commands: string[]): string | undefined {
  // nginx lives in /usr/sbin, which a non-root PATH often lacks
  const absent = commands.filter((c) => !which(c) && !existsSync(`/usr/sbin/${c}`));
  if (!absent.length) return undefined;
  return `not installed: ${absent.join(', ')} (apt-get install ${[...new Set(absent.map((c) => PACKAGE[c] ?? c))].join(' ')})`;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Does 127.0.0.1:port accept a connection (within 500 ms)? */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** A tracked child process with the tails of what it printed. */
interface Spawned {
  proc: ServiceProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  alive(): boolean;
}

function spawnServer(command: string, args: string[], dir?: string): Spawned {
  const proc = track(new ServiceProcess(command, args, dir));
  let out = '';
  let err = '';
  proc.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out = (out + s).slice(-65536);
  });
  proc.child.stderr!.on('data', (s: string) => {
    err = (err + s).slice(-8192);
  });
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`${command}: could not be started`);
  return {
    proc,
    pid,
    stdout: () => out,
    stderr: () => err,
    alive: () => proc.child.exitCode === null && proc.child.signalCode === null,
  };
}

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `proctriage-${name}-`));
  chmodSync(dir, 0o755); // nginx's workers run as nobody and must read the static page
  return dir;
}

export interface Server {
  name: string;
  /** the main (master) process */
  pid: number;
  /** its worker processes (nginx), else empty */
  workers: number[];
  port: number;
  dir?: string;
  stop(): Promise<void>;
}

/** Start a server on a free port; a port taken in the meantime gets one more try. */
async function startOnFreePort(name: string, spawnAt: (port: number) => { s: Spawned; log?: () => string }): Promise<{ s: Spawned; port: number }> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const { s, log } = spawnAt(port);
    try {
      await waitFor(
        async () => {
          if (!s.alive()) throw new Error('exited');
          return accepts(port);
        },
        10_000,
        `${name} to listen on 127.0.0.1:${port}`,
      );
      return { s, port };
    } catch (err) {
      lastError = `${(err as Error).message}: ${(log?.() || s.stderr() || s.stdout()).trim().slice(-500)}`;
      await s.proc.stop();
    }
  }
  throw new Error(`${name} did not start: ${lastError}`);
}

/** Live child processes of a PID. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && procState(Number(n)) !== 'Z') out.push(Number(n));
    } catch {
      // gone
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * nginx in the foreground with 2 workers: `/static/` serves a page from its directory,
 * `/proxy/` proxies to 127.0.0.1:upstream over HTTP/1.0 without keep-alive, so every proxied
 * request opens and closes an upstream connection (the upstream hangs up first, and the
 * worker's side passes through CLOSE_WAIT for a moment; with 8 KiB of proxy buffers and no
 * spooling to disk, for as long as the client takes to read a larger answer). Clients get at most 100 requests per
 * keep-alive connection, so under load nginx closes client connections too.
 */
export async function startNginx(o: { upstream: number }): Promise<Server> {
  const dir = tempDir('nginx');
  mkdirSync(join(dir, 'html', 'static'), { recursive: true });
  writeFileSync(join(dir, 'html', 'static', 'index.html'), `<!doctype html><title>static</title><p>${'static page '.repeat(80)}</p>\n`, { mode: 0o644 });
  mkdirSync(join(dir, 'tmp'));
  const conf = (port: number) => `
worker_processes 2;
worker_rlimit_nofile 8192;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  default_type text/html;
  keepalive_requests 100;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port} backlog=1024;
    location /static/ { root ${dir}/html; }
    location /proxy/ {
      proxy_pass http://127.0.0.1:${o.upstream};
      proxy_http_version 1.0;
      proxy_set_header Connection close;
      proxy_max_temp_file_size 0;
      proxy_buffer_size 4k;
      proxy_buffers 2 4k;
      proxy_busy_buffers_size 4k;
    }
  }
}
`;
  const { s, port } = await startOnFreePort('nginx', (port) => {
    writeFileSync(join(dir, 'nginx.conf'), conf(port));
    const nginx = which('nginx') ?? '/usr/sbin/nginx';
    return {
      s: spawnServer(nginx, ['-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'], dir),
      log: () => {
        try {
          return readFileSync(join(dir, 'error.log'), 'utf8');
        } catch {
          return '';
        }
      },
    };
  });
  let workers: number[] = [];
  await waitFor(() => (workers = childrenOf(s.pid)).length === 2, 10_000, 'nginx to start its 2 workers');
  return { name: 'nginx', pid: s.pid, workers, port, dir, stop: () => s.proc.stop() };
}

/** redis-server in the foreground on 127.0.0.1, no persistence, its log in its own directory. */
export async function startRedis(): Promise<Server> {
  const dir = tempDir('redis');
  const { s, port } = await startOnFreePort('redis-server', (port) => ({
    s: spawnServer(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--dir',
        dir,
        '--logfile',
        join(dir, 'redis.log'),
      ],
      dir,
    ),
    log: () => {
      try {
        return readFileSync(join(dir, 'redis.log'), 'utf8');
      } catch {
        return '';
      }
    },
  }));
  return { name: 'redis-server', pid: s.pid, workers: [], port, dir, stop: () => s.proc.stop() };
}

/** memcached in the foreground on 127.0.0.1, TCP only. */
export async function startMemcached(): Promise<Server> {
  // memcached refuses to run as root unless told which user to become
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const { s, port } = await startOnFreePort('memcached', (port) => ({
    s: spawnServer('memcached', ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '64', '-c', '1024', '-t', '2', ...user]),
  }));
  return { name: 'memcached', pid: s.pid, workers: [], port, stop: () => s.proc.stop() };
}

/** `redis-cli subscribe CHANNEL`: a client holding one connection to redis, as a subscriber does. */
export async function startRedisSubscriber(port: number, channel = 'proctriage-test'): Promise<{ pid: number; stop(): Promise<void> }> {
  const s = spawnServer('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'subscribe', channel]);
  try {
    await waitFor(
      () => {
        if (!s.alive()) throw new Error(`redis-cli exited: ${s.stderr().trim()}`);
        return s.stdout().includes(channel);
      },
      10_000,
      'redis-cli to subscribe',
    );
  } catch (err) {
    await s.proc.stop();
    throw err;
  }
  return { pid: s.pid, stop: () => s.proc.stop() };
}

export interface LoadResult {
  name: string;
  code: number | null;
  /** what it printed, in short (requests per second, errors) */
  summary: string;
  stdout: string;
  ms: number;
}

export interface Load {
  pid: number;
  /** resolves when the load generator has exited (killed after its time bound) */
  done: Promise<LoadResult>;
}

/** Run a load generator; it is killed when it runs past maxMs. */
function startLoad(name: string, command: string, args: string[], maxMs: number, summarise: (out: string) => string): Load {
  const s = spawnServer(command, args);
  const started = performance.now();
  const timer = setTimeout(() => {
    void s.proc.stop();
  }, maxMs);
  const done = s.proc.exited.then(() => {
    clearTimeout(timer);
    const code = s.proc.child.exitCode;
    const out = s.stdout();
    return {
      name,
      code,
      summary: code === 0 ? summarise(out) : `exit ${code ?? s.proc.child.signalCode}: ${s.stderr().trim().slice(-300)}`,
      stdout: out,
      ms: Math.round(performance.now() - started),
    };
  });
  return { pid: s.pid, done };
}

/** wrk against a URL on 127.0.0.1, bounded by its duration. */
export function wrk(url: string, o: { connections: number; seconds: number; threads?: number }): Load {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`loopback only: ${url}`);
  const args = [`-t${o.threads ?? 2}`, `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '2s', url];
  return startLoad('wrk', 'wrk', args, o.seconds * 1000 + 10_000, (out) => {
    const rps = /Requests\/sec:\s*([\d.]+)/.exec(out)?.[1];
    const total = /(\d+) requests in/.exec(out)?.[1];
    const errors = /Socket errors:[^\n]*/.exec(out)?.[0];
    const non2xx = /Non-2xx or 3xx responses: \d+/.exec(out)?.[0];
    return [`${total} requests, ${rps} req/s`, errors, non2xx].filter(Boolean).join('; ');
  });
}

/** redis-benchmark: `requests` per test (its default set of tests), bounded at 90 s. */
export function redisBenchmark(port: number, o: { requests: number; clients: number; tests?: string }): Load {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-n', String(o.requests), '-c', String(o.clients), '-q', ...(o.tests ? ['-t', o.tests] : [])];
  return startLoad('redis-benchmark', 'redis-benchmark', args, 90_000, (out) => {
    // -q prints "SET: 81300.81 requests per second, p50=0.303 msec" per test, with \r progress lines
    const lines = out.split(/[\r\n]+/).filter((l) => /requests per second/.test(l));
    return `${lines.length} tests: ${lines.map((l) => l.replace(/ requests per second.*/, '/s')).join(', ')}`;
  });
}

/** The memcached client loop of test/helpers/targets/memcache-load.ts. */
export function memcacheLoad(port: number, o: { connections: number; ops: number; reconnectEvery: number; maxMs: number }): Load {
  const args = [join(TARGETS, 'memcache-load.js'), String(port), String(o.connections), String(o.ops), String(o.reconnectEvery), String(o.maxMs)];
  return startLoad('memcache-load', process.execPath, args, o.maxMs + 10_000, (out) => out.trim());
}

/** The churn client of test/helpers/targets/churn-client.ts, run to its end. */
export async function churn(port: number, count: number, closes: 'client-closes' | 'server-closes', concurrency = 50): Promise<LoadResult> {
  const r = await startLoad(
    'churn-client',
    process.execPath,
    [join(TARGETS, 'churn-client.js'), String(port), String(count), String(concurrency), closes],
    40_000,
    (out) => out.trim(),
  ).done;
  if (r.code !== 0) throw new Error(`churn-client: ${r.summary}`);
  return r;
}

/**
 * Connections as `ss` shows them, counted: `filter` is an ss state/port filter such as
 * `state time-wait '( sport = :8080 )'`.
 */
export function ssCount(filter: string): number {
  return Number(sh(`ss -Htan ${filter} | wc -l`).trim());
}

export interface SsView {
  /** sockets per ss state name (ESTAB, LISTEN, CLOSE-WAIT …) */
  states: Record<string, number>;
  /** the local ports it listens on */
  listenPorts: number[];
}

/** Sockets that `ss -tanp` lists for each process (TIME_WAIT rows have no process). */
export function ssOwned(pids: number[]): Map<number, SsView> {
  const out = new Map(pids.map((p): [number, SsView] => [p, { states: {}, listenPorts: [] }]));
  // TIME_WAIT rows carry no process: left out, which also keeps the output small under load
  for (const line of sh('ss -Htanp exclude time-wait').split('\n')) {
    const [state, , , local] = line.split(/\s+/);
    // a socket shared by several fds of one process is listed once per fd: count it once
    for (const pid of new Set([...line.matchAll(/pid=(\d+),/g)].map((m) => Number(m[1])))) {
      const view = out.get(pid);
      if (!view) continue;
      view.states[state!] = (view.states[state!] ?? 0) + 1;
      if (state === 'LISTEN') view.listenPorts.push(Number(local!.slice(local!.lastIndexOf(':') + 1)));
    }
  }
  return out;
}

/** TIME_WAIT rows whose local port is one of these (a server's listening ports: it closed first). */
export function timeWaitOn(ports: number[]): number {
  return ports.reduce((a, p) => a + ssCount(`state time-wait '( sport = :${p} )'`), 0);
}

/** Inodes of the sockets in CLOSE_WAIT right now, on one of these local or remote ports. */
export function closeWaitInodes(ports: number[]): Set<number> {
  const filter = ports.map((p) => `sport = :${p} or dport = :${p}`).join(' or ');
  return new Set([...sh(`ss -Htane state close-wait '( ${filter} )'`).matchAll(/\bino:(\d+)/g)].map((m) => Number(m[1])));
}

/** Open fds of a process, as `ls /proc/PID/fd | wc -l` counts them. */
export function lsFdCount(pid: number): number {
  return Number(sh(`ls /proc/${pid}/fd | wc -l`).trim());
}

/**
 * A self-signed certificate for 127.0.0.1 made by openssl in `dir` (undefined without openssl):
 * the key and certificate as an https server takes them, and the certificate's path (a CA file).
 */
export function testCertificate(dir: string, commonName: string): { key: Buffer; cert: Buffer; certFile: string } | undefined {
  if (!which('openssl')) return undefined;
  const [keyFile, certFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}
