/**
 * What must be undone if the run is interrupted (SIGINT, SIGTERM): an inspector we opened
 * with SIGUSR1. Probes register a cleanup while they hold something open; the CLI layer runs
 * them, bounded in time, before it exits.
 */
const cleanups = new Set<() => Promise<void>>();

export function onInterrupt(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

export async function runInterruptCleanups(ms: number): Promise<void> {
  const all = Promise.allSettled([...cleanups].map((f) => f()));
  let t: NodeJS.Timeout | undefined;
  await Promise.race([
    all,
    new Promise((r) => {
      t = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(t);
}
