import type { Probe, ProbeOutput, Unknown } from '../src/engine/probe.js';
import { formatEndpoint, type InetRow, type TcpState } from '../src/procfs/net-tcp.js';
import { NoSuchProcess } from '../src/errors.js';

const STATES: TcpState[] = ['established', 'closeWait', 'timeWait', 'listen', 'synSent', 'synRecv', 'finWait1', 'finWait2', 'lastAck', 'closing'];
const TOP = 5;

/**
 * The target's sockets: fd socket inodes joined with /proc/PID/net/{tcp,tcp6,udp,udp6,unix}
 * (the target's own network namespace). TIME_WAIT rows have no owner (inode 0): they are
 * attributed to the target when their local port is one of its listeners or their remote
 * is one of its established peers.
 */
export const probe: Probe = {
  meta: {
    id: 'sockets',
    description: 'TCP states, top remote peers per state, queues, listen backlog, UDP and unix sockets (/proc/PID/net/*)',
    runtime: 'any',
    core: true,
    timeoutMs: 5000,
    facts: {
      'sockets.tcp.*': { unit: 'count', description: 'TCP sockets of the process per state: established, closeWait, timeWait, listen, synSent, synRecv, finWait1, finWait2, lastAck, closing' },
      'sockets.tcp.total': { unit: 'count', description: 'TCP sockets owned by the process' },
      'sockets.tcp.maxPerRemote': { unit: 'count', description: 'connections (any state) to the busiest single remote endpoint' },
      'sockets.udp': { unit: 'count', description: 'UDP sockets' },
      'sockets.unix': { unit: 'count', description: 'unix domain sockets' },
      'sockets.queued': { unit: 'count', description: 'TCP connections with bytes waiting in a send or receive queue' },
      'sockets.listenQueued': { unit: 'count', description: 'connections waiting in listen backlogs, not yet accepted' },
    },
    evidence: {
      'sockets.peers.<state>': 'top remote endpoints in that state: {endpoint, count}',
      'sockets.topRemotes': 'top remote endpoints over all states: {endpoint, count}',
      'sockets.listen': 'listening sockets: {endpoint, queued, backlog}',
      'sockets.queues': 'connections with non-zero queues: {local, remote, state, rx, tx}',
    },
  },
  run({ sources }) {
    const inodes = sources.socketInodes();
    const unknowns: Unknown[] = [];
    const readTable = <T>(name: string, read: () => T[]): T[] => {
      try {
        return read();
      } catch (err) {
        if (err instanceof NoSuchProcess && !sources.proc.exists(sources.pid)) throw err;
        // a kernel without IPv6 has no tcp6/udp6 table: nothing to miss
        if (!(err instanceof NoSuchProcess && name.endsWith('6'))) {
          unknowns.push({ probe: 'sockets', reason: `/proc/PID/net/${name}: ${(err as Error).message}` });
        }
        return [];
      }
    };
    const tcpAll = [...readTable('tcp', () => sources.inet('tcp')), ...readTable('tcp6', () => sources.inet('tcp6'))];
    const own = ownRows(tcpAll, inodes);
    // the other tables are read only for sockets TCP did not account for (often none)
    let unmatched = inodes.size - own.length;
    const udp = unmatched > 0 ? ownRows([...readTable('udp', () => sources.inet('udp')), ...readTable('udp6', () => sources.inet('udp6'))], inodes) : [];
    unmatched -= udp.length;
    const unix = unmatched > 0 ? ownRows(readTable('unix', () => sources.unix()), inodes) : [];

    // TIME_WAIT rows have no owner: attributed by our listening ports or established peers
    const orphans = tcpAll.filter((r) => r.inode === 0 && r.state === 'timeWait');
    let tcp = own;
    if (orphans.length) {
      const listenPorts = new Set(own.filter((r) => r.state === 'listen').map((r) => r.local.port));
      const peers = new Set(own.filter((r) => r.state === 'established').map((r) => formatEndpoint(r.remote)));
      tcp = own.concat(orphans.filter((r) => listenPorts.has(r.local.port) || peers.has(formatEndpoint(r.remote))));
    }

    const metrics: Record<string, number> = {};
    for (const s of STATES) metrics[`sockets.tcp.${s}`] = 0;
    // one pass: counts per state, and remote endpoints counted per state and over all states
    const remotes = new Map<string, number>();
    const remotesByState = new Map<TcpState, Map<string, number>>();
    const listen: InetRow[] = [];
    const queued: InetRow[] = [];
    for (const r of tcp) {
      metrics[`sockets.tcp.${r.state}`] = (metrics[`sockets.tcp.${r.state}`] ?? 0) + 1;
      if (r.state === 'listen') {
        listen.push(r);
        continue;
      }
      if (r.rxQueue > 0 || r.txQueue > 0) queued.push(r);
      const remote = formatEndpoint(r.remote);
      remotes.set(remote, (remotes.get(remote) ?? 0) + 1);
      let byRemote = remotesByState.get(r.state);
      if (!byRemote) remotesByState.set(r.state, (byRemote = new Map()));
      byRemote.set(remote, (byRemote.get(remote) ?? 0) + 1);
    }
    const topRemotes = top(remotes);
    metrics['sockets.tcp.total'] = tcp.length;
    metrics['sockets.tcp.maxPerRemote'] = topRemotes[0]?.count ?? 0;
    metrics['sockets.udp'] = udp.length;
    metrics['sockets.unix'] = unix.length;
    metrics['sockets.queued'] = queued.length;
    // for a LISTEN socket the kernel shows the accept queue length as rx and the backlog as tx
    metrics['sockets.listenQueued'] = listen.reduce((a, r) => a + r.rxQueue, 0);

    const evidence: Record<string, unknown> = {
      'sockets.topRemotes': topRemotes,
      'sockets.listen': listen.map((r) => ({ endpoint: formatEndpoint(r.local), queued: r.rxQueue, backlog: r.txQueue })).slice(0, 10),
      'sockets.queues': queued.sort((a, b) => b.rxQueue + b.txQueue - a.rxQueue - a.txQueue).slice(0, TOP)
        .map((r) => ({ local: formatEndpoint(r.local), remote: formatEndpoint(r.remote), state: r.state, rx: r.rxQueue, tx: r.txQueue })),
    };
    for (const [state, byRemote] of remotesByState) evidence[`sockets.peers.${state}`] = top(byRemote);
    const out: ProbeOutput = { metrics, evidence };
    if (unknowns.length) {
      out.unknowns = unknowns;
      out.partial = 'some socket tables were not readable';
    }
    return out;
  },
};

/**
 * The rows of the target's sockets, each once. A /proc/net table is not a snapshot: the kernel
 * serves it 4 KiB per read and resumes by position in its hash, so on a busy host a socket can
 * be printed twice when other connections come and go between two reads.
 */
function ownRows<T extends { inode: number }>(rows: T[], inodes: Set<number>): T[] {
  const seen = new Set<number>();
  return rows.filter((r) => r.inode !== 0 && inodes.has(r.inode) && !seen.has(r.inode) && !!seen.add(r.inode));
}

/** The TOP most frequent keys, most frequent first (ties in first-seen order), without sorting them all. */
function top(counts: Map<string, number>): { endpoint: string; count: number }[] {
  const best: { endpoint: string; count: number }[] = [];
  for (const [endpoint, count] of counts) {
    if (best.length === TOP && count <= best[TOP - 1].count) continue;
    let i = best.length;
    while (i > 0 && best[i - 1].count < count) i--;
    best.splice(i, 0, { endpoint, count });
    if (best.length > TOP) best.pop();
  }
  return best;
}
