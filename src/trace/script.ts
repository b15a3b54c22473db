/**
 * The bpftrace program of `proctriage trace`, generated from numbers only: the target's pid,
 * the caps and the deadline are integers this code checked, and the libc entry points are names
 * from the fixed list below (never a string read from the target). Pure: unit-tested.
 *
 * What it keeps, in kernel maps, printed once at the end (bpftrace -f json):
 *   @opens[stack, ra]  descriptors created by each user stack in the window (ra: the return
 *                      address at a libc entry, 0 at a system call; see LIBC_CREATORS)
 *   @live[stack, ra]   of those, still open: a sum, +1 when one is created and -1 when it is
 *                      closed. Not ++ and --: bpftrace does those as a read and a write, so
 *                      two CPUs updating one stack at once lose updates (a file opened on one
 *                      thread and closed on another); a sum keeps a value per CPU
 *   @ex[stack, ra]     the last fd number each stack created (an example for its type and target)
 *   @fdt[fd]       the fds created in the window and still open
 *   @n             events counted (the cap stops the trace early)
 * Events are printed as they happen: "ready" (the window starts once every probe is attached),
 * "exec" (the program was replaced: what was attributed is reset), "exit", "cap".
 */
import { TRACE_LIMITS } from './limits.js';

/**
 * libc functions that create a descriptor. A uprobe on their entry reads the stack while the
 * caller's frame pointers are intact: Debian's libc has none, so the stack taken at the system
 * call inside libc stops after libc's own frame. The syscall tracepoint then pairs the fd with
 * the stack kept at entry. Each uprobe costs about 0.1 s to attach and as much to detach, so
 * the list is the common entry points only: the 64-bit aliases (open64, fopen64 …) share their
 * address and fire with them; anything else is still caught at its system call, with a stack
 * marked as truncated.
 */
export const LIBC_CREATORS = [
  'open',
  '__open_2',
  'openat',
  'fopen',
  'opendir',
  'socket',
  'socketpair',
  'accept',
  'accept4',
  'pipe',
  'pipe2',
  'dup',
  'dup2',
  'dup3',
  'eventfd',
  'epoll_create1',
  'inotify_init1',
  'timerfd_create',
  'memfd_create',
  'mkstemp',
] as const;

/** System calls whose return value is one new fd. */
export const FD_RETURNING = [
  'open',
  'openat',
  'openat2',
  'creat',
  'socket',
  'accept',
  'accept4',
  'dup',
  'dup2',
  'dup3',
  'eventfd',
  'eventfd2',
  'epoll_create',
  'epoll_create1',
  'inotify_init',
  'inotify_init1',
  'timerfd_create',
  'signalfd',
  'signalfd4',
  'memfd_create',
] as const;

export interface ScriptOptions {
  pid: number;
  /** the entry points of LIBC_CREATORS the target's libc exports; empty: no libc mapped (Go, static) */
  libc: readonly string[];
  /** bpftrace ends itself after this many seconds (the window plus a margin), even if proctriage is gone */
  deadlineSeconds: number;
  /** the window: "ready" → "window-end" after this many milliseconds is measured by the runner */
  eventCap?: number;
  stackDepth?: number;
}

const int = (n: number, what: string, max: number): number => {
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new RangeError(`${what} must be a whole number in 0..${max}, not ${n}`);
  return n;
};

export function generateScript(o: ScriptOptions): string {
  const pid = int(o.pid, 'pid', 2 ** 22);
  const deadline = int(o.deadlineSeconds, 'deadline', 86_400);
  const cap = int(o.eventCap ?? TRACE_LIMITS.events, 'event cap', 2 ** 40);
  const depth = int(o.stackDepth ?? TRACE_LIMITS.stackDepth, 'stack depth', 127);
  for (const f of o.libc) if (!(LIBC_CREATORS as readonly string[]).includes(f)) throw new RangeError(`not a known libc entry point: ${f}`);
  const me = `pid == ${pid}`;
  const on = `${me} && @go`;
  const stack = `ustack(perf, ${depth})`;
  // one created fd: attributed to the stack kept at the libc entry, else the one at the syscall
  const created = (fd: string) => [
    // (without libc probes there is no stash: a map bpftrace never sees assigned has no type)
    o.libc.length
      ? `    if (@has[tid]) { @fd[${fd}] = @stash[tid]; @fdra[${fd}] = @ra[tid]; } else { @fd[${fd}] = ${stack}; @fdra[${fd}] = 0; }`
      : `    @fd[${fd}] = ${stack}; @fdra[${fd}] = 0;`,
    `    @opens[@fd[${fd}], @fdra[${fd}]] = count(); @live[@fd[${fd}], @fdra[${fd}]] = sum(1); @ex[@fd[${fd}], @fdra[${fd}]] = ${fd}; @fdt[${fd}] = 1;`,
  ];
  // a dup2/dup3 onto an open fd closes it first: the fd's earlier owner loses it
  const dropped = (fd: string) =>
    `    if (@fdt[${fd}]) { @live[@fd[${fd}], @fdra[${fd}]] = sum(-1); delete(@fd[${fd}]); delete(@fdra[${fd}]); delete(@fdt[${fd}]); }`;
  const counted = [`  @n++;`, `  if (@n > ${cap}) { printf("cap\\n"); exit(); }`];
  const done = o.libc.length ? `  delete(@stash[tid]); delete(@ra[tid]); delete(@has[tid]);` : '';
  const lines: string[] = [
    `// proctriage trace: pid ${pid}, ends itself after ${deadline} s`,
    // uprobes take effect a moment after bpftrace says it attached them: the window opens on the first tick
    `interval:ms:100 /!@go/ { @go = 1; printf("ready\\n"); }`,
    `interval:s:${deadline} { printf("deadline\\n"); exit(); }`,
  ];
  // at a function's entry the caller's return address is at the stack pointer: the kernel's
  // frame-pointer walk starts one frame above it unless the function begins with push %rbp or
  // endbr64 (a wrapper like socket() does not), so it is kept beside the stack
  for (const f of o.libc) lines.push(`uprobe:libc:${f} /${on}/ { @stash[tid] = ${stack}; @ra[tid] = *(uint64 *)uptr(reg("sp")); @has[tid] = 1; }`);
  for (const sc of FD_RETURNING) {
    lines.push(`tracepoint:syscalls:sys_exit_${sc} /${on}/ {`, `  if (args->ret >= 0) {`, `    $fd = args->ret;`);
    if (sc === 'dup2' || sc === 'dup3') lines.push(dropped('$fd'));
    lines.push(...created('$fd'), `  }`, ...counted, done, `}`);
  }
  // fcntl creates an fd only for F_DUPFD (0) and F_DUPFD_CLOEXEC (1030)
  lines.push(
    `tracepoint:syscalls:sys_enter_fcntl /${on}/ { @cmd[tid] = args->cmd; }`,
    `tracepoint:syscalls:sys_exit_fcntl /${on}/ {`,
    `  if ((@cmd[tid] == 0 || @cmd[tid] == 1030) && args->ret >= 0) {`,
    `    $fd = args->ret;`,
    ...created('$fd'),
    ...counted.map((l) => `  ${l}`),
    `  }`,
    `  delete(@cmd[tid]);`,
    done,
    `}`,
  );
  // pipe, pipe2 and socketpair write two fds into the caller's memory: read them at exit
  for (const [sc, arg] of [
    ['pipe', 'fildes'],
    ['pipe2', 'fildes'],
    ['socketpair', 'usockvec'],
  ] as const) {
    lines.push(
      `tracepoint:syscalls:sys_enter_${sc} /${on}/ { @ptr[tid] = (uint64)args->${arg}; }`,
      `tracepoint:syscalls:sys_exit_${sc} /${on}/ {`,
      `  if (args->ret == 0 && @ptr[tid]) {`,
      `    $a = *(int32 *)uptr(@ptr[tid]); $b = *(int32 *)uptr(@ptr[tid] + 4);`,
      ...created('$a'),
      ...created('$b'),
      `  }`,
      ...counted,
      `  delete(@ptr[tid]);`,
      done,
      `}`,
    );
  }
  lines.push(
    `tracepoint:syscalls:sys_enter_close /${on}/ {`,
    `  $fd = args->fd;`,
    dropped('$fd').slice(2),
    ...counted,
    `}`,
    // a bounded walk over the range; what lies beyond it is settled against the fd table at the end
    `tracepoint:syscalls:sys_enter_close_range /${on}/ {`,
    `  $i = args->fd; $k = 0;`,
    `  while ($i <= args->max_fd && $k < ${TRACE_LIMITS.closeRangeWalk}) {`,
    `    if (@fdt[$i]) { @live[@fd[$i], @fdra[$i]] = sum(-1); delete(@fd[$i]); delete(@fdra[$i]); delete(@fdt[$i]); }`,
    `    $i++; $k++;`,
    `  }`,
    ...counted,
    `}`,
    // exec closes the close-on-exec fds and replaces the code the stacks point into: start over
    `tracepoint:syscalls:sys_exit_execve, tracepoint:syscalls:sys_exit_execveat /${on} && args->ret == 0/ {`,
    `  clear(@fd); clear(@fdra); clear(@fdt); clear(@live); clear(@ex);${o.libc.length ? ' clear(@stash); clear(@ra); clear(@has);' : ''} printf("exec\\n");`,
    `}`,
    `tracepoint:sched:sched_process_exit /${me} && tid == ${pid}/ { printf("exit\\n"); exit(); }`,
    `END { clear(@fd); clear(@fdra);${o.libc.length ? ' clear(@stash); clear(@ra); clear(@has);' : ''} clear(@ptr); clear(@cmd); clear(@go); }`,
  );
  return lines.join('\n') + '\n';
}
