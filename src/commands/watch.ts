import { openOutputFile } from '../files.js';
import { failedTarget, hostInfo } from '../engine/runner.js';
import { CachingProcFs } from '../bundle/procfs.js';
import { runOptions } from './run-options.js';
import { assembleReport } from '../engine/report.js';
import { final, sample, type SampleOptions } from '../engine/watch.js';
import type { RunOptions } from '../engine/runner.js';
import type { Report, TargetReport } from '../engine/report.js';
import { Screen } from './watch-screen.js';
import { playbookFor } from './playbooks.js';
import { notifyStderr, outputFormat, parseDuration, parsePid, render, warnIfUnredacted } from './options.js';
import type { DiagnoseOptions } from './diagnose.js';
import { UsageError } from '../errors.js';

export interface WatchOptions extends DiagnoseOptions {
  interval?: string;
  duration?: string;
  samples?: string;
}

/**
 * `proctriage watch <pid>`: sample every probe metric at a fixed rate, show the trends while it
 * runs (stderr), and finish — at the duration or on Ctrl-C — with the full diagnosis, whose
 * growth findings come from the measured trends.
 */
export async function run(pidArg: string, o: WatchOptions): Promise<number> {
  if (o.name !== undefined) throw new UsageError('watch follows one process: give its PID instead of --name');
  const pid = parsePid(pidArg);
  const { intervalMs, durationMs } = watchTiming(o.interval ?? '5s', o.duration ?? '2m');
  const quiet = outputFormat(o) === 'json';
  const samplesFd = o.samples !== undefined ? openOutputFile(o.samples, !!o.overwrite) : undefined;
  warnIfUnredacted(o);
  const opts = runOptions(o, new CachingProcFs(o.hostRoot), await playbookFor(o.playbook), notifyStderr);
  const ui = quiet ? undefined : await Screen.open(o, process.stderr, opts.playbook.limits);

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
    const { report, target, note } = await watchReport(pid, opts, { intervalMs, durationMs, file: samplesFd, signal: stop.signal, ui });
    ui?.finish(note);
    if (!report || !target) throw new UsageError('stopped before the first sample: nothing to report');
    process.stdout.write(await render(report, o));
    if (target.error) process.stderr.write(`proctriage: ${target.error.message}${target.error.hint ? ` (${target.error.hint})` : ''}\n`);
    else if (target.statusReason) process.stderr.write(`proctriage: pid ${target.pid}: unknown: ${target.statusReason}\n`);
    return report.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
    ui?.restore();
  }
}

/** The interval and duration of a watch, each within its bounds (MAX_DURATION_MS), the interval no longer than the duration. */
export function watchTiming(interval: string, duration: string): { intervalMs: number; durationMs: number } {
  const intervalMs = parseDuration(interval, '--interval');
  const durationMs = parseDuration(duration, '--duration');
  if (intervalMs > durationMs) throw new UsageError('--interval is longer than --duration: nothing to compare');
  return { intervalMs, durationMs };
}

/** Sample the target, then judge the last sample with the trends: the report of a watch (none when stopped before the first sample; no printing). */
export async function watchReport(
  pid: number,
  opts: RunOptions,
  so: Omit<SampleOptions, 'sampleTimeoutMs' | 'firstTimeoutMs'>,
): Promise<{ report?: Report; target?: TargetReport; note?: string }> {
  const sampleTimeoutMs = Math.min(opts.timeoutMs, Math.max(so.intervalMs, 2000));
  const w = await sample(pid, opts, { ...so, sampleTimeoutMs, firstTimeoutMs: opts.timeoutMs });
  const note = w.note !== undefined ? { note: w.note } : {};
  if (!w.last && w.error === undefined) return note;
  const target = w.last ? final(w, opts) : failedTarget(pid, w.error, opts.onInternalError);
  return { report: assembleReport([target], opts, hostInfo(opts.proc)), target, ...note };
}
