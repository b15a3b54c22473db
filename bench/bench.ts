/**
 * `npm run bench`: what a proctriage diagnosis costs next to the tools people already use.
 *
 * For each size (200, 5 000, 10 000, 19 000 fds by default: a typical service, then big tables) a holder process opens that many fds,
 * half loopback TCP sockets and half regular files. Then, taking turns so that drift hits all
 * of them alike, this times (median of --runs after --warmup rounds):
 *   - proctriage:  bin/proctriage.js PID --json    (as an installed command runs; stdout to /dev/null)
 *   - lsof:        lsof -n -P -p PID
 *   - ls + ss:     ls -l /proc/PID/fd, then ss -tan     (summed)
 * plus the start-up cost (proctriage --version against node -e 0) and proctriage's peak RSS
 * (/usr/bin/time -f %M). When NODE_EXTRA_CA_CERTS is set, node -e 0 is also timed without it
 * (see EXTRA_CA). Wall time is what the targets are about; CPU time (user + sys of the
 * command and its children) is shown beside it because it moves much less when other work
 * shares the machine. Prints the tables with pass/miss against the targets and writes the
 * figures to bench/results.json.
 *
 *   node dist/bench/bench.js [--sizes 200,5000,10000,19000] [--runs 7] [--warmup 1] [--holder node|python]
 *                            [--baseline CHECKOUT] [--no-write]
 *
 * `proctriage` is started as a user starts it: by name, from a directory on PATH holding a
 * symlink to bin/proctriage.js (as npm link makes). --baseline also times another checkout's
 * build (say main's) the same way, in the same rounds, so two versions meet the same noise.
 * `top` over every process of the host is timed against `lsof -n -P` for the whole host.
 *
 * The holder is a Node.js process by default, so the node probe takes part as it would on a
 * real Node.js service; --holder python measures the runtime-independent /proc scan alone.
 *
 * Loopback only. Every child has a timeout, and every holder is ended on exit, on failure and
 * on Ctrl-C (a holder also leaves by itself when our end of its stdin closes).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../src/engine/trends.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'proctriage.js');
const HOLDERS = {
  node: [process.execPath, fileURLToPath(new URL('./holder.js', import.meta.url))],
  python: ['python3', join(ROOT, 'bench', 'holder.py')],
};
type HolderKind = keyof typeof HOLDERS;
const RESULTS = join(ROOT, 'bench', 'results.json');

const COMMAND_TIMEOUT_MS = 60_000;
const HOLDER_START_TIMEOUT_MS = 120_000;
const HOLDER_STOP_TIMEOUT_MS = 5_000;
/** fds a holder has before it opens any itself (stdio, epoll, eventfds, pipes …) */
const BASELINE_FDS = 100;
const STARTUP_RUNS = 15;
const RSS_RUNS = 3;
/** clock ticks per second for the CPU times in /proc/self/stat */
const CLK_TCK = 100;

const TARGETS = {
  lsofOverProctriage: 2, // at least
  proctriageOverLsSs: 1.5, // at most
  startupRatio: 1.5, // at most
  peakRssMb: 150, // below
};

// ---------------------------------------------------------------- arguments

interface Args {
  sizes: number[];
  runs: number;
  warmup: number;
  holder: HolderKind;
  write: boolean;
  baseline?: string;
}

function parseArgs(argv: string[]): Args {
  const o: Args = { sizes: [200, 5000, 10000, 19000], runs: 7, warmup: 1, holder: 'node', write: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--sizes') o.sizes = value().split(',').map(Number);
    else if (a === '--runs') o.runs = Number(value());
    else if (a === '--warmup') o.warmup = Number(value());
    else if (a === '--holder') {
      const h = value();
      if (h !== 'node' && h !== 'python') usage('--holder: node or python');
      o.holder = h;
    } else if (a === '--no-write') o.write = false;
    else if (a === '--baseline') o.baseline = value();
    else usage(`unknown argument ${a}`);
  }
  if (!o.sizes.length || o.sizes.some((n) => !Number.isInteger(n) || n < 100)) usage('--sizes: integers ≥ 100');
  if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 100) usage('--runs: 1 to 100');
  if (!Number.isInteger(o.warmup) || o.warmup < 0 || o.warmup > 10) usage('--warmup: 0 to 10');
  return o;
}

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\nusage: bench.js [--sizes 200,5000,10000,19000] [--runs 7] [--warmup 1] [--holder node|python] [--no-write]\n`);
  process.exit(2);
}

// ---------------------------------------------------------------- cleanup

const holders = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function cleanup(): void {
  for (const h of holders) h.kill('SIGKILL');
  holders.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, stopping\n`);
    cleanup();
    process.exit(130);
  });
}

// ---------------------------------------------------------------- running things

/**
 * A command to time; `okStatus` lists the exit codes that mean it did its job (any when absent);
 * `env` replaces the environment.
 */
type Step = [cmd: string, args: string[], okStatus?: number[], env?: NodeJS.ProcessEnv];

/**
 * On Node.js 20, NODE_EXTRA_CA_CERTS makes every start load the whole root certificate store
 * before any script runs (nodejs/node#40524; Node 22 loads it on first use): about 50 ms here.
 * bin/proctriage.js hands the variable over instead of letting Node load it; `node -e 0` pays
 * it, so when it is set `node -e 0` is also timed without it, the fairer start-up reference.
 */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS !== undefined;
const WITHOUT_EXTRA_CA: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));

/**
 * An environment where `proctriage` on PATH is this checkout's bin/proctriage.js (a symlink in a
 * temporary directory, as npm link makes one), with this Node next on PATH.
 */
function onPath(cli: string): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'proctriage-bin-'));
  tempDirs.add(dir);
  symlinkSync(cli, join(dir, 'proctriage'));
  return { ...process.env, PATH: `${dir}:${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
}
let PROCTRIAGE_ENV: NodeJS.ProcessEnv = {};
let BASELINE_ENV: NodeJS.ProcessEnv | undefined;
const proctriage = (args: string[], ok?: number[], env = PROCTRIAGE_ENV): Step => ['proctriage', args, ok, env];

/** proctriage exits 0/1/2 for ok/warning/critical; 3 (unknown) would mean it could not look. */
const DIAGNOSED = [0, 1, 2];

interface Timing {
  /** wall time, ms */
  wall: number;
  /** user + sys CPU time of the command and its children, ms (10 ms resolution per run) */
  cpu: number;
}

/** CPU time of our finished children so far (cutime + cstime), ms. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK; // cutime and cstime: fields 16 and 17
}

/** Times of the steps run one after the other, stdout to /dev/null. */
function timeSteps(steps: Step[]): Timing {
  const t = { wall: 0, cpu: 0 };
  for (const [cmd, args, okStatus, env] of steps) {
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, env });
    t.wall += performance.now() - t0;
    t.cpu += childrenCpuMs() - cpu0;
    if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
    if (r.signal) throw new Error(`${cmd} ${args.join(' ')}: ended by ${r.signal}`);
    if (okStatus && !okStatus.includes(r.status!)) {
      throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    }
  }
  return t;
}

/** Median times of each subject; the subjects take turns, after `warmup` unrecorded rounds. */
/** Every recorded run of the last measure, by subject (for ratios run by run). */
let lastSamples = new Map<string, Timing[]>();

async function measure<K extends string>(subjects: Record<K, Step[]>, runs: number, warmup: number): Promise<Record<K, Timing>> {
  const names = Object.keys(subjects) as K[];
  const samples = new Map<K, Timing[]>(names.map((k) => [k, []]));
  for (let round = 0; round < warmup + runs; round++) {
    // the order turns round by round: the run after lsof's 19 000 stats is a few ms slower
    const turn = round % names.length;
    for (const name of [...names.slice(turn), ...names.slice(0, turn)]) {
      const t = timeSteps(subjects[name]);
      if (round >= warmup) samples.get(name)!.push(t);
      await new Promise((r) => setImmediate(r)); // let a SIGINT/SIGTERM handler run between runs
    }
  }
  lastSamples = samples;
  return Object.fromEntries(
    names.map((k) => {
      const s = samples.get(k)!;
      return [k, { wall: median(s.map((t) => t.wall)), cpu: median(s.map((t) => t.cpu)) }];
    }),
  ) as Record<K, Timing>;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

function hardFdLimit(): number {
  const r = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8', timeout: 5000 });
  const v = r.stdout.trim();
  return v === 'unlimited' ? Infinity : Number(v);
}

async function startHolder(kind: HolderKind, fds: number, dir: string): Promise<ChildProcess & { pid: number }> {
  // raise the soft fd limit to the hard one, then become the holder (same pid)
  const child = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"', ...HOLDERS[kind], String(fds), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  holders.add(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`holder not ready after ${HOLDER_START_TIMEOUT_MS} ms`)), HOLDER_START_TIMEOUT_MS);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`holder exited (${signal ?? code}) before it was ready`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return child as ChildProcess & { pid: number };
}

async function stopHolder(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), HOLDER_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  holders.delete(child);
}

// ---------------------------------------------------------------- the measurements

type Tool = 'proctriage' | 'lsof' | 'ls' | 'ss' | 'lsSs';

interface SizeResult {
  fds: number;
  openFds: number;
  /** TCP sockets in the namespace (all of them are in the tables proctriage and ss read) */
  tcpRows: number;
  wallMs: Record<Tool, number | null>;
  cpuMs: Record<Tool, number | null>;
  lsofOverProctriage: { wall: number | null; cpu: number | null };
  proctriageOverLsSs: { wall: number; cpu: number };
  peakRssMb: number | null;
  /** each recorded run, in order (the subjects took turns) */
  perRun: Record<string, number[]>;
  /** the --baseline build's median */
  baselineWallMs?: number;
  /** from the report of one extra run: each probe's duration (they run concurrently) */
  probeMs: Record<string, number>;
  /**
   * Wall time the cpu probe's sampling window added after every other probe was done
   * (0 when the scan took longer than the window, as it should on a big target).
   */
  cpuWindowExtraMs: number;
}

/** One diagnosis with its output kept: proves the benchmark measures a real scan. */
function checkReport(pid: number, fds: number): { probeMs: Record<string, number>; openFds: number } {
  const r = spawnSync('proctriage', [String(pid), '--json'], { env: PROCTRIAGE_ENV, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 << 20 });
  if (r.error || r.signal) throw new Error(`proctriage: ${r.error?.message ?? r.signal}`);
  let report: { targets: { metrics: Record<string, number>; probes: { id: string; status: string; durationMs: number }[] }[] };
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`proctriage did not print a JSON report (exit ${r.status}): ${r.stderr.trim().slice(-300)}`);
  }
  const t = report.targets[0]!;
  const open = t.metrics['fd.open']!,
    established = t.metrics['sockets.tcp.established']!;
  const sockets = 2 * Math.floor(fds / 4);
  if (!(open >= fds && open < fds + BASELINE_FDS)) throw new Error(`proctriage saw ${open} fds, expected about ${fds}`);
  if (!(established >= sockets)) throw new Error(`proctriage saw ${established} established sockets, expected ${sockets}`);
  const failed = t.probes.filter((p) => p.status !== 'ok' && p.status !== 'skipped' && p.status !== 'partial');
  if (failed.length) throw new Error(`probes failed: ${failed.map((p) => `${p.id}=${p.status}`).join(', ')}`);
  return { probeMs: Object.fromEntries(t.probes.map((p) => [p.id, p.durationMs])), openFds: open };
}

/** Peak RSS in MB, the largest of a few runs under /usr/bin/time -f %M (kilobytes). */
function peakRssMb(pid: number): number {
  let kb = 0;
  for (let i = 0; i < RSS_RUNS; i++) {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'proctriage', String(pid), '--json'], {
      env: PROCTRIAGE_ENV,
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: COMMAND_TIMEOUT_MS,
    });
    const last = Number(r.stderr.trim().split('\n').pop());
    if (!Number.isFinite(last)) throw new Error(`/usr/bin/time: unexpected output ${JSON.stringify(r.stderr.slice(-200))}`);
    kb = Math.max(kb, last);
  }
  return kb / 1024;
}

async function measureSize(fds: number, o: Args, tools: { lsof: boolean; time: boolean }): Promise<SizeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'proctriage-bench-'));
  tempDirs.add(dir);
  const holder = await startHolder(o.holder, fds, dir);
  try {
    const pid = holder.pid;
    const open = readdirSync(`/proc/${pid}/fd`).length;
    const tcpRows = spawnSync('ss', ['-tanH'], { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS }).stdout.split('\n').filter(Boolean).length;
    process.stdout.write(`  ${fds} fds: holder ${pid} has ${open} fds open, ${tcpRows} TCP sockets in the namespace; timing…\n`);
    const check = checkReport(pid, fds);

    const subjects: Record<string, Step[]> = {
      proctriage: [proctriage([String(pid), '--json'], DIAGNOSED)],
      ...(BASELINE_ENV ? { baseline: [proctriage([String(pid), '--json'], DIAGNOSED, BASELINE_ENV)] } : {}),
      ls: [['ls', ['-l', `/proc/${pid}/fd`]]],
      ss: [['ss', ['-tan']]],
    };
    if (tools.lsof) subjects.lsof = [['lsof', ['-n', '-P', '-p', String(pid)]]];
    const m = await measure(subjects, o.runs, o.warmup);
    const runs = (k: string) => lastSamples.get(k)?.map((t) => t.wall) ?? [];
    const mine = runs('proctriage'),
      lsofRuns = runs('lsof'),
      lsRuns = runs('ls'),
      ssRuns = runs('ss'),
      base = runs('baseline');
    const perRun = {
      proctriageMs: mine.map(r0),
      ...(base.length ? { baselineMs: base.map(r0) } : {}),
      lsofOverProctriage: lsofRuns.map((l, i) => r2(l / mine[i]!)),
      proctriageOverLsSs: lsRuns.map((l, i) => r2(mine[i]! / (l + ssRuns[i]!))),
      ...(base.length ? { proctriageOverBaseline: base.map((b, i) => r2(mine[i]! / b)) } : {}),
    };
    process.stdout.write(
      `    per run: lsof / proctriage ${perRun.lsofOverProctriage.join(' ')}\n` +
        `             proctriage / (ls + ss) ${perRun.proctriageOverLsSs.join(' ')}\n` +
        (base.length ? `             proctriage / baseline ${perRun.proctriageOverBaseline!.join(' ')} (baseline median ${f0(m.baseline!.wall)} ms)\n` : ''),
    );
    const pick = (k: keyof Timing): Record<Tool, number | null> => ({
      proctriage: m.proctriage![k],
      lsof: m.lsof?.[k] ?? null,
      ls: m.ls![k],
      ss: m.ss![k],
      lsSs: m.ls![k] + m.ss![k],
    });
    const wallMs = pick('wall'),
      cpuMs = pick('cpu');
    const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
    const others = Object.entries(check.probeMs)
      .filter(([id]) => id !== 'cpu')
      .map(([, ms]) => ms);
    return {
      fds,
      openFds: check.openFds,
      tcpRows,
      wallMs,
      cpuMs,
      lsofOverProctriage: { wall: ratio(wallMs.lsof, wallMs.proctriage), cpu: ratio(cpuMs.lsof, cpuMs.proctriage) },
      proctriageOverLsSs: { wall: ratio(wallMs.proctriage, wallMs.lsSs)!, cpu: ratio(cpuMs.proctriage, cpuMs.lsSs)! },
      peakRssMb: tools.time ? peakRssMb(pid) : null,
      probeMs: check.probeMs,
      perRun,
      ...(m.baseline ? { baselineWallMs: r0(m.baseline.wall) } : {}),
      cpuWindowExtraMs: Math.max(0, (check.probeMs.cpu ?? 0) - Math.max(0, ...others)),
    };
  } finally {
    await stopHolder(holder);
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

/** Least-squares slope, in ms per 1 000 fds. */
function slopePerThousand(xs: number[], ys: (number | null)[]): number | null {
  if (xs.length < 2 || ys.some((y) => y === null)) return null;
  const y = ys as number[];
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length,
    my = y.reduce((a, b) => a + b, 0) / y.length;
  let num = 0,
    den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (y[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? (num / den) * 1000 : null;
}

// ---------------------------------------------------------------- report

const r0 = (x: number) => Math.round(x);
const r2 = (x: number) => Math.round(x * 100) / 100;
const f0 = (x: number | null) => (x === null ? '—' : x.toFixed(0));
const f2 = (x: number | null) => (x === null ? '—' : x.toFixed(2));

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [i, r] of rows.entries()) {
    process.stdout.write(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ') + '\n');
    if (i === 0) process.stdout.write(widths.map((w) => '-'.repeat(w)).join('   ') + '\n');
  }
}

function printTimes(title: string, results: SizeResult[], k: 'wallMs' | 'cpuMs', withRss: boolean): void {
  process.stdout.write(`\n${title}\n`);
  const kind = k === 'wallMs' ? 'wall' : 'cpu';
  printTable([
    ['fds', 'proctriage', 'lsof', 'ls -l fd', 'ss -tan', 'ls + ss', 'lsof / proctriage', 'proctriage / (ls + ss)', ...(withRss ? ['peak RSS MB'] : [])],
    ...results.map((r) => [
      String(r.fds),
      f0(r[k].proctriage),
      f0(r[k].lsof),
      f0(r[k].ls),
      f0(r[k].ss),
      f0(r[k].lsSs),
      f2(r.lsofOverProctriage[kind]),
      f2(r.proctriageOverLsSs[kind]),
      ...(withRss ? [f0(r.peakRssMb)] : []),
    ]),
  ]);
}

interface Verdict {
  name: string;
  value: number | null;
  target: string;
  pass: boolean | null;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  PROCTRIAGE_ENV = onPath(CLI);
  if (o.baseline) BASELINE_ENV = onPath(join(o.baseline, 'bin', 'proctriage.js'));
  const tools = { lsof: have('lsof'), time: have('/usr/bin/time'), ls: have('ls'), ss: have('ss') };
  if (!tools.ls || !tools.ss) throw new Error('ls and ss are needed');
  if (!tools.lsof) process.stdout.write('lsof is not installed: its column and the lsof ratio are skipped\n');
  if (!tools.time) process.stdout.write('/usr/bin/time is not installed: peak RSS is skipped\n');
  const limit = hardFdLimit();
  const sizes = o.sizes.filter((n) => n + BASELINE_FDS <= limit);
  for (const n of o.sizes.filter((s) => !sizes.includes(s))) process.stdout.write(`skipping ${n} fds: the hard fd limit is ${limit}\n`);
  if (!sizes.length) throw new Error('no size fits under the hard fd limit');

  process.stdout.write(
    `proctriage benchmark: node ${process.version}, ${cpus().length} CPUs, kernel ${release()}; ${o.holder} holder; median of ${o.runs} runs after ${o.warmup} warm-up\n`,
  );
  const loadBefore = loadavg()[0]!;
  if (loadBefore > cpus().length / 2)
    process.stdout.write(`note: load average ${loadBefore.toFixed(1)} on ${cpus().length} CPUs: other work inflates the wall times\n`);
  if (EXTRA_CA) {
    process.stdout.write(
      'note: NODE_EXTRA_CA_CERTS is set. On Node.js 20 it makes every Node start load the whole root\n' +
        '      certificate store first (nodejs/node#40524). The proctriage command hands it to its https\n' +
        '      client instead; node -e 0 pays it, so node -e 0 is also timed, marked *, with it unset.\n',
    );
  }
  process.stdout.write('  start-up…\n');
  const start = await measure(
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the optional subjects make the key set conditional: tsc needs it
    {
      version: [proctriage(['--version'], [0])],
      node: [[process.execPath, ['-e', '0'], [0]]],
      ...(EXTRA_CA ? { nodeWithoutExtraCa: [[process.execPath, ['-e', '0'], [0], WITHOUT_EXTRA_CA]] } : {}),
    } as Record<string, Step[]>,
    STARTUP_RUNS,
    2,
  );

  const results: SizeResult[] = [];
  for (const n of sizes) results.push(await measureSize(n, o, tools));

  // the whole host: top ranks every process; lsof lists every process's files
  let top: { procs: number; topMs: number; lsofMs: number | null; baselineMs: number | null; ratio: number | null; perRun: number[] } | undefined;
  {
    const procs = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
    process.stdout.write(`  whole host (${procs} processes): top against lsof -n -P…\n`);
    const m = await measure(
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the optional subjects make the key set conditional: tsc needs it
      {
        top: [proctriage(['top', '--json'], [0, 1, 2, 3])],
        ...(BASELINE_ENV ? { baseline: [proctriage(['top', '--json'], [0, 1, 2, 3], BASELINE_ENV)] } : {}),
        ...(tools.lsof ? { lsof: [['lsof', ['-n', '-P']] as Step] } : {}),
      } as Record<string, Step[]>,
      o.runs,
      o.warmup,
    );
    const t = lastSamples.get('top')!.map((x) => x.wall),
      l = lastSamples.get('lsof')?.map((x) => x.wall) ?? [];
    top = {
      procs,
      topMs: r0(m.top!.wall),
      lsofMs: m.lsof ? r0(m.lsof.wall) : null,
      baselineMs: m.baseline ? r0(m.baseline.wall) : null,
      ratio: m.lsof ? r2(m.top!.wall / m.lsof.wall) : null,
      perRun: l.map((x, i) => r2(t[i]! / x)),
    };
    process.stdout.write(
      `    top ${top.topMs} ms, lsof -n -P ${f0(top.lsofMs)} ms${top.baselineMs !== null ? `, baseline top ${top.baselineMs} ms` : ''}; top / lsof per run ${top.perRun.join(' ')}\n`,
    );
  }

  printTimes('Wall time, ms (median)', results, 'wallMs', true);
  printTimes('CPU time, user + sys, ms (median; 10 ms resolution)', results, 'cpuMs', false);
  const xs = results.map((r) => r.fds);
  const slopes = {
    proctriage: slopePerThousand(
      xs,
      results.map((r) => r.wallMs.proctriage),
    ),
    lsof: slopePerThousand(
      xs,
      results.map((r) => r.wallMs.lsof),
    ),
    lsSs: slopePerThousand(
      xs,
      results.map((r) => r.wallMs.lsSs),
    ),
  };
  if (results.length > 1) {
    process.stdout.write(
      `\nWall time per 1 000 fds (least-squares slope): proctriage ${f2(slopes.proctriage)} ms, lsof ${f2(slopes.lsof)} ms, ls + ss ${f2(slopes.lsSs)} ms\n`,
    );
  }
  process.stdout.write(
    "Wall time the cpu probe's sampling window added after the other probes (one run): " +
      results.map((r) => `${r.fds} fds ${r.cpuWindowExtraMs.toFixed(0)} ms`).join(', ') +
      '\n',
  );
  const startupRatio = start.version!.wall / start.node!.wall;
  process.stdout.write(`Start-up: proctriage --version ${f0(start.version!.wall)} ms, node -e 0 ${f0(start.node!.wall)} ms, ratio ${f2(startupRatio)}\n`);
  const startupWithoutExtraCa = EXTRA_CA ? start.version!.wall / start.nodeWithoutExtraCa!.wall : null;
  if (EXTRA_CA) {
    process.stdout.write(`Start-up*: node -e 0 with NODE_EXTRA_CA_CERTS unset ${f0(start.nodeWithoutExtraCa!.wall)} ms, ratio ${f2(startupWithoutExtraCa)}\n`);
  }

  // the ratio targets are for the largest target; small ones are dominated by node's start-up
  // and the cpu probe's sampling window, which no scan can avoid
  const big = results[results.length - 1]!;
  const at = `at ${big.fds} fds`;
  const lsofRatio = big.lsofOverProctriage.wall,
    lsSsRatio = big.proctriageOverLsSs.wall;
  const verdicts: Verdict[] = [
    {
      name: `lsof / proctriage ${at}`,
      value: lsofRatio,
      target: `≥ ${TARGETS.lsofOverProctriage}`,
      pass: lsofRatio === null ? null : lsofRatio >= TARGETS.lsofOverProctriage,
    },
    { name: `proctriage / (ls + ss) ${at}`, value: lsSsRatio, target: `≤ ${TARGETS.proctriageOverLsSs}`, pass: lsSsRatio <= TARGETS.proctriageOverLsSs },
    { name: 'proctriage --version / node -e 0', value: startupRatio, target: `≤ ${TARGETS.startupRatio}`, pass: startupRatio <= TARGETS.startupRatio },
    {
      name: `peak RSS ${at} (MB)`,
      value: big.peakRssMb,
      target: `< ${TARGETS.peakRssMb}`,
      pass: big.peakRssMb === null ? null : big.peakRssMb < TARGETS.peakRssMb,
    },
  ];
  verdicts.push({ name: 'top / lsof -n -P, whole host', value: top.ratio, target: '≤ 1.2', pass: top.ratio === null ? null : top.ratio <= 1.2 });
  if (startupWithoutExtraCa !== null) {
    verdicts.splice(3, 0, {
      name: 'proctriage --version / node* -e 0',
      value: startupWithoutExtraCa,
      target: `≤ ${TARGETS.startupRatio}`,
      pass: startupWithoutExtraCa <= TARGETS.startupRatio,
    });
  }
  if (big.fds < 19000) process.stdout.write(`\nNote: the targets are meant for 19 000 fds; this run's largest size is ${big.fds}.\n`);
  process.stdout.write(`\nTargets (wall time${EXTRA_CA ? '; * NODE_EXTRA_CA_CERTS unset' : ''})\n`);
  printTable([
    ['measure', 'value', 'target', 'result'],
    ...verdicts.map((v) => [v.name, f2(v.value), v.target, v.pass === null ? 'skipped' : v.pass ? 'pass' : 'MISS']),
  ]);

  if (o.write) {
    const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
    const roundAll = <T extends Record<string, number | null>>(r: T) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)])) as T;
    writeFileSync(
      RESULTS,
      JSON.stringify(
        {
          generatedAt: new Date().toISOString(),
          machine: {
            node: process.version,
            kernel: release(),
            cpus: cpus().length,
            cpuModel: cpus()[0]?.model ?? '',
            hardFdLimit: limit,
            loadAverage: { before: round(loadBefore), after: round(loadavg()[0]!) },
          },
          method: {
            runs: o.runs,
            warmup: o.warmup,
            statistic: 'median; wall time and user + sys CPU time of the command and its children, ms',
            proctriage: 'proctriage PID --json > /dev/null (proctriage on PATH: a symlink to bin/proctriage.js)',
            top: 'proctriage top --json against lsof -n -P, the whole host',
            lsof: 'lsof -n -P -p PID',
            lsSs: 'ls -l /proc/PID/fd; ss -tan (summed)',
            holder: `${o.holder} process; half loopback TCP sockets (both ends), half regular files`,
            nodeExtraCaCerts: EXTRA_CA ? 'set: node -e 0 also timed with it unset (startup.withoutExtraCa)' : 'not set',
          },
          tools: { lsof: tools.lsof, usrBinTime: tools.time },
          startup: {
            proctriageVersionMs: round(start.version!.wall),
            nodeMs: round(start.node!.wall),
            ratio: round(startupRatio),
            cpuMs: { proctriageVersion: round(start.version!.cpu), node: round(start.node!.cpu) },
            ...(EXTRA_CA ? { withoutExtraCa: { nodeMs: round(start.nodeWithoutExtraCa!.wall), ratio: round(startupWithoutExtraCa) } } : {}),
          },
          sizes: results.map((r) => ({
            ...r,
            wallMs: roundAll(r.wallMs),
            cpuMs: roundAll(r.cpuMs),
            lsofOverProctriage: roundAll(r.lsofOverProctriage),
            proctriageOverLsSs: roundAll(r.proctriageOverLsSs),
            peakRssMb: round(r.peakRssMb),
          })),
          wallMsPerThousandFds: roundAll(slopes),
          wholeHost: top,
          ...(o.baseline ? { baseline: o.baseline } : {}),
          targets: verdicts,
        },
        null,
        2,
      ) + '\n',
    );
    process.stdout.write(`\nwritten to ${RESULTS}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  cleanup();
  process.exit(1);
});
