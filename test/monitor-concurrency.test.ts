// The peak number of processes alive at once, from process records arriving as processes exit:
// exact against a brute-force count, in memory that does not grow with the number of processes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Concurrency } from '../src/monitor/concurrency.js';

const test = suite('monitor concurrency');

/** The reference: every lifetime kept, events swept (an exit before a start at equal times). */
function bruteForce(lives: Array<[number, number | null]>): number {
  const events: [number, number][] = [];
  for (const [s, e] of lives) events.push([s, 1], [e ?? Infinity, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}

/** A deterministic generator (tests must fail the same way twice). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >> 17; x ^= x << 5; x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

interface Proc { start: number; end: number | null }

/**
 * Simulates a monitor: processes start over `spanMs` with lifetimes of any length (a few live for
 * ever), a sample every second, and each record delivered a little after its exit (up to `lagMs`).
 */
function simulate(seed: number, n: number, spanMs: number, lagMs: number, longLived = 0.01) {
  const r = rng(seed);
  const procs: Proc[] = [];
  for (let i = 0; i < n; i++) {
    const start = Math.floor(r() * spanMs);
    const kind = r();
    const len = kind < longLived ? null : kind < 0.2 ? Math.floor(r() * 200_000) : Math.floor(r() * 3000);
    procs.push({ start, end: len === null ? null : start + len });
  }
  const c = new Concurrency();
  // Records arrive by exit time plus a lag; the running ones at the end.
  const arrivals = procs
    .filter((p) => p.end !== null)
    .map((p) => ({ p, at: p.end! + Math.floor(r() * lagMs) }))
    .sort((a, b) => a.at - b.at);
  let k = 0;
  let held = 0;
  const last = arrivals.reduce((m, a) => Math.max(m, a.at), spanMs);
  for (let now = 0; now <= last + 1000; now += 1000) {
    while (k < arrivals.length && arrivals[k]!.at <= now) {
      c.add(arrivals[k]!.p.start, arrivals[k]!.p.end);
      k++;
    }
    c.observe(now);
    held = Math.max(held, c.held);
  }
  for (const p of procs) if (p.end === null) c.add(p.start, null);
  return { c, procs, held };
}

test('equals the brute-force count whatever the order of arrival, with folding at work', () => {
  for (const seed of [1, 2, 42]) {
    const { c, procs } = simulate(seed, 20_000, 600_000, 3000);
    const expected = bruteForce(procs.map((p) => [p.start, p.end]));
    assert.is(c.max(), expected, `seed ${seed}`);
    assert.is(c.size, procs.length);
  }
});

test('touching lifetimes do not overlap; equal starts do; running ones count to the end', () => {
  const c = new Concurrency();
  c.add(0, 10);
  c.add(10, 20);
  assert.is(c.max(), 1);
  c.add(5, null);
  c.add(5, 6);
  assert.is(c.max(), 3);
});

test('memory is bounded by the churn of the last minute, not by the number of processes', () => {
  // Ten forks a second for six simulated hours, each process living up to 3 s (some up to 200 s).
  const span = 6 * 3_600_000;
  const { c, held, procs } = simulate(7, 216_000, span, 2000, 0);
  assert.ok(held < 5000, `at most ${held} lifetimes or points held for ${procs.length} processes`);
  assert.is(c.max(), bruteForce(procs.map((p) => [p.start, p.end])));
});

test('a record later than the margin can only raise the figure (never lower it)', () => {
  const c = new Concurrency();
  for (let i = 0; i < 2000; i++) {
    c.observe(i * 1000);
    c.add(i * 1000, i * 1000 + 500);
  }
  const before = c.max();
  // Arrives ~30 minutes late, overlapping an old one.
  c.add(100_200, 100_300);
  assert.ok(c.max() >= Math.max(before, 2));
});

test.run();
