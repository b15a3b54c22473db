import { clean } from '../engine/redact.js';
import { diffSnapshots } from '../engine/diff.js';
import { loadSnapshot } from '../bundle/snapshot.js';
import { renderDiffMarkdown, renderDiffTable } from '../render/diff.js';
import { UNITS } from './units.js';
import { outputFormat, terminalWidth, useColor, type OutputOptions } from './options.js';
import { VERSION } from '../version.js';

/** `proctriage diff a.json b.json`: growth of every metric between two snapshots of one process. */
export async function run(fileA: string, fileB: string, o: OutputOptions): Promise<number> {
  const format = outputFormat(o);
  const [a, b] = [await loadSnapshot(fileA), await loadSnapshot(fileB)];
  const { diff, swapped } = diffSnapshots({ report: a, name: clean(fileA), file: fileA }, { report: b, name: clean(fileB), file: fileB }, VERSION);
  if (swapped && format !== 'json') process.stderr.write(`proctriage: ${diff.from.file} is the older snapshot: comparing in time order\n`);
  const fmt = UNITS.format;
  if (format === 'json') process.stdout.write(JSON.stringify(diff, null, 2) + '\n');
  else if (format === 'markdown') process.stdout.write(renderDiffMarkdown(diff, fmt));
  else process.stdout.write(await renderDiffTable(diff, fmt, useColor(o), terminalWidth()));
  return diff.exitCode;
}
