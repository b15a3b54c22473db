import { readFileSync } from 'node:fs';
import { MAX_NESTING, nestedDeeperThan, readFileBounded } from '../files.js';
import { extname, join } from 'node:path';
import type { MetricRegistry, Playbook } from './playbook-schema.js';
import { PlaybookInvalid } from '../errors.js';
import { EMBEDDED, PACKAGE_ROOT } from '../paths.js';

/** Compiled at build time from playbooks/default.yaml, after zod validation (scripts/build-playbook). */
export const BUILTIN_PLAYBOOK = join(PACKAGE_ROOT, 'dist', 'playbooks', 'default.json');

export function builtinPlaybook(): Playbook {
  // the single-file build carries it inside
  return JSON.parse(EMBEDDED?.playbook ?? readFileSync(BUILTIN_PLAYBOOK, 'utf8')) as Playbook;
}

const PLAYBOOK_LIMIT = 2 ** 20;

/** Load and validate a team playbook (YAML or JSON). zod and yaml are loaded only here. */
export async function loadPlaybookFile(file: string, registry?: MetricRegistry): Promise<Playbook> {
  // a playbook is a few KiB: 1 MiB is generous, and bounds what the YAML parser is given
  const text = readFileBounded(file, { limit: PLAYBOOK_LIMIT, what: 'playbook' }).toString('utf8');
  let data: unknown;
  try {
    data = extname(file) === '.json' ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (err) {
    // the yaml parser reports a stack overflow (or an alias bomb) by its own code, not a RangeError
    if (err instanceof RangeError || (err as { code?: unknown }).code === 'RESOURCE_EXHAUSTION')
      throw new PlaybookInvalid(file, `nested deeper than ${MAX_NESTING} levels`);
    throw new PlaybookInvalid(file, `not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (nestedDeeperThan(data)) throw new PlaybookInvalid(file, `nested deeper than ${MAX_NESTING} levels`);
  const { validatePlaybook } = await import('./playbook-schema.js');
  const r = validatePlaybook(data, builtinPlaybook(), registry);
  if (!r.ok) throw new PlaybookInvalid(file, r.problems.slice(0, 5).join('; ') + (r.problems.length > 5 ? ` (+${r.problems.length - 5} more)` : ''));
  return r.playbook;
}

export async function loadPlaybook(file?: string, registry?: MetricRegistry): Promise<Playbook> {
  return file ? loadPlaybookFile(file, registry) : builtinPlaybook();
}
