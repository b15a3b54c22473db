/**
 * File paths as the container sees them. The kernel writes /proc/PID/fd/N and /proc/PID/cwd
 * relative to the target's own mount namespace root, even when the reader is on the host: a
 * container whose root is an overlay (pivot_root into it, as container runtimes do) shows
 * /app/…, and a mount private to its namespace shows its own path, which is not the host's file.
 * proctriage reports those links as read, so fd.filePatterns and fd.deletedFiles are already the
 * container's view; this test holds that (a regression in the kernel or in the fd probe shows here).
 * Every mount is made inside a mount namespace of the target's own (unshare --mount, private
 * propagation): it goes when the target ends; the host keeps only an empty directory, removed after.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, runJson, spawnTracked, waitFor, which } from '../helpers/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'pt-mnt-'));
after(async () => {
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
  // nothing of ours is mounted on the host
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(tmp), false);
});

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mount namespaces, mounts)';
  for (const tool of ['unshare', 'pivot_root', 'mount', 'umount']) if (!which(tool)) return `${tool} is not installed (util-linux)`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']);
  if (r.status !== 0) return `cannot create a mount namespace here (unshare --mount: ${r.stderr?.toString().trim()})`;
  return undefined;
}
const skip = unavailable();
if (skip) console.log(`# container-paths: skipped: ${skip}`);

// a container's root: an overlay (the host's / as its lower layer, its upper layer on a tmpfs of
// its own) it pivots into; then it opens three logs of one pattern and a spool file it deletes
const OVERLAY_ROOT = `set -e
D=$1
mount -t tmpfs none "$D"
mkdir "$D/upper" "$D/work" "$D/merged"
mount -t overlay overlay -o "lowerdir=/,upperdir=$D/upper,workdir=$D/work" "$D/merged"
mkdir -p "$D/merged/app/logs" "$D/merged/.old"
for i in 1 2 3; do echo "$i" > "$D/merged/app/logs/req-$i.log"; done
head -c 65536 /dev/zero > "$D/merged/app/spool.tmp"
mount -t proc proc "$D/merged/proc"
cd "$D/merged"
pivot_root . .old
cd /
umount -l /.old
cd /app
exec 3</app/logs/req-1.log 4</app/logs/req-2.log 5</app/logs/req-3.log 6</app/spool.tmp
rm /app/spool.tmp
exec sleep 120
`;

// a tmpfs mounted only in the target's namespace, over a directory the host also has (empty there)
const PRIVATE_TMPFS = `set -e
D=$1
mount -t tmpfs none "$D"
for i in 1 2 3; do echo "$i" > "$D/part-$i.dat"; done
head -c 32768 /dev/zero > "$D/scratch.bin"
cd "$D"
exec 3<"$D/part-1.dat" 4<"$D/part-2.dat" 5<"$D/part-3.dat" 6<"$D/scratch.bin"
rm "$D/scratch.bin"
exec sleep 120
`;

async function inOwnMountNs(script: string, dir: string): Promise<number> {
  const file = join(tmp, `${dir}.sh`);
  writeFileSync(file, script);
  const mnt = join(tmp, dir);
  spawnSync('mkdir', ['-p', mnt]);
  const sp = spawnTracked('unshare', ['--mount', '--propagation', 'private', 'sh', file, mnt]);
  let err = '';
  sp.child.stderr?.on('data', (d) => {
    err += d;
  });
  // ready when the shell has become sleep, holding the deleted file on fd 6
  await waitFor(
    () => {
      if (!sp.alive()) throw new Error(`the target exited: ${err}`);
      try {
        return readFileSync(`/proc/${sp.pid}/comm`, 'utf8').trim() === 'sleep' && readlinkSync(`/proc/${sp.pid}/fd/6`).endsWith(' (deleted)');
      } catch {
        return false;
      }
    },
    10_000,
    () => `the target to hold its files (${err})`,
  );
  assert.notEqual(readlinkSync(`/proc/${sp.pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'the target is in a mount namespace of its own');
  return sp.pid;
}

describe('file paths of a target in another mount namespace', { skip }, () => {
  test('an overlay root it pivoted into: the report shows /app/…, as the container sees it', async () => {
    const pid = await inOwnMountNs(OVERLAY_ROOT, 'overlay');
    assert.equal(readlinkSync(`/proc/${pid}/cwd`), '/app', "its cwd, read from the host, is the container's");
    const { res, report } = await runJson([String(pid)]);
    const ev = report.targets[0].evidence;
    assert.deepEqual(ev['fd.filePatterns'], [{ pattern: '/app/logs/req-<n>.log', count: 3, example: '/app/logs/req-1.log' }], res.stderr);
    assert.deepEqual(ev['fd.deletedFiles'], [{ fd: '6', path: '/app/spool.tmp', bytes: 65536 }]);
    // the same file from the host: under /proc/PID/root, not at the path the report names
    assert.equal(readFileSync(`/proc/${pid}/root/app/logs/req-2.log`, 'utf8'), '2\n');
    assert.equal(existsSync('/app/logs/req-2.log'), false);
  });

  test("a tmpfs private to its namespace: its own files, which the host's same directory does not have", async () => {
    const pid = await inOwnMountNs(PRIVATE_TMPFS, 'private');
    const dir = join(tmp, 'private');
    const { res, report } = await runJson([String(pid)]);
    const ev = report.targets[0].evidence;
    assert.deepEqual(ev['fd.filePatterns'], [{ pattern: `${dir}/part-<n>.dat`, count: 3, example: `${dir}/part-1.dat` }], res.stderr);
    assert.deepEqual(ev['fd.deletedFiles'], [{ fd: '6', path: `${dir}/scratch.bin`, bytes: 32768 }]);
    assert.equal(existsSync(`${dir}/part-1.dat`), false, "the host's directory is empty");
    assert.equal(readFileSync(`/proc/${pid}/root${dir}/part-1.dat`, 'utf8'), '1\n');
  });
});
