// Change points of a multivariate series by binary segmentation with a BIC stop rule
// (docs/report.md, "Phases"). Each feature (a non-negative rate) is first put on a log scale,
// log(1 + x / scale), where `scale` is the smallest level that matters: resource use varies by
// ratios (noise grows with the level), and the log makes a change from 1 to 2 cores weigh like one
// from 50 to 100 MB/s, while levels far below the scale stay near 0. Then each feature is divided by
// its noise, estimated from the median absolute first difference (which change points barely move)
// and never taken below SIGMA_FLOOR, so the cost of a segment is its squared deviation from its mean
// in noise units, as in a Gaussian model with known variance. A split is kept while it lowers the
// cost by more than the BIC price of its parameters: one new mean per feature plus the location,
// ln(n) each.

export interface SegmentOptions {
  /** Per feature: the smallest level that matters (default: a tenth of the feature's 99th percentile). */
  scales?: number[];
  /** Shortest segment, in samples (default max(3, n/50)). */
  minLength?: number;
  /** Most segments (default 10). */
  maxSegments?: number;
}

/**
 * The noise floor on the log scale: level changes under about 20 % count as noise however steady the
 * series, so short stretches of drift do not become phases.
 */
export const SIGMA_FLOOR = 0.2;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]!;
}

/** Robust noise estimate of a series with level shifts: MAD of first differences / (0.6745·√2). */
export function noiseSigma(x: readonly number[]): number {
  if (x.length < 3) return 0;
  const d: number[] = [];
  for (let i = 1; i < x.length; i++) d.push(Math.abs(x[i]! - x[i - 1]!));
  return percentile(d, 0.5) / (0.6745 * Math.SQRT2);
}

/**
 * Indices where a new segment starts (ascending, never 0). `features` are columns of equal length.
 */
export function changePoints(features: readonly (readonly number[])[], opts: SegmentOptions = {}): number[] {
  const n = features[0]?.length ?? 0;
  const minLength = Math.max(1, Math.floor(opts.minLength ?? Math.max(3, n / 50)));
  const maxSegments = opts.maxSegments ?? 10;
  if (n < 2 * minLength || features.length === 0) return [];
  const d = features.length;

  // Prefix sums of the standardised features.
  const S1: Float64Array[] = [];
  const S2: Float64Array[] = [];
  features.forEach((raw, j) => {
    const scale = opts.scales?.[j] ?? percentile(raw.map(Math.abs), 0.99) / 10;
    const scaled = raw.map((v) => (scale > 0 ? Math.log1p(Math.max(0, v) / scale) : 0));
    const sigma = Math.max(noiseSigma(scaled), SIGMA_FLOOR);
    const s1 = new Float64Array(n + 1);
    const s2 = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const z = scaled[i]! / sigma;
      s1[i + 1] = s1[i]! + z;
      s2[i + 1] = s2[i]! + z * z;
    }
    S1.push(s1);
    S2.push(s2);
  });
  const cost = (a: number, b: number): number => {
    let c = 0;
    for (let j = 0; j < d; j++) {
      const s = S1[j]![b]! - S1[j]![a]!;
      c += S2[j]![b]! - S2[j]![a]! - (s * s) / (b - a);
    }
    return c;
  };
  /** The best split of [a, b): where, and how much cost it removes. */
  const best = (a: number, b: number): { at: number; gain: number } => {
    const whole = cost(a, b);
    let at = -1;
    let gain = 0;
    for (let s = a + minLength; s <= b - minLength; s++) {
      const g = whole - cost(a, s) - cost(s, b);
      if (g > gain) [at, gain] = [s, g];
    }
    return { at, gain };
  };

  const penalty = (d + 1) * Math.log(n);
  const segments: { a: number; b: number; split: { at: number; gain: number } }[] = [{ a: 0, b: n, split: best(0, n) }];
  while (segments.length < maxSegments) {
    let k = -1;
    for (let i = 0; i < segments.length; i++) {
      if (segments[i]!.split.at >= 0 && (k < 0 || segments[i]!.split.gain > segments[k]!.split.gain)) k = i;
    }
    if (k < 0 || segments[k]!.split.gain <= penalty) break;
    const { a, b, split } = segments[k]!;
    segments.splice(k, 1, { a, b: split.at, split: best(a, split.at) }, { a: split.at, b, split: best(split.at, b) });
  }
  const cps = segments.slice(1).map((s) => s.a);
  // One refinement pass: each change point moves to the best place between its neighbours (binary
  // segmentation places early splits with later ones unknown).
  for (let i = 0; i < cps.length; i++) {
    const a = i === 0 ? 0 : cps[i - 1]!;
    const b = i === cps.length - 1 ? n : cps[i + 1]!;
    const r = best(a, b);
    if (r.at >= 0) cps[i] = r.at;
  }
  return cps;
}
