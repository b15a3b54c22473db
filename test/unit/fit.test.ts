import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cut, fitLine } from '../../src/render/fit.js';

describe('fitting lines to a width', () => {
  test('no width: the line is kept whole', () => {
    const long = 'word '.repeat(40).trim();
    assert.deepEqual(fitLine(long, undefined), [long]);
  });

  test('wraps at spaces, continuation indented under the text after a list marker, no word split', () => {
    const line = '  2. File descriptors: is the process running out, and of what type? → no: 5 of 20,000 open';
    const out = fitLine(line, 40);
    for (const l of out) assert.ok([...l].length <= 40, l);
    assert.ok(
      out.slice(1).every((l) => l.startsWith('     ') && l[5] !== ' '),
      out.join('\n'),
    );
    assert.equal(out.map((l) => l.trim()).join(' '), line.trim(), 'the same words in the same order');
  });

  test('a word wider than the room is cut with an ellipsis; colour codes take no columns', () => {
    const out = fitLine(`  $ ${'x'.repeat(100)}`, 30);
    assert.ok(
      out.every((l) => [...l].length <= 30),
      out.join('\n'),
    );
    assert.ok(out.at(-1)!.endsWith('…'));
    assert.deepEqual(fitLine('\x1b[2mshort\x1b[22m', 5), ['\x1b[2mshort\x1b[22m']);
    assert.equal(cut('abcdef', 4), 'abc…');
  });
});
