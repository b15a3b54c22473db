import { appendFileSync, writeFileSync } from 'node:fs';
import { openOutputFile } from '../files.js';
import { collect, failedTarget, hostInfo, judge, type Collected, type RunOptions } from '../engine/runner.js';
import { CLK_TCK, HostSources } from '../engine/sources.js';
import { parseProcStat } from '../procfs/proc-stat.js';
import { playbookFor } from './playbooks.js';
import { MIN_SAMPLES, RESOURCES, trendMetrics, trendsFromSamples, type Sample, type Trend } from '../engine/trends.js';
import { clean } from '../engine/redact.js';
import { CachingProcFs } from '../bundle/procfs.js';
import { runOptions } from './run-options.js';
import { assembleReport } from '../engine/report.js';
import type { ChalkInstance } from 'chalk';
import { renderLive, renderProgressLine, type LiveState } from '../render/live.js';
import { notifyStderr, outputFormat, parseDuration, parsePid, render, warnIfUnredacted } from './options.js';
import type { DiagnoseOptions } from './diagnose.js';
import { ProctriageError, UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import type { TargetReport } from '../engine/report.js';
import type { Metrics, Probe } from '../engine/probe.js';

export interface WatchOptions extends DiagnoseOptions {
  interval?: string;
  duration?: string;
  samples?: string;
}

/** The probe whose sampling window watch replaces with the CPU time between samples. */
const CPU_PROBE = 'cpu';

/** Values kept per resource for the sparkline. */
const RECENT = 48;

/**
 * `proctriage watch <pid>`: sample every probe metric at a fixed rate, show the trends while it
 * runs (stderr), and finish — at the duration or on Ctrl-C — with the full diagnosis, whose
 * growth findings come from the measured trends.
 */
export async function run(pidArg: string, o: WatchOptions): Promise<number> {
  if (o.name !== undefined) throw new UsageError('watch follows one process: give its PID instead of --name');
  const pid = parsePid(pidArg);
  const intervalMs = parseDuration(o.interval ?? '5s', '--interval');
  const durationMs = parseDuration(o.duration ?? '2m', '--duration');
  if (intervalMs > durationMs) throw new UsageError('--interval is longer than --duration: nothing to compare');
  const quiet = outputFormat(o) === 'json';
  const samplesFd = o.samples !== undefined ? openOutputFile(o.samples, !!o.overwrite) : undefined;
  warnIfUnredacted(o);
  const opts = runOptions(o, new CachingProcFs(), await playbookFor(o.playbook), notifyStderr);
  const sampleTimeoutMs = Math.min(opts.timeoutMs, Math.max(intervalMs, 2000));
  const ui = quiet ? undefined : await Screen.open(o, process.stderr);

  // Ctrl-C ends the watch early and still reports; a second one gives up at once
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) {
      ui?.restore();
      process.exit(130);
    }
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const w = await sample(pid, opts, { intervalMs, durationMs, sampleTimeoutMs, firstTimeoutMs: opts.timeoutMs, file: samplesFd, signal: stop.signal, ui });
    ui?.finish(w.note);
    if (!w.last && w.error === undefined) throw new UsageError('stopped before the first sample: nothing to report');
    const target = w.last ? final(w, opts) : failedTarget(pid, w.error);
    const report = assembleReport([target], opts, hostInfo(opts.proc));
    process.stdout.write(await render(report, o));
    if (target.error) process.stderr.write(`proctriage: ${target.error.message}${target.error.hint ? ` (${target.error.hint})` : ''}\n`);
    else if (target.statusReason) process.stderr.write(`proctriage: pid ${target.pid}: unknown: ${target.statusReason}\n`);
    return report.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
    ui?.restore();
  }
}

interface Watched {
  first?: Collected;
  last?: Collected;
  samples: Sample[];
  /** why sampling stopped before the duration (exit, pid reuse, Ctrl-C) */
  note?: string;
  /** the first sample failed: nothing to report but this */
  error?: unknown;
  /** the process exited (or its PID was reused) during the watch */
  gone?: boolean;
  /** probes run on the first sample only */
  dropped: Probe[];
}

interface SampleOptions {
  intervalMs: number;
  durationMs: number;
  sampleTimeoutMs: number;
  firstTimeoutMs: number;
  /** the open --samples file */
  file?: number;
  signal: AbortSignal;
  ui?: Screen;
}

async function sample(pid: number, opts: RunOptions, so: SampleOptions): Promise<Watched> {
  const w: Watched = { samples: [], dropped: [] };
  const t0 = performance.now();
  const started = new Date();
  let file = so.file;
  let prevCpu: { ticks: number; at: number } | undefined;
  for (let slot = 0; slot * so.intervalMs <= so.durationMs; slot++) {
    if (!(await sleepUntil(t0 + slot * so.intervalMs, so.signal))) {
      w.note = `stopped by Ctrl-C after ${w.samples.length} samples`;
      break;
    }
    const at = performance.now();
    let c: Collected;
    let cpu: { ticks: number; at: number };
    try {
      const st = parseProcStat(opts.proc.read(pid, 'stat'));
      cpu = { ticks: st.utimeTicks + st.stimeTicks, at };
      // a fresh HostSources per sample: uptime and net tables change; static files stay cached in the ProcFs
      // the first sample may have to find an inspector: it gets the whole --timeout
      c = await collect(pid, new HostSources(opts.proc), opts, Date.now() + (w.first ? so.sampleTimeoutMs : so.firstTimeoutMs));
    } catch (err) {
      if (!w.first) {
        w.error = err;
        return w;
      }
      const code = err instanceof ProctriageError ? err.code : '';
      w.gone = code === 'NO_SUCH_PROCESS' || code === 'ZOMBIE_PROCESS';
      w.note = w.gone
        ? `pid ${pid} exited after ${w.samples.length} samples: the diagnosis is of the last sample`
        : `sampling stopped after ${w.samples.length} samples: ${clean((err as Error)?.message ?? String(err))}`;
      break;
    }
    if (w.first && c.identity.startTicks !== w.first.identity.startTicks) {
      w.note = `pid ${pid} now belongs to another process (PID reuse) after ${w.samples.length} samples: the diagnosis is of the last sample of the watched one`;
      w.gone = true;
      break;
    }
    if (!w.first) {
      w.first = c;
      // what gives nothing for this target (a Go probe on a Node process, no inspector reachable) is not asked again
      w.dropped = opts.probes.filter((p) => c.probes.find((r) => r.id === p.meta.id)?.status === 'skipped' || !yields(p, c.metrics));
      // CPU use comes from the CPU time between two samples: no extra window per sample
      const cpuProbe = opts.probes.find((p) => p.meta.id === CPU_PROBE && !w.dropped.includes(p));
      if (cpuProbe && 'cpu.percent' in c.metrics) w.dropped.push(cpuProbe);
      if (w.dropped.length) opts = { ...opts, probes: opts.probes.filter((p) => !w.dropped.includes(p)) };
    } else if (prevCpu && w.dropped.some((p) => p.meta.id === CPU_PROBE)) {
      const seconds = (cpu.at - prevCpu.at) / 1000;
      if (seconds > 0) c.metrics['cpu.percent'] = Math.round(((cpu.ticks - prevCpu.ticks) / CLK_TCK / seconds) * 1000) / 10;
    }
    prevCpu = cpu;
    w.last = c;
    const s: Sample = { t: (at - t0) / 1000, metrics: numeric(c.metrics) };
    w.samples.push(s);
    if (file !== undefined) {
      try {
        if (w.samples.length === 1) {
          writeFileSync(file, JSON.stringify({
            type: 'header', tool: { name: 'proctriage', version: VERSION }, pid, startTicks: c.identity.startTicks,
            comm: clean(c.identity.comm), startedAt: started.toISOString(), intervalMs: so.intervalMs, durationMs: so.durationMs,
          }) + '\n');
        }
        appendFileSync(file, JSON.stringify({ type: 'sample', at: new Date().toISOString(), t: round3(s.t), metrics: s.metrics }) + '\n');
      } catch (err) {
        so.ui?.warn(`cannot write --samples: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; samples are no longer saved`);
        file = undefined;
      }
    }
    so.ui?.update(w, so, performance.now() - t0);
    if (so.signal.aborted) {
      w.note = `stopped by Ctrl-C after ${w.samples.length} samples`;
      break;
    }
    // a sample that overran its slot skips the slots it missed (fixed rate, no bursts)
    slot = Math.max(slot, Math.floor((performance.now() - t0) / so.intervalMs));
  }
  return w;
}

/** The final target report: the last sample judged with the measured trends injected. */
function final(w: Watched, opts: RunOptions): TargetReport {
  const trends = trendsFromSamples(w.samples);
  const c: Collected = { ...w.last!, metrics: { ...w.last!.metrics }, probes: [...w.last!.probes], unknowns: [...w.last!.unknowns] };
  // probes asked only once report what they said then
  for (const p of w.dropped) {
    const run = w.first!.probes.find((r) => r.id === p.meta.id);
    if (run) c.probes.push(run);
    c.unknowns.push(...w.first!.unknowns.filter((u) => u.probe === p.meta.id));
    for (const [k, v] of Object.entries(w.first!.metrics)) if (!(k in c.metrics) && owns(p, k)) c.metrics[k] = v;
  }
  const order = new Map(opts.probes.map((p, i) => [p.meta.id, i]));
  c.probes.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  const target = judge(c, opts, { metrics: trendMetrics(trends, w.samples.length), trends });
  if (w.note && !w.gone && !w.note.startsWith('stopped by Ctrl-C')) target.unknowns.push({ probe: 'watch', reason: w.note });
  if (w.gone) {
    target.unknowns.push({ probe: 'watch', reason: w.note ?? 'the process is gone' });
    // a process that vanished under our eyes is not healthy by default
    if (target.status === 'ok') Object.assign(target, { status: 'unknown', statusReason: w.note ?? 'the process is gone' });
  } else if (w.samples.length < MIN_SAMPLES && target.status === 'ok') {
    // a watch is asked to judge growth: one too short to do it has not answered
    const reason = `${w.note ?? 'the watch ended'}: ${w.samples.length} samples are too few to judge growth (${MIN_SAMPLES} needed)`;
    target.unknowns.push({ probe: 'watch', reason });
    Object.assign(target, { status: 'unknown', statusReason: reason });
  }
  return target;
}

function owns(p: Probe, key: string): boolean {
  return Object.keys(p.meta.facts).some((f) => (f.endsWith('.*') ? key.startsWith(f.slice(0, -1)) : f === key));
}

function yields(p: Probe, m: Metrics): boolean {
  return Object.keys(m).some((k) => owns(p, k));
}

function numeric(m: Record<string, number | string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Resolve true at `when` (performance.now() clock), false as soon as the signal aborts. */
function sleepUntil(when: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  const ms = when - performance.now();
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Progress on stderr: a live view redrawn in place on a terminal, plain lines otherwise. */
class Screen {
  private drawn = 0;
  private cursorHidden = false;

  private constructor(private readonly out: NodeJS.WriteStream, private readonly tty: boolean, private readonly c: ChalkInstance) {}

  static async open(o: WatchOptions, out: NodeJS.WriteStream): Promise<Screen> {
    const tty = !!out.isTTY && process.env.TERM !== 'dumb';
    const color = tty && o.color !== false && !('NO_COLOR' in process.env);
    const { Chalk } = await import('chalk'); // only watch draws with it: loaded here, not at start
    return new Screen(out, tty, new Chalk({ level: color ? 1 : 0 }));
  }

  update(w: Watched, so: SampleOptions, elapsedMs: number): void {
    const trends = trendsFromSamples(w.samples);
    const state: LiveState = {
      pid: w.last!.identity.pid,
      comm: clean(w.last!.identity.comm),
      samples: w.samples.length,
      elapsedMs,
      durationMs: so.durationMs,
      intervalMs: so.intervalMs,
      series: seriesOf(w.samples, trends),
    };
    if (!this.tty) {
      this.out.write(renderProgressLine(state));
      return;
    }
    if (!this.cursorHidden) {
      this.out.write('\x1b[?25l');
      this.cursorHidden = true;
    }
    const text = renderLive(state, { c: this.c, width: this.out.columns });
    // move to the start of the previous frame and clear it, then draw the new one
    this.out.write((this.drawn ? `\x1b[${this.drawn}F\x1b[J` : '') + text);
    this.drawn = text.split('\n').length - 1;
  }

  warn(msg: string): void {
    this.out.write(`proctriage: ${msg}\n`);
    this.drawn = 0;
  }

  finish(note?: string): void {
    if (note) this.out.write(`proctriage: ${note}\n`);
    this.restore();
  }

  restore(): void {
    if (this.cursorHidden) {
      this.out.write('\x1b[?25h');
      this.cursorHidden = false;
    }
  }
}

function seriesOf(samples: Sample[], trends: Record<string, Trend>): LiveState['series'] {
  const out: LiveState['series'] = [];
  for (const r of RESOURCES) {
    const values: number[] = [];
    for (const s of samples.slice(-RECENT)) {
      const v = r.value(s.metrics);
      if (v !== undefined) values.push(v);
    }
    if (!values.length) continue;
    out.push({ key: r.key, recent: values, current: values[values.length - 1], trend: trends[r.key] });
  }
  return out;
}
