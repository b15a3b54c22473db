import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's own directory: the nearest folder above this module holding a package.json.
 * Found by walking up because this code runs at two depths: compiled (dist/src/) and bundled
 * into the command (dist/cli/).
 */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** The nearest directory holding a package.json; the module's own when there is none (the single-file build needs none). */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

declare const PROCTRIAGE_EMBEDDED: Embedded | undefined;

/** What the package's files hold, built into the single-file command instead (scripts/bundle-single.ts). */
export interface Embedded {
  version: string;
  /** dist/playbooks/default.json, as text */
  playbook: string;
}

/**
 * Set only in the single-file build (dist/proctriage.mjs), where esbuild defines
 * PROCTRIAGE_EMBEDDED: that file runs with nothing beside it.
 */
export const EMBEDDED: Embedded | undefined = typeof PROCTRIAGE_EMBEDDED === 'undefined' ? undefined : PROCTRIAGE_EMBEDDED;
