/**
 * The limit of V8's old generation, which is what a leak runs into ("JavaScript heap out of
 * memory"). `heap_size_limit` is the old-generation limit PLUS the young generation's
 * reservation (3 × the maximum semi-space: two semi-spaces and the new large-object space),
 * which a leak never fills. Pure: the target's own flags and heap_size_limit in, bytes out.
 *
 * Measured on this machine (MiB; heap_size_limit = old + young):
 *
 *   flags                                   Node 20.20 / 22.23     Node 24.22
 *   --max-old-space-size=8 / 96 / 512       56 / 144 / 560         200 / 288 / 704
 *   --max-old-space-size=96 + semi 1/32/64  99 / 192 / 288         99 / 192 / 288
 *   none (24 GiB host, old = 4096)          4144                   4288
 *   --max-semi-space-size=8, no old flag    4120                   4120
 *   v1 memory cgroup 256 MiB / 512 / 1 GiB  259 / 259 / 524        259 / 259 / 560
 *   --max-old-space-size-percentage=25      (not a flag)           6218 (old 6026 + 192)
 *
 * So: with an explicit old-generation size the young generation is 3 × the default maximum
 * semi-space (16 MiB before V8 13, 64 MiB from V8 13 = Node 24), or 3 × --max-semi-space-size;
 * with automatic sizing (from the host's or the cgroup's memory) the semi-space follows the old
 * generation: old / 256 at or below 256 MiB of old space, else old / 128 (V8 < 13) or old / 32
 * (V8 13), kept within 1 MiB and that default maximum.
 */
const MiB = 2 ** 20;

export interface HeapFlags {
  /** --max-old-space-size in MiB, as the target sees it (execArgv over NODE_OPTIONS) */
  maxOldSpaceMb?: number;
  /** --max-old-space-size-percentage (Node 24): the old generation was sized explicitly */
  maxOldSpacePercentage?: number;
  /** --max-semi-space-size in MiB */
  maxSemiSpaceMb?: number;
  /** major version of V8 (process.versions.v8) */
  v8Major?: number;
}

export interface OldLimit {
  bytes: number;
  source: 'max-old-space-size' | 'heap_size_limit minus young generation';
  /** the young generation's reservation subtracted (or implied) */
  youngBytes: number;
}

function defaults(v8Major: number | undefined): { maxSemiMb: number; ratio: number } {
  return (v8Major ?? 0) >= 13 ? { maxSemiMb: 64, ratio: 32 } : { maxSemiMb: 16, ratio: 128 };
}

/** The old-generation limit from the most direct source the target gives. */
export function oldGenerationLimit(heapSizeLimit: number, f: HeapFlags): OldLimit {
  const d = defaults(f.v8Major);
  if (f.maxOldSpaceMb !== undefined && f.maxOldSpaceMb > 0 && f.maxOldSpaceMb * MiB <= heapSizeLimit) {
    return { bytes: f.maxOldSpaceMb * MiB, source: 'max-old-space-size', youngBytes: heapSizeLimit - f.maxOldSpaceMb * MiB };
  }
  const fromYoung = (young: number): OldLimit => ({
    bytes: Math.max(0, Math.round(heapSizeLimit - young)),
    source: 'heap_size_limit minus young generation',
    youngBytes: Math.round(young),
  });
  if (f.maxSemiSpaceMb !== undefined && f.maxSemiSpaceMb > 0) return fromYoung(3 * f.maxSemiSpaceMb * MiB);
  if (f.maxOldSpaceMb !== undefined || f.maxOldSpacePercentage !== undefined) return fromYoung(3 * d.maxSemiMb * MiB);
  // automatic sizing: limit = old + 3 × clamp(old / ratio(old), 1 MiB, max); solve for old
  const limitMb = heapSizeLimit / MiB;
  const ratio = (oldMb: number) => (oldMb <= 256 ? 256 : d.ratio);
  const capped = limitMb - 3 * d.maxSemiMb;
  if (capped / ratio(capped) >= d.maxSemiMb) return fromYoung(3 * d.maxSemiMb * MiB);
  const floored = limitMb - 3;
  if (floored / ratio(floored) <= 1) return fromYoung(3 * MiB);
  for (const r of [256, d.ratio]) {
    const oldMb = limitMb / (1 + 3 / r);
    if (ratio(oldMb) === r) return fromYoung(heapSizeLimit - oldMb * MiB);
  }
  return fromYoung(3 * d.maxSemiMb * MiB);
}
