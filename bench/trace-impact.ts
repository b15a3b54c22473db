/**
 * What `proctriage trace` costs the process it traces: a C program (bench/churn.c, built with
 * gcc -fno-omit-frame-pointer, dynamically linked: the libc entry uprobes and the syscall
 * tracepoints both fire) opens and closes /dev/null as fast as one CPU lets it and reports its
 * rate every 250 ms. Its rate untraced, then during a trace, then untraced again; the medians
 * are compared. Also the wall time of the whole trace command beside its window (bpftrace's
 * compile and attach). Needs root and bpftrace: says why and exits 0 otherwise.
 *
 *   node dist/bench/trace-impact.js [--window 10] [--no-write]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../src/engine/trends.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'proctriage.js');
const args = process.argv.slice(2);
const windowS = Number(args[args.indexOf('--window') + 1] ?? 10) || 10;

const TRACEFS = '/sys/kernel/tracing';
/** set when the bench mounted the kernel's tracing file system itself (unmounted at the end) */
let mountedTracefs = false;

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('bpftrace', ['--version']).status !== 0) return 'no bpftrace';
  if (spawnSync('gcc', ['--version']).status !== 0) return 'no gcc';
  if (!existsSync(`${TRACEFS}/events`)) mountedTracefs = spawnSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS]).status === 0;
  if (!existsSync(`${TRACEFS}/events`)) return `tracefs is not mounted at ${TRACEFS} and cannot be`;
  return undefined;
}

async function main(): Promise<void> {
  const skip = why();
  if (skip) {
    console.log(`trace impact: skipped (${skip})`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'proctriage-bench-trace-'));
  const bin = join(dir, 'churn');
  const cc = spawnSync('gcc', ['-O2', '-g', '-fno-omit-frame-pointer', '-o', bin, join(ROOT, 'bench', 'churn.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(cc.stderr);
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const samples: { t: number; rate: number }[] = [];
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const [t, rate] = buf.slice(0, nl).split(' ').map(Number);
      buf = buf.slice(nl + 1);
      samples.push({ t: Date.now(), rate: rate! });
      void t;
    }
  });
  const stopAll = () => {
    child.stdin.end();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopAll);
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    await wait(1000); // warm-up
    const base0 = Date.now();
    await wait(5000);
    const base1 = Date.now();
    let ready = 0,
      end = 0;
    const started = Date.now();
    const trace = spawn(process.execPath, [CLI, 'trace', String(child.pid), '--duration', `${windowS}s`, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    trace.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    let errLine = '';
    trace.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (/tracing pid/.test(s)) ready = Date.now();
      else errLine ||= s.trim().split('\n')[0] ?? '';
    });
    const code = await new Promise<number | null>((r) => trace.once('close', r));
    end = Date.now();
    const totalMs = end - started;
    await wait(5000);
    const after1 = Date.now();
    const rateIn = (a: number, b: number) => median(samples.filter((s) => s.t > a && s.t <= b).map((s) => s.rate));
    const before = rateIn(base0, base1);
    // the window proper: from "tracing" until the report (the tracer detaches as it prints)
    const during = rateIn(ready + 500, ready + windowS * 1000 - 250);
    const attaching = rateIn(started, ready);
    const afterward = rateIn(end + 500, after1);
    if (code !== 0 || !ready) {
      console.log(`trace impact: not measured (proctriage trace exited ${code}${errLine ? `: ${errLine}` : ''})`);
      return;
    }
    const report = JSON.parse(out);
    const result = {
      when: new Date().toISOString(),
      cpus: cpus().length,
      load: loadavg()[0],
      windowSeconds: windowS,
      traceWallMs: totalMs,
      attachMs: ready - started,
      pairsPerSecond: { before, attaching, during, after: afterward },
      slowdown: before / during,
      eventsTraced: report?.totals.events,
      exit: code,
    };
    console.log('trace impact on a C program opening and closing /dev/null as fast as it can (open+close pairs per second, median of 250 ms samples)');
    console.log(`  untraced before:   ${Math.round(before)}`);
    console.log(`  while attaching:   ${Math.round(attaching)}`);
    console.log(
      `  traced (window):   ${Math.round(during)}   (${(before / during).toFixed(2)}x slower; ${Math.round(1e6 / during - 1e6 / before)} µs added per open+close)`,
    );
    console.log(`  untraced after:    ${Math.round(afterward)}   (nothing left attached)`);
    console.log(
      `  trace command: ${totalMs} ms for a ${windowS} s window (${ready - started} ms to compile and attach), ${report?.totals.events ?? '?'} events`,
    );
    if (!args.includes('--no-write')) {
      const file = join(ROOT, 'bench', 'results.json');
      const all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      all.traceImpact = result;
      writeFileSync(file, JSON.stringify(all, null, 2) + '\n');
    }
  } finally {
    stopAll();
    if (mountedTracefs) spawnSync('umount', [TRACEFS]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
