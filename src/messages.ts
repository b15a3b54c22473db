/**
 * The catalogue of what proctriage says about a target outside the playbook: why a metric is
 * unknown, what to do about it, why a probe read only part or nothing. Probes return a code and
 * the values to fill ({ code, args }); the words live here, in one place to read and reword.
 * A typed table rather than a data file: every diagnosis loads it, and it must cost nothing
 * (no YAML parser, no schema check at start).
 */
const SAME_USER = 'run as the same user as the target, or as root';

export const MESSAGES = {
  // ------------------------------------------------------------------ hints
  'hint.sameUser': () => SAME_USER,
  'hint.rootForKmsg': () => 'run as root to date them',

  // ------------------------------------------------------------------ fds
  'fds.linksUnreadable': (a: { count: number; why: string }) =>
    `${a.count} fd link(s) could not be read (${a.why}): counted as "other"; their type, path and sockets are unknown`,
  'fds.noLimitLine': () => 'no "Max open files" line in /proc/PID/limits',
  'fds.deletedSizesUnknown': (a: { count: number }) => `the size of ${a.count} deleted-but-open file(s) could not be read`,

  // ------------------------------------------------------------------ sockets
  'sockets.tableUnreadable': (a: { table: string; error: string }) => `/proc/PID/net/${a.table}: ${a.error}`,
  'sockets.partial': () => 'some socket tables were not readable',
  'sockets.secondLookFailed': (a: { error: string }) => `second look at CLOSE_WAIT failed (${a.error}): every one seen is counted`,

  // ------------------------------------------------------------------ cgroup
  'cgroup.noMemoryController': () => 'no memory controller found for the target',
  'cgroup.kmsgUnreadable': () => 'the kernel log (/dev/kmsg) is not readable: the OOM kills cannot be dated',

  // ------------------------------------------------------------------ memory
  'memory.smapsPartial': () => 'smaps_rollup not readable',
  'memory.smapsDenied': () => 'access denied to /proc/PID/smaps_rollup',

  // ------------------------------------------------------------------ runtime
  'runtime.environPartial': () => 'environ not readable',
  'runtime.environDenied': () => 'access denied to /proc/PID/environ: runtime limits from the environment are unknown',

  // ------------------------------------------------------------------ cpu
  'cpu.recordedTree': () => 'a recorded tree has no CPU deltas',

  // ------------------------------------------------------------------ node (activation refusals)
  'node.exeUnreadable': (a: { pid: number }) =>
    `cannot read /proc/${a.pid}/exe to verify that the target is Node.js, and SIGUSR1 kills a process that does not handle it`,
  'node.executableUnreadable': (a: { pid: number }) =>
    `cannot read the executable of pid ${a.pid} to verify that it is Node.js, and SIGUSR1 kills a process that does not handle it`,

  // ------------------------------------------------------------------ go
  'go.socketsUnreadable': () => `the process's sockets are not readable (${SAME_USER})`,
} satisfies Record<string, (a: never) => string>;

export type MessageId = keyof typeof MESSAGES;
type Args<K extends MessageId> = Parameters<(typeof MESSAGES)[K]>;

/** The words of a message, filled. */
export function say<K extends MessageId>(id: K, ...args: Args<K>): string {
  return (MESSAGES[id] as (a?: unknown) => string)(args[0]);
}

/** A message by code, with the values it is filled from (what a probe returns instead of a sentence). */
export type Coded = { [K in MessageId]: Args<K> extends [] ? { code: K; args?: undefined } : { code: K; args: Args<K>[0] } }[MessageId];

/** The words of a coded message. */
export function words(c: Coded): string {
  return (MESSAGES[c.code] as (a?: unknown) => string)(c.args);
}
