/**
 * The only code proctriage ever evaluates inside a Node.js target. Every expression is a
 * constant of this module: nothing from the command line, the target or the network is ever
 * put into them. Each one is an arrow function called in place, so it leaves no binding in
 * the target's global scope, and reaches built-in modules through
 * `process.getBuiltinModule` (Node >= 20.16 / 22.3) or the `require` that
 * `includeCommandLineAPI` provides on older versions, for CommonJS and ES-module targets alike.
 */

/**
 * Cheap, synchronous facts (well under a millisecond in the target): identity, version,
 * memory, heap limit, and active handles/requests counted by type inside the target
 * (sending the list itself would cost kilobytes per thousand handles).
 */
export const STATS_EXPRESSION = `(() => {
  const r = (id) => (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : require(id));
  const m = process.memoryUsage();
  const h = r('v8').getHeapStatistics();
  const out = {
    pid: process.pid, version: process.version,
    heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external,
    arrayBuffers: typeof m.arrayBuffers === 'number' ? m.arrayBuffers : null,
    rss: m.rss, heapLimit: h.heap_size_limit,
    handles: null, requests: null, source: 'none',
  };
  const count = (names) => { const c = {}; for (const n of names) { const k = String(n); c[k] = (c[k] || 0) + 1; } return c; };
  const reqNames = typeof process._getActiveRequests === 'function'
    ? process._getActiveRequests().map((q) => (q && q.constructor && q.constructor.name) || 'Unknown') : null;
  if (typeof process.getActiveResourcesInfo === 'function') {
    const all = count(process.getActiveResourcesInfo());
    const req = reqNames ? count(reqNames) : {};
    if (!reqNames) for (const k of Object.keys(all)) if (/Req/.test(k)) req[k] = all[k];
    for (const k of Object.keys(req)) if (all[k] !== undefined) { all[k] -= req[k]; if (all[k] <= 0) delete all[k]; }
    out.handles = all; out.requests = req; out.source = 'getActiveResourcesInfo';
  } else if (typeof process._getActiveHandles === 'function') {
    out.handles = count(process._getActiveHandles().map((x) => (x && x.constructor && x.constructor.name) || 'Unknown'));
    out.requests = reqNames ? count(reqNames) : {};
    out.source = '_getActiveHandles';
  }
  return out;
})()`;

/**
 * Event-loop delay and the share of time spent in GC over one ~300 ms window. Nothing
 * blocks: a histogram and a GC observer are enabled, a timer waits, both are removed.
 * Histogram values are nanoseconds and include the 10 ms sampling resolution, which is
 * subtracted. Returns null percentiles when the loop recorded no sample.
 */
export const WINDOW_EXPRESSION = `(async () => {
  const r = (id) => (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : require(id));
  const ph = r('perf_hooks');
  const h = ph.monitorEventLoopDelay({ resolution: 10 });
  let gcMs = 0, gcCount = 0, obs = null;
  const add = (list) => { for (const e of list) { gcMs += e.duration; gcCount++; } };
  try {
    obs = new ph.PerformanceObserver((l) => add(l.getEntries()));
    obs.observe({ entryTypes: ['gc'] });
  } catch (e) { obs = null; }
  const t0 = ph.performance.now();
  h.enable();
  try {
    await new Promise((res) => setTimeout(res, 300));
  } finally {
    h.disable();
    if (obs) { try { if (typeof obs.takeRecords === 'function') add(obs.takeRecords()); } catch (e) {} obs.disconnect(); }
  }
  const windowMs = ph.performance.now() - t0;
  const n = typeof h.count === 'number' ? h.count : (h.max > 0 ? 1 : 0);
  const ms = (ns) => Math.max(0, (ns - 10e6) / 1e6);
  return {
    windowMs, samples: n,
    p50: n > 0 ? ms(h.percentile(50)) : null,
    p99: n > 0 ? ms(h.percentile(99)) : null,
    max: n > 0 ? ms(h.max) : null,
    gcMs: obs ? gcMs : null, gcCount,
  };
})()`;

/**
 * Close the inspector that proctriage opened (and cancel the dead-man timer). The close runs
 * on a timer so that the reply to this evaluation still reaches us (closing synchronously
 * would drop it).
 */
export const CLOSE_INSPECTOR_EXPRESSION = `(() => {
  const r = (id) => (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : require(id));
  const inspector = r('inspector');
  const k = Symbol.for('proctriage.deadman');
  if (process[k]) { clearTimeout(process[k]); delete process[k]; }
  setTimeout(() => { try { inspector.close(); } catch (e) {} }, 50);
  return 'ok';
})()`;

/**
 * The dead-man timer, armed in a target whose inspector proctriage opened, the moment it
 * connects, and re-armed every DEADMAN_REARM_MS while it works: if proctriage stops re-arming
 * (killed, crashed), the inspector closes itself DEADMAN_MS (the literal 4000 below) later. The timer is unref'd (it
 * never keeps the process alive) and lives under a registry symbol, not a global name.
 */
export const DEADMAN_MS = 4000;
export const DEADMAN_REARM_MS = 1000;
export const ARM_DEADMAN_EXPRESSION = `(() => {
  const r = (id) => (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : require(id));
  const k = Symbol.for('proctriage.deadman');
  if (process[k]) clearTimeout(process[k]);
  const t = setTimeout(() => { delete process[k]; try { r('inspector').close(); } catch (e) {} }, 4000);
  if (typeof t.unref === 'function') t.unref();
  Object.defineProperty(process, k, { value: t, configurable: true, enumerable: false, writable: true });
  return 'armed';
})()`;

/** Stop the dead-man timer while a heavy tool pauses the target (the guard process still watches). */
export const DISARM_DEADMAN_EXPRESSION = `(() => {
  const k = Symbol.for('proctriage.deadman');
  if (process[k]) { clearTimeout(process[k]); delete process[k]; }
  return 'disarmed';
})()`;

/**
 * The Node diagnostic report, as a JSON string (opt-in with --report: it is synchronous and
 * can block a busy process for hundreds of milliseconds). Redacted by proctriage before it
 * is written anywhere.
 */
export const REPORT_EXPRESSION = `(() => {
  if (!process.report || typeof process.report.getReport !== 'function') return null;
  const x = process.report.getReport();
  return typeof x === 'string' ? x : JSON.stringify(x);
})()`;

/** Every expression above: tests assert that none is built at run time. */
export const ALL_EXPRESSIONS = [STATS_EXPRESSION, WINDOW_EXPRESSION, CLOSE_INSPECTOR_EXPRESSION, ARM_DEADMAN_EXPRESSION, DISARM_DEADMAN_EXPRESSION, REPORT_EXPRESSION] as const;
