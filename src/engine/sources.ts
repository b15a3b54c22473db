import type { ProcFs } from '../procfs/procfs.js';
import { parseProcStat, parseBootTime, parseUptime, PF_KTHREAD, type ProcStat } from '../procfs/proc-stat.js';
import { innermostPid, parseProcStatus, type ProcStatus } from '../procfs/proc-status.js';
import { parseContainer, type ContainerIdentity } from '../procfs/container.js';
import { parseCmdline } from '../procfs/proc-cmdline.js';
import { parseNetInet, parseNetUnix, type InetRow, type UnixRow } from '../procfs/net-sockets.js';
import { classifyFdLink, type FdTarget } from '../procfs/fd.js';
import { KernelThread, NoSuchProcess, ZombieProcess } from '../errors.js';
import { parseOomKills, type OomKill } from '../procfs/kmsg.js';

export const CLK_TCK = 100;

/**
 * An fd and its link classified (type, socket/pipe inode, path): once, however many probes look.
 * An fd whose link could not be read is of type other, with the errno code in `unreadable`.
 */
export type FdEntry = FdTarget & { fd: string; unreadable?: string };

/**
 * Per-target memoized reads shared by several probes (the fd table is read once even though
 * the fds and sockets probes both need it). Net tables are cached per network namespace,
 * across targets, through the HostSources.
 */
export class TargetSources {
  private memo = new Map<string, unknown>();
  constructor(
    readonly proc: ProcFs,
    readonly pid: number,
    readonly host: HostSources,
  ) {}

  /** Read once per target, whichever probe asks first (also for derived facts, e.g. the runtime). */
  once<T>(key: string, read: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, read());
    return this.memo.get(key) as T;
  }

  stat(): ProcStat {
    return this.once('stat', () => parseProcStat(this.proc.read(this.pid, 'stat')));
  }
  status(): ProcStatus {
    return this.once('status', () => parseProcStatus(this.proc.read(this.pid, 'status')));
  }
  cmdline(): string[] {
    return this.once('cmdline', () => parseCmdline(this.proc.readBuffer(this.pid, 'cmdline')));
  }

  /** Every fd and its link target; entries closed mid-scan are simply absent. */
  fdTable(): FdEntry[] {
    return this.once('fd', () =>
      // one object per fd (the classification, plus its number): 20 000 fds make a lot of garbage
      this.proc.readFdLinks(
        this.pid,
        (fd, link) => Object.assign(classifyFdLink(link), { fd }),
        this.tcpTablesAlongside,
        (fd, code): FdEntry => ({ type: 'other', fd, unreadable: code }),
      ),
    );
  }

  /**
   * The TCP tables are what the sockets probe joins with the fd table: parsed during a long
   * scan when they can be had meanwhile. A table that fails here fails again for its probe.
   */
  private readonly tcpTablesAlongside = {
    files: ['net/tcp', 'net/tcp6'],
    use: (rel: string) => {
      try {
        this.inet(rel === 'net/tcp' ? 'tcp' : 'tcp6');
      } catch {
        // the sockets probe reads it again and reports why
      }
    },
  };

  /** Inodes of the target's sockets (to join with the namespace's net tables). */
  socketInodes(): Set<number> {
    return this.once('socketInodes', () => {
      const out = new Set<number>();
      for (const e of this.fdTable()) if (e.type === 'socket' && e.inode) out.add(e.inode);
      return out;
    });
  }

  /** The target's network namespace id ("net:[4026531840]"), or "" when unreadable. */
  netNamespace(): string {
    return this.once('netns', () => {
      try {
        return this.proc.readlinkOrGone(this.pid, 'ns/net') ?? '';
      } catch {
        return '';
      }
    });
  }

  inet(file: 'tcp' | 'tcp6' | 'udp' | 'udp6'): InetRow[] {
    return this.host.netTable(this.netNamespace(), this.pid, file, () => this.readInet(file));
  }

  /**
   * The namespace's TCP table read again, at least `afterMs` after the first read (once per
   * namespace and run, so several targets share one wait and one read). Undefined where there
   * is no second look to take (a recorded tree holds one).
   */
  async inetAgain(file: 'tcp' | 'tcp6', afterMs: number): Promise<{ rows: InetRow[]; intervalMs: number } | undefined> {
    if (!this.proc.live) return undefined;
    return this.host.secondLook(this.netNamespace(), this.pid, file, afterMs, () => this.readInet(file));
  }

  private readInet(file: 'tcp' | 'tcp6' | 'udp' | 'udp6'): InetRow[] {
    return parseNetInet(this.proc.read(this.pid, `net/${file}`), `/proc/${this.pid}/net/${file}`);
  }
  unix(): UnixRow[] {
    return this.host.netTable(this.netNamespace(), this.pid, 'unix', () => parseNetUnix(this.proc.read(this.pid, 'net/unix'), `/proc/${this.pid}/net/unix`));
  }
}

/** Host-wide reads shared by all targets of one run. */
export class HostSources {
  private tables = new Map<string, unknown>();
  private memo = new Map<string, unknown>();
  /** `found`: what probes remember (see remember), shared by the HostSources of one watch's samples */
  constructor(
    readonly proc: ProcFs,
    private readonly found = new Map<string, unknown>(),
  ) {}

  private readAt = new Map<string, number>();
  private again = new Map<string, Promise<{ rows: InetRow[]; intervalMs: number }>>();

  netTable<T>(ns: string, pid: number, file: string, read: () => T): T {
    // an unknown namespace cannot be shared safely: key it by pid
    const key = `${ns || `pid:${pid}`}/${file}`;
    if (!this.tables.has(key)) {
      this.readAt.set(key, performance.now());
      this.tables.set(key, read());
    }
    return this.tables.get(key) as T;
  }

  /** A second read of a table read before, taken `afterMs` after the first (see TargetSources.inetAgain). */
  secondLook(ns: string, pid: number, file: string, afterMs: number, read: () => InetRow[]): Promise<{ rows: InetRow[]; intervalMs: number }> {
    const key = `${ns || `pid:${pid}`}/${file}`;
    let p = this.again.get(key);
    if (!p) {
      const first = this.readAt.get(key) ?? performance.now();
      p = new Promise((r) => setTimeout(r, Math.max(0, first + afterMs - performance.now()))).then(() => ({
        intervalMs: Math.round(performance.now() - first),
        rows: read(),
      }));
      this.again.set(key, p);
    }
    return p;
  }

  /**
   * What a probe found out about a target that a later step of the same run may use instead of
   * asking the target again (the Go probe's discovered pprof endpoint, for its follow-up and a
   * watch's next samples). Keyed by pid and start time: a reused pid is another process.
   */
  remember(pid: number, startTicks: number, key: string, value: unknown): void {
    this.found.set(`${pid}:${startTicks}:${key}`, value);
  }
  recall<T>(pid: number, startTicks: number, key: string): T | undefined {
    return this.found.get(`${pid}:${startTicks}:${key}`) as T | undefined;
  }

  /** OOM kills still in the kernel log, read once per run; undefined where the log cannot be read. */
  oomKills(): OomKill[] | undefined {
    if (!this.memo.has('oom')) {
      const log = this.proc.readKernelLog();
      this.memo.set('oom', log === undefined ? undefined : parseOomKills(log));
    }
    return this.memo.get('oom') as OomKill[] | undefined;
  }

  bootTime(): number {
    if (!this.memo.has('btime')) this.memo.set('btime', parseBootTime(this.proc.read(null, 'stat')));
    return this.memo.get('btime') as number;
  }
  uptime(): number {
    if (!this.memo.has('uptime')) this.memo.set('uptime', parseUptime(this.proc.read(null, 'uptime')));
    return this.memo.get('uptime') as number;
  }
}

export interface Identity {
  pid: number;
  comm: string;
  ppid: number;
  state: string;
  cmdline: string[];
  /** the executable (/proc/PID/exe), absent where it cannot be read */
  exe?: string;
  startedAt: string;
  uptimeSeconds: number;
  /** start time in clock ticks since boot: with the pid, identifies the process across PID reuse */
  startTicks: number;
  /** the pid the process sees for itself (last NSpid field), when its pid namespace is not ours */
  nsPid?: number;
  /** the container (and Kubernetes pod) its cgroup names */
  container?: ContainerIdentity;
}

/** Open a target: its identity, or a typed error for the cases with nothing to diagnose. */
export function identify(sources: TargetSources): Identity {
  const { pid } = sources;
  const stat = sources.stat();
  if (stat.state === 'Z') throw new ZombieProcess(pid, stat.ppid);
  if (stat.flags & PF_KTHREAD) throw new KernelThread(pid, stat.comm);
  let cmdline: string[] = [];
  try {
    cmdline = sources.cmdline();
  } catch (err) {
    if (err instanceof NoSuchProcess) throw err;
  }
  let exe: string | undefined;
  try {
    exe = sources.proc.readlinkOrGone(pid, 'exe');
  } catch {
    // another user's process: the command line stands in
  }
  const startSec = stat.starttimeTicks / CLK_TCK;
  const started = new Date((sources.host.bootTime() + startSec) * 1000);
  const uptime = Math.max(0, sources.host.uptime() - startSec);
  return {
    pid,
    comm: stat.comm,
    ppid: stat.ppid,
    state: stat.state,
    cmdline,
    ...(exe !== undefined ? { exe } : {}),
    startedAt: started.toISOString(),
    uptimeSeconds: Math.round(uptime),
    startTicks: stat.starttimeTicks,
    ...containerOf(sources),
  };
}

/** NSpid (when it differs from the pid) and the container named by the cgroup paths; neither is required. */
function containerOf(sources: TargetSources): Pick<Identity, 'nsPid' | 'container'> {
  const out: Pick<Identity, 'nsPid' | 'container'> = {};
  try {
    const ns = innermostPid(sources.status());
    if (ns !== undefined && Number.isSafeInteger(ns) && ns !== sources.pid) out.nsPid = ns;
  } catch {
    // status unreadable or gone: the probes say so
  }
  try {
    const c = parseContainer(sources.proc.read(sources.pid, 'cgroup'));
    if (c) out.container = c;
  } catch {
    // no cgroup file (a recorded tree without one)
  }
  return out;
}
