/** Snapshots (`proctriage snapshot -o`, a bundle's report.json): read and validated at the boundary. */
import { IsDirectory, SnapshotInvalid } from '../errors.js';
import { MAX_NESTING, nestedDeeperThan, readFileBounded } from '../files.js';
import { cleanDeep } from '../engine/redact.js';
import type { Report } from '../engine/report.js';
import { SCHEMA_VERSION } from '../engine/schema-version.js';
import { VERSION } from '../version.js';

/**
 * Read one snapshot. Whatever is wrong with it — unreadable, not a regular file, too large, empty,
 * truncated, not JSON, nested absurdly deep, not a proctriage report, written by a newer version,
 * not matching the schema — is one clear line and exit 3 (SnapshotInvalid or FileError), never a
 * stack trace. Every string in it comes back clean() (terminal-safe): a snapshot can be edited.
 */
export async function loadSnapshot(file: string): Promise<Report> {
  let text: string;
  try {
    text = readFileBounded(file, { what: 'snapshot' }).toString('utf8');
  } catch (err) {
    if (err instanceof IsDirectory) {
      throw new SnapshotInvalid(file, 'is a directory (a capture bundle? use proctriage analyze)');
    }
    throw err;
  }
  if (!text.trim()) throw new SnapshotInvalid(file, 'empty file: not a snapshot');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    if (err instanceof RangeError) throw new SnapshotInvalid(file, `nested deeper than ${MAX_NESTING} levels: not a snapshot`);
    throw new SnapshotInvalid(file, 'not valid JSON: the snapshot is corrupt or truncated');
  }
  if (nestedDeeperThan(data)) throw new SnapshotInvalid(file, `nested deeper than ${MAX_NESTING} levels: not a snapshot`);
  const d = data as Record<string, unknown> | null;
  if (!d || typeof d !== 'object' || Array.isArray(d)) throw new SnapshotInvalid(file, 'not a proctriage snapshot (not a JSON object)');
  if (d.kind === 'proctriage-capture') throw new SnapshotInvalid(file, 'a capture bundle manifest, not a snapshot: use proctriage analyze <bundle dir>');
  if (d.kind === 'diff') throw new SnapshotInvalid(file, 'the output of proctriage diff, not a snapshot');
  const tool = d.tool as Record<string, unknown> | undefined;
  if (!tool || tool.name !== 'proctriage' || !('schemaVersion' in d)) throw new SnapshotInvalid(file, 'not a proctriage snapshot (foreign JSON)');
  if (typeof d.schemaVersion !== 'number' || !Number.isInteger(d.schemaVersion) || d.schemaVersion < 1) {
    throw new SnapshotInvalid(file, `schemaVersion ${JSON.stringify(d.schemaVersion)} is not a valid version`);
  }
  if (d.schemaVersion > SCHEMA_VERSION) {
    throw new SnapshotInvalid(
      file,
      `written by a newer proctriage (schemaVersion ${d.schemaVersion}; this one, ${VERSION}, reads ${SCHEMA_VERSION}): upgrade to compare it`,
    );
  }
  const { ReportSchema } = await import('../engine/report-schema.js');
  const r = ReportSchema.safeParse(d.schemaVersion === 1 ? fromVersion1(d) : data);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'top level';
    throw new SnapshotInvalid(file, `does not match the report schema (${where}: ${issue?.message ?? 'invalid'}): corrupt or edited`);
  }
  return cleanDeep(r.data, false);
}

/**
 * A version-1 report in today's shape: its next steps were bare strings, with nothing to tell a
 * command from advice, so each becomes advice (shown as prose, never as something to paste and run).
 */
function fromVersion1(d: Record<string, unknown>): Record<string, unknown> {
  const targets = Array.isArray(d.targets) ? d.targets : [];
  return {
    ...d,
    schemaVersion: SCHEMA_VERSION,
    targets: targets.map((t: unknown) => {
      if (!t || typeof t !== 'object' || !Array.isArray((t as { findings?: unknown }).findings)) return t;
      const findings = (t as { findings: unknown[] }).findings.map((f) => {
        if (!f || typeof f !== 'object' || !Array.isArray((f as { nextSteps?: unknown }).nextSteps)) return f;
        return { ...f, nextSteps: (f as { nextSteps: unknown[] }).nextSteps.map((s) => (typeof s === 'string' ? { kind: 'advice', text: s } : s)) };
      });
      return { ...t, findings };
    }),
  };
}
