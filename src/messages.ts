/**
 * The catalogue of what proctriage says about a target outside the playbook: why a metric is
 * unknown, what to do about it, why a probe read only part or nothing. Probes return a code and
 * the values to fill ({ code, args }); the words live here, in one place to read and reword.
 * A typed table rather than a data file: every diagnosis loads it, and it must cost nothing
 * (no YAML parser, no schema check at start).
 */
const SAME_USER = 'run as the same user as the target, or as root';
/** Node writes this to the target's stderr when SIGUSR1 opens its inspector: its log shows our visit. */
const OWN_LOG = 'the target printed "Debugger listening on ws://…" to its own stderr (its logs)';

/** errno codes that reach the user, in words (the raw code means nothing to most readers). */
export const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many levels of symbolic links',
  EXDEV: 'on another file system',
  EBUSY: 'busy (a mount point?)',
  EMFILE: 'too many open files in proctriage',
  ENFILE: 'too many open files on the host',
  EIO: 'input/output error',
  EINVAL: 'invalid argument',
  ESRCH: 'no such process',
  EAGAIN: 'temporarily unavailable',
  ENOTSUP: 'not supported',
  EOPNOTSUPP: 'not supported',
  EMLINK: 'too many links',
  ETXTBSY: 'file busy',
  ENODEV: 'no such device',
  ENXIO: 'no such device or address',
  EFBIG: 'file too large',
  EPIPE: 'the other end closed the connection',
  // the network (--inspect, --pprof)
  ECONNREFUSED: 'connection refused (nothing listens there)',
  ECONNRESET: 'connection reset by the peer',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EPROTO: 'protocol error (https to a plain http port?)',
  HPE_INVALID_CONSTANT: 'the peer does not speak HTTP',
};

/** An errno code in words ("EACCES" → "permission denied"); an unknown code stays as it is. */
export function errnoWords(code: string): string {
  return ERRNO_WORDS[code] ?? code;
}

/** "1 file", "2 files", "1 critical" (a severity keeps its form: `count(3, 'warning')` is "3 warnings"). */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** A count of targets or findings by status: "2 warnings", but "2 critical", "3 unknown", "4 ok" (adjectives). */
export function statusCount(n: number, status: 'critical' | 'warning' | 'unknown' | 'ok' | 'info'): string {
  return status === 'warning' ? count(n, 'warning') : `${n} ${status}`;
}

export const MESSAGES = {
  /** a sentence already worded from entries of this catalogue (a hint composed of several) */
  worded: (a: { text: string }) => a.text,

  // ------------------------------------------------------------------ hints
  'hint.sameUser': () => SAME_USER,
  'hint.rootForKmsg': () => 'run as root to date them',

  // ------------------------------------------------------------------ fds
  'fds.linksUnreadable': (a: { count: number; why: string }) =>
    `${count(a.count, 'fd link')} could not be read (${errnoWords(a.why)}): counted as "other"; their type, path and sockets are unknown`,
  'fds.noLimitLine': () => 'no "Max open files" line in /proc/PID/limits',
  'fds.deletedSizesUnknown': (a: { count: number }) => `the size of ${count(a.count, 'deleted-but-open file')} could not be read`,

  // ------------------------------------------------------------------ sockets
  'sockets.tableUnreadable': (a: { table: string; error: string }) => `/proc/PID/net/${a.table}: ${a.error}`,
  'sockets.partial': () => 'some socket tables were not readable',
  'sockets.secondLookFailed': (a: { error: string }) => `second look at CLOSE_WAIT failed (${a.error}): every one seen is counted`,

  // ------------------------------------------------------------------ cgroup
  'cgroup.noMemoryController': () => 'no memory controller found for the target',
  'cgroup.kmsgUnreadable': () => 'the kernel log (/dev/kmsg) is not readable: the OOM kills cannot be dated',

  // a process whose cgroup reads as "/" from where proctriage runs (an ephemeral debug container): probes/cgroup.ts
  'container.cgroupNamespace': (a: { other: string }) =>
    `no container is named: its cgroup path reads as "/" (the root of the cgroup namespace proctriage runs in), yet it runs in ${a.other} of its own; from inside a cgroup namespace the container's identity cannot be read`,
  'container.hint.hostRoot': () =>
    "run proctriage on the node, or from a node debug pod with the host's / at /host (kubectl debug node/NODE -it --profile=sysadmin), as proctriage --host-root /host PID with its host pid",

  // ------------------------------------------------------------------ memory
  'memory.smapsPartial': () => 'smaps_rollup not readable',
  'memory.smapsDenied': () => 'access denied to /proc/PID/smaps_rollup',

  // ------------------------------------------------------------------ runtime
  'runtime.environPartial': () => 'environ not readable',
  'runtime.environDenied': () => 'access denied to /proc/PID/environ: runtime limits from the environment are unknown',

  // ------------------------------------------------------------------ cpu
  'cpu.recordedTree': () => 'a recorded tree has no CPU deltas',

  // ------------------------------------------------------------------ fleet (a replica against its peers)
  'fleet.apart': (a: { metric: string; times: string; peers: number }) => `${a.metric} ${a.times} the median of its ${count(a.peers, 'peer')}`,
  'fleet.alike': (a: { metrics: string }) => `like its peers: ${a.metrics}`,

  // ------------------------------------------------------------------ node (activation refusals)
  'node.exeUnreadable': (a: { pid: number }) =>
    `cannot read /proc/${a.pid}/exe to verify that the target is Node.js, and SIGUSR1 kills a process that does not handle it`,
  'node.executableUnreadable': (a: { pid: number }) =>
    `cannot read the executable of pid ${a.pid} to verify that it is Node.js, and SIGUSR1 kills a process that does not handle it`,

  // ------------------------------------------------------------------ node (--activate-inspector: the checks before SIGUSR1, src/node/activate.ts)
  'node.exeExportsNo': (a: { symbols: string }) => `its executable exports no ${a.symbols}`,
  'node.exeIs': (a: { what: string }) => `its executable is ${a.what}`,
  'node.activate.noExe': (a: { pid: number }) => `pid ${a.pid} has no executable link (exited, or a kernel thread)`,
  'node.activate.notNode': (a: { pid: number; why: string; name: string }) =>
    `pid ${a.pid} is not Node.js (${a.why}; it is named ${a.name}): SIGUSR1 would terminate it, so it was not sent`,
  'node.activate.zombie': (a: { pid: number }) => `pid ${a.pid} is a zombie`,
  'node.activate.stopped': (a: { pid: number; state: string }) => `pid ${a.pid} is stopped (state ${a.state}): it cannot act on SIGUSR1 until it is continued`,
  'node.activate.blocksSigusr1': (a: { pid: number }) => `pid ${a.pid} blocks SIGUSR1 (started with --disable-sigusr1): SIGUSR1 cannot open its inspector`,
  'node.activate.catchesNoSigusr1': (a: { pid: number; sigCgt: string }) =>
    `pid ${a.pid} does not catch SIGUSR1 (SigCgt ${a.sigCgt}): the signal would terminate it, so it was not sent`,
  'node.activate.otherPidns': (a: { pid: number }) =>
    `pid ${a.pid} is in a pid namespace this process is not in (the host's, seen through --host-root): a signal sent from here cannot reach it`,
  'node.activate.otherNetns': (a: { pid: number; missing: string }) =>
    `pid ${a.pid} is in another network namespace (a container): its inspector would open on its own loopback, which can be reached only from inside that namespace, and entering it needs ${a.missing}`,
  'node.activate.portIsOurs': (a: { pid: number; port: number }) => `pid ${a.pid} already listens on port ${a.port}, but it did not answer as an inspector`,
  'node.activate.portTaken': (a: { port: number }) =>
    `port ${a.port} is already taken by another process: the target's inspector could not open there (it would only log "address already in use")`,
  'node.activate.hint.embeds': () => 'if it embeds Node.js, restart it with --inspect=127.0.0.1:9229 and use --inspect',
  'node.activate.hint.restartOrPort': () => 'restart it with --inspect=127.0.0.1:9229 (or --inspect-port) to be able to probe its runtime',
  'node.activate.hint.restart': () => 'restart it with --inspect=127.0.0.1:9229 to be able to probe its runtime',
  'node.activate.hint.hostPid': () => "run proctriage in the host's pid namespace (hostPID: true, as kubectl debug node/NAME does)",
  'node.activate.hint.enterNetns': (a: { pid: number }) =>
    `run proctriage as root (or with CAP_SYS_ADMIN), or inside it: nsenter -t ${a.pid} -n proctriage ${a.pid} --activate-inspector`,
  'node.activate.hint.tryPort': (a: { port: number }) => `pass --inspect ${a.port} to try that port explicitly`,
  'node.activate.hint.freePort': () => 'restart the target with --inspect-port set to a free port, or free the port',
  // what became of the target after SIGUSR1 (each starts with "it ": the outcome sentence drops it)
  'node.fate.exitedToParent': () => 'it exited after the signal (its exit status went to its parent)',
  'node.fate.pidReused': () => 'it exited after the signal (its pid now belongs to another process)',
  'node.fate.exited': (a: { signal?: number; exitCode?: number }) =>
    `it exited after the signal${a.signal !== undefined ? ` (killed by signal ${a.signal})` : a.exitCode !== undefined ? ` (exit code ${a.exitCode})` : ''}`,
  'node.fate.running': () => 'it is still running',
  'node.guardNotStarted': (a: { ms: number }) => `the guard process that closes the inspector if proctriage is interrupted did not start within ${a.ms} ms`,
  'node.sigusr1NotSentBecause': (a: { why: string }) => `${a.why}: SIGUSR1 was not sent`,
  'node.activate.replaced': (a: { pid: number }) => `pid ${a.pid} was replaced by another process`,
  'node.activate.signalFailed': (a: { pid: number; error: string }) => `could not signal pid ${a.pid}: ${a.error}`,
  'node.activate.noneOpened': (a: { ms: number }) =>
    `sent SIGUSR1 but no inspector opened within ${a.ms} ms (the application may handle SIGUSR1 itself, which keeps Node from opening the inspector)`,
  'node.activate.handlerEnded': (a: { pid: number; fate: string }) => `sent SIGUSR1 and pid ${a.pid} ${a.fate}: its own SIGUSR1 handler ended it`,
  // where an inspector address came from (src/node/locate.ts)
  'node.source.flagPort': () => 'the port of its --inspect flag',
  'node.source.sigusr1Port': () => 'its SIGUSR1 inspector port',
  'node.source.listening': () => 'one of its listening sockets',
  // why the node probe's result is partial (connect.ts, close.ts)
  'node.partial.noInspector': () => 'no inspector reachable',
  'node.partial.notClosed': () => 'inspector not confirmed closed',

  // ------------------------------------------------------------------ node (the probe's steps: attach, measure, close)
  'node.recorded': () => 'a recorded tree: no live inspector',
  'node.notNode': (a: { runtime: string }) => `not a Node.js process (runtime: ${a.runtime})`,
  'node.activateRefused': (a: { why: string }) => `--activate-inspector refused: ${a.why}`,
  'node.activateNotNode': (a: { pid: number; runtime: string }) => `pid ${a.pid} is not Node.js (runtime ${a.runtime})`,
  'node.inspectRefused': (a: { why: string }) => `--inspect refused: ${a.why}; nothing was sent to it`,
  'node.otherNetns': (a: { missing: string }) =>
    `the target is in another network namespace (a container): reaching its loopback inspector means entering that namespace, which needs ${a.missing}`,
  // entering a target's network namespace (a container) to reach its loopback: src/transports/netns-relay.ts
  'netns.relayStarted': (a: { pid: number; relay: number | undefined; addresses: string }) =>
    `entered pid ${a.pid}'s network namespace to reach ${a.addresses} on its own loopback (a relay process${a.relay !== undefined ? `, pid ${a.relay}` : ''}, started with nsenter --net)`,
  'node.relayEnded': (a: { pids: string }) => `ended the relay into its network namespace (pid ${a.pids})`,
  'go.relayEnded': (a: { pids: string }) => `ended the relay into its network namespace (pid ${a.pids})`,
  'netns.capsUnreadable': () => 'CAP_SYS_ADMIN (our own capabilities are unreadable)',
  'netns.capMissing': () => "CAP_SYS_ADMIN (not in this process's effective capabilities: run as root, or add the capability)",
  'netns.noNsenter': () => 'nsenter (util-linux), not found on PATH',
  'netns.notLoopback': (a: { host: string; port: number }) =>
    `not relaying to ${a.host}:${a.port}: only a loopback address of the target's namespace is reached this way`,
  'netns.relayNoStart': (a: { ms: number }) => `did not start within ${a.ms} ms`,
  'netns.relayExited': (a: { code: string; stderr: string }) => `exited (${a.code})${a.stderr ? `: ${a.stderr}` : ''}`,
  'netns.relayBroken': (a: { why: string }) => `the relay into the target's network namespace (nsenter --net) ${a.why}`,
  'netns.relayFailed': (a: { error: string }) => `its network namespace could not be entered: ${a.error}`,
  'node.notReadUnasked': () => 'not read: nothing is sent to the target unless a flag asks',
  'node.notReadNoneOpen': () => 'not read: no inspector is open',
  'node.unverified': (a: { address: string; source: string; pid: number }) =>
    `${a.address} (${a.source}) cannot be verified as pid ${a.pid}'s own socket (its fd table is not readable): not tried (--trust-peer to try it)`,
  'node.remoteOnly': (a: { address: string }) =>
    `its inspector listens on ${a.address}, which is not loopback (--inspect ${a.address} --allow-remote to use it)`,
  'node.sigusr1Sending': (a: { pid: number }) => `sent SIGUSR1 to pid ${a.pid} to open its inspector`,
  'node.sigusr1Notice': (a: { line: string }) => `${a.line} (--activate-inspector)`,
  'node.sigusr1Outcome': (a: { line: string; openedAfterMs?: number; fate: string }) =>
    `${a.line}; ${a.openedAfterMs !== undefined ? `its inspector opened after ${a.openedAfterMs} ms` : 'none opened'}, and ${a.fate}`,
  'node.sigusr1NotSent': () => 'SIGUSR1 was not sent',
  'node.interrupted': (a: { pid: number; address: string }) => `interrupted: asked pid ${a.pid} to close the inspector opened on ${a.address}`,
  'node.howGiven': () => 'given with --inspect',
  'node.howTrusted': (a: { how: string; why: string }) => `${a.how}, trusted with --trust-peer (${a.why})`,
  'node.howOpen': (a: { source: string }) => `already open: ${a.source}`,
  'node.howActivated': (a: { ms: number }) => `opened with SIGUSR1 by --activate-inspector, listening after ${a.ms} ms`,
  'node.identityTrusted': (a: { pid: number }) => `not its own socket (trusted with --trust-peer); process.pid ${a.pid} matches`,
  'node.identityOwn': (a: { pid: number }) => `its listening socket is in the target's fd table; process.pid ${a.pid} matches`,
  'node.identityBlocked': () => 'the target holds the inspector socket (process.pid could not be read: the loop is blocked)',
  'node.connected': (a: { address: string; how: string }) =>
    `connected to the Node.js inspector at ${a.address} (${a.how}) and ran read-only queries; left it as it was`,
  'node.connectedBlocked': (a: { address: string; how: string }) => `connected to the Node.js inspector at ${a.address} (${a.how}); left it as it was`,
  'node.loopBlocked': (a: { why: string }) => `${a.why}; only the heap size could be read (Runtime.getHeapUsage)`,
  'node.noInspector': (a: { why: string }) => `no Node.js inspector reachable: ${a.why}`,
  'node.startedNoSocket': (a: { flags: string }) => `it was started with ${a.flags} but holds no inspector socket (port already in use at start?)`,
  'node.noneOpen': () => 'none is open',
  'node.oldLimitFromFlag': (a: { youngMiB: number }) => `--max-old-space-size of the target (the heap limit adds ${a.youngMiB} MiB of young generation)`,
  'node.oldLimitDerived': (a: { youngMiB: number }) => `heap_size_limit minus ${a.youngMiB} MiB of young generation`,
  'node.noHeapSpaces': (a: { version: string }) => `Node.js ${a.version} has no v8.getHeapSpaceStatistics()`,
  'node.noActiveResources': (a: { version: string }) => `Node.js ${a.version} lists no active resources`,
  'node.noHistogramSample': () => 'the event-loop histogram recorded no sample in the window',
  'node.noUtilization': (a: { version: string }) => `Node.js ${a.version} has no performance.eventLoopUtilization()`,
  'node.noGcEntries': () => 'the target cannot observe GC entries (perf_hooks)',
  'node.windowBlocked': (a: { ms: number }) => `the event loop was blocked for at least ${a.ms} ms: the delay window never completed (p99 is that lower bound)`,
  'node.sameWindowIncomplete': () => 'measured in the same window, which never completed',
  'node.windowFailed': (a: { error: string }) => `event-loop and GC window failed: ${a.error}`,
  'node.sameWindow': () => 'measured in the same window',
  'node.snapshotHeadroomUnknown': (a: { factor: number; need: string }) =>
    `heap snapshot refused: the memory headroom of the target is unknown, and a snapshot can push its memory to ${a.factor}x its used heap (${a.need})`,
  'node.snapshotNoHeadroom': (a: { factor: number; need: string; left: string; source: string }) =>
    `heap snapshot refused: it can push the target's memory to ${a.factor}x its used heap (${a.need}), but only ${a.left} is left (${a.source}); past that the kernel OOM-kills it`,
  'node.snapshotTaken': (a: { ms: number; file: string }) => `took a heap snapshot (the target was paused for about ${a.ms} ms) → ${a.file}`,
  'node.snapshotFailed': (a: { error: string }) => `heap snapshot failed, nothing written: ${a.error}`,
  'node.reportWritten': (a: { ms: number; file: string }) =>
    `wrote the Node.js diagnostic report, redacted (the target was blocked for about ${a.ms} ms) → ${a.file}`,
  'node.reportFailed': (a: { error: string }) => `diagnostic report failed, nothing written: ${a.error}`,
  'node.closed': (a: { pid: number; address: string; others: number }) =>
    `opened the inspector of pid ${a.pid} with SIGUSR1 on ${a.address}, probed it, and closed it again${a.others ? ` (this also ended ${count(a.others, 'other debugger session')} that connected meanwhile)` : ''}; ${OWN_LOG}`,
  'node.notConfirmedClosed': (a: { pid: number; address: string; asked: boolean }) =>
    `opened the inspector of pid ${a.pid} with SIGUSR1 on ${a.address}; it could NOT be confirmed closed${a.asked ? ' (the close was requested and runs when the event loop is free)' : ''}; ${OWN_LOG}`,
  'node.mayStillListen': (a: { address: string }) =>
    `the inspector opened with SIGUSR1 may still listen on ${a.address}: any local user can run code in the process through it`,
  // attribution: from the resource to the code (src/node/attribute.ts, window.ts)
  'node.attr.cpuSource': () => 'V8 CPU profile, self time by function',
  'node.attr.heapSource': () => 'V8 sampling heap profiler, live bytes allocated during the watch',
  'node.attr.timerSource': (a: { unique: number; sampled: number }) =>
    `active timers by where their callback is defined${a.unique > a.sampled ? ` (counts scaled from the ${a.sampled} largest of ${a.unique} callbacks)` : ''}`,
  'node.attr.peerSource': (a: { distinct: number }) => `open sockets by the other end (${count(a.distinct, 'peer')})`,
  'node.attr.cpuTaken': (a: { ms: number }) =>
    'took a CPU profile because the event loop looked held (V8 sampling profiler, 1 ms interval, ' +
    `${a.ms} ms including stopping it; stopped and disabled again)`,
  'node.attr.cpuAttempted': () => 'started a CPU profile that did not complete; asked the profiler to stop and disabled it',
  'node.attr.timersCensus': (a: { ms: number; debuggerMs?: number }) =>
    `listed the active timers (Runtime.queryObjects runs a full GC and walks the heap: ${a.ms} ms)` +
    (a.debuggerMs !== undefined
      ? `, and enabled the Debugger domain for ${a.debuggerMs} ms only to map their scripts to file names (pauses skipped, no breakpoint set), then disabled it`
      : ''),
  'node.attr.timersAttempted': () => 'tried to list the active timers (Runtime.queryObjects; the Debugger domain, if enabled, was disabled again)',
  'node.attr.heapSampled': (a: { address: string; seconds: number; kib: number }) =>
    `ran V8's sampling heap profiler over the watch (${a.seconds} s, a sample every ${a.kib} KiB allocated) on a session of its own at ${a.address}; stopped it and closed the session`,
  'node.attr.heapSamplingStopped': (a: { address: string }) => `stopped V8's sampling heap profiler without a result and closed its session at ${a.address}`,
  'node.attr.failed': (a: { error: string }) => `it could not be measured: ${a.error}`,
  'node.attr.noTimeLeft': () => 'no time was left for a CPU profile within the deadline',
  'node.attr.notReached': () => 'the inspector was not read',
  'node.attr.heapTooBig': (a: { mib: number; ms: number }) =>
    `the heap holds ${a.mib} MiB: listing the timers (a full GC and a walk of the heap) would stall the event loop for about ${a.ms} ms`,
  'node.attr.hint.snapshot': () =>
    'their count by type is above; a heap snapshot (--heap-snapshot, which pauses the target) shows the Timeout objects and their callbacks',
  'node.attr.oneLook': () => 'one look cannot tell which allocations grow',
  'node.attr.windowBlocked': () => 'the event loop was blocked when the watch began: the profiler could not be started',
  'node.attr.windowNoInspector': () => 'no inspector of the target could be reached when the watch began',
  'node.attr.hint.inspect': () => 'add --inspect (or --activate-inspector) to read it through the inspector',
  'node.attr.hint.reach': () => "see the node probe's unknown for how to reach the inspector",
  'node.attr.hint.watch': (a: { pid: number }) => `proctriage watch ${a.pid} --inspect ranks allocation sites by live bytes over the window`,
  'node.hint.addInspect': () => 'add --inspect to read it through the inspector it already has open',
  'node.hint.blocked': () => 'run again to see whether it recovers; top -H -p PID shows the busy thread',
  'node.hint.force': () => 'add --force to take it anyway (the target may be OOM-killed)',
  'node.hint.raiseTimeout': () => 'raise --timeout (about 100 ms per MB of heap)',
  'node.hint.checkListen': (a: { port: number }) => `check with: ss -ltnp 'sport = :${a.port}'; it closes when the process restarts`,
  'node.hint.restart': (a: { port: number }) => `start it with --inspect=127.0.0.1:${a.port} and add --inspect ${a.port}`,
  'node.hint.passAddress': (a: { restart: string }) => `pass the inspector address of this process to --inspect, or ${a.restart}`,
  'node.hint.cannotActivate': (a: { restart: string; why: string }) => `${a.restart} (--activate-inspector cannot be used: ${a.why})`,
  'node.hint.activate': (a: { port: number }) => `--activate-inspector (opens its inspector on 127.0.0.1:${a.port} with SIGUSR1, probes, closes it again)`,
  'node.hint.addActivate': (a: { activate: string; restart: string }) => `add ${a.activate}, or ${a.restart}`,
  'node.hint.inspectOrActivate': (a: { port: number; activate: string }) => `add --inspect ${a.port} if its inspector is open there, or ${a.activate}`,

  // ------------------------------------------------------------------ node (what the inspector answered: attach, heavy tools)
  'node.otherProcess': (a: { where: string; theirPid: number; expected: number }) =>
    `the ${a.where} belongs to another process (its pid is ${a.theirPid}, not ${a.expected})`,
  'node.hint.otherProcess': () => 'pass the inspector port of this process to --inspect',
  'node.evalBlocked': (a: { where: string; ms: number }) =>
    `the event loop did not run a trivial evaluation within ${a.ms} ms although the ${a.where} answered: the loop is blocked`,
  'node.evalFailed': (a: { text: string }) => `the evaluation failed inside the target: ${a.text}`,
  'node.malformedEvaluate': (a: { where: string }) => `${a.where} sent a malformed Runtime.evaluate reply`,
  'node.malformedFacts': (a: { where: string; what: string }) => `${a.where} returned malformed runtime facts (${a.what})`,
  'node.malformedWindow': (a: { where: string; what?: string }) => `${a.where} returned malformed event-loop facts${a.what ? ` (${a.what})` : ''}`,
  'node.snapshotEmpty': () => 'the inspector finished the heap snapshot without sending any data',
  'node.noProcessReport': () => 'the target has no process.report (Node.js older than 11?)',
  'node.malformedReport': () => 'the target returned a malformed diagnostic report',
  'node.reportNotJson': () => 'the diagnostic report is not valid JSON, so it could not be redacted; nothing was written',

  // ------------------------------------------------------------------ peers given with --inspect / --pprof
  'hint.trustPeer': () => 'if it is forwarded to the target (a port forward, a container), add --trust-peer; otherwise give the address of this process',

  // ------------------------------------------------------------------ pprof transport (what a GET to a pprof endpoint met)
  'pprof.refused': (a: { host: string }) => `connection refused: nothing listens on ${a.host} (ECONNREFUSED)`,
  'pprof.tlsToPlain': (a: { code: string }) => `TLS handshake failed (${a.code}): the port speaks plain HTTP? (give an http:// URL)`,
  'pprof.tlsFailed': (a: { code: string }) => `TLS handshake failed (${a.code})`,
  'pprof.resetOnHttp': (a: { code: string }) => `the connection was closed before any answer (${a.code}): the port speaks https? (give an https:// URL)`,
  'pprof.httpToTls': (a: { path: string }) =>
    `the endpoint answered HTTP 400 for ${a.path}, "Client sent an HTTP request to an HTTPS server": give an https:// URL`,
  'pprof.untrusted': (a: { code: string }) => `the server's certificate is not trusted (${a.code}): name its CA file in NODE_EXTRA_CA_CERTS`,
  'pprof.certRefused': (a: { code: string }) => `the server's certificate was refused (${a.code})`,
  'pprof.notHttp': (a: { code: string }) => `the peer does not speak HTTP (${a.code})`,
  'pprof.network': (a: { words: string; code: string }) => (a.words === a.code ? `request failed (${a.code})` : `${a.words} (${a.code})`),
  'pprof.failed': (a: { error: string }) => `request failed: ${a.error}`,
  'pprof.noAnswer': (a: { path: string; ms: number }) => `the endpoint accepted the connection but did not answer ${a.path} within ${a.ms} ms`,
  'pprof.noConnection': (a: { host: string; ms: number }) => `no connection to ${a.host} within ${a.ms} ms`,
  'pprof.deadline': (a: { path: string }) => `the probe's deadline passed before ${a.path} answered`,
  'pprof.status': (a: { status: number; path: string }) => `the endpoint answered HTTP ${a.status} for ${a.path}`,
  'pprof.notFound': (a: { path: string }) => `the endpoint answered HTTP 404 for ${a.path}: no such profile there (is net/http/pprof registered on this mux?)`,
  'pprof.html': (a: { path: string }) => `the endpoint answered ${a.path} with an HTML page, not a pprof text profile (a login page, a proxy?)`,
  'pprof.bodyLate': (a: { ms: number }) => `the body did not finish within ${a.ms} ms`,
  'pprof.bodyDeadline': () => "the probe's deadline passed before the body finished",
  'pprof.bodyClosed': (a: { code?: string }) => `the connection closed before the end of the body${a.code ? ` (${a.code})` : ''}`,
  'pprof.bodyCapped': (a: { bytes: number }) => `stopped reading after ${a.bytes} bytes`,

  // ------------------------------------------------------------------ go
  'go.socketsUnreadable': () => `the process's sockets are not readable (${SAME_USER})`,
  'go.notGo': () => 'not a Go process (no Go build info, no GO* variables)',
  'go.notGoRuntime': (a: { runtime: string }) => `not a Go process (runtime ${a.runtime})`,
  'go.pprofNotUsed': (a: { why: string }) => `${a.why}: --pprof not used for it`,
  'go.recorded': () => 'recorded files: the Go runtime is read only from a live process, through its pprof endpoint',
  'go.endpointFailed': (a: { error: string }) => `${a.error}: goroutines, heap and GC figures unknown`,
  'go.readFrom': (a: { what: string; url: string }) => `read ${a.what} from ${a.url} (HTTP GET only)`,
  'go.badNumber': (a: { key: string; value: number; ratio: boolean }) =>
    `the pprof endpoint reported ${a.key} = ${a.value}, which is not ${a.ratio ? 'a fraction between 0 and 1' : 'a non-negative safe integer'}: not used`,
  'go.socketsError': (a: { error: string }) => `its sockets could not be read (${a.error})`,
  'go.otherNetns': (a: { missing: string }) =>
    `the process is in another network namespace (a container): reaching its 127.0.0.1 means entering that namespace, which needs ${a.missing}`,
  'go.netnsUnreadable': () => 'its network namespace is not readable',
  'go.pprofRefused': (a: { why: string }) => `--pprof refused: ${a.why}; nothing was sent to it`,
  'go.otherProcess': (a: { url: string; pid: number }) => `${a.url} serves another process: its command line is not pid ${a.pid}'s`,
  'go.trusted': (a: { url: string; why: string }) => `used ${a.url} as trusted with --trust-peer (${a.why})`,
  'go.noBuildInfo': () => 'GO* variables are set but the executable has no Go build info (unreadable, or not a Go binary): its listeners were not probed',
  'go.cannotLook': (a: { why: string }) => `cannot look for a pprof endpoint: ${a.why}`,
  'go.noListener': () => 'the process has no TCP listener reachable on loopback',
  'go.asked': (a: { ports: string }) => `asked GET /debug/pprof/ on the process's loopback listener(s) (port ${a.ports}) to find its pprof endpoint`,
  'go.noneServes': (a: { ports: string }) => `none of the process's loopback listeners (port ${a.ports}) serves /debug/pprof/`,
  'go.discoverOff': () => 'its pprof endpoint was not looked for (--no-discover)',
  // what the go probe read only in part (its status line), and why
  'go.partial.goroutines': () => 'goroutines unknown',
  'go.partial.memory': () => 'heap and GC figures unknown',
  'go.partial.noEndpoint': () => 'no pprof endpoint',
  'go.partial.refused': () => '--pprof refused',
  'go.partial.invalid': () => '--pprof invalid',
  'go.partial.notTheTarget': () => "--pprof endpoint is not the target's",
  'go.partial.otherProcess': () => '--pprof endpoint belongs to another process',
  'go.statesUnknown': (a: { why: string }) => `wait states unknown (${a.why})`,
  'go.statesNotDump': () => 'debug=2 is not a goroutine dump',
  'go.varsIncomplete': (a: { why: string }) => `/debug/vars incomplete: ${a.why}`,
  'go.varsNoHeapAlloc': () => '/debug/vars has no HeapAlloc',
  'go.varsNotJson': (a: { error: string }) => `/debug/vars is not valid JSON, truncated or malformed (${a.error})`,
  'go.varsNotObject': () => '/debug/vars is not a JSON object',
  'go.varsNoMemstats': () => '/debug/vars has no memstats object',
  'go.textCut': () => 'the text ends in the middle of a line',
  'go.notGoroutineProfile': () => 'not a goroutine profile (no "goroutine profile: total N" first line)',
  'go.emptyGoroutineProfile': () => 'empty goroutine profile',
  'go.dumpIncomplete': (a: { why?: string }) => `goroutine dump incomplete: ${a.why ?? 'the body did not end'}`,
  'go.dumpTruncated': (a: { counted: number; total: number }) => `goroutine dump truncated: groups account for ${a.counted} of ${a.total} goroutines`,
  'go.dumpNoStacks': () => 'goroutine dump has a total but no stacks',
  'go.malformedLines': (a: { count: number }) => `${count(a.count, 'malformed line')} ignored`,
  'go.notGoroutineDump': () => 'not a goroutine dump (no "goroutine N [state]:" line)',
  'go.notHeapProfile': () => 'not a heap profile (no "heap profile:" first line)',
  'go.heapNoMemStats': (a: { cut?: string }) => `heap profile has no runtime.MemStats block${a.cut ? ` (${a.cut})` : ''}`,
  'go.memStatsIncomplete': (a: { cut?: string }) => `runtime.MemStats block is incomplete${a.cut ? ` (${a.cut})` : ''}`,
  'go.heapRead': (a: { problem: string }) => `/debug/pprof/heap: ${a.problem}`,
  'go.hint.discoverOff': () => "give --pprof URL, or leave --no-discover out to ask the process's own loopback listeners",
  'go.hint.noEndpoint': () => 'Go process, no pprof endpoint: import net/http/pprof and listen on localhost, then --pprof URL',
  'go.hint.otherProcess': () => 'give the pprof URL of this process, or leave --pprof out to find it among its own listeners',
  'go.hint.noBuildInfo': () => 'if it is a Go service with net/http/pprof, pass --pprof URL',
  // where in the code, from Go profiles (attribution): its source, and why it is not available
  'go.attr.heapSource': () => 'Go heap profile, in-use bytes by allocating site (sampled)',
  'go.attr.allocSource': () => 'Go heap profile, bytes allocated since the start by allocating site (sampled; freed or not)',
  'go.attr.growthSource': () => 'Go heap profiles at the start and the end (in-use bytes as of the last GC before each), growth by allocating site',
  'go.attr.cpuSource': () => 'Go CPU profile, self time by function',
  'go.attr.leakSource': () => 'Go goroutine leak profile (goroutines proved stuck for good)',
  'go.attr.noEndpoint': (a: { why: string }) => `no pprof endpoint: ${a.why}`,
  'go.attr.cpuInUse': (a: { text: string }) => `the process is already being CPU-profiled (${a.text})`,
  'go.attr.refused': (a: { what: string; status: number; text: string }) => `${a.what}: HTTP ${a.status}${a.text ? ` (${a.text})` : ''}`,
  'go.attr.failed': (a: { what: string; error: string }) => `${a.what}: ${a.error}`,
  'go.attr.tooLarge': (a: { what: string; mib: number }) => `${a.what} is larger than ${a.mib} MiB: not read`,
  'go.attr.noSymbols': () => 'the profile has no function names (a binary built without symbols)',
  'go.attr.noLeakProfile': () => 'its pprof endpoint does not offer the goroutine leak profile',
  'go.attr.noTime': (a: { seconds: number }) => `too little time left within --timeout for a ${a.seconds} s CPU profile`,
  'go.attr.windowLost': (a: { why: string }) => `the heap profile at the start of the watch was not taken: ${a.why}`,
  'go.attr.took': (a: { what: string; url: string }) => `requested ${a.what} from ${a.url} (profiles, HTTP GET only)`,
  'go.attr.hint.pprof': () => 'add --pprof http://127.0.0.1:PORT, the port where the service serves net/http/pprof',
  'go.attr.hint.cpuInUse': () => 'run proctriage again when the other CPU profile has finished',
  'go.attr.hint.leakProfile': () => 'build the service with Go 1.27 or later, or Go 1.26 with GOEXPERIMENT=goroutineleakprofile',
  'go.attr.hint.symbols': () => 'read the raw profile with go tool pprof and the binary it came from',
  'go.attr.hint.timeout': () => 'raise --timeout (the CPU profile needs a few seconds)',

  // ------------------------------------------------------------------ trace
  'trace.noBpftrace': () => 'bpftrace is not installed: install bpftrace (apt-get install bpftrace)',
  'trace.notPrivileged': () => 'tracing needs root, or CAP_BPF and CAP_PERFMON',
  'trace.noTracefs': () => "the kernel's tracing file system is not mounted: mount -t tracefs nodev /sys/kernel/tracing",
  'trace.failed': (a: { why: string }) => `bpftrace could not trace: ${a.why}`,
  'trace.startTimeout': (a: { seconds: number }) => `bpftrace did not start tracing within ${a.seconds} s`,
  'trace.exited': () => 'the process exited during the trace: "still open" is what it held when it exited (its exit closed them)',
  'trace.exec': () => 'the process ran exec during the trace: descriptors and stacks from before it are not attributed',
  'trace.cap': (a: { events: number }) => `the trace stopped early after ${a.events} events (its cap): the window is shorter than asked`,
  'trace.interrupted': () => 'interrupted: the window was cut short',
  'trace.outputTruncated': () => "the tracer's output passed its cap: stacks are missing",
  'trace.truncated': (a: { stacks: number }) =>
    `the callers are lost in ${count(a.stacks, 'stack')} taken inside libc: Debian's libc has no frame pointers, so a stack taken inside it loses its callers (the program calls libc in a way not probed at its entry, or was built without frame pointers: build with -fno-omit-frame-pointer)`,
  'trace.jitNode': () => 'JIT frames of Node.js cannot be named without a perf map: use proctriage PID --inspect for attribution inside JavaScript',
  'trace.jitJava': () => 'JIT frames of the JVM cannot be named here: use async-profiler or JFR for Java stacks',
  'trace.interpreterPython': () =>
    "the stacks of a Python process show the interpreter's C functions, not your Python code: use py-spy dump --pid PID for Python stacks",
  'trace.untracked': (a: { count: number }) =>
    `${count(a.count, 'descriptor')} the tracer saw open were gone from the fd table at the end (closed in a way not traced): not counted`,
  'trace.countsLost': (a: { stacks: number }) =>
    `the tracer's counts disagree with themselves (${count(a.stacks, 'stack')} closed more than it opened): the "still open" figures are not exact`,
  'trace.noAddr2line': () => 'addr2line is not installed (binutils): functions are shown without file:line',
  'trace.fdTableUnreadable': () => 'the fd table could not be read at the end: types and examples are unknown',
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
