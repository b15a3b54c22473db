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
 * (sending the list itself would cost kilobytes per thousand handles). The old generation's
 * used and committed sizes are summed over every heap space but the young ones (and the empty
 * read-only space); the heap flags are parsed here so that only numbers leave the target (execArgv
 * wins over NODE_OPTIONS, the last occurrence over earlier ones, as in Node).
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
    oldUsed: null, oldCommitted: null, heapFlags: null, v8: process.versions && process.versions.v8 ? String(process.versions.v8) : null,
    handles: null, requests: null, source: 'none',
  };
  const v8m = r('v8');
  if (typeof v8m.getHeapSpaceStatistics === 'function') {
    let old = 0, committed = 0;
    for (const sp of v8m.getHeapSpaceStatistics()) {
      if (/^(new_space|new_large_object_space|read_only_space)$/.test(sp.space_name)) continue;
      old += sp.space_used_size;
      committed += sp.space_size;
    }
    out.oldUsed = old;
    out.oldCommitted = committed;
  }
  const flag = (args, re) => {
    let v = null;
    for (let i = 0; i < args.length; i++) {
      const a = String(args[i]).replace(/_/g, '-');
      const mm = re.exec(a);
      if (!mm) continue;
      const x = mm[1] !== undefined ? mm[1] : args[i + 1];
      if (/^[0-9]+(\\.[0-9]+)?$/.test(String(x))) v = Number(x);
    }
    return v;
  };
  const fromEnv = typeof process.env.NODE_OPTIONS === 'string' ? process.env.NODE_OPTIONS.split(/\\s+/).filter(Boolean) : [];
  const both = (re) => { const a = flag(process.execArgv || [], re); return a !== null ? a : flag(fromEnv, re); };
  out.heapFlags = {
    maxOldSpaceMb: both(/^--max-old-space-size(?:=(.*))?$/),
    maxOldSpacePercentage: both(/^--max-old-space-size-percentage(?:=(.*))?$/),
    maxSemiSpaceMb: both(/^--max-semi-space-size(?:=(.*))?$/),
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
 * Event-loop delay, event-loop utilisation and the share of time spent in GC over one window.
 * Nothing blocks: a histogram and a GC observer are enabled, timers wait, both are removed.
 * Histogram values are nanoseconds and include the 10 ms sampling resolution, which is
 * subtracted. The longest delay is the larger of the histogram's maximum and the lateness of
 * our own timers (a timer that fires after a block may run before the histogram records it).
 *
 * The evaluation itself only starts when the loop is free, so a loop blocked most of the time
 * is always met at the start of a gap, and a short window can fit inside that gap and see
 * nothing. Hence the window is 300 ms, extended to 2.2 s in total when there is any sign of a
 * busy loop: a timer at least 50 ms late, a utilisation of at least 0.5 in the window or over
 * the loop's life, or when the caller asks (it saw its request wait for the loop). A window
 * longer than the period of a periodic block always contains one whole block: every block
 * period up to 2.2 s is then seen in full, whatever the phase.
 */
const WINDOW_FUNCTION = `(async (forceLong) => {
  const r = (id) => (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : require(id));
  const ph = r('perf_hooks');
  const perf = ph.performance;
  const SHORT = 300, LONG = 2200, RES = 10;
  const h = ph.monitorEventLoopDelay({ resolution: RES });
  const elu = typeof perf.eventLoopUtilization === 'function' ? (a) => perf.eventLoopUtilization(a) : null;
  let gcMs = 0, gcCount = 0, obs = null, late = 0, extended = false;
  const add = (list) => { for (const e of list) { gcMs += e.duration; gcCount++; } };
  try {
    obs = new ph.PerformanceObserver((l) => add(l.getEntries()));
    obs.observe({ entryTypes: ['gc'] });
  } catch (e) { obs = null; }
  const life = elu ? elu() : null;
  const t0 = perf.now();
  h.enable();
  const wait = (ms) => new Promise((res) => {
    const due = perf.now() + ms;
    setTimeout(() => { late = Math.max(late, perf.now() - due); res(); }, ms);
  });
  try {
    await wait(SHORT);
    const busy = elu && life ? elu(life).utilization : 0;
    const lifeBusy = life && typeof life.utilization === 'number' ? life.utilization : 0;
    if (forceLong || late >= 50 || h.max - RES * 1e6 >= 50e6 || busy >= 0.5 || lifeBusy >= 0.5) {
      extended = true;
      await wait(Math.max(1, LONG - (perf.now() - t0)));
    }
  } finally {
    h.disable();
    if (obs) { try { if (typeof obs.takeRecords === 'function') add(obs.takeRecords()); } catch (e) {} obs.disconnect(); }
  }
  const windowMs = perf.now() - t0;
  const u = elu && life ? elu(life) : null;
  const n = typeof h.count === 'number' ? h.count : (h.max > 0 ? 1 : 0);
  const ms = (ns) => Math.max(0, (ns - RES * 1e6) / 1e6);
  return {
    windowMs, samples: n, extended,
    p50: n > 0 ? ms(h.percentile(50)) : null,
    p99: n > 0 ? ms(h.percentile(99)) : null,
    max: Math.max(n > 0 ? ms(h.max) : 0, late),
    utilization: u && typeof u.utilization === 'number' ? u.utilization : null,
    lifeUtilization: life && typeof life.utilization === 'number' ? life.utilization : null,
    gcMs: obs ? gcMs : null, gcCount,
  };
})`;

/** The window, 300 ms unless the loop looks busy (then 2.2 s). */
export const WINDOW_EXPRESSION = WINDOW_FUNCTION + '(false)';
/** The window at its full 2.2 s, for a target whose loop kept our request waiting. */
export const LONG_WINDOW_EXPRESSION = WINDOW_FUNCTION + '(true)';

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

/**
 * The prototype of Node's Timeout objects, returned by reference (Runtime.queryObjects then
 * lists every live object built on it: the active timers are not reachable from user land). A
 * timer is made and cleared at once to reach it; it never fires.
 */
export const TIMEOUT_PROTOTYPE_EXPRESSION = `(() => {
  const t = setTimeout(() => {}, 2147483647);
  clearTimeout(t);
  return Object.getPrototypeOf(t);
})()`;

/**
 * Called on the array Runtime.queryObjects returned (`this`): the active timers (not cleared,
 * with a callback) grouped by their callback function, largest groups first, at most 200 of
 * them. The groups' counts by value (`meta`) and their functions by reference (`fns`), whose
 * [[FunctionLocation]] only the inspector can read. Index loops only: nothing the target may
 * have patched (iterators, Array methods) is relied on.
 */
export const GROUP_TIMERS_FUNCTION = `function () {
  const by = new Map();
  let total = 0;
  for (let i = 0; i < this.length; i++) {
    const t = this[i];
    if (!t || t._destroyed === true || typeof t._onTimeout !== 'function') continue;
    total++;
    const rep = t._repeat !== null && t._repeat !== undefined ? 1 : 0;
    const e = by.get(t._onTimeout);
    if (e) { e.n++; e.intervals += rep; } else by.set(t._onTimeout, { f: t._onTimeout, n: 1, intervals: rep });
  }
  const all = [];
  by.forEach((e) => { all.push(e); });
  all.sort((a, b) => b.n - a.n);
  const top = all.slice(0, 200);
  const meta = { total: total, unique: all.length, groups: [] };
  const fns = [];
  for (let i = 0; i < top.length; i++) {
    const f = top[i].f;
    meta.groups.push({ name: typeof f.name === 'string' ? f.name.slice(0, 200) : '', n: top[i].n, intervals: top[i].intervals });
    fns.push(f);
  }
  return { meta: meta, fns: fns };
}`;
/** The counts of GROUP_TIMERS_FUNCTION's result, by value. */
export const TIMER_META_FUNCTION = 'function () { return this.meta; }';
/** The callbacks of GROUP_TIMERS_FUNCTION's result, by reference. */
export const TIMER_FNS_FUNCTION = 'function () { return this.fns; }';

/**
 * Open sockets among the active handles grouped by the other end: an outgoing socket by its
 * remote address and port, an accepted one by the client's address and our local port (its
 * remote port is ephemeral). Counted inside the target; the 20 largest groups leave it.
 */
export const PEERS_EXPRESSION = `(() => {
  if (typeof process._getActiveHandles !== 'function') return null;
  const hs = process._getActiveHandles();
  const c = new Map();
  let sockets = 0;
  const host = (a) => (a.indexOf(':') >= 0 ? '[' + a + ']' : a);
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i];
    let ra, rp;
    try { ra = h && h.remoteAddress; rp = h && h.remotePort; } catch (e) { continue; }
    if (typeof ra !== 'string' || typeof rp !== 'number') continue;
    sockets++;
    const k = h.server ? host(ra) + ' → :' + h.localPort : host(ra) + ':' + rp;
    c.set(k, (c.get(k) || 0) + 1);
  }
  const all = [];
  c.forEach((n, peer) => { all.push({ peer: peer, n: n, inbound: peer.indexOf(' → ') >= 0 }); });
  all.sort((a, b) => b.n - a.n);
  return { sockets: sockets, distinct: all.length, peers: all.slice(0, 20) };
})()`;

/** Every expression above: tests assert that none is built at run time. */
export const ALL_EXPRESSIONS = [
  STATS_EXPRESSION,
  WINDOW_EXPRESSION,
  LONG_WINDOW_EXPRESSION,
  CLOSE_INSPECTOR_EXPRESSION,
  ARM_DEADMAN_EXPRESSION,
  DISARM_DEADMAN_EXPRESSION,
  REPORT_EXPRESSION,
  TIMEOUT_PROTOTYPE_EXPRESSION,
  PEERS_EXPRESSION,
] as const;
/** Every function declaration called on an object of the target's (Runtime.callFunctionOn). */
export const ALL_FUNCTIONS = [GROUP_TIMERS_FUNCTION, TIMER_META_FUNCTION, TIMER_FNS_FUNCTION] as const;
