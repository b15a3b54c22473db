/**
 * `proctriage demo`: start the bundled misbehaving sample services, diagnose each one for real,
 * and clean up. Progress goes to stderr, the diagnoses to stdout. Every process the demo starts
 * is stopped on the way out: after the run, on an error, and on Ctrl-C / SIGTERM (exit 130 / 143).
 * With --keep the services stay up until Ctrl-C so they can be examined by hand.
 */
import { EMBEDDED } from '../paths.js';
import { UsageError } from '../errors.js';
import { SERVICES, type ServiceSpec } from '../demo/catalog.js';
import { ServiceSkipped, startService, type RunningService, type ServiceProcess } from '../demo/launch.js';
import { abandonBuilds } from '../demo/go-build.js';
import { buildReport } from './diagnose.js';
import { render, useColor } from './options.js';
import type { Report } from '../engine/report.js';
import { count } from '../messages.js';

export interface DemoOptions {
  color?: boolean;
  keep?: boolean;
}

interface Outcome {
  spec: ServiceSpec;
  pid?: number;
  status?: Report['status'];
  /** why the outcome is not what the catalogue expects */
  problem?: string;
  /** why it did not run here (no Go toolchain): not a failure of the demo */
  skipped?: string;
}

const READY_TIMEOUT_MS = 20_000;
/** building the Go sample the first time (later demos reuse the binary) */
const BUILD_TIMEOUT_MS = 120_000;
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export async function run(o: DemoOptions = {}): Promise<number> {
  if (EMBEDDED) throw new UsageError('demo is not part of the single-file build: its sample services are files of their own (install the package to run it)');
  const color = useColor({ color: o.color });
  const { Chalk } = await import('chalk');
  const c = new Chalk({ level: color ? 1 : 0 });
  const progress = (s: string) => process.stderr.write(`${c.dim('demo:')} ${s}\n`);

  const spawned: ServiceProcess[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () => (stopping ??= Promise.all(spawned.map((s) => s.stop())).then(() => undefined));
  /** Leave early (a signal, or nobody reading stdout any more): stop everything, then exit. */
  let signalled = false;
  const leave = (code: number, why?: string) => {
    if (signalled) return;
    signalled = true;
    if (why) progress(`${why}: stopping the sample services`);
    void stopAll().finally(() => {
      if (why) progress(`stopped ${count(spawned.length, 'sample service')}`);
      process.exit(code);
    });
  };
  const onSignal = (sig: NodeJS.Signals) => leave(SIGNAL_EXIT[sig] ?? 1, sig);
  // `proctriage demo | head`: the reader went away; finish quietly instead of with a stack trace
  const onStdoutError = (err: NodeJS.ErrnoException) => leave(err.code === 'EPIPE' ? 0 : 3);
  const lastResort = () => {
    abandonBuilds();
    for (const s of spawned) s.killNow();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', lastResort);
  process.stdout.on('error', onStdoutError);

  try {
    progress(`starting ${SERVICES.length} sample services: ${SERVICES.map((s) => s.name).join(', ')}`);
    const started = await Promise.allSettled(
      SERVICES.map((spec) =>
        startService(spec, {
          timeoutMs: READY_TIMEOUT_MS,
          buildTimeoutMs: BUILD_TIMEOUT_MS,
          onSpawn: (sp) => spawned.push(sp),
          onBuilding: (s) => progress(`building ${s.name} with go build (once for this source and Go version)`),
        }),
      ),
    );

    const outcomes: Outcome[] = [];
    const running: RunningService[] = [];
    const skipped = new Map<ServiceSpec, string>();
    for (const [i, r] of started.entries()) {
      const spec = SERVICES[i]!; // allSettled keeps the order and length of SERVICES
      if (r.status === 'rejected' && r.reason instanceof ServiceSkipped) {
        progress(c.yellow(`skipped: ${spec.name} (${r.reason.message})`));
        skipped.set(spec, r.reason.message);
        outcomes.push({ spec, skipped: r.reason.message });
        continue;
      }
      if (r.status === 'rejected') {
        const msg = (r.reason as Error)?.message ?? String(r.reason);
        progress(c.red(`${spec.name} did not start: ${msg}`));
        outcomes.push({ spec, problem: `did not start: ${msg}` });
        continue;
      }
      running.push(r.value);
      progress(`ready: ${spec.name} (pid ${r.value.pid})${readyNote(r.value)}`);
    }

    const header = (spec: ServiceSpec) => {
      const i = SERVICES.indexOf(spec);
      return `${i ? '\n' : ''}${c.bold.underline(`${i + 1}/${SERVICES.length} ${spec.name}: ${spec.description} (${spec.seed})`)}\n`;
    };
    const pending = [...skipped.keys()];
    const skippedBefore = (spec?: ServiceSpec) => {
      // a skipped sample keeps its place in the listing: its header and the reason, in one line
      while (pending.length && (!spec || SERVICES.indexOf(pending[0]!) < SERVICES.indexOf(spec))) {
        const s = pending.shift()!;
        process.stdout.write(`${header(s)}${c.yellow('skipped')}: ${skipped.get(s)}\n`);
      }
    };
    for (const svc of running) {
      skippedBefore(svc.spec);
      const inspect = inspectArg(svc);
      process.stdout.write(`${header(svc.spec)}$ proctriage ${svc.pid}${inspect ? ` --inspect ${inspect}` : ''}\n\n`);
      const report = await buildReport([String(svc.pid)], { color: o.color, timeout: '10s', ...(inspect ? { inspect } : {}) });
      process.stdout.write(await render(report, { color: o.color }));
      outcomes.push({ spec: svc.spec, pid: svc.pid, status: report.status, problem: mismatch(svc.spec, report) });
    }
    skippedBefore();
    outcomes.sort((a, b) => SERVICES.indexOf(a.spec) - SERVICES.indexOf(b.spec));

    const ok = outcomes.length === SERVICES.length && outcomes.every((out) => !out.problem);
    const { renderDemoSummary } = await import('../render/demo.js');
    process.stdout.write(
      renderDemoSummary(
        outcomes.map((out) => ({ ...out, name: out.spec.name })),
        { color, ok },
      ),
    );

    if (o.keep && running.length) {
      progress('the sample services keep running until you press Ctrl-C; try, for example:');
      const width = Math.max(...SERVICES.map((s) => s.name.length));
      for (const svc of running)
        progress(
          `  ${svc.spec.name.padEnd(width)}  pid ${String(svc.pid).padEnd(7)}  proctriage ${svc.pid}${inspectArg(svc) ? ` --inspect ${inspectArg(svc)}` : ''}`,
        );
      await allExited(running);
      if (!signalled) progress('every sample service has exited');
    }
    return ok ? 0 : 3;
  } finally {
    const n = spawned.length;
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', lastResort);
    process.stdout.off('error', onStdoutError);
    if (!signalled) progress(`stopped ${count(n, 'sample service')}`);
  }
}

/** Why the report is not what the catalogue expects, or undefined when it is. */
function mismatch(spec: ServiceSpec, report: Report): string | undefined {
  if (report.status !== spec.expect.status) return `expected ${spec.expect.status}`;
  const findings = report.targets[0]?.findings ?? [];
  for (const want of spec.expect.findings) {
    const f = findings.find((x) => x.id === want.id);
    if (!f) return `expected finding ${want.id}`;
    if (f.severity !== want.severity) return `expected ${want.id} to be ${want.severity}, got ${f.severity}`;
    const named = f.attribution?.find((a) => a.sites.length)?.sites[0]?.function;
    if (want.attributedTo !== undefined && named !== want.attributedTo) return `expected ${want.id} to name ${want.attributedTo}, got ${named ?? 'nothing'}`;
  }
  return undefined;
}

/** The inspector port a service read through its inspector announced (its own loopback socket). */
function inspectArg(svc: RunningService): string | undefined {
  const port = Number(svc.info.inspectPort);
  return svc.spec.inspect && Number.isInteger(port) && port > 0 && port < 65536 ? String(port) : undefined;
}

function readyNote(svc: RunningService): string {
  const i = svc.info;
  switch (svc.spec.name) {
    case 'close-wait':
      return `: ${String(i.count)} sockets left open to ${String(i.peer)} (the upstream, pid ${String(i.upstreamPid)})`;
    case 'rotation':
      return `: ${String(i.files)} log files open in ${String(i.dir)}, ${String(i.fds)} of ${String(i.limit)} fds`;
    case 'deleted-log':
      return `: ${Math.round(Number(i.bytes) / 2 ** 20)} MiB log deleted but still open`;
    case 'timer-leak':
      return `: ${String(i.intervals)} intervals never cleared, inspector open on loopback`;
    case 'busy-wait':
      return `: spinning in main.waitForJob, net/http/pprof on 127.0.0.1:${String(i.pprof)}`;
    case 'healthy':
      return `: serving on ${String(i.listen)}`;
    default:
      return '';
  }
}

/** Resolves when every service has exited (the signal handlers end the wait on Ctrl-C). */
function allExited(services: RunningService[]): Promise<void> {
  const keepAlive = setInterval(() => {}, 1 << 30);
  return Promise.all(
    services.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.child.exitCode !== null || s.child.signalCode !== null) resolve();
          else s.child.once('exit', () => resolve());
        }),
    ),
  ).then(() => clearInterval(keepAlive));
}
