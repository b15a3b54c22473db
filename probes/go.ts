import type { Probe, ProbeContext } from '../src/engine/probe.js';
import { say } from '../src/messages.js';
import { identifyRuntime } from './runtime.js';

// the reading (pprof, profiles, goroutines: about a quarter of the probes' code) loads for a Go target only
const reading = () => import('./go/read.js');

/**
 * A Go process through net/http/pprof: goroutine count and the stacks they are parked in,
 * heap and GC totals, the memory limit in force; GOGC / GOMAXPROCS from the environment.
 * With --pprof the given endpoint is used (loopback only unless --allow-remote); with a PID
 * alone, the process's own loopback listeners are asked GET /debug/pprof/.
 */
export const probe: Probe = {
  meta: {
    id: 'go',
    description: 'Go runtime through net/http/pprof: goroutines and their top stacks, heap, GC, memory limit; GOGC/GOMAXPROCS from environ',
    runtime: 'go',
    requestedBy: ['pprof'],
    timeoutMs: 6000,
    facts: {
      'go.goroutines': { unit: 'count', description: 'goroutines, as counted by the runtime (includes the one serving our request)' },
      'go.heap.alloc': { unit: 'bytes', description: 'MemStats.HeapAlloc: bytes of allocated heap objects' },
      'go.heap.sys': { unit: 'bytes', description: 'MemStats.HeapSys: heap memory obtained from the OS' },
      'go.gc.cpuFraction': { unit: 'ratio', description: 'MemStats.GCCPUFraction: share of CPU time spent in GC since the process started' },
      'go.numGC': { unit: 'count', description: 'completed GC cycles' },
      'go.memLimit': {
        unit: 'bytes',
        description: 'memory limit in force as published by the service in /debug/vars (absent when none is in force or none is published)',
      },
      'go.gogcEnv': { unit: 'count', description: 'GOGC from the environment (percent; -1 = off)' },
      'go.maxProcsEnv': { unit: 'count', description: 'GOMAXPROCS from the environment' },
      'go.version': { unit: 'string', description: 'Go version the executable was built with (build info)' },
      'go.cpu.loneGoroutinePercent': {
        unit: 'percent',
        description:
          'CPU of the busiest goroutine a 2 s CPU profile can charge on its own (alive at three goroutine dumps over it, the only one started by its function), percent of one core; on demand',
      },
    },
    evidence: {
      'go.topStacks': 'largest goroutine groups: {count, function (top meaningful frame), frames, state?, waitMinutes?, createdBy?, labels?}',
      'go.pprofUrl': 'base URL of the pprof endpoint that was read',
      'go.heap.sites': 'attribution: what holds heap memory now, in-use bytes by allocating site (heap profile; on demand)',
      'go.heap.allocs': 'attribution: what allocates the most, bytes allocated since the start by allocating site (heap profile; on demand)',
      'go.heap.growth': 'attribution: what grew over a watch, in-use bytes by allocating site at the end minus at the start (two heap profiles)',
      'go.cpu.top': 'attribution: functions by self CPU samples, with cumulative samples (a short CPU profile; on demand)',
      'go.cpu.loneGoroutine': 'the goroutine go.cpu.loneGoroutinePercent was measured on: {percent, id, function (where it started)}',
      'go.goroutines.leaked':
        'attribution: goroutines the runtime proved leaked, by parking site (goroutine leak profile, Go 1.26 experiment / 1.27+; on demand)',
    },
    onDemand: ['go.cpu.loneGoroutinePercent', 'go.heap.sites', 'go.heap.allocs', 'go.cpu.top', 'go.goroutines.leaked'],
  },
  async run(ctx) {
    const id = identifyRuntime(ctx.sources);
    if (!readsGo(ctx, id.runtime)) {
      const why = id.runtime === 'unknown' ? say('go.notGo') : say('go.notGoRuntime', { runtime: id.runtime });
      return { metrics: {}, skipped: ctx.options.pprof ? say('go.pprofNotUsed', { why }) : why };
    }
    return (await reading()).runGo(ctx, id);
  },
  followUp: async (keys, ctx) => (await reading()).followUpGo(keys, ctx, probe.meta.timeoutMs),
  window: async (ctx) => (readsGo(ctx, identifyRuntime(ctx.sources).runtime) ? (await reading()).heapWindow(ctx) : undefined),
};

/** A Go target, or one whose runtime is unknown when --pprof names its endpoint. */
function readsGo(ctx: ProbeContext, runtime: string): boolean {
  return runtime === 'go' || (!!ctx.options.pprof && runtime === 'unknown');
}
