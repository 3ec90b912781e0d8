// Downsampling that keeps peaks: the time range is cut into equal buckets and, in each bucket, the
// samples holding each series' minimum and maximum are kept. Every point drawn is a real sample
// (its values are exact, so hover shows true figures) and no spike or dip of any series is lost;
// what is lost is the shape between extremes within one bucket.

type Col = readonly (number | null)[];

/**
 * Indices of the samples to keep, ascending, at most `maxPoints` (and all of them when there are
 * that few). `cols` are the series the extremes are taken of (a stacked panel adds its total).
 */
export function selectRows(x: readonly number[], cols: readonly Col[], maxPoints: number): number[] {
  const n = x.length;
  if (n <= maxPoints || n === 0) return Array.from({ length: n }, (_, i) => i);
  const k = Math.max(1, cols.length);
  // Up to 2k rows per bucket, plus the first and last sample.
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / (2 * k)));
  const x0 = x[0]!;
  const span = x[n - 1]! - x0;
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[n - 1] = 1;
  const lo = new Int32Array(k);
  const hi = new Int32Array(k);
  let bucket = -1;
  const flush = () => {
    for (let j = 0; j < k; j++) {
      if (lo[j]! >= 0) keep[lo[j]!] = 1;
      if (hi[j]! >= 0) keep[hi[j]!] = 1;
    }
  };
  for (let i = 0; i < n; i++) {
    const b = span > 0 ? Math.min(buckets - 1, Math.floor(((x[i]! - x0) / span) * buckets)) : 0;
    if (b !== bucket) {
      if (bucket >= 0) flush();
      bucket = b;
      lo.fill(-1);
      hi.fill(-1);
    }
    for (let j = 0; j < cols.length; j++) {
      const v = cols[j]![i];
      if (v === null || v === undefined) continue;
      if (lo[j]! < 0 || v < cols[j]![lo[j]!]!) lo[j] = i;
      if (hi[j]! < 0 || v > cols[j]![hi[j]!]!) hi[j] = i;
    }
  }
  flush();
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep[i]) out.push(i);
  return out;
}

export function pick<T>(values: readonly T[], rows: readonly number[]): T[] {
  return rows.map((i) => values[i]!);
}
