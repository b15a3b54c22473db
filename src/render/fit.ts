import { stripVTControlCharacters } from 'node:util';

/** cli-table3 characters for a borderless table indented by two spaces (the report's key numbers, the demo summary). */
export const COMPACT_CHARS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '  ',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: ' ',
};

/** Visible length of a line: escape codes take no columns. */
export function visible(s: string): number {
  return [...stripVTControlCharacters(s)].length;
}

/** Cut a line to `width` columns with an ellipsis (colour is dropped from a line that is cut). */
export function cut(s: string, width: number | undefined): string {
  if (width === undefined || visible(s) <= width) return s;
  return [...stripVTControlCharacters(s)].slice(0, Math.max(1, width - 1)).join('') + '…';
}

/**
 * Fit one line to `width` columns (undefined: leave it, piped output keeps full lines): wrap at
 * spaces, continuation lines indented under the text after the line's own indent and list marker
 * ("- ", "1. ", "$ ", "→ "); a single word wider than the room left is cut with an ellipsis.
 */
export function fitLine(line: string, width: number | undefined): string[] {
  if (width === undefined || visible(line) <= width) return [line];
  const plain = stripVTControlCharacters(line);
  const lead = /^ */.exec(plain)![0].length;
  const marker = /^ *(?:[-→$✖▲ℹ]|\d+\.)? ?/.exec(plain)![0].length;
  const indent = ' '.repeat(Math.min(Math.max(marker, lead + 2), Math.floor(width / 2)));
  const out: string[] = [];
  let cur = '';
  let curLen = 0;
  for (const word of line.slice(indexAfterSpaces(line, lead)).split(/ +/)) {
    const len = visible(word);
    if (!len) continue;
    if (!cur) {
      const start = out.length ? indent : line.slice(0, indexAfterSpaces(line, lead));
      cur = start + (len > width - visible(start) ? cut(word, width - visible(start)) : word);
      curLen = visible(cur);
    } else if (curLen + 1 + len <= width) {
      cur += ' ' + word;
      curLen += 1 + len;
    } else {
      out.push(cur);
      cur = indent + (len > width - indent.length ? cut(word, width - indent.length) : word);
      curLen = visible(cur);
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** Fit every line of a text to `width` columns. */
export function fitText(lines: string[], width: number | undefined): string[] {
  return lines.flatMap((l) => l.split('\n')).flatMap((l) => fitLine(l, width));
}

/** Where the `n` leading spaces of a (possibly coloured) line end. */
function indexAfterSpaces(line: string, n: number): number {
  let seen = 0;
  let i = 0;
  while (i < line.length && seen < n) {
    if (line[i] === ' ') seen++;
    i++;
  }
  return i;
}
