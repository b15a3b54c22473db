/**
 * Test target for memory cgroups (v1). With --cgroup DIR --ratio R it allocates (and touches)
 * 1 MiB buffers until the cgroup's working set (usage minus inactive file cache) reaches R of
 * the limit, prints a ready line and holds the memory. With --mode unbounded it allocates until
 * the kernel kills it (bounded to --max-mib, after which it exits 1).
 */
import { readFileSync } from 'node:fs';
import { fail, intOption, options, ready, stayAlive } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('memory-hog');

const opts = options(['cgroup', 'ratio', 'mode', 'max-mib']);
const maxMib = intOption(opts['max-mib'], 4096, 65536, '--max-mib');
const held: Buffer[] = [];
const grab = () => held.push(Buffer.alloc(1 << 20, 0x5a)); // filled, so every page is really touched

if (opts.mode === 'unbounded') {
  let n = 0;
  const step = () => {
    for (let i = 0; i < 8 && n < maxMib; i++, n++) grab();
    if (n >= maxMib) fail(new Error(`allocated ${maxMib} MiB without being killed`));
    setImmediate(step);
  };
  step();
} else {
  if (!opts.cgroup) fail(new Error('--cgroup <dir> is required (or --mode unbounded)'));
  const ratio = Number(opts.ratio ?? '0.93');
  const dir = opts.cgroup;
  const num = (f: string) => Number(readFileSync(`${dir}/${f}`, 'utf8').trim());
  const stat = () =>
    Object.fromEntries(
      readFileSync(`${dir}/memory.stat`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([k, v]) => [k, Number(v)]),
    );
  const limit = num('memory.limit_in_bytes');
  const workingSet = () => num('memory.usage_in_bytes') - (stat().total_inactive_file ?? 0);
  for (let i = 0; i < maxMib && workingSet() < ratio * limit; i++) grab();
  const ws = workingSet();
  if (ws < ratio * limit) fail(new Error(`working set ${ws} still below ${ratio} of ${limit}`));
  ready('memory-hog', { heldMib: held.length, workingSet: ws, limit });
  stayAlive();
}
