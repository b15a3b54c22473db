import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ancestors,
  parseCpuMax,
  parseKeyValues,
  parseLimitValue,
  parseMountinfo,
  parseProcCgroup,
  resolveCgroupDirs,
  V1_UNLIMITED,
} from '../../src/procfs/cgroup.js';
import { ParseError } from '../../src/errors.js';

const isParseError = (e: unknown) => e instanceof ParseError;

describe('parseProcCgroup', () => {
  test('v1 lines, comma-separated controllers, named hierarchies, the v2 line', () => {
    const lines = parseProcCgroup('12:pids:/jobs/a\n4:cpu,cpuacct:/jobs/a\n1:name=systemd:/user.slice\n0::/jobs/a\n');
    assert.deepEqual(lines, [
      { hierarchyId: 12, controllers: ['pids'], path: '/jobs/a' },
      { hierarchyId: 4, controllers: ['cpu', 'cpuacct'], path: '/jobs/a' },
      { hierarchyId: 1, controllers: ['name=systemd'], path: '/user.slice' },
      { hierarchyId: 0, controllers: [], path: '/jobs/a' },
    ]);
  });
  test('a path may contain colons', () => {
    assert.deepEqual(parseProcCgroup('0::/a:b/c\n'), [{ hierarchyId: 0, controllers: [], path: '/a:b/c' }]);
  });
  test('a malformed line → ParseError', () => {
    assert.throws(() => parseProcCgroup('memory:/a\n'), isParseError);
    assert.throws(() => parseProcCgroup('x::/a\n'), isParseError);
  });
  test('empty → no lines', () => assert.deepEqual(parseProcCgroup('\n'), []));
});

describe('parseMountinfo', () => {
  test('root, mount point, fstype and super options', () => {
    const [m] = parseMountinfo('35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory\n');
    assert.deepEqual(m, { root: '/', mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', superOptions: ['rw', 'memory'] });
  });
  test('no optional fields before the separator', () => {
    const [m] = parseMountinfo('41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n');
    assert.deepEqual(m, { root: '/', mountPoint: '/sys/fs/cgroup/unified', fsType: 'cgroup2', superOptions: ['rw'] });
  });
  test('several optional fields (shared:, master:)', () => {
    const [m] = parseMountinfo('1128 67 253:0 /var/lib/x /var/lib/x rw,relatime shared:5 master:1 - xfs /dev/mapper/root rw,attr2\n');
    assert.equal(m!.mountPoint, '/var/lib/x');
    assert.equal(m!.fsType, 'xfs');
  });
  test('octal escapes in root and mount point (space, tab, newline, backslash)', () => {
    const [m] = parseMountinfo('50 22 0:40 /a\\040dir /mnt/my\\040disk\\011x\\012y\\134z rw - ext4 /dev/sdb1 rw\n');
    assert.equal(m!.root, '/a dir');
    assert.equal(m!.mountPoint, '/mnt/my disk\tx\ny\\z');
  });
  test('a line without " - " or with too few fields → ParseError', () => {
    assert.throws(() => parseMountinfo('35 31 0:32 / /sys/fs/cgroup/memory rw cgroup cgroup rw,memory\n'), isParseError);
    assert.throws(() => parseMountinfo('35 31 / - cgroup cgroup rw\n'), isParseError);
    assert.throws(() => parseMountinfo('35 31 0:32 / /x rw - cgroup\n'), isParseError);
  });
});

describe('ancestors', () => {
  test('nearest first, up to and including the mount point', () => {
    assert.deepEqual(ancestors({ dir: '/sys/fs/cgroup/memory/jobs/batch/w3', mountPoint: '/sys/fs/cgroup/memory' }), [
      '/sys/fs/cgroup/memory/jobs/batch/w3',
      '/sys/fs/cgroup/memory/jobs/batch',
      '/sys/fs/cgroup/memory/jobs',
      '/sys/fs/cgroup/memory',
    ]);
  });
  test('the root cgroup has only itself', () => {
    assert.deepEqual(ancestors({ dir: '/sys/fs/cgroup', mountPoint: '/sys/fs/cgroup' }), ['/sys/fs/cgroup']);
  });
  test('never climbs above the mount point into a sibling with a common prefix', () => {
    assert.deepEqual(ancestors({ dir: '/sys/fs/cgroup/memory2/a', mountPoint: '/sys/fs/cgroup/memory' }), ['/sys/fs/cgroup/memory2/a']);
  });
});

const HYBRID = parseMountinfo(
  [
    '31 23 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
    '33 31 0:30 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
    '34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '36 31 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  ].join('\n'),
);

describe('resolveCgroupDirs', () => {
  test('v2 only', () => {
    const mounts = parseMountinfo('26 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n');
    const d = resolveCgroupDirs(parseProcCgroup('0::/system.slice/app.service\n'), mounts);
    assert.equal(d.version, 2);
    assert.deepEqual(d.v2, { dir: '/sys/fs/cgroup/system.slice/app.service', mountPoint: '/sys/fs/cgroup' });
    assert.deepEqual(d.v1, {});
  });

  test('v2 at the root cgroup', () => {
    const mounts = parseMountinfo('26 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
    assert.deepEqual(resolveCgroupDirs(parseProcCgroup('0::/\n'), mounts).v2, { dir: '/sys/fs/cgroup', mountPoint: '/sys/fs/cgroup' });
  });

  test('v1 only: one directory per controller, co-mounted controllers share one', () => {
    const mounts = HYBRID.filter((m) => m.fsType !== 'cgroup2');
    const d = resolveCgroupDirs(parseProcCgroup('11:pids:/jobs/w\n10:memory:/jobs/w\n4:cpu,cpuacct:/jobs/w\n1:name=systemd:/jobs/w\n'), mounts);
    assert.equal(d.version, 1);
    assert.equal(d.v2, undefined);
    assert.deepEqual(d.v1.memory, { dir: '/sys/fs/cgroup/memory/jobs/w', mountPoint: '/sys/fs/cgroup/memory' });
    assert.deepEqual(d.v1.pids, { dir: '/sys/fs/cgroup/pids/jobs/w', mountPoint: '/sys/fs/cgroup/pids' });
    assert.deepEqual(d.v1.cpu, { dir: '/sys/fs/cgroup/cpu,cpuacct/jobs/w', mountPoint: '/sys/fs/cgroup/cpu,cpuacct' });
    assert.deepEqual(d.v1.cpuacct, d.v1.cpu);
    assert.deepEqual(d.v1.systemd, { dir: '/sys/fs/cgroup/systemd/jobs/w', mountPoint: '/sys/fs/cgroup/systemd' });
  });

  test('hybrid: v1 controllers plus the unified hierarchy', () => {
    const d = resolveCgroupDirs(parseProcCgroup('10:memory:/jobs/w\n1:name=systemd:/jobs/w\n0::/jobs/w\n'), HYBRID);
    assert.equal(d.version, 'hybrid');
    assert.deepEqual(d.v2, { dir: '/sys/fs/cgroup/unified/jobs/w', mountPoint: '/sys/fs/cgroup/unified' });
    assert.equal(d.v1.memory!.dir, '/sys/fs/cgroup/memory/jobs/w');
  });

  test('only name=systemd on v1 beside a unified hierarchy counts as v2', () => {
    const d = resolveCgroupDirs(parseProcCgroup('1:name=systemd:/a\n0::/a\n'), HYBRID);
    assert.equal(d.version, 2);
  });

  test('a container mount whose root is not "/": the directory is relative to that root', () => {
    const mounts = parseMountinfo(
      [
        '700 650 0:32 /kubepods/burstable/pod1/ctr1 /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory',
        '701 650 0:26 /kubepods.slice/pod1.slice/ctr1.scope /sys/fs/cgroup rw - cgroup2 cgroup2 rw',
      ].join('\n'),
    );
    const v1 = resolveCgroupDirs(parseProcCgroup('10:memory:/kubepods/burstable/pod1/ctr1\n'), mounts);
    assert.deepEqual(v1.v1.memory, { dir: '/sys/fs/cgroup/memory', mountPoint: '/sys/fs/cgroup/memory' });
    const nested = resolveCgroupDirs(parseProcCgroup('10:memory:/kubepods/burstable/pod1/ctr1/sub/task\n'), mounts);
    assert.deepEqual(nested.v1.memory, { dir: '/sys/fs/cgroup/memory/sub/task', mountPoint: '/sys/fs/cgroup/memory' });
    const v2 = resolveCgroupDirs(parseProcCgroup('0::/kubepods.slice/pod1.slice/ctr1.scope/app\n'), mounts);
    assert.deepEqual(v2.v2, { dir: '/sys/fs/cgroup/app', mountPoint: '/sys/fs/cgroup' });
  });

  test('a path outside the mount root is not resolved (it is not visible from here)', () => {
    const mounts = parseMountinfo('700 650 0:32 /kubepods/pod1 /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n');
    const d = resolveCgroupDirs(parseProcCgroup('10:memory:/kubepods/pod2\n10:memory:/kubepods/pod10\n'), mounts);
    assert.equal(d.v1.memory, undefined);
    // "/kubepods/pod1" must not cover "/kubepods/pod10"
    const e = resolveCgroupDirs(parseProcCgroup('10:memory:/kubepods/pod10\n'), mounts);
    assert.equal(e.v1.memory, undefined);
  });

  test('a controller with no mount is left out', () => {
    const d = resolveCgroupDirs(parseProcCgroup('7:blkio:/a\n10:memory:/a\n'), HYBRID);
    assert.equal(d.v1.blkio, undefined);
    assert.ok(d.v1.memory);
  });
});

describe('parseKeyValues', () => {
  test('memory.stat / cpu.stat / memory.events / oom_control lines', () => {
    assert.deepEqual(parseKeyValues('nr_periods 1000\nnr_throttled 300\nthrottled_usec 41234567\n', 'cpu.stat'), {
      nr_periods: 1000,
      nr_throttled: 300,
      throttled_usec: 41234567,
    });
    assert.deepEqual(parseKeyValues('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n', 'memory.oom_control'), { oom_kill_disable: 0, under_oom: 0, oom_kill: 3 });
    assert.deepEqual(parseKeyValues('  low 0\n\nhigh 4\n', 'memory.events'), { low: 0, high: 4 });
  });
  test('a big v1 value stays a number', () => {
    assert.equal(parseKeyValues('hierarchical_memory_limit 9223372036854771712\n', 'memory.stat').hierarchical_memory_limit, 9223372036854771712);
  });
  test('a non-numeric value or a key alone → ParseError naming the file', () => {
    assert.throws(
      () => parseKeyValues('nr_periods many\n', '/x/cpu.stat'),
      (e: unknown) => isParseError(e) && /\/x\/cpu\.stat/.test((e as Error).message),
    );
    assert.throws(() => parseKeyValues('lonely\n', 'f'), isParseError);
  });
});

describe('parseLimitValue', () => {
  const cases: [string, number][] = [
    ['268435456\n', 268435456],
    ['0\n', 0],
    ['max\n', Infinity],
    ['-1\n', Infinity], // v1 cpu.cfs_quota_us
    ['9223372036854771712\n', Infinity], // v1 memory "unlimited" sentinel
    ['9223372036854775807\n', Infinity], // v1 pids / plain LONG_MAX
    [String(V1_UNLIMITED - 4096), V1_UNLIMITED - 4096],
    ['  512  ', 512],
  ];
  for (const [text, want] of cases) test(`${JSON.stringify(text)} → ${want}`, () => assert.equal(parseLimitValue(text, 'memory.max'), want));
  test('garbage → ParseError', () => {
    assert.throws(() => parseLimitValue('unlimited', 'memory.max'), isParseError);
    assert.throws(() => parseLimitValue('', 'memory.max'), isParseError);
  });
});

describe('parseCpuMax', () => {
  const cases: [string, number][] = [
    ['50000 100000\n', 0.5],
    ['200000 100000\n', 2],
    ['150000 100000', 1.5],
    ['max 100000\n', Infinity],
    ['max\n', Infinity],
  ];
  for (const [text, want] of cases) test(`${JSON.stringify(text)} → ${want}`, () => assert.equal(parseCpuMax(text), want));
  test('malformed → ParseError', () => {
    assert.throws(() => parseCpuMax('50000\n'), isParseError);
    assert.throws(() => parseCpuMax('50000 0\n'), isParseError);
    assert.throws(() => parseCpuMax('lots 100000\n'), isParseError);
  });
});
