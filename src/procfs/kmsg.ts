/**
 * OOM kills in the kernel log (/dev/kmsg records: "prio,seq,usecs,flags;message"). Each kill logs
 * "oom-kill:constraint=…,oom_memcg=/a,task_memcg=/a/b,task=python3,pid=8504,uid=0": the cgroup
 * whose limit was hit, the victim's cgroup, name and pid, at a time in microseconds since boot.
 */
export interface OomKill {
  /** seconds since boot */
  at: number;
  /** the cgroup whose limit was hit (path in its hierarchy), absent for a global OOM */
  oomMemcg?: string;
  taskMemcg?: string;
  task: string;
  pid: number;
}

const RECORD = /^\d+,\d+,(\d+),[^;]*;oom-kill:(.*)$/;

export function parseOomKills(text: string): OomKill[] {
  const out: OomKill[] = [];
  for (const line of text.split('\n')) {
    const [, at, record] = RECORD.exec(line) ?? [];
    if (at === undefined || record === undefined) continue;
    const fields = new Map<string, string>();
    for (const part of record.split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
    }
    const pid = Number(fields.get('pid'));
    if (!Number.isSafeInteger(pid)) continue;
    const oomMemcg = fields.get('oom_memcg'),
      taskMemcg = fields.get('task_memcg');
    out.push({
      at: Number(at) / 1e6,
      ...(oomMemcg && oomMemcg !== '(null)' ? { oomMemcg } : {}),
      ...(taskMemcg && taskMemcg !== '(null)' ? { taskMemcg } : {}),
      task: fields.get('task') ?? '?',
      pid,
    });
  }
  return out;
}
