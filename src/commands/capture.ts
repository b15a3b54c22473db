import { rmSync } from 'node:fs';
import { diagnose } from '../engine/runner.js';
import { playbookFor } from './playbooks.js';
import { RecordingProcFs } from '../bundle/procfs.js';
import { publishBundleDir, stageBundleDir, writeBundle } from '../bundle/bundle.js';
import { runOptions } from './run-options.js';
import { renderJson } from '../render/json.js';
import { parseDuration, parsePid, render, warnIfUnredacted } from './options.js';
import { verdictNote } from './snapshot.js';
import { count } from '../messages.js';
import type { DiagnoseOptions } from './diagnose.js';
import { errnoText, FileError, InternalError, ProctriageError, UsageError } from '../errors.js';
import { renderMarkdown } from '../render/markdown.js';
import { UNITS } from './units.js';
import { endpointUrl, getText } from '../transports/pprof.js';

export interface CaptureOptions extends DiagnoseOptions {
  dir: string;
  /** also run `proctriage trace` for this long first, and keep its report as trace.json */
  trace?: string;
}

/**
 * `proctriage capture <pid> --dir D`: the incident bundle. The diagnosis runs on a recording
 * view of /proc, so the bundle holds exactly the bytes the probes read; secrets are redacted
 * (and the environment reduced to a few keys) before anything is written.
 */
export async function run(pidArg: string, o: CaptureOptions): Promise<number> {
  if (o.name !== undefined) throw new UsageError('capture records one process: give its PID instead of --name');
  const pid = parsePid(pidArg);
  const traceMs = o.trace !== undefined ? parseDuration(o.trace, '--trace') : undefined;
  if (traceMs !== undefined && traceMs > 3_600_000) throw new UsageError(`--trace ${o.trace} is too long for a trace: at most 1h`);
  // a trace that cannot run is refused before anything is written
  const tracing = traceMs !== undefined ? await import('./trace.js') : undefined;
  tracing?.checkPrerequisites();
  // an impossible --dir fails now, not after the diagnosis
  const staging = stageBundleDir(o.dir);
  try {
    return await captureInto(staging, pid, o, tracing && traceMs !== undefined ? () => tracing.trace(pid, traceMs, o.redact !== false) : undefined);
  } finally {
    rmSync(staging, { recursive: true, force: true }); // ours alone; gone already once published
  }
}

type Traced = Awaited<ReturnType<typeof import('./trace.js').trace>>;

async function captureInto(staging: string, pid: number, o: CaptureOptions, runTrace?: () => Promise<Traced>): Promise<number> {
  warnIfUnredacted(o);
  // the trace first: the /proc state recorded below is then the state at the end of its window
  let traced: Traced | undefined;
  if (runTrace) {
    try {
      traced = await runTrace();
    } catch (err) {
      if (!(err instanceof ProctriageError) || err.code === 'NO_SUCH_PROCESS') throw err;
      process.stderr.write(`proctriage: the trace failed (${err.message}): the bundle has no trace.json\n`);
    }
  }
  const rec = new RecordingProcFs(o.hostRoot);
  const opts = runOptions(o, rec, await playbookFor(o.playbook));
  const report = await diagnose([pid], opts);
  const [t] = report.targets;
  if (!t) throw new InternalError('capture', 'the report has no target');
  if (t.error) throw new ProctriageError(t.error.code as ProctriageError['code'], `${t.error.message}: no bundle written`, t.error.hint);

  const runtimeFiles = await goroutineDump(t.evidence?.['go.pprofUrl'], o.allowRemote);
  if (traced) runtimeFiles['trace.json'] = JSON.stringify(traced.report, null, 2) + '\n';
  let manifest;
  try {
    manifest = writeBundle(staging, {
      pid,
      records: rec.records,
      fdSizes: rec.fdSizes,
      redact: opts.redact,
      reportJson: renderJson(report),
      reportMarkdown: renderMarkdown(report, { units: UNITS }),
      runtimeFiles,
      manifest: {
        tool: report.tool,
        capturedAt: report.capturedAt,
        host: report.host,
        pid,
        startTicks: t.startTicks,
        comm: t.comm,
      },
    });
  } catch (err) {
    throw new FileError('WRITE_FAILED', `cannot write the bundle for ${o.dir}: ${errnoText(err)}`);
  }
  publishBundleDir(staging, o.dir);
  process.stdout.write(await render(report, o));
  const files = Object.keys(manifest.files).length;
  const bytes = Object.values(manifest.files).reduce((a, f) => a + f.bytes, 0);
  process.stderr.write(
    `proctriage: wrote ${o.dir} (${verdictNote(t, report.redacted)}; ${count(files, 'file')}, ${Math.ceil(bytes / 1024)} KiB); analyse it anywhere with: proctriage analyze ${o.dir}\n`,
  );
  // the verdict is in the bundle: the exit code says it was written, so `capture ... && upload` runs when it matters
  return traced?.signal ? 128 + traced.signal : 0;
}

/**
 * The seed runbook's "capture diagnostics" step for Go: the grouped goroutine dump from the
 * endpoint the diagnosis already read (bounded in time and bytes). A failure only means the
 * bundle has no dump; the figures are in report.json either way.
 */
async function goroutineDump(pprofUrl: unknown, allowRemote?: boolean): Promise<Record<string, string>> {
  if (typeof pprofUrl !== 'string') return {};
  try {
    const r = await getText(endpointUrl(new URL(pprofUrl), '/debug/pprof/goroutine?debug=1'), { timeoutMs: 5000, maxBytes: 32 * 2 ** 20, allowRemote });
    if (r.status !== 200) return {};
    return { 'runtime/go-goroutines-debug1.txt': r.text + (r.complete ? '' : '\n# (cut short: the dump was larger than the cap or did not end in time)\n') };
  } catch {
    return {};
  }
}
