/**
 * `proctriage watch`: sample one target at a fixed rate, measure the trends, and judge the last
 * sample with them. No printing: progress goes to the caller's Progress.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { callProbe, collect, followUp, judge, worded, type Collected, type RunOptions } from './runner.js';
import { CLK_TCK, HostSources, TargetSources } from './sources.js';
import { parseProcStat } from '../procfs/proc-stat.js';
import { MIN_SAMPLES, RESOURCES, trendMetrics, trendsFromSamples, type Sample, type Trend } from './trends.js';
import type { Limits } from './playbook-schema.js';
import { clean } from './redact.js';
import { errnoText, ProctriageError } from '../errors.js';
import type { TargetReport } from './report.js';
import type { Metrics, Probe, ProbeWindow, WindowOutput } from './probe.js';
import type { LiveState } from '../render/live.js';
import { VERSION } from '../version.js';
import { count } from '../messages.js';

/** The probe whose sampling window watch replaces with the CPU time between samples. */
const CPU_PROBE = 'cpu';

/** Values kept per resource for the sparkline. */
const RECENT = 48;

/** Where a running watch reports: the command's screen. */
export interface Progress {
  update(w: Watched, so: SampleOptions, elapsedMs: number): void;
  warn(msg: string): void;
}

export interface Watched {
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
  /** what the probes' windows gave (attributions over the whole watch), judged with the last sample */
  window: Required<WindowOutput>;
  /** what every sample did to the target (a SIGUSR1 on the first, an inspector opened per sample …), with how many times */
  actions: Map<string, number>;
  /** what the probes found out and keep for the next samples (HostSources.remember) */
  remembered: Map<string, unknown>;
}

/** A probe's window begun after the first sample, with the options it was begun with. */
interface OpenWindow {
  probe: Probe;
  window: ProbeWindow;
  opts: RunOptions;
}

export interface SampleOptions {
  intervalMs: number;
  durationMs: number;
  sampleTimeoutMs: number;
  firstTimeoutMs: number;
  /** the open --samples file */
  file?: number;
  signal: AbortSignal;
  /** shown progress: the command's screen */
  ui?: Progress;
}

export async function sample(pid: number, opts: RunOptions, so: SampleOptions): Promise<Watched> {
  const w: Watched = { samples: [], dropped: [], window: { evidence: {}, unknowns: [], actions: [] }, actions: new Map(), remembered: new Map() };
  const open: OpenWindow[] = [];
  try {
    await sampleLoop(pid, opts, so, w, open);
  } finally {
    // every window is ended or cancelled, whatever stopped the watch: a profiler left on keeps every sample
    await closeWindows(pid, w, open);
  }
  // what the verdict asks for (a CPU profile when the CPU is saturated …), once, on the last
  // sample: not after Ctrl-C, whose user wants the report now
  if (w.last && !w.gone && !so.signal.aborted) {
    const { c, over } = lastLook(w, opts);
    const had = { evidence: new Set(Object.keys(c.evidence)), unknowns: c.unknowns.length, actions: new Set(c.actions) };
    await followUp(c, opts, new HostSources(opts.proc, w.remembered), Date.now() + so.firstTimeoutMs, over);
    for (const [k, v] of Object.entries(c.evidence)) if (!had.evidence.has(k)) w.window.evidence[k] = v;
    w.window.unknowns.push(...c.unknowns.slice(had.unknowns));
    w.window.actions.push(...c.actions.filter((a) => !had.actions.has(a)));
  }
  return w;
}

async function sampleLoop(pid: number, opts: RunOptions, so: SampleOptions, w: Watched, open: OpenWindow[]): Promise<void> {
  const t0 = performance.now();
  const started = new Date();
  let file = so.file;
  let prevCpu: { ticks: number; at: number } | undefined;
  for (let slot = 0; slot * so.intervalMs <= so.durationMs; slot++) {
    if (!(await sleepUntil(t0 + slot * so.intervalMs, so.signal))) {
      w.note = `stopped by Ctrl-C after ${count(w.samples.length, 'sample')}`;
      break;
    }
    const at = performance.now();
    let c: Collected;
    let cpu: { ticks: number; at: number };
    try {
      const st = parseProcStat(opts.proc.read(pid, 'stat'));
      cpu = { ticks: st.utimeTicks + st.stimeTicks, at };
      // a fresh HostSources per sample: uptime and net tables change (what probes remember is kept);
      // static files stay cached in the ProcFs
      // the first sample may have to find an inspector: it gets the whole --timeout
      c = await collect(pid, new HostSources(opts.proc, w.remembered), opts, Date.now() + (w.first ? so.sampleTimeoutMs : so.firstTimeoutMs));
    } catch (err) {
      if (!w.first) {
        w.error = err;
        return;
      }
      const code = err instanceof ProctriageError ? err.code : '';
      w.gone = code === 'NO_SUCH_PROCESS' || code === 'ZOMBIE_PROCESS';
      w.note = w.gone
        ? `pid ${pid} exited after ${count(w.samples.length, 'sample')}: the diagnosis is of the last sample`
        : `sampling stopped after ${count(w.samples.length, 'sample')}: ${clean((err as Error)?.message ?? String(err))}`;
      break;
    }
    if (w.first && c.identity.startTicks !== w.first.identity.startTicks) {
      w.note = `pid ${pid} now belongs to another process (PID reuse) after ${count(w.samples.length, 'sample')}: the diagnosis is of the last sample of the watched one`;
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
      open.push(...(await openWindows(pid, opts, w)));
    } else if (prevCpu && w.dropped.some((p) => p.meta.id === CPU_PROBE)) {
      const seconds = (cpu.at - prevCpu.at) / 1000;
      if (seconds > 0) c.metrics['cpu.percent'] = Math.round(((cpu.ticks - prevCpu.ticks) / CLK_TCK / seconds) * 1000) / 10;
    }
    prevCpu = cpu;
    w.last = c;
    c.actions.forEach((a) => w.actions.set(a, (w.actions.get(a) ?? 0) + 1));
    const s: Sample = { t: (at - t0) / 1000, metrics: numeric(c.metrics) };
    w.samples.push(s);
    if (file !== undefined) {
      try {
        if (w.samples.length === 1) {
          writeFileSync(
            file,
            JSON.stringify({
              type: 'header',
              tool: { name: 'proctriage', version: VERSION },
              pid,
              startTicks: c.identity.startTicks,
              comm: clean(c.identity.comm),
              startedAt: started.toISOString(),
              intervalMs: so.intervalMs,
              durationMs: so.durationMs,
            }) + '\n',
          );
        }
        appendFileSync(file, JSON.stringify({ type: 'sample', at: new Date().toISOString(), t: round3(s.t), metrics: s.metrics }) + '\n');
      } catch (err) {
        so.ui?.warn(`cannot write --samples: ${errnoText(err)}; samples are no longer saved`);
        file = undefined;
      }
    }
    so.ui?.update(w, so, performance.now() - t0);
    if (so.signal.aborted) {
      w.note = `stopped by Ctrl-C after ${count(w.samples.length, 'sample')}`;
      break;
    }
    // a sample that overran its slot skips the slots it missed (fixed rate, no bursts)
    slot = Math.max(slot, Math.floor((performance.now() - t0) / so.intervalMs));
  }
}

/** Begin the window of every probe that has one; a failure is an unknown of that probe's, not the watch's. */
async function openWindows(pid: number, opts: RunOptions, w: Watched): Promise<OpenWindow[]> {
  const sources = new TargetSources(opts.proc, pid, new HostSources(opts.proc, w.remembered));
  const open: OpenWindow[] = [];
  for (const probe of opts.probes) {
    if (!probe.window) continue;
    const r = await callProbe(probe, sources, opts, w.window.actions, (ctx) => probe.window!(ctx));
    if ('reason' in r) w.window.unknowns.push({ probe: probe.meta.id, reason: r.reason });
    else if (r.value) open.push({ probe, window: r.value, opts });
  }
  return open;
}

/** End each window for the final report, or cancel it when there is nothing to report on (the process gone). */
async function closeWindows(pid: number, w: Watched, open: OpenWindow[]): Promise<void> {
  for (const { probe, window, opts } of open) {
    if (w.gone || !w.last) {
      await window.cancel().catch(() => undefined);
      continue;
    }
    const sources = new TargetSources(opts.proc, pid, new HostSources(opts.proc, w.remembered));
    const r = await callProbe(probe, sources, opts, w.window.actions, (ctx) => window.end(ctx));
    if ('reason' in r) {
      await window.cancel().catch(() => undefined);
      w.window.unknowns.push({ probe: probe.meta.id, reason: r.reason });
      continue;
    }
    Object.assign(w.window.evidence, r.value.evidence ?? {});
    w.window.unknowns.push(...(r.value.unknowns ?? []));
    w.window.actions.push(...(r.value.actions ?? []));
  }
}

/** The final target report: the last sample judged with the measured trends injected. */
export function final(w: Watched, opts: RunOptions): TargetReport {
  const { c, over } = lastLook(w, opts);
  const target = judge(c, opts, over);
  if (w.note && !w.gone && !w.note.startsWith('stopped by Ctrl-C')) target.unknowns.push({ probe: 'watch', reason: w.note });
  if (w.gone) {
    target.unknowns.push({ probe: 'watch', reason: w.note ?? 'the process is gone' });
    // a process that vanished under our eyes is not healthy by default
    if (target.status === 'ok') Object.assign(target, { status: 'unknown', statusReason: w.note ?? 'the process is gone' });
  } else if (w.samples.length < MIN_SAMPLES && target.status === 'ok') {
    // a watch is asked to judge growth: one too short to do it has not answered
    const reason = `${w.note ?? 'the watch ended'}: ${count(w.samples.length, 'sample')} ${w.samples.length === 1 ? 'is' : 'are'} too few to judge growth (${MIN_SAMPLES} needed)`;
    target.unknowns.push({ probe: 'watch', reason });
    Object.assign(target, { status: 'unknown', statusReason: reason });
  }
  return target;
}

/** The last sample as the final judgement sees it: with the windows' results, the once-asked probes' facts and the trends. */
function lastLook(w: Watched, opts: RunOptions): { c: Collected; over: { metrics: Metrics; trends: Record<string, Trend> } } {
  const trends = trendsFromSamples(w.samples, opts.playbook.limits);
  const c: Collected = {
    ...w.last!,
    metrics: { ...w.last!.metrics },
    probes: [...w.last!.probes],
    evidence: { ...w.last!.evidence, ...w.window.evidence },
    unknowns: [...w.last!.unknowns, ...w.window.unknowns.map(worded)],
    actions: doneToTarget(w.actions, w.window.actions),
  };
  // probes asked only once report what they said then
  for (const p of w.dropped) {
    const run = w.first!.probes.find((r) => r.id === p.meta.id);
    if (run) c.probes.push(run);
    c.unknowns.push(...w.first!.unknowns.filter((u) => u.probe === p.meta.id));
    for (const [k, v] of Object.entries(w.first!.metrics)) if (!(k in c.metrics) && owns(p, k)) c.metrics[k] = v;
  }
  const order = new Map(opts.probes.map((p, i) => [p.meta.id, i]));
  c.probes.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  return { c, over: { metrics: trendMetrics(trends, w.samples.length), trends } };
}

/**
 * Everything done to the target over the watch, each said once with how many times it was done
 * (every SIGUSR1 is disclosed); a long watch's distinct repeats (a relay per sample) are counted
 * after the first few.
 */
const MAX_ACTIONS = 20;
function doneToTarget(samples: Map<string, number>, window: string[]): string[] {
  const all = new Map(samples);
  for (const a of window) all.set(a, (all.get(a) ?? 0) + 1);
  const lines = [...all].map(([a, n]) => (n > 1 ? `${a} (${n} times)` : a));
  if (lines.length <= MAX_ACTIONS) return lines;
  return [...lines.slice(0, MAX_ACTIONS), `… and ${lines.length - MAX_ACTIONS} more like them, one set per sample`];
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

/** The live view's state after the latest sample. */
export function liveState(w: Watched, so: SampleOptions, elapsedMs: number, limits: Limits): LiveState {
  const trends = trendsFromSamples(w.samples, limits);
  return {
    pid: w.last!.identity.pid,
    comm: clean(w.last!.identity.comm),
    samples: w.samples.length,
    elapsedMs,
    durationMs: so.durationMs,
    intervalMs: so.intervalMs,
    series: seriesOf(w.samples, trends),
  };
}

function seriesOf(samples: Sample[], trends: Record<string, Trend>): LiveState['series'] {
  const out: LiveState['series'] = [];
  for (const r of RESOURCES) {
    const values: number[] = [];
    for (const s of samples.slice(-RECENT)) {
      const v = r.value(s.metrics);
      if (v !== undefined) values.push(v);
    }
    const current = values.at(-1);
    if (current === undefined) continue;
    out.push({ key: r.key, recent: values, current, trend: trends[r.key] });
  }
  return out;
}
