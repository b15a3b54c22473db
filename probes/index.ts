import type { Probe } from '../src/engine/probe.js';
import { probe as cpu } from './cpu.js';
import { probe as process } from './process.js';
import { probe as memory } from './memory.js';
import { probe as fds } from './fds.js';
import { probe as sockets } from './sockets.js';
import { probe as cgroup } from './cgroup.js';
import { probe as runtime } from './runtime.js';
import { probe as go } from './go.js';
import { probe as node } from './node.js';

/**
 * Every probe, in start order. They run concurrently: cpu goes first because it samples
 * over a window while the synchronous /proc probes do their work.
 */
export const PROBES: Probe[] = [cpu, process, memory, fds, sockets, cgroup, runtime, go, node];
