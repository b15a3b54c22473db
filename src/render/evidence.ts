import type { MetricUnits } from '../engine/units.js';
import { formatBytes } from '../engine/format.js';
import { say } from '../messages.js';

/** One evidence entry as a short line of text (shared by the terminal and markdown views). */
export function evidenceText(key: string, value: unknown, units: MetricUnits): string {
  const formatMetric = units.format;
  if (key === 'fleet' && value && typeof value === 'object' && !Array.isArray(value)) return fleetText(value as Record<string, unknown>, units);
  if (Array.isArray(value)) {
    if (!value.length) return 'none';
    return value.map(itemText).join(', ');
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== 0);
    if (!entries.length) return 'none';
    return entries.map(([k, v]) => `${k} ${formatMetric(`${key}.${k}`, v)}`).join(', ');
  }
  return formatMetric(key, value);
}

/**
 * A replica against its peers, as an engineer reads it: "fd.open 3.2× the median of its 4 peers;
 * memory.rss 1.4×; like its peers: threads". A ratio of 1 is within the playbook's floor (noise).
 */
function fleetText(fleet: Record<string, unknown>, units: MetricUnits): string {
  const formatMetric = units.format;
  const peers = typeof fleet.peers === 'number' ? fleet.peers : undefined;
  const ratios = Object.entries(fleet).flatMap(([k, v]) => (k.endsWith('.ratio') && typeof v === 'number' ? [[k.slice(0, -'.ratio'.length), v] as const] : []));
  const apart = ratios.filter(([, v]) => v !== 1).sort((a, b) => b[1] - a[1]);
  const alike = ratios.filter(([, v]) => v === 1).map(([k]) => k);
  const parts = apart.map(([k, v], i) =>
    i === 0 && peers !== undefined
      ? say('fleet.apart', { metric: k, times: formatMetric(`fleet.${k}.ratio`, v), peers })
      : `${k} ${formatMetric(`fleet.${k}.ratio`, v)}`,
  );
  if (alike.length) parts.push(say('fleet.alike', { metrics: alike.join(', ') }));
  return parts.length ? parts.join('; ') : 'none';
}

function itemText(item: unknown): string {
  if (!item || typeof item !== 'object') return String(item);
  const o = item as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  if ('endpoint' in o && 'count' in o) return `${s(o.endpoint)} ×${s(o.count)}`;
  if ('pattern' in o && 'count' in o) return `${s(o.pattern)} ×${s(o.count)}`;
  if ('path' in o && 'fd' in o) return `${s(o.path)} (${typeof o.bytes === 'number' ? formatBytes(o.bytes) : 'size unknown'}, fd ${s(o.fd)})`;
  if ('type' in o && 'count' in o) return `${s(o.type)} ×${s(o.count)}`;
  if ('function' in o && 'count' in o) return `${s(o.function)} ×${s(o.count)}`;
  return Object.entries(o)
    .map(([k, v]) => `${k}=${s(v)}`)
    .join(' ');
}

/**
 * The headline numbers shown for every target, in order, when present. The cgroup's usage is
 * the whole group's (other processes included), so it is shown only next to its limit.
 */
export function keyMetrics(metrics: Record<string, unknown>): string[] {
  return KEY_METRICS.filter((k) => k in metrics && (!k.startsWith('cgroup.memory.') || 'cgroup.memory.limit' in metrics));
}

/** Metric keys in the order of the report's key numbers, then the rest alphabetically. */
export function keyNumbersFirst(keys: string[]): string[] {
  const rank = (k: string) => {
    const i = KEY_METRICS.indexOf(k);
    return i < 0 ? KEY_METRICS.length : i;
  };
  return [...keys].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

const KEY_METRICS = [
  'fd.open',
  'fd.limit',
  'fd.utilization',
  'sockets.tcp.established',
  'sockets.tcp.closeWait',
  'sockets.tcp.timeWait',
  'memory.rss',
  'cgroup.memory.unreclaimable',
  'cgroup.memory.limit',
  'cgroup.memory.utilization',
  'cgroup.memory.oomKills',
  'threads',
  'cpu.percent',
  'node.heap.used',
  'node.heap.limit',
  'node.handles.total',
  'node.eventLoop.delayP99Ms',
  'go.goroutines',
  'go.heap.alloc',
  'go.gc.cpuFraction',
];
