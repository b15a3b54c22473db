/** Where a target runs, in a few words for a report header: its container, its pod, its pid inside. Pure. */
import type { TargetReport } from '../engine/report.js';

/** The first 12 hex digits of a container id, as `docker ps` and `crictl ps` show it. */
export function shortId(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}

/** "containerd c8d1f7a2b3e4 · pod 6b7f3c1e-… (burstable) · pid 1 inside", or '' for a host process. */
export function whereText(t: Pick<TargetReport, 'container' | 'nsPid'>): string {
  const parts: string[] = [];
  const c = t.container;
  if (c) {
    if (c.id) parts.push(c.engine === 'unknown' ? `container ${shortId(c.id)}` : `${c.engine} ${shortId(c.id)}`);
    if (c.podUid) parts.push(`pod ${c.podUid}${c.qosClass ? ` (${c.qosClass})` : ''}`);
  }
  if (t.nsPid !== undefined) parts.push(`pid ${t.nsPid} inside`);
  return parts.join(' · ');
}
