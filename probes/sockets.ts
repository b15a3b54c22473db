import type { Probe, ProbeOutput, ProbeUnknown } from '../src/engine/probe.js';
import { formatEndpoint, type Endpoint, type InetRow, type TcpState } from '../src/procfs/net-sockets.js';
import { say } from '../src/messages.js';
import { NoSuchProcess } from '../src/errors.js';
import type { TargetSources } from '../src/engine/sources.js';
import { readListenBacklogs } from '../src/procfs/listen-backlog.js';

const STATES: TcpState[] = ['established', 'closeWait', 'timeWait', 'listen', 'synSent', 'synRecv', 'finWait1', 'finWait2', 'lastAck', 'closing'];
const TOP = 5;
const STATE_TEXT: Partial<Record<TcpState, string>> = {
  closeWait: 'TCP sockets still in CLOSE_WAIT on a second look (stuck: the peer hung up, the process never closed)',
  timeWait: "TIME_WAIT on the process's own listening sockets (it closed first)",
  listen: 'listening TCP sockets',
};

/** How long a CLOSE_WAIT socket must stay in that state to count: a closing one is gone well before. */
const CLOSE_WAIT_RECHECK_MS = 300;

/**
 * The target's sockets: fd socket inodes joined with /proc/PID/net/{tcp,tcp6,udp,udp6,unix}
 * (the target's own network namespace, all its sockets).
 *
 * - Rows without an owner (TIME_WAIT, orphaned FIN_WAIT2: inode 0) are the target's only when
 *   their local address is one of its listening sockets (the server closed first). The rest of the
 *   namespace's TIME_WAIT is context, never a count: another process talking to the same peer
 *   leaves rows that look exactly alike.
 * - CLOSE_WAIT counts only when the same socket is still in CLOSE_WAIT on a second look: under
 *   load a server holds dozens for a moment while it closes them.
 * - proctriage's own connections to the target (inspector, pprof: options.ownEndpoints) are left out.
 */
export const probe: Probe = {
  meta: {
    id: 'sockets',
    description: 'TCP states, top remote peers per state, queues, listen backlog, UDP and unix sockets (/proc/PID/net/*)',
    runtime: 'any',
    core: true,
    timeoutMs: 5000,
    facts: {
      ...Object.fromEntries(
        STATES.map((st) => [`sockets.tcp.${st}`, { unit: 'count' as const, description: STATE_TEXT[st] ?? `TCP sockets of the process in ${st}` }]),
      ),
      'sockets.tcp.total': { unit: 'count', description: 'TCP sockets the process holds open (each an fd)' },
      'sockets.tcp.maxPerRemote': { unit: 'count', description: 'connections (any state) to the busiest single remote endpoint' },
      'sockets.udp': { unit: 'count', description: 'UDP sockets' },
      'sockets.unix': { unit: 'count', description: 'unix domain sockets' },
      'sockets.queued': { unit: 'count', description: 'TCP connections with data bytes waiting in a send or receive queue (a FIN is not data)' },
      'sockets.listenQueued': { unit: 'count', description: 'connections waiting in listen backlogs, not yet accepted' },
    },
    evidence: {
      'sockets.peers.<state>': 'top remote endpoints in that state: {endpoint, count}',
      'sockets.topRemotes': 'top remote endpoints over all states: {endpoint, count}',
      'sockets.listen': 'listening sockets: {endpoint, queued, backlog (as ss shows it, when connections are queued and ss could be asked)}',
      'sockets.queues': 'connections with non-zero queues: {local, remote, state, rx, tx}',
      'sockets.closeWait': 'the two looks at CLOSE_WAIT: {seen, persisted, intervalMs} (oneLook: true in a recorded tree)',
      'sockets.namespace.timeWait': 'TIME_WAIT in the network namespace whose owner cannot be known: {count, topRemotes}',
    },
  },
  async run({ sources, options, proc, pid, signal }) {
    const inodes = sources.socketInodes();
    const unknowns: ProbeUnknown[] = [];
    const readTable = <T>(name: string, read: () => T[]): T[] => {
      try {
        return read();
      } catch (err) {
        if (err instanceof NoSuchProcess && !sources.proc.exists(sources.pid)) throw err;
        // a kernel without IPv6 has no tcp6/udp6 table: nothing to miss
        if (!(err instanceof NoSuchProcess && name.endsWith('6'))) {
          unknowns.push({ probe: 'sockets', code: 'sockets.tableUnreadable', args: { table: name, error: (err as Error).message } });
        }
        return [];
      }
    };
    const tcpAll = [...readTable('tcp', () => sources.inet('tcp')), ...readTable('tcp6', () => sources.inet('tcp6'))];
    // the target's side of proctriage's own connections to it: its remote is one of our local endpoints
    const ours = options.ownEndpoints;
    const byUs = (r: InetRow) => !!ours?.size && ours.has(formatEndpoint(r.remote));
    const own = ownRows(tcpAll, inodes).filter((r) => !byUs(r));
    // the other tables are read only for sockets TCP did not account for (often none)
    let unmatched = inodes.size - own.length;
    const udp = unmatched > 0 ? ownRows([...readTable('udp', () => sources.inet('udp')), ...readTable('udp6', () => sources.inet('udp6'))], inodes) : [];
    unmatched -= udp.length;
    const unix =
      unmatched > 0
        ? ownRows(
            readTable('unix', () => sources.unix()),
            inodes,
          )
        : [];

    const listen = own.filter((r) => r.state === 'listen');
    // the backlog says how full a queue is: asked of ss (a child process) only when one is not empty
    const backlogs = proc.live && listen.some((r) => r.rxQueue > 0) ? listenBacklogs(sources, pid, signal) : undefined;
    const onOwnListener = listenerMatcher(listen);
    const ownerless = distinct(tcpAll.filter((r) => r.inode === 0 && r.state !== 'listen' && !byUs(r)));
    const serverSide = ownerless.filter((r) => onOwnListener(r.local));
    const elsewhere = ownerless.filter((r) => r.state === 'timeWait' && !onOwnListener(r.local));
    const tcp = own.concat(serverSide);

    const closeWait = await secondLook(
      own.filter((r) => r.state === 'closeWait'),
      sources,
      unknowns,
    );

    // one pass: counts per state, and remote endpoints counted per state and over all states
    const perState = new Map<TcpState, number>();
    const remotes = new PeerCounts();
    const remotesByState = new Map<TcpState, PeerCounts>();
    const queued: Queued[] = [];
    for (const r of tcp) {
      if (r.state === 'listen') continue;
      if (r.state === 'closeWait' && !closeWait.persisted.has(r.inode)) {
        remotes.add(r.remote); // a connection all the same, just not a stuck one
        continue;
      }
      perState.set(r.state, (perState.get(r.state) ?? 0) + 1);
      const q = dataQueues(r);
      if (q.rx > 0 || q.tx > 0) queued.push({ r, ...q });
      remotes.add(r.remote);
      let byRemote = remotesByState.get(r.state);
      if (!byRemote) remotesByState.set(r.state, (byRemote = new PeerCounts()));
      byRemote.add(r.remote);
    }
    const metrics: Record<string, number> = {};
    for (const s of STATES) metrics[`sockets.tcp.${s}`] = 0;
    for (const [s, n] of perState) metrics[`sockets.tcp.${s}`] = n;
    metrics['sockets.tcp.listen'] = listen.length;
    const topRemotes = remotes.top();
    metrics['sockets.tcp.total'] = own.length;
    metrics['sockets.tcp.maxPerRemote'] = topRemotes[0]?.count ?? 0;
    metrics['sockets.udp'] = udp.length;
    metrics['sockets.unix'] = unix.length;
    metrics['sockets.queued'] = queued.length;
    // for a LISTEN socket the kernel shows the accept queue length as rx; its backlog only ss knows
    metrics['sockets.listenQueued'] = listen.reduce((a, r) => a + r.rxQueue, 0);
    const sizes = await backlogs;

    const evidence: Record<string, unknown> = {
      'sockets.topRemotes': topRemotes,
      'sockets.listen': listen.slice(0, 10).map((r) => {
        const backlog = sizes?.get(`${r.local.ip} ${r.local.port}`);
        return { endpoint: formatEndpoint(r.local), queued: r.rxQueue, ...(backlog !== undefined ? { backlog } : {}) };
      }),
      'sockets.queues': queued
        .sort((a, b) => b.rx + b.tx - a.rx - a.tx)
        .slice(0, TOP)
        .map(({ r, rx, tx }) => ({ local: formatEndpoint(r.local), remote: formatEndpoint(r.remote), state: r.state, rx, tx })),
    };
    if (closeWait.seen) {
      evidence['sockets.closeWait'] =
        closeWait.intervalMs === undefined
          ? { seen: closeWait.seen, persisted: closeWait.persisted.size, oneLook: true }
          : { seen: closeWait.seen, persisted: closeWait.persisted.size, intervalMs: closeWait.intervalMs };
    }
    if (elsewhere.length) {
      const counts = new PeerCounts();
      for (const r of elsewhere) counts.add(r.remote);
      evidence['sockets.namespace.timeWait'] = { count: elsewhere.length, topRemotes: counts.top() };
    }
    for (const [state, byRemote] of remotesByState) evidence[`sockets.peers.${state}`] = byRemote.top();
    const out: ProbeOutput = { metrics, evidence };
    if (unknowns.length) {
      out.unknowns = unknowns;
      out.partial = say('sockets.partial');
    }
    return out;
  },
};

interface Queued {
  r: InetRow;
  rx: number;
  tx: number;
}

/**
 * Data bytes in the queues. The kernel counts a FIN in them: one sequence number received
 * (CLOSE_WAIT and after: rx) or sent and not yet acknowledged (FIN_WAIT1, CLOSING, LAST_ACK: tx).
 */
function dataQueues(r: InetRow): { rx: number; tx: number } {
  const finIn = r.state === 'closeWait' || r.state === 'lastAck' || r.state === 'closing' || r.state === 'timeWait';
  const finOut = r.state === 'finWait1' || r.state === 'closing' || r.state === 'lastAck';
  return { rx: Math.max(0, r.rxQueue - (finIn ? 1 : 0)), tx: Math.max(0, r.txQueue - (finOut ? 1 : 0)) };
}

/** Whether a local address is one of these listening sockets (a wildcard listener takes every address). */
function listenerMatcher(listen: InetRow[]): (e: Endpoint) => boolean {
  const ports = new Map<number, Set<string>>();
  for (const r of listen) {
    let ips = ports.get(r.local.port);
    if (!ips) ports.set(r.local.port, (ips = new Set()));
    ips.add(r.local.ip);
  }
  return (e) => {
    const ips = ports.get(e.port);
    return !!ips && (ips.has(e.ip) || ips.has('0.0.0.0') || ips.has('::'));
  };
}

/**
 * Which CLOSE_WAIT sockets are stuck: those still in CLOSE_WAIT when the table is read again,
 * CLOSE_WAIT_RECHECK_MS later. Without a second look (a recorded tree, a failed read) every one counts.
 */
async function secondLook(
  rows: InetRow[],
  sources: TargetSources,
  unknowns: ProbeUnknown[],
): Promise<{ seen: number; persisted: Set<number>; intervalMs?: number }> {
  const all = new Set(rows.map((r) => r.inode));
  if (!rows.length) return { seen: 0, persisted: all };
  try {
    const looks = await Promise.all(
      (['tcp', 'tcp6'] as const).map((f) =>
        sources.inetAgain(f, CLOSE_WAIT_RECHECK_MS).catch((err) => {
          if (err instanceof NoSuchProcess && f === 'tcp6') return { rows: [], intervalMs: 0 };
          throw err;
        }),
      ),
    );
    if (looks.some((l) => l === undefined)) return { seen: rows.length, persisted: all };
    const still = new Set<number>();
    for (const look of looks) for (const r of look!.rows) if (r.state === 'closeWait' && all.has(r.inode)) still.add(r.inode);
    return { seen: rows.length, persisted: still, intervalMs: Math.max(...looks.map((l) => l!.intervalMs)) };
  } catch (err) {
    if (err instanceof NoSuchProcess && !sources.proc.exists(sources.pid)) throw err;
    unknowns.push({ metric: 'sockets.tcp.closeWait', probe: 'sockets', code: 'sockets.secondLookFailed', args: { error: (err as Error).message } });
    return { seen: rows.length, persisted: all };
  }
}

/** Backlogs of the namespace's listening sockets, once per namespace and run (live only: ss asks the kernel). */
function listenBacklogs(sources: TargetSources, pid: number, signal: AbortSignal): Promise<Map<string, number> | undefined> {
  const ns = sources.netNamespace();
  return sources.host.netTable(ns, pid, 'ss-listen', () => readListenBacklogs(sources.proc, pid, ns, signal));
}

/**
 * The rows of the target's sockets, each once. A /proc/net table is not a snapshot: the kernel
 * serves it 4 KiB per read and resumes by position in its hash, so on a busy host a socket can
 * be printed twice when other connections come and go between two reads.
 */
function ownRows<T extends { inode: number }>(rows: T[], inodes: Set<number>): T[] {
  const seen = new Set<number>();
  return rows.filter((r) => r.inode !== 0 && inodes.has(r.inode) && !seen.has(r.inode) && !!seen.add(r.inode));
}

/**
 * Ownerless rows, each connection once: with no inode to tell them apart, the 4-tuple does (the
 * kernel may print a row twice when the table changes between two reads, see ownRows).
 */
function distinct(rows: InetRow[]): InetRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = `${r.local.ip} ${r.local.port} ${r.remote.ip} ${r.remote.port}`;
    return !seen.has(key) && !!seen.add(key);
  });
}

/**
 * Connections per remote endpoint, counted by ip and then port: no "ip:port" string per
 * connection (a busy table has tens of thousands); only the top ones are formatted.
 */
class PeerCounts {
  private readonly byIp = new Map<string, Map<number, number>>();

  add(e: Endpoint): void {
    let ports = this.byIp.get(e.ip);
    if (!ports) this.byIp.set(e.ip, (ports = new Map<number, number>()));
    ports.set(e.port, (ports.get(e.port) ?? 0) + 1);
  }

  /** The TOP most frequent endpoints, most frequent first (ties: by first-seen ip, then port), without sorting them all. */
  top(): { endpoint: string; count: number }[] {
    const best: { ip: string; port: number; count: number }[] = [];
    for (const [ip, ports] of this.byIp) {
      for (const [port, count] of ports) {
        const last = best[TOP - 1];
        if (last && count <= last.count) continue;
        let i = best.length;
        while (i > 0 && best[i - 1]!.count < count) i--;
        best.splice(i, 0, { ip, port, count });
        if (best.length > TOP) best.pop();
      }
    }
    return best.map(({ ip, port, count }) => ({ endpoint: formatEndpoint({ ip, port }), count }));
  }
}
