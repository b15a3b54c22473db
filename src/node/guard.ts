/**
 * The guard of an inspector opened with SIGUSR1, run as its own detached process before the
 * signal is sent: `node guard.js PID START_TICKS PORT BEFORE_INODES`. It reads its stdin (a pipe
 * from proctriage): "listen INODE HOST PORT" names the socket that opened, "done" says
 * proctriage closed it itself. End of input without "done" means proctriage ended without
 * closing (Ctrl-C, SIGKILL, a crash): the guard then closes the inspector it was told of, or
 * the one that opens during the next seconds, and exits. It closes only a LISTEN socket the
 * target holds that did not exist before the signal, and evaluates one constant expression.
 */
import { ProcFs } from '../procfs/procfs.js';
import { parseProcStat } from '../procfs/proc-stat.js';
import { listenRows, socketInodes } from './locate.js';
import { connectHost } from '../transports/loopback.js';
import { waitListenerGone } from './activate.js';

/** How long to look for an inspector that opens after proctriage died (SIGUSR1 was maybe just sent). */
const SEARCH_MS = 6000;

// a missing argument is NaN, as Number(undefined): no process has that pid, no socket that port
const [pid = NaN, startTicks = NaN, port = NaN] = process.argv.slice(2, 5).map(Number);
const before = new Set(
  (process.argv[5] ?? '')
    .split(',')
    .filter((x) => /^\d+$/.test(x))
    .map(Number),
);
// the root its /proc is read under (a host root: the host's /proc, by host pids)
const proc = new ProcFs(process.argv[6] || '/', { live: true });
let told: { inode: number; host: string; port: number } | undefined;
let done = false;
let buf = '';

process.on('SIGINT', () => {}); // a terminal's Ctrl-C is for proctriage, not for its guard
process.on('SIGHUP', () => {});
process.stdout.on('error', () => {});
process.stdin.on('data', (d: Buffer) => {
  buf += d.toString('utf8');
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i).trim().split(' ');
    buf = buf.slice(i + 1);
    const [verb, inode, host, listenPort] = line;
    if (verb === 'done') done = true;
    if (verb === 'listen' && line.length === 4 && host !== undefined) told = { inode: Number(inode), host, port: Number(listenPort) };
  }
});
process.stdin.on('error', () => {});
process.stdin.once('close', () => void (done ? process.exit(0) : closeWhatWasOpened().finally(() => process.exit(0))));
process.stdout.write('ready\n');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sameProcess(): boolean {
  try {
    return parseProcStat(proc.read(pid, 'stat')).starttimeTicks === startTicks;
  } catch {
    return false;
  }
}

/** A LISTEN socket the target holds now that it did not hold before the signal. */
function newListener(): { inode: number; host: string; port: number } | undefined {
  const mine = socketInodes(proc, pid);
  const row = listenRows(proc, pid).find(
    (r) => mine.has(r.inode) && !before.has(r.inode) && (port === 0 || r.local.port === port) && (!told || r.inode === told.inode),
  );
  return row ? { inode: row.inode, host: connectHost(row.local.ip) ?? row.local.ip, port: row.local.port } : undefined;
}

async function closeWhatWasOpened(): Promise<void> {
  const t0 = performance.now();
  let l: ReturnType<typeof newListener>;
  for (;;) {
    if (!sameProcess()) return;
    try {
      l = newListener();
    } catch {
      return; // gone, or its fds are unreadable: nothing we may touch
    }
    if (l || (told && !l) || performance.now() - t0 > SEARCH_MS) break;
    await sleep(50);
  }
  if (!l) return;
  // an interrupted proctriage may have asked for the close already: give it a moment
  if (await waitListenerGone(proc, pid, l.inode, 1000)) return;
  const { CdpSession, listTargets } = await import('../transports/inspector.js');
  const { evaluate } = await import('./attach.js');
  const { CLOSE_INSPECTOR_EXPRESSION } = await import('./expressions.js');
  const addr = { host: l.host, port: l.port, loopback: true };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const list = await listTargets(addr, false, { timeoutMs: 1000 });
      const s = await CdpSession.open(addr, list[0].path, { timeoutMs: 1000 });
      try {
        await evaluate(s, CLOSE_INSPECTOR_EXPRESSION, { timeoutMs: 2000 });
      } finally {
        s.close();
      }
    } catch {
      // busy or not yet listening: try again
    }
    if (await waitListenerGone(proc, pid, l.inode, 1500)) return;
  }
}
