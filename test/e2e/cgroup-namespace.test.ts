/**
 * Read from inside a cgroup namespace (as from an ephemeral debug container), a target's cgroup
 * paths are all "/" and name no container. When the target still runs in a cgroup namespace of
 * its own, the report says that the container identity cannot be read from there, and how to get
 * it (--host-root from a node debug pod), instead of reporting a process outside any container.
 * The same target read from the host is named; a process sharing proctriage's namespace gets no
 * such note. Real cgroups (laid out like a Kubernetes pod) and namespaces (unshare --cgroup).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cleanup, runCli, runJson, spawnTracked, waitFor, which } from '../helpers/processes.js';
import { ReportSchema } from '../../src/engine/report-schema.js';
import { createPodCgroup, memoryCgroupUnavailable, removePodCgroup, type PodCgroup } from '../helpers/cgroup.js';

const pods: PodCgroup[] = [];
after(async () => {
  await cleanup();
  for (const p of pods) await removePodCgroup(p);
  for (const p of pods) assert.equal(existsSync(p.top), false, 'the cgroups are removed');
});

function unavailable(): string | undefined {
  const cg = memoryCgroupUnavailable();
  if (cg) return cg;
  if (!which('unshare')) return 'unshare is not installed (util-linux)';
  const r = spawnSync('unshare', ['--cgroup', 'true']);
  if (r.status !== 0) return `cannot create a cgroup namespace here (unshare --cgroup: ${r.stderr?.toString().trim()})`;
  return undefined;
}
const skip = unavailable();
if (skip) console.log(`# cgroup-namespace: skipped: ${skip}`);

/** Put the shell in the pod's cgroup, then run the command in a cgroup namespace rooted there. */
const inPodNamespace = (pod: PodCgroup) => ['sh', '-c', `echo $$ > ${pod.leaf}/cgroup.procs && exec unshare --cgroup "$@"`, 'sh'];

async function podTarget(pod: PodCgroup, ownNamespace: boolean): Promise<number> {
  // the container's process: in the pod's cgroup, in a cgroup namespace of its own (or the one the test made)
  const sp = spawnTracked('sh', ['-c', `echo $$ > ${pod.leaf}/cgroup.procs && exec ${ownNamespace ? 'unshare --cgroup ' : ''}sleep 120`]);
  await waitFor(
    () => {
      try {
        return readFileSync(`/proc/${sp.pid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    },
    5000,
    'the target to run',
  );
  return sp.pid;
}

const note = (t: any) => t.unknowns.find((u: any) => u.metric === 'container');

describe('a target seen from inside a cgroup namespace', { skip }, () => {
  test('in a namespace of its own: no container named, and the report says why and what to run', async () => {
    const pod = createPodCgroup();
    pods.push(pod);
    const pid = await podTarget(pod, true);
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/cgroup`), readlinkSync('/proc/self/ns/cgroup'));
    // from the host: the pod and container are named, no note
    const host = await runJson([String(pid)]);
    assert.deepEqual(host.report.targets[0].container, { engine: 'unknown', id: pod.id, podUid: pod.uid, qosClass: 'burstable' });
    assert.equal(note(host.report.targets[0]), undefined);
    // from a cgroup namespace rooted at the pod's container cgroup (a debug container's view)
    const inside = await runJson([String(pid)], { prefix: inPodNamespace(pod) });
    assert.ok(ReportSchema.safeParse(inside.report).success, 'the report schema holds');
    const t = inside.report.targets[0];
    assert.equal(t.container, undefined, inside.res.stderr);
    const u = note(t);
    assert.ok(u, JSON.stringify(t.unknowns));
    assert.equal(u.probe, 'cgroup');
    assert.match(
      u.reason,
      /cgroup path reads as "\/" .* yet it runs in a cgroup namespace of its own; from inside a cgroup namespace the container's identity cannot be read/,
    );
    assert.match(u.hint, /--host-root \/host/);
    // the text report shows it too
    const text = await runCli([String(pid)], { prefix: inPodNamespace(pod) });
    assert.match(text.stdout, /the container's identity cannot be read/, text.stderr);
  });

  test('sharing proctriage\'s cgroup namespace (same root): "/" is simply where it is, no note', async () => {
    const pod = createPodCgroup();
    pods.push(pod);
    // a shell in a cgroup namespace rooted at the pod's cgroup, and its child sleep, which shares it
    const sp = spawnTracked('sh', ['-c', `echo $$ > ${pod.leaf}/cgroup.procs && exec unshare --cgroup sh -c 'sleep 120 & echo $! ; exec sleep 120'`]);
    let out = '';
    sp.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const pid = Number(await waitFor(() => /^\d+\n/.test(out) && out.trim(), 5000, "the target's pid"));
    // proctriage enters the namespace of the shell that holds both (nsenter --cgroup)
    const inside = await runJson([String(pid)], { prefix: ['nsenter', `--cgroup=/proc/${sp.pid}/ns/cgroup`, '--'] });
    const t = inside.report.targets[0];
    assert.equal(readlinkSync(`/proc/${pid}/ns/cgroup`), readlinkSync(`/proc/${sp.pid}/ns/cgroup`));
    assert.equal(t.container, undefined, inside.res.stderr);
    assert.equal(note(t), undefined, JSON.stringify(t.unknowns));
  });
});
