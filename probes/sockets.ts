import type { Probe, ProbeOutput, Unknown } from '../src/engine/probe.js';
import { formatEndpoint, type Endpoint, type InetRow, type TcpState } from '../src/procfs/net-tcp.js';
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

    // one pass: counts per state, and remote endpoints counted per state and over all states
    const perState = new Map<TcpState, number>();
    const remotes = new PeerCounts();
    const remotesByState = new Map<TcpState, PeerCounts>();
    const listen: InetRow[] = [];
    const queued: InetRow[] = [];
    for (const r of tcp) {
      perState.set(r.state, (perState.get(r.state) ?? 0) + 1);
      if (r.state === 'listen') {
        listen.push(r);
        continue;
      }
      if (r.rxQueue > 0 || r.txQueue > 0) queued.push(r);
      remotes.add(r.remote);
      let byRemote = remotesByState.get(r.state);
      if (!byRemote) remotesByState.set(r.state, (byRemote = new PeerCounts()));
      byRemote.add(r.remote);
    }
    const metrics: Record<string, number> = {};
    for (const s of STATES) metrics[`sockets.tcp.${s}`] = 0;
    for (const [s, n] of perState) metrics[`sockets.tcp.${s}`] = n;
    const topRemotes = remotes.top();
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
    for (const [state, byRemote] of remotesByState) evidence[`sockets.peers.${state}`] = byRemote.top();
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

/**
 * Connections per remote endpoint, counted by ip and then port: no "ip:port" string per
 * connection (a busy table has tens of thousands); only the top ones are formatted.
 */
class PeerCounts {
  private readonly byIp = new Map<string, Map<number, number>>();

  add(e: Endpoint): void {
    let ports = this.byIp.get(e.ip);
    if (!ports) this.byIp.set(e.ip, (ports = new Map()));
    ports.set(e.port, (ports.get(e.port) ?? 0) + 1);
  }

  /** The TOP most frequent endpoints, most frequent first (ties: by first-seen ip, then port), without sorting them all. */
  top(): { endpoint: string; count: number }[] {
    const best: { ip: string; port: number; count: number }[] = [];
    for (const [ip, ports] of this.byIp) {
      for (const [port, count] of ports) {
        if (best.length === TOP && count <= best[TOP - 1].count) continue;
        let i = best.length;
        while (i > 0 && best[i - 1].count < count) i--;
        best.splice(i, 0, { ip, port, count });
        if (best.length > TOP) best.pop();
      }
    }
    return best.map(({ ip, port, count }) => ({ endpoint: formatEndpoint({ ip, port }), count }));
  }
}
