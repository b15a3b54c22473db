import { hostname, release } from 'node:os';
import type { ProcFs } from '../procfs/procfs.js';
import type { Limits, Playbook } from './playbook-schema.js';
import {
  declares,
  type Metrics,
  type Probe,
  type ProbeContext,
  type ProbeOptions,
  type ProbeOutput,
  type ProbeRun,
  type ProbeUnknown,
  type Unknown,
  type FollowUpOutput,
} from './probe.js';
import { say, words } from '../messages.js';
import { HostSources, TargetSources, identify, type Identity } from './sources.js';
import { evaluate, hingesOn } from './evaluate.js';
import { asProctriageError, InternalError, isSystemError, NoSuchProcess, ProctriageError, TimeoutExpired } from '../errors.js';
import { clean, cleanDeep, redactArgv } from './redact.js';
import { parseMountinfo } from '../procfs/cgroup.js';
import { parseProcStat, PF_EXITING } from '../procfs/proc-stat.js';
import { assembleReport, statusOfFindings, type Report, type TargetReport } from './report.js';
import { median, type Trend } from './trends.js';

export interface RunOptions {
  proc: ProcFs;
  playbook: Playbook;
  probes: Probe[];
  probeOptions?: ProbeOptions;
  /** overall deadline for the run */
  timeoutMs: number;
  redact: boolean;
  version: string;
  /** compare the targets as replicas of one service (off for unrelated processes, as in top) */
  compareTargets?: boolean;
  /** told of every internal error (a bug, with its stack) as it is caught: the CLI shows it under PROCTRIAGE_DEBUG */
  onInternalError?: (err: InternalError) => void;
}

/** Examine every target and build one report. Never throws for a target's failure. */
export async function diagnose(pids: number[], opts: RunOptions): Promise<Report> {
  const host = new HostSources(opts.proc);
  const deadline = Date.now() + opts.timeoutMs;
  const collected: (Collected | TargetReport)[] = [];
  // one at a time: the /proc probes are synchronous and CPU-bound, and net tables are shared
  for (const pid of pids) {
    try {
      collected.push(await collect(pid, host, opts, deadline));
    } catch (err) {
      collected.push(failedTarget(pid, err, opts.onInternalError));
    }
  }
  if (opts.compareTargets !== false)
    addFleetMetrics(
      collected.filter((c): c is Collected => 'identity' in c),
      opts.playbook.limits.replicas,
    );
  await Promise.all(collected.filter((c): c is Collected => 'identity' in c).map((c) => followUp(c, opts, host, deadline)));
  const targets = collected.map((c) => ('identity' in c ? judge(c, opts) : c));
  return assembleReport(targets, opts, hostInfo(opts.proc));
}

export interface Collected {
  identity: Identity;
  metrics: Metrics;
  evidence: Record<string, unknown>;
  unknowns: Unknown[];
  probes: ProbeRun[];
  actions: string[];
  /** probes that failed on a bug of proctriage's, with what they threw: the target's status cannot be known */
  internal?: { probe: string; message: string }[];
}

/** Run every probe on one target; failures become probe statuses and unknowns, never exceptions. */
export async function collect(pid: number, host: HostSources, opts: RunOptions, deadline: number): Promise<Collected> {
  const sources = new TargetSources(opts.proc, pid, host);
  const identity = identify(sources);
  // every probe runs to its end, even when the process is gone meanwhile: one that acted on the
  // target (SIGUSR1, an opened inspector) must close what it opened and say what it did
  const outputs = await Promise.all(opts.probes.map(async (probe) => ({ probe, ...(await runProbe(probe, sources, opts, deadline)) })));
  const c: Collected = { identity, metrics: {}, evidence: {}, unknowns: [], probes: [], actions: [] };
  const gone = outputs.some((o) => o.gone);
  outputs.forEach(({ probe, run, out, actions, internal }) => {
    c.probes.push(run);
    if (internal) (c.internal ??= []).push({ probe: run.id, message: internal.message });
    c.actions.push(...new Set([...actions, ...(out?.actions ?? [])]));
    if (out) {
      Object.assign(c.metrics, out.metrics);
      Object.assign(c.evidence, out.evidence ?? {});
      c.unknowns.push(...(out.unknowns ?? []).map(worded));
    } else if (run.status !== 'skipped') {
      c.unknowns.push(unknownFor(probe, run));
    }
  });
  // the process may have exited while we looked: then nothing we read is a diagnosis
  if (gone || (opts.proc.live && !stillRunning(opts.proc, pid, identity.startTicks))) {
    // if something we did may have ended it (SIGUSR1), the message says so plainly
    const did = c.actions.length ? ` (what proctriage did to it: ${c.actions.join('; ')})` : '';
    throw new ProctriageError('NO_SUCH_PROCESS', `pid ${pid} exited during the scan${did}`);
  }
  return c;
}

/** A follow-up is not begun with less time than this left: it could only time out. */
const FOLLOW_UP_MIN_MS = 100;

/**
 * The follow-up phase: facts worth their cost only when the verdict asks for them. Probes run
 * before the verdict, so a probe cannot know that the CPU is saturated (worth a CPU profile of
 * a few seconds) or that goroutines exploded (worth the goroutine leak profile, which runs a GC
 * in the target). Each probe that declares such keys in meta.onDemand, and applied to this
 * target (not skipped), is asked in two rounds, each within its own deadline and what is left
 * of the run's:
 *  1. the on-demand metrics a rule level cannot be decided without (see hingesOn);
 *  2. then, the facts judged with them, for every finding at warning or critical whose playbook
 *     rule lists `attribution:` keys missing from the evidence, those keys.
 * What a probe returns joins the metrics, evidence, unknowns and actions before the final
 * judgement: the keys asked for, and evidence the probe declares. `over` carries the trend
 * metrics of a watch, which runs this once, on its last sample. Never throws: a follow-up that
 * fails leaves an unknown.
 */
export async function followUp(c: Collected, opts: RunOptions, host: HostSources, deadline: number, over?: { metrics: Metrics }): Promise<void> {
  const askers = opts.probes.filter(
    (p) => p.followUp && p.meta.onDemand?.length && (c.probes.find((r) => r.id === p.meta.id)?.status ?? 'skipped') !== 'skipped',
  );
  if (!askers.length) return;
  const metrics = () => ({ ...c.metrics, ...over?.metrics });
  const sources = new TargetSources(opts.proc, c.identity.pid, host);
  const askable = new Set(askers.flatMap((p) => p.meta.onDemand!).filter((k) => !(k in metrics())));
  const hinged = hingesOn(opts.playbook, metrics(), askable);
  if (hinged.size) await ask(c, askers, hinged, opts, sources, deadline);
  const { findings } = evaluate(opts.playbook, { pid: c.identity.pid, metrics: metrics(), evidence: c.evidence });
  const missing = new Set<string>();
  for (const f of findings) {
    if (f.severity === 'info') continue;
    for (const k of opts.playbook.findings.find((r) => r.id === f.id)?.attribution ?? []) if (!(k in c.evidence)) missing.add(k);
  }
  if (missing.size) await ask(c, askers, missing, opts, sources, deadline);
}

/** One round of the follow-up: each asker that declares some of `wanted` is asked for those. */
async function ask(c: Collected, askers: Probe[], wanted: Set<string>, opts: RunOptions, sources: TargetSources, deadline: number): Promise<void> {
  await Promise.all(
    askers.map(async (probe) => {
      const keys = probe.meta.onDemand!.filter((k) => wanted.has(k));
      if (!keys.length) return;
      const left = Math.min(probe.meta.timeoutMs, deadline - Date.now());
      if (left < FOLLOW_UP_MIN_MS) {
        c.unknowns.push({ probe: probe.meta.id, reason: `${keys.join(', ')} not taken: no time was left within the deadline`, hint: 'raise --timeout' });
        return;
      }
      const actions: string[] = [];
      let add: FollowUpOutput = {};
      try {
        add = await withDeadline(`the ${probe.meta.id} probe's follow-up (${keys.join(', ')})`, left, (signal, at) =>
          probe.followUp!(keys, probeContext(sources, opts, signal, actions, at)),
        );
      } catch (err) {
        c.unknowns.push({ probe: probe.meta.id, reason: classifyFailure(probe, err, opts).failure.message });
      }
      for (const [k, v] of Object.entries(add.metrics ?? {})) if (keys.includes(k)) c.metrics[k] = v;
      const declared = (k: string) => keys.includes(k) || k in (probe.meta.evidence ?? {});
      for (const [k, v] of Object.entries(add.evidence ?? {})) if (declared(k)) c.evidence[k] = v;
      c.unknowns.push(...(add.unknowns ?? []).map(worded));
      for (const a of [...actions, ...(add.actions ?? [])]) if (!c.actions.includes(a)) c.actions.push(a);
    }),
  );
}

/**
 * The process is still the one we identified, and alive: not gone, not exiting or a zombie its
 * parent has yet to reap (its fd table then reads as empty: a dead service would look healthy),
 * and its PID not reused.
 */
function stillRunning(proc: ProcFs, pid: number, startTicks: number): boolean {
  try {
    const st = parseProcStat(proc.read(pid, 'stat'));
    return st.state !== 'Z' && st.state !== 'X' && !(st.flags & PF_EXITING) && st.starttimeTicks === startTicks;
  } catch {
    return false;
  }
}

/**
 * "Is it localised to one replica?": with several targets, each gets fleet.<key>.ratio =
 * its value / the median of its peers, for every key the playbook's limits.replicas.floors
 * names. A difference below the floor is noise, not an outlier.
 */
export function addFleetMetrics(targets: Collected[], replicas: Limits['replicas']): void {
  const groups = new Map<string, Collected[]>();
  for (const t of targets) {
    const key = replicaKey(t.identity);
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const group of groups.values()) compareReplicas(group, replicas);
}

/**
 * Replicas run the same executable with the same shape of arguments (numbers folded: ports,
 * shard and worker ids differ). A checkpointer and a background writer of one server, or two
 * scripts under one interpreter, are different roles: comparing them says nothing.
 */
export function replicaKey(id: Pick<Identity, 'exe' | 'cmdline' | 'comm'>): string {
  const args = id.cmdline.length ? id.cmdline : [id.comm];
  return [id.exe ?? '', ...args.map((a) => a.replace(/\d+/g, '#'))].join('\0');
}

/** Below limits.replicas.min replicas nothing tells the odd one out: of two that differ, either may be. */
function compareReplicas(targets: Collected[], replicas: Limits['replicas']): void {
  if (targets.length < replicas.min) return;
  targets.forEach((t, i) => {
    const peers = targets.filter((_, j) => j !== i);
    t.metrics['fleet.peers'] = peers.length;
    for (const [key, floor] of Object.entries(replicas.floors)) {
      const v = t.metrics[key];
      const values = peers.map((p) => p.metrics[key]).filter((x): x is number => typeof x === 'number');
      if (typeof v !== 'number' || !values.length) continue;
      const med = median(values);
      t.metrics[`fleet.${key}.ratio`] = v - med < floor ? 1 : Math.round((v / Math.max(med, 1)) * 100) / 100;
    }
  });
}

/**
 * Turn collected facts into a target report: redact, walk the playbook, set the status.
 * `over` carries what a look over time adds (watch, diff): trend.* metrics, injected before the
 * playbook is walked so growth findings can fire, and the measured trends.
 */
export function judge(
  c: Collected,
  opts: Pick<RunOptions, 'playbook' | 'redact' | 'probes' | 'probeOptions'>,
  over?: { metrics: Metrics; trends: Record<string, Trend> },
): TargetReport {
  const evidence = cleanDeep(c.evidence, opts.redact);
  const metrics = cleanDeep({ ...c.metrics, ...over?.metrics }, opts.redact);
  // one look has no rate: growth is only ever measured (watch, diff), never guessed from uptime
  const trends = over?.trends ?? {};
  const { findings, path } = evaluate(opts.playbook, { pid: c.identity.pid, metrics, evidence });
  let status = statusOfFindings(findings.map((f) => f.severity));
  // unknown is never healthy: a process we could not really look at, or a question the user
  // asked (--inspect, --pprof) that went unanswered, is not "ok"; a real finding still decides
  const blind = blindSpots(c, opts);
  if (status === 'ok' && blind.length) status = 'unknown';
  const id = c.identity;
  return {
    pid: id.pid,
    comm: clean(id.comm),
    cmdline: clean((opts.redact ? redactArgv(id.cmdline) : id.cmdline).join(' ')),
    runtime: typeof metrics.runtime === 'string' ? metrics.runtime : 'unknown',
    startedAt: id.startedAt,
    uptimeSeconds: id.uptimeSeconds,
    startTicks: id.startTicks,
    ...(id.nsPid !== undefined ? { nsPid: id.nsPid } : {}),
    ...(id.container ? { container: cleanDeep(id.container, false) } : {}),
    metrics,
    ...(Object.keys(trends).length ? { trends } : {}),
    findings: cleanDeep(findings, false),
    path,
    unknowns: cleanDeep(c.unknowns, opts.redact),
    probes: cleanDeep(c.probes, opts.redact),
    ...(c.actions.length ? { actions: c.actions } : {}),
    evidence,
    status,
    ...(status === 'unknown' && blind.length ? { statusReason: clean(blind.join('; ')) } : {}),
  };
}

/** What keeps an otherwise clean target from being "ok": failed core probes, requested probes that yielded nothing. */
function blindSpots(c: Collected, opts: Pick<RunOptions, 'probes' | 'probeOptions'>): string[] {
  const out: string[] = (c.internal ?? []).map((e) => e.message);
  for (const p of opts.probes) {
    const run = c.probes.find((r) => r.id === p.meta.id);
    if (p.meta.core && run && (run.status === 'denied' || run.status === 'error')) {
      out.push(`the ${p.meta.id} probe failed: ${run.error ?? run.status}`);
      continue;
    }
    const asked = p.meta.requestedBy?.filter((k) => opts.probeOptions?.[k]);
    if (!asked?.length) continue;
    if (run && run.status !== 'skipped' && Object.keys(c.metrics).some((k) => declares(p.meta, k))) continue;
    const why = c.unknowns.find((u) => u.probe === p.meta.id)?.reason ?? run?.error ?? run?.status ?? 'not run';
    out.push(`${asked.map((k) => flag(String(k))).join(' / ')} was given but the ${p.meta.id} probe read nothing: ${why}`);
  }
  return [...out, ...missingArtifacts(c, opts.probeOptions)];
}

/** The files --heap-snapshot and --report ask for, and the evidence key that says each was written. */
const ARTIFACTS = [
  ['heapSnapshot', 'node.heapSnapshot'],
  ['report', 'node.report'],
] as const;

/**
 * A file the user asked for (--heap-snapshot, --report) that was not written, with why: the node
 * probe's own words (a refusal, a failure, no inspector), else its status.
 */
export function missingArtifacts(
  t: Pick<Collected, 'unknowns' | 'probes'> & { evidence?: Record<string, unknown> },
  probeOptions: ProbeOptions | undefined,
): string[] {
  const out: string[] = [];
  for (const [option, key] of ARTIFACTS) {
    const file = probeOptions?.[option];
    if (typeof file !== 'string' || !file || t.evidence?.[key] !== undefined) continue;
    const run = t.probes.find((r) => r.id === 'node');
    const why =
      t.unknowns
        .filter((u) => u.probe === 'node')
        .map((u) => u.reason)
        .join('; ') ||
      (run?.status === 'skipped' || !run ? 'no Node.js inspector to take it from: add --inspect or --activate-inspector' : (run.error ?? run.status));
    out.push(`${flag(option)} ${file} was not written: ${why}`);
  }
  return out;
}

const flag = (option: string) => '--' + option.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

export function failedTarget(pid: number, err: unknown, onInternalError?: RunOptions['onInternalError']): TargetReport {
  const e = asProctriageError(err, `the examination of pid ${pid}`);
  if (e instanceof InternalError) onInternalError?.(e);
  return {
    pid,
    comm: '',
    cmdline: '',
    runtime: 'unknown',
    startedAt: '',
    uptimeSeconds: 0,
    metrics: {},
    findings: [],
    path: [],
    unknowns: [],
    probes: [],
    status: 'unknown',
    error: { code: e.code, message: clean(e.message), ...(e.hint ? { hint: e.hint } : {}) },
  };
}

async function runProbe(
  probe: Probe,
  sources: TargetSources,
  opts: RunOptions,
  deadline: number,
): Promise<{ run: ProbeRun; out?: ProbeOutput; actions: string[]; gone?: boolean; internal?: InternalError }> {
  const started = performance.now();
  const budget = Math.max(1, Math.min(probe.meta.timeoutMs, deadline - Date.now()));
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  const actions: string[] = [];
  try {
    const out = await withDeadline(`probe ${probe.meta.id}`, budget, (signal, deadline) => probe.run(probeContext(sources, opts, signal, actions, deadline)));
    if (out.skipped) return { run: { id: probe.meta.id, status: 'skipped', durationMs: ms(), error: out.skipped }, out, actions };
    return {
      run: { id: probe.meta.id, status: out.partial ? 'partial' : 'ok', durationMs: ms(), ...(out.partial ? { error: out.partial } : {}) },
      out,
      actions,
    };
  } catch (err) {
    // a vanished process ends the scan; a file missing from a live process (old kernel) or a
    // recorded tree is just this probe's failure
    if (err instanceof NoSuchProcess && !sources.proc.exists(sources.pid)) {
      return { run: { id: probe.meta.id, status: 'error', durationMs: ms(), error: err.message }, actions, gone: true };
    }
    const { failure, internal } = classifyFailure(probe, err, opts);
    const status = failure instanceof ProctriageError && failure.code === 'ACCESS_DENIED' ? 'denied' : 'error';
    return { run: { id: probe.meta.id, status, durationMs: ms(), error: failure.message }, actions, ...(internal ? { internal } : {}) };
  }
}

/**
 * One call into a probe's code other than run() (a watch's window), with the probe's context and
 * deadline. A failure comes back as the reason in words, never thrown; a bug is also reported.
 */
export async function callProbe<T>(
  probe: Probe,
  sources: TargetSources,
  opts: RunOptions,
  actions: string[],
  fn: (ctx: ProbeContext) => Promise<T>,
): Promise<{ value: T } | { reason: string }> {
  try {
    return {
      value: await withDeadline(`probe ${probe.meta.id}`, probe.meta.timeoutMs, (signal, deadline) =>
        fn(probeContext(sources, opts, signal, actions, deadline)),
      ),
    };
  } catch (err) {
    return { reason: classifyFailure(probe, err, opts).failure.message };
  }
}

function probeContext(sources: TargetSources, opts: RunOptions, signal: AbortSignal, actions: string[], deadline: number): ProbeContext {
  return { pid: sources.pid, proc: sources.proc, sources, options: opts.probeOptions ?? {}, signal, deadline, actions };
}

/** Run fn with a signal that aborts after ms; the promise rejects with TimeoutExpired then. */
async function withDeadline<T>(what: string, ms: number, fn: (signal: AbortSignal, deadline: number) => T | Promise<T>): Promise<T> {
  const budget = Math.max(1, ms);
  const deadline = Date.now() + budget;
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new TimeoutExpired(what, budget));
    }, budget);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => fn(ac.signal, deadline)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A probe's failure as the error to report; a bug (not a fact about the target) is said as such, its stack kept for PROCTRIAGE_DEBUG. */
function classifyFailure(probe: Probe, err: unknown, opts: RunOptions): { failure: Error; internal?: InternalError } {
  const failure = err instanceof NoSuchProcess ? new ProctriageError('PARSE_ERROR', `${err.path ?? 'a file'}: not found`) : err;
  if (!(failure instanceof ProctriageError) && !isSystemError(failure)) {
    const internal = new InternalError(`the ${probe.meta.id} probe`, failure);
    opts.onInternalError?.(internal);
    return { failure: internal, internal };
  }
  return { failure: failure instanceof Error ? failure : new Error(String(failure)) };
}

function unknownFor(probe: Probe, run: ProbeRun): Unknown {
  return {
    probe: probe.meta.id,
    reason: run.error ?? run.status,
    ...(run.status === 'denied' ? { hint: say('hint.sameUser') } : {}),
  };
}

/** A probe's coded unknown in words, from the message catalogue. */
export function worded(u: ProbeUnknown): Unknown {
  if (!('code' in u)) return u;
  return {
    ...(u.metric ? { metric: u.metric } : {}),
    ...(u.probe ? { probe: u.probe } : {}),
    reason: words(u),
    ...(u.hint ? { hint: typeof u.hint === 'string' ? say(u.hint) : words(u.hint) } : {}),
  };
}

export function hostInfo(proc: ProcFs): Report['host'] {
  let cgroupVersion = 'none';
  try {
    const mounts = parseMountinfo(proc.read('self', 'mountinfo'));
    const v1 = mounts.some((m) => m.fsType === 'cgroup'),
      v2 = mounts.some((m) => m.fsType === 'cgroup2');
    cgroupVersion = v1 && v2 ? 'hybrid' : v2 ? '2' : v1 ? '1' : 'none';
  } catch {
    // host facts are context, never a reason to fail
  }
  // under a host root, the host's own name (a debug pod has a name of its own)
  const hostName = () => {
    try {
      return proc.readHost('/proc/sys/kernel/hostname').trim() || hostname();
    } catch {
      return hostname();
    }
  };
  return { hostname: proc.live ? (proc.hostRooted ? hostName() : hostname()) : 'recorded', kernel: proc.live ? release() : 'recorded', cgroupVersion };
}
