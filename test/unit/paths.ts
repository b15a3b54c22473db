import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Paths inside the repository (tests read only there: CI clones the repo alone), from the
 * compiled test in dist/test/unit/ or from the source in test/unit/.
 */
export function repoPath(rel: string): string {
  const here = fileURLToPath(import.meta.url);
  const up = /[/\\]dist[/\\]test[/\\]unit[/\\][^/\\]+$/.test(here) ? '../../../' : '../../';
  return fileURLToPath(new URL(up, import.meta.url)) + rel;
}

export function fixture(rel: string): string {
  return repoPath('test/fixtures/' + rel);
}

export function readFixture(rel: string): string {
  return readFileSync(fixture(rel), 'utf8');
}

export function readFixtureBuffer(rel: string): Buffer {
  return readFileSync(fixture(rel));
}
