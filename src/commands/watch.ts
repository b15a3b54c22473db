import { openOutputFile } from '../files.js';
import { failedTarget, hostInfo } from '../engine/runner.js';
import { CachingProcFs } from '../bundle/procfs.js';
import { runOptions } from './run-options.js';
import { assembleReport } from '../engine/report.js';
import { final, sample } from '../engine/watch.js';
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
  const intervalMs = parseDuration(o.interval ?? '5s', '--interval');
  const durationMs = parseDuration(o.duration ?? '2m', '--duration');
  if (intervalMs > durationMs) throw new UsageError('--interval is longer than --duration: nothing to compare');
  const quiet = outputFormat(o) === 'json';
  const samplesFd = o.samples !== undefined ? openOutputFile(o.samples, !!o.overwrite) : undefined;
  warnIfUnredacted(o);
  const opts = runOptions(o, new CachingProcFs(), await playbookFor(o.playbook), notifyStderr);
  const sampleTimeoutMs = Math.min(opts.timeoutMs, Math.max(intervalMs, 2000));
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
    const w = await sample(pid, opts, { intervalMs, durationMs, sampleTimeoutMs, firstTimeoutMs: opts.timeoutMs, file: samplesFd, signal: stop.signal, ui });
    ui?.finish(w.note);
    if (!w.last && w.error === undefined) throw new UsageError('stopped before the first sample: nothing to report');
    const target = w.last ? final(w, opts) : failedTarget(pid, w.error, opts.onInternalError);
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
