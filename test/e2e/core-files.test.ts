/**
 * Files as root against a hostile local user: planted symlinks, fifos and device nodes at output
 * paths, /dev/zero and absurd nesting as inputs, bundles that point outside themselves, two
 * captures racing for one directory, escape sequences in edited files, an fd whose path is longer
 * than PATH_MAX on a process at its fd limit, and durations past what a timer holds.
 * Everything happens in a throwaway directory under /tmp; the host's /dev is never touched.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cleanup, REPO, runCli, startNodeTarget, startTarget, TARGETS, type CliResult, type Target } from '../helpers/processes.js';

const tmp = mkdtempSync('/tmp/proctriage-files-');
const isRoot = process.getuid?.() === 0;
let target: Target;
const SECRET_TEXT = 'root-only secret\n';
let secret: string;

before(async () => {
  target = await startNodeTarget('idle');
  secret = join(tmp, 'root-only');
  writeFileSync(secret, SECRET_TEXT, { mode: 0o600 });
});
after(async () => {
  await cleanup();
  // rm copes with trees deeper than PATH_MAX, which Node's rmSync does not
  spawnSync('rm', ['-rf', tmp]);
});

/** An expected failure: exit 3, one line on stderr, no stack trace, nothing on stdout, in time. */
function cleanFailure(res: CliResult, pattern: RegExp, ms = 10_000): void {
  assert.equal(res.code, 3, res.stderr);
  assert.equal(res.stdout, '');
  const lines = res.stderr.trim().split('\n');
  assert.equal(lines.length, 1, res.stderr);
  assert.match(lines[0]!, /^proctriage: /);
  assert.doesNotMatch(lines[0]!, /internal error|Warning/);
  assert.match(lines[0]!, pattern);
  assert.ok(res.ms < ms, `answered in ${res.ms} ms`);
}

const secretIntact = () => {
  assert.equal(readFileSync(secret, 'utf8'), SECRET_TEXT);
  assert.equal(statSync(secret).mode & 0o777, 0o600);
};

describe('writing: nothing but a new or (with --overwrite) regular file is ever replaced', () => {
  test('a symlink at the output is refused and its target untouched; one at the old temp name is ignored', async () => {
    const out = join(tmp, 'snap-link.json');
    symlinkSync(secret, out);
    cleanFailure(await runCli(['snapshot', String(target.pid), '-o', out]), /is a symlink: refusing to replace it/);
    assert.ok(lstatSync(out).isSymbolicLink());
    secretIntact();

    // the name the temp file used to have, planted in advance
    const out2 = join(tmp, 'snap-partial.json');
    for (const planted of [`${out2}.partial`, `${out2}.${process.pid}.tmp`]) symlinkSync(secret, planted);
    const res = await runCli(['snapshot', String(target.pid), '-o', out2]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(JSON.parse(readFileSync(out2, 'utf8')).targets[0].pid, target.pid);
    assert.ok(lstatSync(`${out2}.partial`).isSymbolicLink());
    secretIntact();
    assert.deepEqual(
      readdirSync(tmp).filter((n) => n.endsWith('.tmp') && n.startsWith('.')),
      [],
      'no temp file left',
    );
  });

  test('--report and --heap-snapshot at a planted symlink are refused before the target is touched', async () => {
    const out = join(tmp, 'report-link.json');
    symlinkSync(secret, out);
    for (const flag of ['--report', '--heap-snapshot']) {
      cleanFailure(await runCli([String(target.pid), flag, out]), /is a symlink: refusing to replace it/);
    }
    secretIntact();
  });

  test('a fifo and a device node at the output are refused and stay what they were', async (t) => {
    const fifo = join(tmp, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    cleanFailure(await runCli(['snapshot', String(target.pid), '-o', fifo]), /is a fifo: refusing/);
    assert.ok(lstatSync(fifo).isFIFO());
    if (!isRoot) return t.skip('mknod needs root');
    // our own null device node (1,3) in the throwaway directory: the host's /dev/null is never at risk
    const dev = join(tmp, 'null');
    assert.equal(spawnSync('mknod', ['-m', '666', dev, 'c', '1', '3']).status, 0);
    for (const args of [
      ['snapshot', String(target.pid), '-o', dev, '--overwrite'],
      [String(target.pid), '--report', dev, '--overwrite'],
    ]) {
      cleanFailure(await runCli(args), /is a character device: refusing/);
    }
    assert.ok(lstatSync(dev).isCharacterDevice(), 'still the device');
  });

  test('an existing regular file is kept unless --overwrite', async () => {
    const out = join(tmp, 'existing.json');
    writeFileSync(out, 'keep me');
    cleanFailure(await runCli(['snapshot', String(target.pid), '-o', out]), /already exists.*--overwrite/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    const res = await runCli(['snapshot', String(target.pid), '-o', out, '--overwrite']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).targets[0].pid, target.pid);
  });
});

describe('capture claims its directory', () => {
  test('two captures into one new directory: exactly one wins, whole; the other says so', async () => {
    const dir = join(tmp, 'race', 'bundle');
    const [a, b] = await Promise.all([0, 1].map(() => runCli(['capture', String(target.pid), '--dir', dir], { timeoutMs: 30_000 })));
    const won = [a, b].filter((r) => r!.code === 0);
    const lost = [a, b].filter((r) => r!.code !== 0);
    assert.equal(won.length, 1, `${a!.stderr}\n${b!.stderr}`);
    cleanFailure(lost[0]!, /filled by someone else meanwhile|is not empty/, 30_000);
    const check = await runCli(['analyze', dir]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /same findings as at capture time/);
    assert.deepEqual(readdirSync(join(tmp, 'race')), ['bundle'], 'no staging directory left behind');
  });

  test('impossible places fail at once with one line', async () => {
    cleanFailure(await runCli(['capture', String(target.pid), '--dir', '/proc/proctriage-x']), /cannot create the bundle directory .*does not allow/, 5000);
    cleanFailure(await runCli(['capture', String(target.pid), '--dir', '']), /--dir is empty/, 5000);
    const file = join(tmp, 'a-file');
    writeFileSync(file, '');
    cleanFailure(await runCli(['capture', String(target.pid), '--dir', join(file, 'sub')]), /is not a directory/, 5000);
    const full = join(tmp, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'x'), '');
    cleanFailure(await runCli(['capture', String(target.pid), '--dir', full]), /is not empty/, 5000);
    assert.deepEqual(readdirSync(full), ['x']);
  });

  test('a parent the user cannot write is a clear error, not an internal one', async (t) => {
    if (!isRoot || !existsSync('/usr/bin/setpriv')) return t.skip('needs root and setpriv to drop to nobody');
    const parent = join(tmp, 'locked');
    mkdirSync(parent, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    const res = await runCli(['capture', String(process.pid), '--dir', join(parent, 'b')], {
      prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'],
    });
    cleanFailure(res, /cannot create the bundle directory .*permission denied/, 5000);
  });
});

describe('reading: bounded, regular files only, nothing outside a bundle', () => {
  let snap: string;
  let bundle: string;
  before(async () => {
    snap = join(tmp, 'a.json');
    const res = await runCli(['snapshot', String(target.pid), '-o', snap]);
    assert.equal(res.code, 0, res.stderr);
    bundle = join(tmp, 'bundle');
    const cap = await runCli(['capture', String(target.pid), '--dir', bundle]);
    assert.equal(cap.code, 0, cap.stderr);
  });

  test('diff against /dev/zero and playbook validate /dev/zero: refused at once', async () => {
    cleanFailure(await runCli(['diff', snap, '/dev/zero']), /\/dev\/zero is a character device, not a regular file: refused/, 5000);
    cleanFailure(await runCli(['playbook', 'validate', '/dev/zero']), /\/dev\/zero is a character device/, 5000);
  });

  test('a playbook nested 5 000 deep is invalid, not an internal error', async () => {
    const deep = join(tmp, 'deep.yaml');
    writeFileSync(deep, `schemaVersion: 1\nname: deep\nsteps: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    cleanFailure(await runCli(['playbook', 'validate', deep]), /nested deeper than 64 levels/);
    const deepJson = join(tmp, 'deep.json');
    writeFileSync(deepJson, `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    cleanFailure(await runCli(['diff', snap, deepJson]), /nested deeper than 64 levels/);
  });

  /** A copy of the bundle with one file replaced by a symlink, listed honestly or not. */
  function tampered(name: string, file: RegExp, link: string, listAsLink: boolean): string {
    const dir = join(tmp, name);
    cpSync(bundle, dir, { recursive: true, verbatimSymlinks: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const rel = Object.keys(m.files).find((p) => file.test(p))!;
    unlinkSync(join(dir, rel));
    symlinkSync(link, join(dir, rel));
    if (listAsLink) {
      m.files[rel] = { sha256: createHash('sha256').update(link).digest('hex'), bytes: Buffer.byteLength(link), symlink: link };
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    }
    return dir;
  }

  test('analyze refuses a bundle with a /dev/zero or ../../etc/passwd symlink, naming the file', async () => {
    const zero = tampered('b-zero', /^proc\/\d+\/stat$/, '/dev/zero', true);
    cleanFailure(await runCli(['analyze', zero]), /proc\/\d+\/stat is listed as a symlink where a bundle has none: refused/, 5000);
    const passwd = tampered('b-passwd', /^proc\/\d+\/limits$/, '../../etc/passwd', false);
    cleanFailure(await runCli(['analyze', passwd]), /proc\/\d+\/limits is a symlink: refused/, 5000);

    const outside = join(tmp, 'b-outside');
    cpSync(bundle, outside, { recursive: true, verbatimSymlinks: true });
    const m = JSON.parse(readFileSync(join(outside, 'manifest.json'), 'utf8'));
    m.files['../../etc/passwd'] = { sha256: '0'.repeat(64), bytes: 1 };
    writeFileSync(join(outside, 'manifest.json'), JSON.stringify(m));
    cleanFailure(await runCli(['analyze', outside]), /\.\.\/\.\.\/etc\/passwd is a path outside the bundle: refused/, 5000);

    const bad = join(tmp, 'b-schema');
    cpSync(bundle, bad, { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(bad, 'manifest.json'), JSON.stringify({ ...m, pid: 'x' }));
    cleanFailure(await runCli(['analyze', bad]), /manifest.json does not match the manifest schema \(pid: /, 5000);
  });

  test('escape sequences in an edited snapshot, manifest or playbook come out escaped, in every format', async () => {
    const ESC = '\u001b[31mred\u001b]0;owned\u0007';
    const r = JSON.parse(readFileSync(snap, 'utf8'));
    const b = structuredClone(r);
    b.capturedAt = new Date(Date.parse(r.capturedAt) + 60_000).toISOString();
    for (const x of [r, b]) {
      x.targets[0].comm = `node${ESC}`;
      x.targets[0].metrics[`evil${ESC}`] = 1;
    }
    b.targets[0].metrics[`evil${ESC}`] = 2;
    const [fa, fb] = [join(tmp, 'esc-a.json'), join(tmp, 'esc-b.json')];
    writeFileSync(fa, JSON.stringify(r));
    writeFileSync(fb, JSON.stringify(b));
    for (const format of ['table', 'markdown', 'json']) {
      const res = await runCli(['diff', fa, fb, '--format', format]);
      assert.ok(res.code !== null && res.code < 3, res.stderr);
      assert.doesNotMatch(res.stdout + res.stderr, /\u001b|\u0007/, format);
      assert.match(res.stdout, /\\x1b\[31mred/, format);
    }

    const dir = join(tmp, 'b-host');
    cpSync(bundle, dir, { recursive: true, verbatimSymlinks: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.host.hostname = `host${ESC}`;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    for (const format of ['table', 'markdown', 'json']) {
      const res = await runCli(['analyze', dir, '--format', format]);
      assert.ok(res.code !== null && res.code < 3, res.stderr);
      assert.doesNotMatch(res.stdout + res.stderr, /\u001b|\u0007/, format);
    }
    assert.match((await runCli(['analyze', dir])).stderr, /on host\\x1b\[31mred/);

    const pb = join(tmp, 'esc.yaml');
    writeFileSync(pb, readFileSync(join(REPO, 'playbooks', 'default.yaml'), 'utf8').replace(/^name: .*$/m, `name: "team\\e[31mred\\a"`));
    const res = await runCli(['playbook', 'validate', pb]);
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stdout, /\u001b|\u0007/);
    assert.match(res.stdout, /valid playbook "team\\x1b\[31mred\\x07"/);
  });
});

describe('partial over nothing', () => {
  test('an fd whose path is longer than PATH_MAX is counted as other: a process at 64/64 stays CRITICAL', async () => {
    const base = join(tmp, 'deep');
    mkdirSync(base);
    const t = await startTarget('sh', ['-c', `ulimit -n 64 && exec "$0" "$1" "$2"`, process.execPath, join(TARGETS, 'long-path.js'), base]);
    assert.ok((t.info.pathLength as number) > 4096, `path of ${t.info.pathLength} characters`);
    const res = await runCli([String(t.pid), '--json']);
    const r = JSON.parse(res.stdout).targets[0];
    assert.equal(res.code, 2, res.stderr);
    assert.ok(r.metrics['fd.open'] >= 64, `${r.metrics['fd.open']} open`);
    assert.equal(r.metrics['fd.limit'], 64);
    assert.ok(r.metrics['fd.byType.other'] >= 1);
    assert.ok(
      r.findings.some((f: { id: string }) => f.id === 'fd-exhaustion'),
      JSON.stringify(r.findings.map((f: { id: string }) => f.id)),
    );
    // soft = hard (ulimit -n sets both): no unprivileged raise is left, only the privileged one
    const steps: string[] = r.findings.find((f: { id: string }) => f.id === 'fd-exhaustion').nextSteps.map((s: { text: string }) => s.text);
    const raises = steps.filter((x) => x.startsWith('prlimit '));
    assert.equal(raises.length, 1, steps.join('\n'));
    assert.match(raises[0]!, new RegExp(`^prlimit --pid ${t.pid} --nofile=128:128 .*CAP_SYS_RESOURCE`));
    for (const id of ['fds', 'sockets']) assert.equal(r.probes.find((p: { id: string }) => p.id === id).status, 'ok', id);
    const notes = r.unknowns.filter((u: { reason: string }) => /could not be read/.test(u.reason));
    assert.equal(notes.length, 1, JSON.stringify(r.unknowns));
    assert.match(notes[0].reason, /^1 fd link could not be read \(name too long\)/);

    // the same through a capture bundle, offline
    const dir = join(tmp, 'b-long');
    const cap = await runCli(['capture', String(t.pid), '--dir', dir]);
    assert.equal(cap.code, 0, cap.stderr); // written: the verdict is in the bundle
    assert.match(cap.stderr, /^proctriage: wrote \S+ \(CRITICAL, pid \d+ /);
    const again = await runCli(['analyze', dir, '--json']);
    assert.equal(again.code, 2, again.stderr);
    assert.ok(JSON.parse(again.stdout).targets[0].findings.some((f: { id: string }) => f.id === 'fd-exhaustion'));
    await t.stop();
  });
});

describe('durations are bounded', () => {
  test('watch --interval 1000h is a usage error, not a TimeoutOverflowWarning', async () => {
    cleanFailure(await runCli(['watch', String(target.pid), '--interval', '1000h']), /--interval 1000h is too long: at most 24h/, 5000);
    cleanFailure(await runCli(['watch', String(target.pid), '--duration', '8d']), /--duration 8d is too long: at most 7d/, 5000);
    cleanFailure(await runCli([String(target.pid), '--timeout', '99999999h']), /--timeout .* is too long: at most 1h/, 5000);
  });
});
