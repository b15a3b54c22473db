import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED, PACKAGE_ROOT } from './paths.js';

/** The package version, read once from package.json (no JSON import assertion needed), or built in (single file). */
export const VERSION = EMBEDDED?.version ?? (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
