import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetInet, parseNetUnix, parseSockstatTcpRows, hexToIp, formatEndpoint, TCP_STATES } from '../../src/procfs/net-sockets.js';
import { ParseError } from '../../src/errors.js';

const isParseError = (e: unknown) => e instanceof ParseError;

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const TCP6_HEADER =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

function row(i: number, local: string, remote: string, st: string, queues = '00000000:00000000', uid = 1000, inode = 12345): string {
  return `${String(i).padStart(4)}: ${local} ${remote} ${st} ${queues} 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 20 4 30 10 -1`;
}

describe('hexToIp', () => {
  const cases: [string, string][] = [
    ['0100007F', '127.0.0.1'],
    ['00000000', '0.0.0.0'],
    ['0302010A', '10.1.2.3'],
    ['FFFFFFFF', '255.255.255.255'],
    ['0000000000000000FFFF00000100007F', '127.0.0.1'], // v4-mapped ::ffff:127.0.0.1
    ['0000000000000000FFFF00000302010A', '10.1.2.3'],
    ['00000000000000000000000001000000', '::1'],
    ['00000000000000000000000000000000', '::'],
    ['000080FE000000000000000001000000', 'fe80::1'],
    ['000080FE00000000FFADE15609667CFE', 'fe80::56e1:adff:fe7c:6609'],
    ['B80D0120000000000000000005000000', '2001:db8::5'],
    ['B80D0120000000000000010001000000', '2001:db8::1:0:0:1'], // two equal runs: the first is compressed
    ['B80D0120010000000000000001000000', '2001:db8:0:1::1'], // the longer run wins
    ['B80D0120010001000100010001000100', '2001:db8:1:1:1:1:1:1'], // no zero group
    ['B80D0120010000000100010001000100', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['000080FE000000000000000000000000', 'fe80::'],
    ['0000000000000000FFFF000000000000', '0.0.0.0'], // ::ffff:0.0.0.0
    ['00000000000000000000FFFF0100007F', '::ffff:0:7f00:1'], // not v4-mapped: the ffff is one group early
  ];
  for (const [hex, ip] of cases) test(`${hex} → ${ip}`, () => assert.equal(hexToIp(hex), ip));

  test('lowercase hex is accepted', () => assert.equal(hexToIp('0100007f'), '127.0.0.1'));
  test('a length that is neither 8 nor 32 → ParseError', () => {
    assert.throws(() => hexToIp('0100007'), isParseError);
    assert.throws(() => hexToIp('0100007F00'), isParseError);
  });
});

describe('formatEndpoint', () => {
  test('IPv4 as ip:port, IPv6 bracketed', () => {
    assert.equal(formatEndpoint({ ip: '127.0.0.1', port: 8080 }), '127.0.0.1:8080');
    assert.equal(formatEndpoint({ ip: '2001:db8::5', port: 443 }), '[2001:db8::5]:443');
  });
});

describe('parseNetInet', () => {
  test('IPv4 row: addresses, ports, state, queues, uid, inode', () => {
    const rows = parseNetInet([TCP_HEADER, row(0, '0100007F:1F90', '0A00000A:C350', '01', '0000000A:000001F4', 1001, 777)].join('\n') + '\n');
    assert.deepEqual(rows, [
      {
        local: { ip: '127.0.0.1', port: 8080 },
        remote: { ip: '10.0.0.10', port: 50000 },
        state: 'established',
        txQueue: 10,
        rxQueue: 500,
        uid: 1001,
        inode: 777,
      },
    ]);
  });

  test('IPv6 rows, v4-mapped shown as IPv4', () => {
    const rows = parseNetInet(
      [
        TCP6_HEADER,
        row(0, '0000000000000000FFFF00000100007F:985A', '0000000000000000FFFF00000100007F:18EB', '08'),
        row(1, '00000000000000000000000000000000:0016', '00000000000000000000000000000000:0000', '0A'),
        row(2, '000080FE00000000FFADE15609667CFE:C781', 'B80D0120000000000000000005000000:01BB', '01'),
      ].join('\n'),
      '/proc/1/net/tcp6',
    );
    assert.deepEqual(
      rows.map((r) => [formatEndpoint(r.local), formatEndpoint(r.remote), r.state]),
      [
        ['127.0.0.1:39002', '127.0.0.1:6379', 'closeWait'],
        ['[::]:22', '[::]:0', 'listen'],
        ['[fe80::56e1:adff:fe7c:6609]:51073', '[2001:db8::5]:443', 'established'],
      ],
    );
  });

  const STATES: [string, string][] = [
    ['01', 'established'],
    ['02', 'synSent'],
    ['03', 'synRecv'],
    ['04', 'finWait1'],
    ['05', 'finWait2'],
    ['06', 'timeWait'],
    ['07', 'close'],
    ['08', 'closeWait'],
    ['09', 'lastAck'],
    ['0A', 'listen'],
    ['0B', 'closing'],
    ['0C', 'newSynRecv'],
  ];
  for (const [code, name] of STATES) {
    test(`state ${code} → ${name}`, () => {
      const [r] = parseNetInet(`${TCP_HEADER}\n${row(0, '0100007F:0050', '0100007F:D431', code)}\n`);
      assert.equal(r!.state, name);
    });
  }
  test('the state table has exactly the 12 kernel states', () => {
    assert.deepEqual(Object.keys(TCP_STATES).sort(), STATES.map(([c]) => c).sort());
  });
  test('lowercase state code 0a is LISTEN', () => {
    assert.equal(parseNetInet(`${TCP_HEADER}\n${row(0, '0100007F:0050', '00000000:0000', '0a')}`)[0]!.state, 'listen');
  });

  test('TIME_WAIT row with the short kernel format (inode 0) is read', () => {
    const tw = '   5: 0302010A:1F90 5009010A:C738 06 00000000:00000000 03:00000F2A 00000000     0        0 0 3 0000000000000000';
    const [r] = parseNetInet(`${TCP_HEADER}\n${tw}\n`);
    assert.equal(r!.state, 'timeWait');
    assert.equal(r!.inode, 0);
    assert.equal(formatEndpoint(r!.remote), '10.1.9.80:51000');
  });

  test('header only, or header plus blank lines → no rows', () => {
    assert.deepEqual(parseNetInet(TCP_HEADER + '\n'), []);
    assert.deepEqual(parseNetInet(TCP_HEADER + '\n\n  \n'), []);
  });

  const malformed: [string, string][] = [
    ['no header', row(0, '0100007F:1F90', '00000000:0000', '0A')],
    ['empty file', ''],
    ['too few fields', '   1: 00000000:0016 00000000:0000 0A'],
    ['unknown state', row(0, '0100007F:1F90', '00000000:0000', '0D')],
    ['state not hex', row(0, '0100007F:1F90', '00000000:0000', 'ZZ')],
    ['queue without colon', row(0, '0100007F:1F90', '00000000:0000', '0A', '00000000')],
    ['address without port', row(0, '0100007F', '00000000:0000', '0A')],
    ['address not hex', row(0, '0100007G:1F90', '00000000:0000', '0A')],
    ['address of a wrong length', row(0, '0100007F00:1F90', '00000000:0000', '0A')],
    ['port too long', row(0, '0100007F:1F900', '00000000:0000', '0A')],
  ];
  for (const [name, line] of malformed) {
    test(`ParseError: ${name}`, () => {
      const text = name === 'no header' || name === 'empty file' ? line : `${TCP_HEADER}\n${line}\n`;
      assert.throws(
        () => parseNetInet(text, '/proc/9/net/tcp'),
        (e: unknown) => isParseError(e) && /\/proc\/9\/net\/tcp/.test((e as Error).message),
      );
    });
  }
});

describe('parseNetUnix', () => {
  const HEADER = 'Num       RefCount Protocol Flags    Type St Inode Path';
  test('rows with and without a path, abstract names', () => {
    const rows = parseNetUnix(
      [
        HEADER,
        '0000000094d85b65: 00000002 00000000 00010000 0001 01 3442596 /var/run/postgresql/.s.PGSQL.5432',
        '000000003854b46d: 00000003 00000000 00000000 0001 03 62425',
        '00000000a1b2c3d4: 00000002 00000000 00000000 0002 01 12392 @/tmp/.X11-unix/X0',
        '',
      ].join('\n'),
    );
    assert.deepEqual(rows, [
      { type: 1, state: 1, inode: 3442596, path: '/var/run/postgresql/.s.PGSQL.5432' },
      { type: 1, state: 3, inode: 62425, path: undefined },
      { type: 2, state: 1, inode: 12392, path: '@/tmp/.X11-unix/X0' },
    ]);
  });
  test('no header → ParseError', () => {
    assert.throws(() => parseNetUnix('0000000094d85b65: 00000002 00000000 00010000 0001 01 3442596\n'), isParseError);
  });
  test('rows without an inode column are skipped, not misread', () => {
    const rows = parseNetUnix(
      'Num       RefCount Protocol Flags    Type St Path\n' +
        '0000000000000000: 00000002 00000000 00010000 0001 01 /run/udev/control\n' +
        '0000000000000000: 00000003 00000000 00000000 0001 03\n',
    );
    assert.deepEqual(rows, []);
  });
});

describe('parseSockstatTcpRows', () => {
  test('TCP in use plus TIME_WAIT (kernel 6.x layout), whatever the order of the other keys', () => {
    const text = 'sockets: used 9509\nTCP: inuse 9502 orphan 0 tw 612 alloc 9502 mem 112\nUDP: inuse 0 mem 0\n';
    assert.equal(parseSockstatTcpRows(text), 10114);
    assert.equal(parseSockstatTcpRows('TCP: tw 3 inuse 4 alloc 7 mem 1\n'), 7);
  });
  test('no TCP line, or one without inuse/tw, is a ParseError', () => {
    assert.throws(() => parseSockstatTcpRows('sockets: used 1\nUDP: inuse 0 mem 0\n'), isParseError);
    assert.throws(() => parseSockstatTcpRows('TCP: inuse 4 orphan 0\n'), isParseError);
    assert.throws(() => parseSockstatTcpRows('TCP: inuse x tw 1\n'), isParseError);
  });
});
