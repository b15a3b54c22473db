/**
 * Which container (and Kubernetes pod) a process runs in, read from its cgroup paths
 * (/proc/PID/cgroup, v1 and v2, cgroupfs and systemd drivers). Pure: the paths in, a name out.
 *
 * Shapes recognised (the id is the last 64-hex run of the path, the one nearest the process):
 * - Kubernetes: `/kubepods/burstable/pod<uid>/<id>` (cgroupfs),
 *   `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope`
 *   (systemd: the uid's dashes become underscores). No QoS level under kubepods = guaranteed.
 * - docker: `/docker/<id>`, `/system.slice/docker-<id>.scope`
 * - containerd: `cri-containerd-<id>.scope`, `/containerd/<id>`; a bare id in a pod (cgroupfs driver) is engine "unknown"
 * - CRI-O: `crio-<id>.scope`, `crio-conmon-<id>.scope`
 * - podman: `libpod-<id>.scope`, `/libpod_parent/libpod-<id>`, `libpod-conmon-<id>.scope`
 * - systemd-nspawn / machined: `/machine.slice/machine-<name>.scope`
 * Input is bounded by the kernel (PATH_MAX per line); every pattern runs in linear time.
 */
import { parseProcCgroup } from './cgroup.js';

/** 'kubernetes': a pod's own cgroup (no container id); 'unknown': an id in a pod whose runtime the path does not name */
export type ContainerEngine = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'systemd-nspawn' | 'kubernetes' | 'unknown';
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

export interface ContainerIdentity {
  engine: ContainerEngine;
  /** the container id (64 hex digits), for a machine its name, '' for a pod's own cgroup */
  id: string;
  /** Kubernetes pod uid (dashed form) */
  podUid?: string;
  qosClass?: QosClass;
}

const HEX64 = /[0-9a-f]{64}/g;
const UUID_DASHED = /^([0-9a-f]{8})[-_]([0-9a-f]{4})[-_]([0-9a-f]{4})[-_]([0-9a-f]{4})[-_]([0-9a-f]{12})$/;

/** The engine a path component names before its id ("docker-<id>.scope", "crio-<id>", "libpod-<id>" …). */
function engineOf(component: string): ContainerEngine | undefined {
  if (/^docker(?:[-.]|$)/.test(component)) return 'docker';
  if (/^(?:cri-)?containerd(?:[-.]|$)/.test(component)) return 'containerd';
  if (/^crio(?:[-.]|$)/.test(component)) return 'cri-o';
  if (/^libpod(?:[-_.]|$)/.test(component)) return 'podman';
  return undefined;
}

/** The identity in one cgroup path, or undefined when the path names no container. */
export function containerFromPath(path: string): ContainerIdentity | undefined {
  if (path.length > 4096) return undefined;
  // "…/kubepods-burstable-pod<uid>.slice:cri-containerd:<id>" (a systemd cgroupsPath as some runtimes record it) reads like the slash form
  const parts = path.split(/[/:]/).filter(Boolean);
  // a Kubernetes pod: kubepods[.slice] [/ kubepods-<qos>.slice | /<qos>] / [kubepods-<qos>-]pod<uid>[.slice]
  let podUid: string | undefined;
  let qosClass: QosClass | undefined;
  const kube = parts.some((p) => p.startsWith('kubepods'));
  if (kube) {
    for (const p of parts) {
      const q = /^(?:kubepods-)?(burstable|besteffort)(?:\.slice)?$/.exec(p);
      if (q) qosClass = q[1] as QosClass;
      const pod = /^(?:kubepods-(?:(burstable|besteffort)-)?)?pod([0-9a-f_-]{36})(?:\.slice)?$/.exec(p);
      const m = pod && UUID_DASHED.exec(pod[2]!);
      if (m) {
        podUid = m.slice(1, 6).join('-');
        if (pod[1]) qosClass = pod[1] as QosClass;
      }
    }
    if (podUid) qosClass ??= 'guaranteed';
  }
  const pod = podUid ? { podUid, qosClass: qosClass ?? 'guaranteed' } : {};

  // the container id: the innermost component holding 64 hex digits
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i]!;
    if (p.length > 200) continue;
    const ids = p.match(HEX64);
    if (!ids) continue;
    const id = ids[ids.length - 1]!;
    // named in the component ("docker-<id>.scope") or by its parent ("/docker/<id>", "cri-containerd:<id>")
    const engine = engineOf(p) ?? (p === id ? engineOf(parts[i - 1] ?? '') : undefined);
    if (engine) return { engine, id, ...pod };
    // a bare id in a pod: the runtime does not name itself (cgroupfs driver: containerd or docker)
    if (p === id && podUid) return { engine: 'unknown', id, ...pod };
  }
  if (podUid) return { engine: 'kubernetes', id: '', ...pod };
  // systemd-nspawn / machinectl: /machine.slice/machine-<name>.scope
  for (const p of parts) {
    const m = /^machine-(.{1,128})\.scope$/.exec(p);
    if (m) return { engine: 'systemd-nspawn', id: m[1]!.replace(/\\x2d/g, '-') };
  }
  return undefined;
}

/**
 * The container of a process from its /proc/PID/cgroup text: the v2 line first (it is the one
 * a container runtime manages on a v2 host), then the v1 lines (memory, then any), first match.
 * Undefined for a process in no container (a plain systemd service, a login session).
 */
export function parseContainer(cgroupText: string): ContainerIdentity | undefined {
  let lines;
  try {
    lines = parseProcCgroup(cgroupText);
  } catch {
    return undefined;
  }
  const order = [
    ...lines.filter((l) => l.hierarchyId === 0 && l.controllers.length === 0),
    ...lines.filter((l) => l.controllers.includes('memory')),
    ...lines.filter((l) => l.hierarchyId !== 0 && !l.controllers.includes('memory')),
  ];
  for (const l of order) {
    const c = containerFromPath(l.path);
    if (c) return c;
  }
  return undefined;
}

/**
 * Is every cgroup path of the text "/" (the root of the reader's cgroup namespace)? Such a
 * process names no container by its cgroup; when it still runs in another root or cgroup
 * namespace than ours, we read from inside a namespace that hides where it is.
 */
export function cgroupAtNamespaceRoot(cgroupText: string): boolean {
  let lines;
  try {
    lines = parseProcCgroup(cgroupText);
  } catch {
    return false;
  }
  return lines.length > 0 && lines.every((l) => l.path === '/');
}
