/**
 * The README's Install on the built tree: `npm pack` makes a tarball that holds the built command
 * and no tests, benchmarks or build scripts, and `npm install -g` of that tarball into a fresh
 * prefix gives a `proctriage` on that prefix's PATH that answers --version and diagnoses a real
 * process, with no dev dependency installed and no build at install time. The packing skips the
 * `prepare` build (the suite runs on the dist/ it just built; rebuilding would pull it away from
 * under the other tests); the README's `npm pack` builds first.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, REPO, runCli, startNodeTarget, type Target } from '../helpers/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'pt-install-'));
after(async () => {
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

function npm(args: string[], cwd: string) {
  const res = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  assert.equal(res.status, 0, `npm ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

describe('install from the packed tarball', () => {
  let files: string[], prefix: string, bin: string, target: Target;
  before(async () => {
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], REPO)) as [{ filename: string; files: { path: string }[] }];
    files = packed[0].files.map((f) => f.path);
    prefix = join(tmp, 'prefix');
    npm(['install', '-g', '--prefer-offline', '--prefix', prefix, join(tmp, packed[0].filename)], tmp);
    bin = join(prefix, 'bin', 'proctriage');
    target = await startNodeTarget('idle');
  });

  test('ships the built command and no tests, benchmarks or build scripts', () => {
    assert.ok(files.includes('bin/proctriage.js'));
    assert.ok(files.includes('dist/cli/cli.js'));
    assert.ok(files.includes('dist/playbooks/default.json'));
    assert.ok(
      files.some((f) => f.startsWith('dist/src/demo/services/')),
      'the demo services are run from dist/src',
    );
    for (const dir of ['dist/test/', 'dist/bench/', 'dist/scripts/', 'test/', 'bench/', 'src/', 'node_modules/']) {
      assert.deepEqual(
        files.filter((f) => f.startsWith(dir)),
        [],
        `${dir} is not shipped`,
      );
    }
  });

  test('installs only runtime dependencies', () => {
    const modules = readdirSync(join(prefix, 'lib', 'node_modules', 'proctriage', 'node_modules'));
    assert.ok(modules.includes('commander'));
    for (const dev of ['typescript', 'esbuild', 'eslint', '@types']) assert.ok(!modules.includes(dev), `${dev} is not installed`);
  });

  test('the installed command answers --version and diagnoses a real process', async () => {
    assert.ok(existsSync(bin), bin);
    const version = await runCli(['--version'], { bin });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const res = await runCli([String(target.pid), '--json'], { bin });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.report?.targets?.[0]?.pid, target.pid);
    assert.equal(res.report.targets[0].status, 'ok');
  });
});

describe('install from the clone', () => {
  test("npm install -g . links the built clone onto the prefix's PATH", async () => {
    const prefix = join(tmp, 'linked');
    npm(['install', '-g', '--prefer-offline', '--prefix', prefix, REPO], tmp);
    const res = await runCli(['--version'], { bin: join(prefix, 'bin', 'proctriage') });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
