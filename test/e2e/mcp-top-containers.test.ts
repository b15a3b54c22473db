/**
 * The MCP `top` tool's container and pod filters, over a real stdio session with the built CLI:
 * a process in a cgroup laid out like a Kubernetes pod is the only one `top` returns for that
 * pod's uid (whole, a prefix, the systemd driver's underscores) or for a prefix of its container
 * id; an id that matches nothing returns no process; a malformed uid is a one-line tool error,
 * after which the server still answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { cleanup, spawnTracked, waitFor, type Spawned } from '../helpers/processes.js';
import { startMcpSession, type McpSession } from '../helpers/mcp.js';
import { createPodCgroup, memoryCgroupUnavailable, removePodCgroup, type PodCgroup } from '../helpers/cgroup.js';
import { ReportSchema } from '../../src/engine/report-schema.js';

const skip = memoryCgroupUnavailable();
if (skip) console.log(`# mcp top containers: skipped: ${skip}`);

let mcp: McpSession;
let client: McpSession['client'];
let pod: PodCgroup | undefined;
let target: Spawned;

before(async () => {
  if (skip) return;
  pod = createPodCgroup();
  target = spawnTracked('sleep', ['120']);
  writeFileSync(`${pod.leaf}/cgroup.procs`, String(target.pid));
  mcp = await startMcpSession();
  client = mcp.client;
});

after(async () => {
  await cleanup();
  if (pod) {
    await removePodCgroup(pod);
    assert.equal(existsSync(pod.top), false, 'the cgroups are removed');
  }
});

async function top(args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name: 'top', arguments: { limit: 50, ...args } }, undefined, { timeout: 60_000 })) as CallToolResult;
}
const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

function pids(r: CallToolResult): number[] {
  assert.notEqual(r.isError, true, text(r));
  const parsed = ReportSchema.safeParse(r.structuredContent);
  assert.ok(parsed.success, `the report schema: ${parsed.error?.message}`);
  return parsed.data.targets.map((t) => t.pid);
}

describe('mcp top: container and pod filters', { skip }, () => {
  test("the pod's uid (whole, a prefix, with underscores) and a prefix of the container id each return only its process", async () => {
    const p = pod!;
    await waitFor(() => target.alive(), 3000, 'the target to run');
    for (const filter of [
      { pod: p.uid },
      { pod: p.uid.slice(0, 8) },
      { pod: p.uid.replace(/-/g, '_') },
      { container: p.id.slice(0, 12) },
      { pod: p.uid, container: p.id },
    ]) {
      const r = await top(filter);
      assert.deepEqual(pids(r), [target.pid], JSON.stringify(filter));
      const t = (r.structuredContent as { targets: { container?: unknown }[] }).targets[0];
      assert.deepEqual(t?.container, { engine: 'unknown', id: p.id, podUid: p.uid, qosClass: 'burstable' });
    }
    // without a filter it is one among many
    assert.ok(pids(await top({})).length > 1);
  });

  test('an id that matches nothing returns no process; a malformed uid is a one-line tool error, and the server answers the next call', async () => {
    assert.deepEqual(pids(await top({ container: 'ffff0000' })), []);
    const bad = await top({ pod: 'not a uid' });
    assert.equal(bad.isError, true, text(bad));
    assert.doesNotMatch(text(bad), /\n/);
    assert.match(text(bad), /"not a uid" is not a pod uid/);
    assert.deepEqual(pids(await top({ container: pod!.id.slice(0, 12) })), [target.pid]);
    assert.doesNotMatch(mcp.stderr(), /internal error|\n\s+at /, mcp.stderr());
  });
});
