/**
 * Unknown is not OK: a probe the user asked for that could not run makes an otherwise healthy
 * verdict UNKNOWN (exit 3) with a one-line reason on stderr; a real finding still decides.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, cleanup } from '../helpers/processes.js';
import { startChild } from '../helpers/time.js';

after(cleanup);

const IDLE = `console.log('ready');setInterval(()=>{},1000)`;

describe('a requested probe that read nothing', () => {
  test('--inspect on a port with no inspector, a malformed one, and --pprof on a closed port: exit 3, never "OK"', async () => {
    const idle = await startChild(IDLE);
    for (const extra of [
      ['--inspect', '127.0.0.1:1'],
      ['--inspect', '99999'],
      ['--inspect', 'foo:bar'],
      ['--pprof', 'http://127.0.0.1:1'],
    ]) {
      const res = await runCli([String(idle.pid), '--json', ...extra]);
      assert.equal(res.code, 3, `${extra.join(' ')}: ${res.stdout.slice(0, 400)}`);
      const lines = res.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${extra.join(' ')}: one line on stderr: ${res.stderr}`);
      assert.match(lines[0]!, /^proctriage: /);
      if (res.stdout) {
        const t = JSON.parse(res.stdout).targets[0];
        assert.equal(t.status, 'unknown');
        assert.match(t.statusReason, /was given but the (node|go) probe read nothing/);
      }
    }
    const plain = await runCli([String(idle.pid), '--json']);
    assert.equal(plain.code, 0, 'without the option the same process is OK');
  });

  test('a real finding still decides the status when a requested probe fails', async () => {
    const full = await startChild(
      `const fs=require('fs');const h=[];try{for(;;)h.push(fs.openSync('/dev/null','r'))}catch{};console.log('ready');setInterval(()=>{},1000)`,
      { fdLimit: 64 },
    );
    const res = await runCli([String(full.pid), '--json', '--inspect', '127.0.0.1:1']);
    assert.equal(res.code, 2, res.stderr);
    const t = JSON.parse(res.stdout).targets[0];
    assert.equal(t.findings.find((f: { id: string }) => f.id === 'fd-exhaustion')?.severity, 'critical');
    assert.equal(t.statusReason, undefined);
  });
});
