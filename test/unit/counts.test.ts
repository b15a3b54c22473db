/**
 * Counts agree with their nouns in what the renderers print: "1 warning" and "2 warnings", while
 * the adjectives keep their form ("2 critical", "3 unknown"). The reports are real diagnoses of the
 * recorded trees; only how many of them there are varies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose } from '../../src/engine/runner.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { builtinPlaybook } from '../../src/engine/playbook.js';
import { PROBES } from '../../probes/index.js';
import type { Report, TargetReport } from '../../src/engine/report.js';
import { renderTop } from '../../src/render/top.js';
import { renderTable } from '../../src/render/table.js';
import { count, statusCount } from '../../src/messages.js';
import { fixture } from './paths.js';
import { metricUnits } from '../../src/engine/units.js';

const units = metricUnits(PROBES);

async function one(tree: string, pid: number): Promise<{ report: Report; target: TargetReport }> {
  const report = await diagnose([pid], {
    proc: new ProcFs(fixture(tree)),
    playbook: builtinPlaybook(),
    probes: PROBES,
    timeoutMs: 5000,
    redact: true,
    version: 'test',
  });
  return { report, target: report.targets[0]! };
}

/** The same report with the given targets (copies of real ones, given distinct pids). */
function withTargets(report: Report, targets: TargetReport[]): Report {
  return { ...report, targets: targets.map((t, i) => ({ ...t, pid: 1000 + i })) };
}

describe('counts agree with their nouns', () => {
  test('count and statusCount', () => {
    assert.equal(count(1, 'file'), '1 file');
    assert.equal(count(2, 'file'), '2 files');
    assert.equal(count(2, 'process', 'processes'), '2 processes');
    assert.equal(statusCount(1, 'warning'), '1 warning');
    assert.equal(statusCount(2, 'warning'), '2 warnings');
    assert.equal(statusCount(0, 'warning'), '0 warnings');
    assert.equal(statusCount(2, 'critical'), '2 critical');
    assert.equal(statusCount(3, 'unknown'), '3 unknown');
  });

  test('top: "1 process", "2 warnings" in its summary line', async () => {
    const { report, target } = await one('healthy', 777);
    const risk = builtinPlaybook().weights.risk;
    const single = renderTop(withTargets(report, [target]), { color: false, limit: 10, risk, units });
    assert.match(single, /^1 process: 0 critical, 0 warnings, 0 unknown; showing the 1 riskiest/m);
    const warned = { ...target, status: 'warning' as const };
    const two = renderTop(withTargets(report, [warned, warned, target]), { color: false, limit: 10, risk, units });
    assert.match(two, /^3 processes: 0 critical, 2 warnings, 0 unknown;/m);
    const oneWarned = renderTop(withTargets(report, [warned, target]), { color: false, limit: 10, risk, units });
    assert.match(oneWarned, /^2 processes: 0 critical, 1 warning, 0 unknown;/m);
  });

  test("the report: a target's verdict and the overall line", async () => {
    const { report, target } = await one('v2-container', 4242);
    const warnings = target.findings.filter((f) => f.severity === 'warning').length;
    const criticals = target.findings.filter((f) => f.severity === 'critical').length;
    assert.ok(warnings + criticals > 0, 'the recorded leak raises findings');
    const text = renderTable(withTargets(report, [target]), { color: false, units });
    const parts = [criticals ? `${criticals} critical` : '', warnings ? count(warnings, 'warning') : ''].filter(Boolean).join(', ');
    assert.ok(text.trimEnd().endsWith(`: ${parts}`), text.split('\n').at(-2));
    const several = renderTable(withTargets(report, [target, target]), { color: false, units });
    assert.match(several, new RegExp(`overall: 2 targets, 2 ${target.status === 'warning' ? 'warnings' : target.status}\\n$`));
  });
});
