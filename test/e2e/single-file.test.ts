/**
 * The single-file build (npm run bundle → dist/proctriage.mjs) copied alone into an empty
 * directory runs with nothing beside it: --version, a diagnosis of a real leaking process, the
 * built-in playbook, the MCP server's start, and --activate-inspector (its guard is the same file).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, REPO, runCli, startService, startTarget, spawnTracked, TARGETS, waitFor } from '../helpers/processes.js';

let dir = '';
let bin = '';
before(() => {
  const r = spawnSync(process.execPath, [join(REPO, 'dist', 'scripts', 'bundle-single.js')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  dir = mkdtempSync(join(tmpdir(), 'pt-single-'));
  bin = join(dir, 'proctriage.mjs');
  copyFileSync(join(REPO, 'dist', 'proctriage.mjs'), bin);
  assert.deepEqual(readdirSync(dir), ['proctriage.mjs'], 'the file alone');
});
after(async () => {
  await cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Run the copied file with node from an unrelated directory (the file alone, no node_modules, no package.json). */
const single = (args: string[], timeoutMs = 30_000) => runCli(args, { prefix: [process.execPath], bin, env: { NODE_PATH: '' }, timeoutMs, direct: true });

test('--version and playbook show', async () => {
  const v = await single(['--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+/);
  const show = await single(['playbook', 'show', '--json']);
  assert.equal(show.code, 0, show.stderr);
  assert.ok(JSON.parse(show.stdout).findings.length > 5);
});

test('demo, whose services are files of their own, says so in one line (exit 3)', async () => {
  const r = await single(['demo']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /^proctriage: demo is not part of the single-file build/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('a diagnosis of a real leaking process: the same findings as the installed command', async () => {
  const svc = await startService('deleted-log');
  const a = await single([String(svc.pid), '--json']);
  const b = await runCli([String(svc.pid), '--json']);
  assert.ok(a.report, a.stderr);
  const ids = (r: any) => r.targets[0].findings.map((f: { id: string }) => f.id).sort();
  assert.ok(ids(a.report).includes('deleted-files-held'));
  assert.deepEqual(ids(a.report), ids(b.report));
  assert.equal(a.code, b.code);
});

test('mcp: the server starts and lists its tools', async () => {
  const p = spawnTracked(process.execPath, [bin, 'mcp'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  const send = (m: object) => p.child.stdin!.write(JSON.stringify(m) + '\n');
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
  await waitFor(() => out.includes('"id":1'), 10_000, 'the initialize answer');
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  await waitFor(() => out.includes('"id":2'), 10_000, 'the tool list');
  assert.match(out, /"name":"diagnose"/);
  p.child.stdin!.end();
  await p.exited;
});

test(
  '--activate-inspector: the guard is the same file, and the inspector is closed again',
  { skip: process.getuid?.() !== 0 && 'signals another process' },
  async () => {
    const t = await startTarget(process.execPath, [join(TARGETS, 'idle.js')]);
    const r = await single([String(t.pid), '--activate-inspector', '--json']);
    assert.ok(r.report, r.stderr);
    const tr = r.report.targets[0];
    assert.equal(
      typeof tr.metrics['node.heap.used'],
      'number',
      JSON.stringify({ unknowns: tr.unknowns, probes: tr.probes, actions: tr.actions, stderr: r.stderr }),
    );
    assert.ok(
      tr.actions.some((x: string) => /closed it again/.test(x)),
      tr.actions.join('\n'),
    );
    await waitFor(
      () =>
        !spawnSync('pgrep', ['-f', `${bin} --internal-guard`])
          .stdout.toString()
          .trim(),
      8000,
      'the guard has exited',
    );
  },
);
