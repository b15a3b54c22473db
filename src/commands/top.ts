import { ProcFs } from '../procfs/procfs.js';
import { parseContainer } from '../procfs/container.js';
import { UsageError } from '../errors.js';
import { parseProcStat, PF_KTHREAD } from '../procfs/proc-stat.js';
import { diagnose } from '../engine/runner.js';
import { showInternalError } from './run-options.js';
import { playbookFor } from './playbooks.js';
import { PROBES } from '../../probes/index.js';
import { UNITS } from './units.js';
import { useColor, outputFormat, render, checkTextfileDir, writeTextfile, terminalWidth, type OutputOptions } from './options.js';
import { exportSelection } from '../render/risk.js';
import { VERSION } from '../version.js';
import { count } from '../messages.js';
import type { Report } from '../engine/report.js';
import type { Playbook } from '../engine/playbook-schema.js';

/** The /proc-level probes only: no CPU window per process, no runtime attachment. */
const TOP_PROBES = new Set(['process', 'memory', 'fds', 'sockets', 'cgroup', 'runtime']);

/** Diagnose every user-space process on the host with the /proc-level probes (no printing). */
export async function topReport(o: { redact?: boolean; proc?: ProcFs } & ContainerFilter): Promise<{ report: Report; playbook: Playbook }> {
  const proc = o.proc ?? new ProcFs();
  const self = proc.selfPid();
  const inFilter = containerFilter(o);
  const pids = proc.pids().filter((pid) => pid !== self && userProcess(proc, pid) && inFilter(proc, pid));
  const playbook = await playbookFor(); // top has no --playbook option: the built-in one
  const report = await diagnose(pids, {
    proc,
    playbook,
    probes: PROBES.filter((p) => TOP_PROBES.has(p.meta.id)),
    timeoutMs: 60_000,
    compareTargets: false,
    redact: o.redact !== false,
    version: VERSION,
    onInternalError: showInternalError,
  });
  // processes that exited during the scan are not worth a row
  report.targets = report.targets.filter((t) => !t.error);
  return { report, playbook };
}

/** `proctriage top`: diagnose every user-space process on the host and rank them by risk. */
export async function run(o: OutputOptions & { limit?: number; proc?: ProcFs } & ContainerFilter): Promise<number> {
  const limit = o.limit ?? 15;
  if (o.textfile !== undefined) checkTextfileDir(o.textfile);
  const { report, playbook } = await topReport(o);
  // a monitoring system gets the riskiest `limit` and every process with a problem, not the whole host
  const exported = (...always: (typeof report.status)[]) => ({ ...report, targets: exportSelection(report, { limit, risk: playbook.weights.risk, always }) });
  if (o.textfile !== undefined) {
    await writeTextfile(exported('warning', 'critical'), o.textfile);
    if (outputFormat(o) === 'table') return exitWithReason(report);
  }
  if (outputFormat(o) === 'prometheus') {
    process.stdout.write(await render(exported('warning', 'critical'), o));
  } else if (outputFormat(o) === 'nagios') {
    process.stdout.write(await render(exported('warning', 'critical', 'unknown'), o, { playbook }));
  } else if (outputFormat(o) === 'table') {
    const { renderTop } = await import('../render/top.js');
    process.stdout.write(
      renderTop(report, {
        color: useColor(o),
        limit,
        risk: playbook.weights.risk,
        width: terminalWidth(),
        notProbed: PROBES.map((p) => p.meta.id).filter((id) => !TOP_PROBES.has(id)),
        units: UNITS,
      }),
    );
  } else {
    // JSON and markdown show what the table shows: the riskiest `limit`, riskiest first
    process.stdout.write(await render(exported(), o));
  }
  return exitWithReason(report);
}

/** An exit 3 says why on stderr, in one line: how many could not be examined, and the first one's reason. */
function exitWithReason(report: Report): number {
  const blind = report.targets.filter((t) => t.status === 'unknown');
  const [first] = blind;
  if (report.exitCode === 3 && first) {
    process.stderr.write(
      `proctriage: top: ${count(blind.length, 'process', 'processes')} could not be examined fully, e.g. pid ${first.pid} (${first.comm}): ${first.statusReason ?? 'unknown'}\n`,
    );
  }
  return report.exitCode;
}

export interface ContainerFilter {
  /** --container ID: a prefix of the container id */
  container?: string;
  /** --pod UID: a prefix of the Kubernetes pod uid (dashes or the underscores of systemd slices) */
  pod?: string;
}

/** The processes --container / --pod keep (their cgroup names that container or pod); everything without either. */
export function containerFilter(o: ContainerFilter): (proc: ProcFs, pid: number) => boolean {
  const id = o.container?.toLowerCase();
  const pod = o.pod?.toLowerCase().replace(/_/g, '-');
  if (id !== undefined && !/^[0-9a-z][0-9a-z_.-]{0,127}$/.test(id))
    throw new UsageError(`--container "${o.container}" is not a container id (or a prefix of one)`);
  if (pod !== undefined && !/^[0-9a-f-]{1,36}$/.test(pod)) throw new UsageError(`--pod "${o.pod}" is not a pod uid (or a prefix of one)`);
  if (id === undefined && pod === undefined) return () => true;
  return (proc, pid) => {
    let c;
    try {
      c = parseContainer(proc.read(pid, 'cgroup'));
    } catch {
      return false;
    }
    return !!c && (id === undefined || (c.id !== '' && c.id.startsWith(id))) && (pod === undefined || (c.podUid?.startsWith(pod) ?? false));
  };
}

function userProcess(proc: ProcFs, pid: number): boolean {
  try {
    const s = parseProcStat(proc.read(pid, 'stat'));
    return !(s.flags & PF_KTHREAD) && s.state !== 'Z';
  } catch {
    return false;
  }
}
