/**
 * Step 3 of the node probe, run whatever the first two did (thrown, cut off by the deadline):
 * leave an inspector the target had open as it was (only our session goes), and close one we
 * opened with SIGUSR1, then watch its LISTEN socket go. What cannot be confirmed closed is said,
 * and left to the guard process.
 */
import { say } from '../messages.js';
import { CdpSession, formatAddress, listTargets, type InspectorAddress } from '../transports/inspector.js';
import { waitListenerGone, inspectorClients, type Opened } from './activate.js';
import { Budget, evaluate } from './attach.js';
import { CLOSE_INSPECTOR_EXPRESSION } from './expressions.js';
import type { Connection, NodeOut, NodeTarget } from './run.js';
import type { NetRoute } from '../transports/netns-relay.js';

export async function close(t: NodeTarget, conn: Connection, out: NodeOut): Promise<void> {
  conn.deadman?.stop();
  if (conn.opened) {
    const closed = await closeOpened(t, conn.opened, conn.attached?.session ?? conn.blocked?.session, out, conn.budget.route);
    if (closed) conn.guard?.done();
    else conn.guard?.release(); // the guard goes on trying after we exit
    conn.dropInterrupt?.();
  } else {
    conn.attached?.session.close();
    conn.blocked?.session?.close();
  }
  // the relay into the target's namespace ends with the probe (it would with us anyway)
  if (conn.relay) {
    conn.relay.close();
    out.actions.push(say('node.relayEnded', { pids: conn.relay.pids.join(', ') }));
  }
}

/** Close the inspector we opened: ask it, then watch the LISTEN socket go. Says so in actions; true when confirmed closed. */
async function closeOpened(t: NodeTarget, opened: Opened, session: CdpSession | undefined, out: NodeOut, route?: NetRoute): Promise<boolean> {
  const { proc, pid } = t;
  const where = formatAddress({ host: opened.host, port: opened.listener.port });
  const clients = inspectorClients(proc, pid, opened.listener.port);
  // closing must happen even after the probe's deadline: a fresh budget, not the probe's signal
  const own = new Budget(2500, undefined, t.options.ownEndpoints);
  if (route) own.route = route;
  let s = session && !session.closed ? session : undefined;
  if (!s) {
    try {
      const addr: InspectorAddress = { host: opened.host, port: opened.listener.port, loopback: true };
      const list = await listTargets(addr, t.options.allowRemote === true, own.deadline(800));
      s = await CdpSession.open(addr, list[0].path, { ...own.deadline(800), allowRemote: t.options.allowRemote === true });
    } catch {
      s = undefined;
    }
  }
  let asked = false;
  if (s) {
    try {
      asked = (await evaluate(s, CLOSE_INSPECTOR_EXPRESSION, own.deadline(1000))) === 'ok';
    } catch {
      asked = false;
    }
    s.close();
  }
  const gone = await waitListenerGone(proc, pid, opened.listener.inode, own.left(1500));
  const others = clients !== undefined && session && !session.closed ? Math.max(0, clients - 1) : 0;
  if (gone) {
    out.actions.push(say('node.closed', { pid, address: where, others }));
  } else {
    out.actions.push(say('node.notConfirmedClosed', { pid, address: where, asked }));
    out.unknowns.push({
      probe: 'node',
      code: 'node.mayStillListen',
      args: { address: where },
      hint: { code: 'node.hint.checkListen', args: { port: opened.listener.port } },
    });
    out.partial = out.partial ?? say('node.partial.notClosed');
  }
  return gone;
}
