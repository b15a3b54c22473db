import { UsageError } from '../errors.js';

// Placeholder until the command lands; see the open issue.
export async function run(): Promise<number> {
  throw new UsageError('proctriage snapshot is not available in this version');
}
