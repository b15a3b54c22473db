/**
 * The bounds of one trace. Numbers, not sentences: they bound what the kernel keeps and what
 * proctriage reads back, so a trace of a process opening a million files costs the same memory
 * as one of a quiet process.
 */
export const TRACE_LIMITS = {
  /** events (creations and closes) before the trace stops itself: about 2 min at 40 000/s */
  events: 5_000_000,
  /** frames kept per stack: deep enough for a framework's call chain, small for the kernel's stack map */
  stackDepth: 32,
  /** keys per bpftrace map (BPFTRACE_MAP_KEYS_MAX): fds tracked, distinct stacks kept */
  mapKeys: 65_536,
  /** fds one close_range walks in the kernel; the rest is settled against the fd table at the end */
  closeRangeWalk: 1024,
  /** bytes of bpftrace output read back: the maps at the end, a line per event otherwise */
  outputBytes: 64 * 2 ** 20,
  /** the tracer's own deadline past the window: it ends itself even if proctriage is killed */
  marginSeconds: 15,
  /** stacks shown in a report (the JSON keeps these too) */
  stacksShown: 20,
  /** the tracer must say it is ready within this long (compiling and attaching some 60 probes) */
  startMs: 30_000,
  /**
   * once told to stop, the tracer names every frame before it prints: for a binary with a large
   * symbol table (node: 5-6 s with the symbol cache, 50 s without) that takes a while; after
   * this long it is killed
   */
  stopMs: 90_000,
} as const;
