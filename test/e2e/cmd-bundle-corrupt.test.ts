/**
 * `analyze` on damaged capture bundles, beyond what time-bundle and core-files cover (an edited
 * file, an extra file, no manifest, a foreign symlink, a bad pid field): a manifest that is not
 * JSON, a wrong schemaVersion, a sha256 in the manifest that matches no file, a listed file that
 * is missing, an unlisted file at the bundle's top, a bundle nested too deep, a denied.json that is
 * not JSON. Each is one line on stderr and exit 3, and nothing on stdout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startNodeTarget, cleanup } from '../helpers/processes.js';
import { expectOneLineFailure as oneLineFailure } from '../helpers/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'proctriage-corrupt-'));
after(async () => {
  await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

describe('analyze refuses a corrupt bundle with one line and exit 3', () => {
  let bundle: string, pid: number;
  before(async () => {
    const target = await startNodeTarget('idle');
    pid = target.pid;
    bundle = join(tmp, 'bundle');
    const cap = await runCli(['capture', String(pid), '--dir', bundle]);
    assert.equal(cap.code, 0, cap.stderr);
    await target.stop();
    // the intact bundle analyses cleanly: every failure below is the damage's doing
    const ok = await runCli(['analyze', bundle, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  /** A copy of the bundle, damaged by `edit` (given the copy's path and its parsed manifest). */
  function damaged(name: string, edit: (dir: string, m: any) => void): string {
    const dir = join(tmp, name);
    cpSync(bundle, dir, { recursive: true, verbatimSymlinks: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    edit(dir, m);
    return dir;
  }
  const saveManifest = (dir: string, m: unknown) => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
  /** Replace a listed file and its manifest entry, so only its content is wrong (the sha256 is right). */
  const replaceListed = (dir: string, m: { files: Record<string, unknown> }, file: string, text: string) => {
    const data = Buffer.from(text);
    writeFileSync(join(dir, file), data);
    m.files[file] = { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
    saveManifest(dir, m);
  };

  test('manifest.json that is not JSON (truncated)', async () => {
    const dir = damaged('truncated', (d) => {
      const text = readFileSync(join(d, 'manifest.json'), 'utf8');
      writeFileSync(join(d, 'manifest.json'), text.slice(0, Math.floor(text.length / 2)));
    });
    oneLineFailure(await runCli(['analyze', dir]), /manifest\.json is not valid JSON \(corrupt or truncated\)/);
    oneLineFailure(await runCli(['analyze', dir, '--json']), /manifest\.json is not valid JSON/);
  });

  test('a wrong schemaVersion: newer, zero, or not a number', async () => {
    const newer = damaged('v-newer', (d, m) => {
      m.schemaVersion = 3;
      saveManifest(d, m);
    });
    oneLineFailure(await runCli(['analyze', newer]), /bundle schemaVersion 3 is newer than this proctriage reads \(2\): upgrade proctriage/);
    const zero = damaged('v-zero', (d, m) => {
      m.schemaVersion = 0;
      saveManifest(d, m);
    });
    oneLineFailure(await runCli(['analyze', zero]), /manifest\.json does not match the manifest schema \(schemaVersion: /);
    const text = damaged('v-text', (d, m) => {
      m.schemaVersion = '1';
      saveManifest(d, m);
    });
    oneLineFailure(await runCli(['analyze', text]), /manifest\.json does not match the manifest schema \(schemaVersion: /);
  });

  test('a sha256 in the manifest that does not match the (untouched) file', async () => {
    const rel = `proc/${pid}/status`;
    const dir = damaged('bad-sum', (d, m) => {
      m.files[rel].sha256 = createHash('sha256').update('something else').digest('hex');
      saveManifest(d, m);
    });
    oneLineFailure(await runCli(['analyze', dir]), new RegExp(`proc/${pid}/status does not match its sha256 in manifest\\.json`));
  });

  test('a file the manifest lists that is missing', async () => {
    const dir = damaged('missing', (d) => rmSync(join(d, 'report.md')));
    oneLineFailure(await runCli(['analyze', dir]), /report\.md is listed in manifest\.json but missing/);
    const cmd = damaged('missing-proc', (d) => rmSync(join(d, `proc/${pid}/limits`)));
    oneLineFailure(await runCli(['analyze', cmd]), new RegExp(`proc/${pid}/limits is listed in manifest\\.json but missing`));
  });

  test('extra unlisted files at the top, and how many', async () => {
    const dir = damaged('extras', (d) => {
      writeFileSync(join(d, 'notes.txt'), 'added later');
      mkdirSync(join(d, 'more'));
      writeFileSync(join(d, 'more', 'x'), 'x');
    });
    oneLineFailure(await runCli(['analyze', dir]), /(notes\.txt|more\/x) is not listed in manifest\.json: the bundle was modified \(2 such files\)/);
  });

  test('a bundle nested too deep', async () => {
    const dir = damaged('deep', (d) => mkdirSync(join(d, ...Array.from({ length: 40 }, () => 'd')), { recursive: true }));
    oneLineFailure(await runCli(['analyze', dir]), /is nested too deep for a bundle/);
  });

  test('a listed denied.json that is not JSON', async () => {
    const dir = damaged('denied', (d, m) => replaceListed(d, m, 'denied.json', '[not json'));
    oneLineFailure(await runCli(['analyze', dir]), /denied\.json is not valid JSON/);
  });

  test('a listed report.json that is not a report', async () => {
    const dir = damaged('report', (d, m) => replaceListed(d, m, 'report.json', '{"hello":1}'));
    oneLineFailure(await runCli(['analyze', dir]), /report\.json/);
  });
});
