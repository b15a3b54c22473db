import { UsageError } from '../errors.js';

// Placeholder until the demo lands.
export async function run(): Promise<number> {
  throw new UsageError('proctriage demo is not available in this version');
}
