/**
 * Sample service: a poller that starts a new interval for every upstream it is told about and
 * never clears the old one, so intervals pile up (1 200 by default, --count). Started with its
 * inspector on a random loopback port: the demo reads it with --inspect, and proctriage names
 * the function the intervals call and where it is defined.
 */
import { url } from 'node:inspector';
import { intOption, options, ready, stayAlive } from './common.js';

const opts = options(['count']);
const count = intOption(opts.count, 1200, 10_000, '--count');
const timers: NodeJS.Timeout[] = [];

function pollUpstream(): void {
  // would fetch the upstream's status here
}

for (let i = 0; i < count; i++) timers.push(setInterval(pollUpstream, 60_000));
// the port of the inspector it was started with (--inspect=127.0.0.1:0 picks one)
const inspectPort = Number(/^ws:\/\/127\.0\.0\.1:(\d+)\//.exec(url() ?? '')?.[1] ?? 0);
ready('timer-leak', { intervals: count, inspectPort });
stayAlive([
  () => {
    for (const t of timers) clearInterval(t);
  },
]);
