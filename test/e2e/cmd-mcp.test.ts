/**
 * `proctriage mcp` driven by the MCP SDK's own client over stdio, spawning the built CLI: the
 * handshake, exactly four read-only tools, diagnose on a real CLOSE_WAIT-leaking service (its
 * report valid against the report schema, close-wait-leak in it), top with a limit, a short
 * watch of an idle service with progress, playbook_show, and refusals (a pid that does not
 * exist, a negative pid, an unmatched name, a remote inspector, an out-of-range duration, an
 * argument no tool has) as tool errors, each followed by a call that still works.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { cleanup, startService, unusedPid } from '../helpers/processes.js';
import { startMcpSession, type McpSession } from '../helpers/mcp.js';
import { ReportSchema } from '../../src/engine/report-schema.js';
import type { RunningService } from '../../src/demo/launch.js';

let mcp: McpSession;
let client: McpSession['client'];
let leaky: RunningService;
let idle: RunningService;

before(async () => {
  [leaky, idle] = await Promise.all([startService('close-wait', { args: ['--count', '150'] }), startService('healthy')]);
  mcp = await startMcpSession();
  client = mcp.client;
});

after(async () => {
  await cleanup();
});

async function call(name: string, args: Record<string, unknown>, timeout = 60_000): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, { timeout })) as CallToolResult;
}

function text(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** A tool error: isError with a one-line message matching `re`. */
function refused(r: CallToolResult, re: RegExp): void {
  assert.equal(r.isError, true, `a tool error: ${text(r)}`);
  assert.equal(r.structuredContent, undefined);
  assert.doesNotMatch(text(r), /\n/, 'one line');
  assert.match(text(r), re);
}

function validReport(r: CallToolResult): ReturnType<typeof ReportSchema.parse> {
  assert.notEqual(r.isError, true, text(r));
  const parsed = ReportSchema.safeParse(r.structuredContent);
  assert.ok(parsed.success, `the report schema: ${parsed.error?.message}`);
  return parsed.data;
}

describe('proctriage mcp', () => {
  test('initialize: the server names itself and offers tools', () => {
    assert.equal(client.getServerVersion()?.name, 'proctriage');
    assert.ok(client.getServerCapabilities()?.tools, 'the tools capability');
  });

  test('exactly the four read-only tools, each with a strict input schema and an output schema; none takes activate, heap, report or redact', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['diagnose', 'playbook_show', 'top', 'watch']);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      assert.equal((t.inputSchema as { additionalProperties?: unknown }).additionalProperties, false, `${t.name}: unknown arguments are refused`);
      assert.equal(t.outputSchema?.type, 'object', `${t.name} has an output schema`);
      assert.equal(t.annotations?.readOnlyHint, true, `${t.name} is read-only`);
      for (const key of Object.keys(t.inputSchema.properties ?? {})) {
        assert.doesNotMatch(key, /activ|heap|report|snapshot|capture|redact|allow|trust|force|overwrite|samples|playbook/i, `${t.name}.${key}`);
      }
    }
    const diagnose = tools.find((t) => t.name === 'diagnose')!;
    assert.deepEqual(Object.keys(diagnose.inputSchema.properties ?? {}).sort(), ['inspect', 'name', 'pids', 'pprof', 'timeout']);
    const watch = tools.find((t) => t.name === 'watch')!;
    assert.deepEqual(watch.inputSchema.required, ['pid']);
  });

  test('diagnose a CLOSE_WAIT-leaking service: the report validates and holds a critical close-wait-leak; the text says it', async () => {
    const r = await call('diagnose', { pids: [leaky.pid] });
    const report = validReport(r);
    assert.equal(report.redacted, true, 'redaction is on');
    const [t] = report.targets;
    assert.ok(t, 'one target');
    assert.equal(t.pid, leaky.pid);
    assert.equal(t.metrics['sockets.tcp.closeWait'], 150);
    const f = t.findings.find((x) => x.id === 'close-wait-leak');
    assert.ok(f, `close-wait-leak raised: ${t.findings.map((x) => x.id).join(', ')}`);
    assert.equal(f.severity, 'critical');
    assert.equal(report.status, 'critical');
    const lines = text(r).split('\n');
    assert.match(text(r), /^CRITICAL: 1 process/);
    assert.ok(
      lines.some((l) => l.startsWith(`pid ${leaky.pid} `) && l.includes('critical close-wait-leak: ') && /\b150\b/.test(l)),
      text(r),
    );
    assert.equal(lines.length, 1 + t.findings.length, 'the status line and one line per finding');
  });

  test('diagnose by name finds the same service', async () => {
    const report = validReport(await call('diagnose', { name: `close-wait\\.js` }));
    assert.ok(
      report.targets.some((t) => t.pid === leaky.pid),
      `pids: ${report.targets.map((t) => t.pid).join(', ')}`,
    );
  });

  test('refusals are one-line tool errors, and the server answers the next call', async () => {
    const gone = unusedPid();
    refused(await call('diagnose', { pids: [gone] }), new RegExp(`pid ${gone}: no such process`));
    refused(await call('diagnose', { pids: [-1] }), /pids/);
    refused(await call('diagnose', { pids: [1.5] }), /pids/);
    refused(await call('diagnose', {}), /give at least one PID/);
    refused(await call('diagnose', { pids: [leaky.pid], name: 'x' }), /not both/);
    refused(await call('diagnose', { name: 'no-such-process-name-[0-9]{40}' }), /no process matches/);
    refused(await call('diagnose', { pids: [leaky.pid], inspect: '10.1.2.3:9229' }), /not a loopback address/);
    refused(await call('diagnose', { pids: [leaky.pid], pprof: 'http://10.1.2.3:6060/debug/pprof/' }), /loopback/);
    refused(await call('diagnose', { pids: [leaky.pid], timeout: '10m' }), /timeout 10m is out of range/);
    for (const extra of [{ activateInspector: true }, { heapSnapshot: '/tmp/x.heapsnapshot' }, { report: '/tmp/r.json' }, { redact: false }]) {
      refused(await call('diagnose', { pids: [leaky.pid], ...extra }), /Unrecognized key/);
    }
    refused(await call('watch', { pid: idle.pid, duration: '10m' }), /duration 10m is out of range: 250ms to 5m/);
    refused(await call('watch', { pid: idle.pid, interval: '100ms', duration: '2s' }), /interval 100ms is out of range/);
    refused(await call('watch', { pid: idle.pid, interval: '3s', duration: '2s' }), /longer than --duration/);
    refused(await call('top', { limit: 0 }), /limit/);
    // still up
    assert.deepEqual(
      validReport(await call('diagnose', { pids: [idle.pid] })).targets.map((t) => t.pid),
      [idle.pid],
    );
  });

  test('top with a limit returns that many of the riskiest, the leaking service first', async () => {
    const r = await call('top', { limit: 3 });
    const report = validReport(r);
    assert.equal(report.targets.length, 3);
    assert.equal(report.targets.at(0)?.pid, leaky.pid, `riskiest first: ${report.targets.map((t) => `${t.pid} ${t.status}`).join(', ')}`);
    assert.match(text(r), /^CRITICAL: the 3 riskiest of \d+ processes/);
    assert.match(text(r), new RegExp(`pid ${leaky.pid} .*critical close-wait-leak`));
  });

  test('watch an idle service for 2 s: samples, no growth finding, progress notifications', async () => {
    const progress: number[] = [];
    const t0 = performance.now();
    const r = (await client.callTool({ name: 'watch', arguments: { pid: idle.pid, interval: '250ms', duration: '2s' } }, undefined, {
      timeout: 30_000,
      onprogress: (p) => progress.push(p.progress),
    })) as CallToolResult;
    const ms = performance.now() - t0;
    const report = validReport(r);
    const [t] = report.targets;
    assert.ok(t, 'one target');
    console.log(
      `# watch 2s: ${Math.round(ms)} ms, ${t.trends ? Object.keys(t.trends).length : 0} trends, status ${t.status}, ${progress.length} progress notifications`,
    );
    assert.ok(ms >= 1900, `it watched for the duration (${Math.round(ms)} ms)`);
    assert.equal(t.pid, idle.pid);
    assert.ok(t.trends && Object.keys(t.trends).length > 0, 'trends were measured');
    assert.ok(
      Object.values(t.trends).every((x) => x.samples >= 8),
      'every sample was taken',
    );
    assert.deepEqual(
      t.findings.filter((f) => f.severity !== 'info').map((f) => f.id),
      [],
      'nothing grows in an idle process',
    );
    assert.equal(t.status, 'ok');
    assert.ok(progress.length >= 8, `progress per sample: ${progress.length}`);
    assert.match(text(r), /^OK: 1 process/);
  });

  test('playbook_show: the built-in playbook as structured content, one line per finding', async () => {
    const r = await call('playbook_show', {});
    assert.notEqual(r.isError, true, text(r));
    const pb = r.structuredContent as { name: string; findings: { id: string }[]; steps: unknown[] };
    assert.equal(pb.name, 'default');
    assert.ok(pb.findings.some((f) => f.id === 'close-wait-leak'));
    const lines = text(r).split('\n');
    assert.match(text(r), new RegExp(`^playbook default: ${pb.steps.length} steps, ${pb.findings.length} findings\n`));
    assert.equal(lines.length, 1 + pb.findings.length);
    assert.ok(
      lines.some((l) => /^close-wait-leak \(critical\/warning\): /.test(l)),
      text(r),
    );
  });

  test('only protocol messages on stdout, no crash on stderr', () => {
    assert.deepEqual(mcp.transportErrors, []);
    assert.doesNotMatch(mcp.stderr(), /internal error|\n\s+at /, mcp.stderr());
  });

  test('closing the client ends the server', async () => {
    const pid = mcp.pid;
    await client.close();
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 100));
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, 'the server exited');
  });
});
