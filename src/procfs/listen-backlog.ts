import { execFile } from 'node:child_process';
import type { ProcFs } from './procfs.js';

/**
 * The backlog of listening sockets is not in /proc/net/tcp (a LISTEN row shows the accept queue
 * and a zero send queue); the kernel gives it only over sock_diag netlink, which `ss` speaks.
 * Lines of `ss -Hltn`: "LISTEN 0 511 0.0.0.0:80 0.0.0.0:*" (state, accept queue, backlog, local, peer).
 * Returns "ip port" → backlog, with ip as formatEndpoint shows it (v4-mapped as IPv4, "*" as both wildcards).
 */
export function parseSsListen(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [, , queue, local] = line.trim().split(/\s+/);
    if (queue === undefined || local === undefined || !/^\d+$/.test(queue)) continue;
    const colon = local.lastIndexOf(':');
    if (colon < 0) continue;
    const port = Number(local.slice(colon + 1));
    let ip = local
      .slice(0, colon)
      .replace(/^\[|\]$/g, '')
      .replace(/%.*$/, '');
    if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip)) ip = ip.slice(7);
    const backlog = Number(queue);
    if (ip === '*') {
      out.set(`0.0.0.0 ${port}`, backlog);
      out.set(`:: ${port}`, backlog);
    } else out.set(`${ip} ${port}`, backlog);
  }
  return out;
}

/**
 * Backlogs of the listening sockets in the live network namespace `ns` ("net:[…]", the target's),
 * from `ss`; entered with nsenter when it is not ours (root only). Undefined when ss is missing,
 * fails, or the namespace cannot be entered: the evidence then leaves the backlog out rather than
 * show a wrong 0. A child process of its own, so the scan goes on while it runs.
 */
export function readListenBacklogs(proc: ProcFs, pid: number, ns: string, signal?: AbortSignal): Promise<Map<string, number> | undefined> {
  // ours, not the target's: ss runs here (unreadable: the target's namespace is entered explicitly)
  const ours = proc.ownNetNamespace();
  const [cmd, args] = ns && ns === ours ? ['ss', ['-Hltn']] : ['nsenter', [`--net=${proc.procPath(pid, 'ns/net')}`, 'ss', '-Hltn']];
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 1000, maxBuffer: 8 << 20, ...(signal ? { signal } : {}) }, (err, stdout) =>
      resolve(err ? undefined : parseSsListen(stdout)),
    );
  });
}
