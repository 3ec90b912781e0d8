// The most processes alive at one time, from process lifetimes that arrive in any order (a process's
// record comes when it has exited, the running ones' at the end), in memory that does not grow with the
// number of processes: a long attach with process churn sees millions of them.
//
// Lifetimes that ended well before the latest sample are folded into a staircase: S(t), the largest
// count of folded lifetimes at any time u ≥ t (before the fold's cut). S is non-increasing, so it is a
// list of points (t, c) with c strictly decreasing: at most the maximum itself. Replacing the folded
// counts F by S loses nothing as long as every lifetime not folded yet ends after the cut: those add a
// non-decreasing G on t < cut, and max(F + G) = max(S + G) (S(t) is F at some u ≥ t, where G is no
// smaller). The cut stays a margin behind the latest sample (60 s, or three times the longest delay seen
// between an exit and its record), so the condition holds for records that arrive as the monitor emits
// them; a record later than that could only make the figure larger than exact, never smaller.

const FOLD_AT = 1024;
const MIN_MARGIN_MS = 60_000;

type Lifetime = [start: number, end: number];

export class Concurrency {
  /** Lifetimes not folded yet (end Infinity: still running). */
  private open: Lifetime[] = [];
  /** S as points [bound, c], bounds ascending, c strictly decreasing: S(x) = c of the first point with bound > x. */
  private stair: Array<[number, number]> = [];
  private maxLagMs = 0;
  private nowMs = -Infinity;
  private count = 0;
  /** Fold when this many are open: twice what the last fold left, so folding costs O(1) per lifetime. */
  private foldAt = FOLD_AT;

  /** The latest sample time: lifetimes that ended well before it are folded. */
  observe(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
  }

  add(startMs: number, endMs: number | null): void {
    this.count++;
    const end = endMs ?? Infinity;
    if (Number.isFinite(end) && Number.isFinite(this.nowMs)) this.maxLagMs = Math.max(this.maxLagMs, this.nowMs - end);
    this.open.push([startMs, end]);
    if (this.open.length >= this.foldAt) this.fold();
  }

  /** Lifetimes added (the process records counted). */
  get size(): number {
    return this.count;
  }

  /** What is held in memory (for tests): unfolded lifetimes and staircase points. */
  get held(): number {
    return this.open.length + this.stair.length;
  }

  /** The most lifetimes overlapping at one instant (one ending when another starts does not overlap it). */
  max(): number {
    return maxOf(this.stair, this.open);
  }

  private fold(): void {
    const cut = this.nowMs - Math.max(MIN_MARGIN_MS, 3 * this.maxLagMs);
    if (Number.isFinite(cut)) {
      const done = this.open.filter(([, e]) => e < cut);
      if (done.length > 0) {
        this.open = this.open.filter(([, e]) => e >= cut);
        this.stair = staircase(this.stair, done);
      }
    }
    this.foldAt = Math.max(FOLD_AT, 2 * this.open.length);
  }
}

/** S(x): the value of the first point whose bound is above x (0 past the last one). */
function stairAt(stair: ReadonlyArray<[number, number]>, x: number): number {
  let lo = 0, hi = stair.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (stair[mid]![0] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo < stair.length ? stair[lo]![1] : 0;
}

/**
 * S + the coverage of `lives` (start ≤ x < end) on its elementary intervals: [x, value] for every
 * boundary x (the value holds from x to the next boundary), after a first entry for everything before
 * the first boundary (x = -Infinity).
 */
function steps(stair: ReadonlyArray<[number, number]>, lives: readonly Lifetime[]): Array<[number, number]> {
  const xs = [...new Set([...stair.map((p) => p[0]), ...lives.map((l) => l[0]), ...lives.map((l) => l[1])])]
    .filter(Number.isFinite).sort((a, b) => a - b);
  const starts = lives.map((l) => l[0]).sort((a, b) => a - b);
  const ends = lives.map((l) => l[1]).sort((a, b) => a - b);
  const out: Array<[number, number]> = [[-Infinity, stair.length > 0 ? stair[0]![1] : 0]];
  let i = 0, j = 0;
  for (const x of xs) {
    while (i < starts.length && starts[i]! <= x) i++;
    while (j < ends.length && ends[j]! <= x) j++;
    out.push([x, stairAt(stair, x) + i - j]);
  }
  return out;
}

/** The suffix maximum of S + `lives`, as a new staircase: [bound, value] at each drop. */
function staircase(stair: ReadonlyArray<[number, number]>, lives: readonly Lifetime[]): Array<[number, number]> {
  const st = steps(stair, lives);
  // m[k]: the largest value from interval k on.
  const m = new Array<number>(st.length);
  let best = 0;
  for (let k = st.length - 1; k >= 0; k--) m[k] = best = Math.max(best, st[k]![1]);
  const out: Array<[number, number]> = [];
  for (let k = 0; k < st.length; k++) {
    const next = k + 1 < st.length ? m[k + 1]! : 0;
    if (m[k]! > next) out.push([k + 1 < st.length ? st[k + 1]![0] : Infinity, m[k]!]);
  }
  return out;
}

function maxOf(stair: ReadonlyArray<[number, number]>, lives: readonly Lifetime[]): number {
  let best = 0;
  for (const [, c] of steps(stair, lives)) best = Math.max(best, c);
  return best;
}
