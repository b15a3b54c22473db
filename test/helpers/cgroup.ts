/**
 * Real memory cgroups for the end-to-end tests (v1 memory controller, as root). Every cgroup
 * created here is tracked: removeAll() kills what is still inside and removes the directory.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';

export const V1_MEMORY = '/sys/fs/cgroup/memory';
export const V1_CPU = '/sys/fs/cgroup/cpu';

/** Why memory cgroup tests cannot run here, or undefined when they can. */
export function memoryCgroupUnavailable(): string | undefined {
  if (!existsSync(join(V1_MEMORY, 'memory.limit_in_bytes'))) return `no cgroup v1 memory controller at ${V1_MEMORY}`;
  try {
    accessSync(V1_MEMORY, constants.W_OK);
  } catch {
    return `${V1_MEMORY} is not writable (run as root)`;
  }
  const probe = join(V1_MEMORY, `proctriage-test-probe-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (err) {
    return `cannot create a cgroup under ${V1_MEMORY}: ${(err as Error).message}`;
  }
  return undefined;
}

const created = new Set<string>();

/** Create /sys/fs/cgroup/memory/proctriage-test-<random> with a memory limit. */
export function createMemoryCgroup(limitBytes: number): string {
  const dir = join(V1_MEMORY, `proctriage-test-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir);
  created.add(dir);
  writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
  return dir;
}

/** Why CPU cgroup tests cannot run here, or undefined when they can. */
export function cpuCgroupUnavailable(): string | undefined {
  if (!existsSync(join(V1_CPU, 'cpu.cfs_quota_us'))) return `no cgroup v1 cpu controller at ${V1_CPU}`;
  try {
    accessSync(V1_CPU, constants.W_OK);
  } catch {
    return `${V1_CPU} is not writable (run as root)`;
  }
  return undefined;
}

/** Create /sys/fs/cgroup/cpu/proctriage-test-<random> with a CPU quota of `cores` (100 ms periods). */
export function createCpuCgroup(cores: number): string {
  const dir = join(V1_CPU, `proctriage-test-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir);
  created.add(dir);
  writeFileSync(join(dir, 'cpu.cfs_period_us'), '100000');
  writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(cores * 100_000)));
  return dir;
}

export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Kill everything in the cgroup, wait (bounded) until it is empty, then remove it. */
export async function removeCgroup(dir: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const pids = cgroupPids(dir);
    if (!pids.length) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  for (let i = 0; i < 40; i++) {
    try {
      if (existsSync(dir)) rmdirSync(dir);
      created.delete(dir);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50)); // the last exits may still be in flight
    }
  }
  throw new Error(`could not remove cgroup ${dir}`);
}

export async function removeAllCgroups(): Promise<void> {
  const errors: string[] = [];
  for (const dir of [...created]) {
    try {
      await removeCgroup(dir);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) throw new Error(errors.join('; '));
}

/** A cgroup laid out like a Kubernetes pod's container (cgroupfs driver, burstable), v1 memory. */
export interface PodCgroup {
  /** the test's own top directory (removed with everything under it) */
  top: string;
  /** kubepods/burstable/pod<uid>/<id>: where the container's processes go */
  leaf: string;
  uid: string;
  id: string;
}

export function createPodCgroup(): PodCgroup {
  const top = join(V1_MEMORY, `proctriage-test-${randomBytes(6).toString('hex')}`);
  const uid = randomUUID();
  const id = randomBytes(32).toString('hex');
  const leaf = join(top, 'kubepods', 'burstable', `pod${uid}`, id);
  mkdirSync(leaf, { recursive: true });
  return { top, leaf, uid, id };
}

/** Kill what is left in the pod's cgroup and remove its directories, leaf first. */
export async function removePodCgroup(pod: PodCgroup): Promise<void> {
  for (let d = pod.leaf; d.startsWith(pod.top); d = join(d, '..')) await removeCgroup(d);
}
