// The phase detector on constructed series with known change points, and the downsampler's promise
// (bounded points, every extreme kept).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildReportData, changePoints, noiseSigma, selectRows } from '../src/report/index.js';
import { synthRun } from './_lib/synth.js';

const test = suite('report: phases and downsampling');

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Gaussian-ish noise (sum of uniforms). */
const noisy = (r: () => number, level: number, sd: number) => level + sd * (r() + r() + r() - 1.5) * 2;

/** CPU, disk and syscall columns of segments [{len, cpu, disk, sys}], with relative noise. */
function build(segs: { len: number; cpu: number; disk: number; sys: number }[], seed: number, rel = 0.08) {
  const r = rng(seed);
  const cols: number[][] = [[], [], []];
  for (const s of segs) {
    for (let i = 0; i < s.len; i++) {
      cols[0]!.push(Math.max(0, noisy(r, s.cpu, s.cpu * rel + 0.5)));
      cols[1]!.push(Math.max(0, noisy(r, s.disk, s.disk * rel)));
      cols[2]!.push(Math.max(0, noisy(r, s.sys, s.sys * rel + 2)));
    }
  }
  return cols;
}

const within = (found: number[], expected: number[], tol = 1) =>
  found.length === expected.length && found.every((f, i) => Math.abs(f - expected[i]!) <= tol);

test('CPU-bound 5 s → I/O-bound 5 s → idle 5 s at 100 ms: both change points within one sample, 8 % and 20 % noise, 20 seeds each', () => {
  const segs = [
    { len: 50, cpu: 100, disk: 0, sys: 300 },
    { len: 50, cpu: 20, disk: 50e6, sys: 20_000 },
    { len: 50, cpu: 0.5, disk: 0, sys: 10 },
  ];
  for (const rel of [0.08, 0.2]) {
    for (let seed = 1; seed <= 20; seed++) {
      const cps = changePoints(build(segs, seed, rel), { scales: [10, 1 << 20, 1000] });
      assert.ok(within(cps, [50, 100]), `noise ${rel}, seed ${seed}: found ${cps}, expected 50 and 100`);
    }
  }
});

test('unequal phases (3 s, 7 s, 2 s, 4 s) and default scales', () => {
  const segs = [
    { len: 30, cpu: 180, disk: 0, sys: 100 },
    { len: 70, cpu: 10, disk: 30e6, sys: 8000 },
    { len: 20, cpu: 90, disk: 0, sys: 100 },
    { len: 40, cpu: 0, disk: 0, sys: 0 },
  ];
  for (let seed = 1; seed <= 10; seed++) {
    const cps = changePoints(build(segs, seed));
    assert.ok(within(cps, [30, 100, 120]), `seed ${seed}: found ${cps}`);
  }
});

test('a stationary noisy series is one phase; a constant one too (no division by a zero noise)', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const cols = build([{ len: 300, cpu: 60, disk: 5e6, sys: 3000 }], seed, 0.3);
    assert.equal(changePoints(cols), [], `seed ${seed}`);
  }
  assert.equal(changePoints([new Array(200).fill(5), new Array(200).fill(0)]), []);
});

test('a noiseless step is found exactly; a 2 % step is not worth a phase', () => {
  const step = (at: number, n: number, a: number, b: number) => Array.from({ length: n }, (_, i) => (i < at ? a : b));
  assert.equal(changePoints([step(37, 120, 0, 100)]), [37]);
  assert.equal(changePoints([step(60, 120, 100, 98)], { scales: [100] }), []);
});

test('short series and edge cases: fewer samples than two minimal segments, empty input', () => {
  assert.equal(changePoints([[1, 2, 3]]), []);
  assert.equal(changePoints([]), []);
  assert.equal(changePoints([[]]), []);
  assert.ok(noiseSigma([0, 0, 0, 10, 10, 10]) === 0, 'one jump does not make noise');
});

test('end to end: a synthetic run of three phases is reported as cpu → disk → idle, boundaries within one sample', () => {
  for (const samples of [150, 1500]) {
    const d = buildReportData(synthRun({ samples, future: false }));
    const third = samples / 3;
    assert.is(d.phases.length, 3, `${samples} samples: ${d.phases.map((p) => p.dominant)}`);
    assert.ok(Math.abs(d.phases[1]!.from - third) <= 1 && Math.abs(d.phases[2]!.from - 2 * third) <= 1, `${d.phases.map((p) => p.from)}`);
    assert.equal(d.phases.map((p) => p.dominant), ['cpu', 'disk', 'idle']);
    assert.is(d.phases[0]!.behavior, 'cpu_bound');
    assert.is(d.phases[1]!.behavior, 'io_bound');
    // The syscall mix of the I/O phase is file_io, and its top syscalls are the phase's own.
    assert.ok(d.phases[1]!.by_category!.file_io! > 0.9 * Object.values(d.phases[1]!.by_category!).reduce((a, b) => a + b, 0));
    assert.equal(d.phases[1]!.top.map((t) => t.name).sort(), ['openat', 'read', 'write']);
    // Phases tile the run: each starts where the previous ended.
    for (let i = 1; i < d.phases.length; i++) assert.is(d.phases[i]!.start, d.phases[i - 1]!.end);
  }
});

test('selectRows: all rows when few; at most maxPoints; every series keeps its global and per-bucket extremes', () => {
  assert.equal(selectRows([0, 1, 2], [[1, 2, 3]], 10), [0, 1, 2]);
  const n = 100_000;
  const r = rng(3);
  const x = Array.from({ length: n }, (_, i) => i * 0.1);
  const a = Array.from({ length: n }, () => r() * 10);
  const b: (number | null)[] = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : r()));
  // Isolated spikes and dips that a mean or a stride would lose.
  const spikes = [123, 4567, 50_000, 99_998];
  for (const s of spikes) a[s] = 1000;
  a[77_777] = -50;
  for (const max of [200, 2000, 5000]) {
    const rows = selectRows(x, [a, b], max);
    assert.ok(rows.length <= max, `${rows.length} <= ${max}`);
    assert.ok(rows.length > max / 3, `uses its budget (${rows.length})`);
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i]! > rows[i - 1]!, 'ascending, no duplicates');
    assert.is(rows[0], 0);
    assert.is(rows[rows.length - 1], n - 1);
    for (const s of [...spikes, 77_777]) assert.ok(rows.includes(s), `max ${max}: sample ${s} kept`);
    const bVals = rows.map((i) => b[i]).filter((v): v is number => v !== null);
    const bAll = b.filter((v): v is number => v !== null);
    assert.is(Math.max(...bVals), Math.max(...bAll));
    assert.is(Math.min(...bVals), Math.min(...bAll));
  }
});

test('selectRows: identical time stamps and all-null series do not break it', () => {
  const x = new Array(5000).fill(3);
  const rows = selectRows(x, [new Array(5000).fill(null)], 100);
  assert.ok(rows.length <= 100 && rows.includes(0) && rows.includes(4999));
});

test.run();
