/**
 * Shared plumbing for the bundled sample services. Each service prints exactly one JSON line
 * on stdout when it is ready ({"ready":true,...}) and then stays alive until it is killed.
 * They take no input; with PROCTRIAGE_SERVICE_WATCHDOG=stdin they also exit when their stdin
 * closes, so a launcher that dies without cleaning up does not leave them running.
 */
import { parseArgs } from 'node:util';

export type Cleanup = () => void | Promise<void>;

/** Parse --name value options (strings only); unknown options are an error. */
export function options<K extends string>(names: readonly K[]): Partial<Record<K, string>> {
  const spec = Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
  try {
    const { values } = parseArgs({ options: spec, strict: true, allowPositionals: false });
    return values as Partial<Record<K, string>>;
  } catch (err) {
    fail(err);
  }
}

/** A positive integer option with a default and an upper bound. */
export function intOption(value: string | undefined, fallback: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) fail(new Error(`${what} must be an integer between 1 and ${max}, not "${value}"`));
  return n;
}

/** Announce readiness: one JSON line on stdout. */
export function ready(service: string, info: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ready: true, service, pid: process.pid, ...info }) + '\n');
}

export function fail(err: unknown): never {
  process.stderr.write(`${process.argv[1]}: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
}

/**
 * Keep the process alive until SIGTERM or SIGINT (or stdin closing, with the watchdog on);
 * then run the cleanups (bounded to two seconds) and exit 0.
 */
export function stayAlive(cleanups: Cleanup[] = []): void {
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(keepAlive);
    const timer = setTimeout(() => process.exit(0), 2000);
    for (const c of cleanups) {
      try {
        await c();
      } catch {
        // best effort: we are leaving anyway
      }
    }
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  if (process.env.PROCTRIAGE_SERVICE_WATCHDOG === 'stdin') {
    process.stdin.on('data', () => {});
    process.stdin.on('end', () => void stop());
    process.stdin.on('error', () => void stop());
  }
}

/** Today as YYYY-MM-DD (file names of the rotation samples). */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}
