// Detail mode in the WebAssembly engine: dp_sys_exit pairs returns with entries (errors, errnos, time,
// histogram), per-thread counts, --trace and --failed-only, on synthetic events, bit-exactly.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TracerSimulator, type SimCell } from '../src/tracer/simulate.js';
import { CHECK_ABI, COUNT_ONLY, State, Stat, type TracerFeatures } from '../src/tracer/programs.js';
import { INFLIGHT_BITS } from '../src/tracer/detail.js';
import { COMPAT_BIT } from '../src/syscalls/index.js';
import { tracerPrograms } from '../src/tracer/engine.js';
import { verifyProgram } from '../src/verify/static/index.js';
import { I386, NR, RAW, TRACEFS } from './_lib/tracer-layouts.js';

const test = suite('tracer sys_exit in WASM');

const DETAIL: TracerFeatures = { ...COUNT_ONLY, detail: true };
const SIZES = { maxProcesses: 64, maxCounts: 256, maxSlots: 8, maxDetails: 64 };
const ENOENT = 2, EBADF = 9;
const US = 1000;

/** The in-flight index of a thread id, as the programs compute it. */
const slotOf = (tid: number) => (Math.imul(tid, 0x9e3779b1 | 0) >>> 0) >>> (32 - INFLIGHT_BITS);
/** A thread id > `after` sharing `tid`'s in-flight entry. */
function colliding(tid: number, after = tid): number {
  for (let t = after + 1; ; t++) if (slotOf(t) === slotOf(tid)) return t;
}
const cellOf = (sim: TracerSimulator, tgid: number, nr: number): SimCell | undefined => {
  const cells = sim.cells().filter((c) => c.tgid === tgid && c.nr === nr);
  assert.ok(cells.length <= 1, `one cell per (process, syscall): ${cells.length}`);
  return cells[0];
};
const bucketsOf = (c: SimCell | undefined) => Object.fromEntries(c!.hist.flatMap((n, b) => (n ? [[b, n]] : [])));

for (const layout of [RAW, TRACEFS]) {
  const m = layout.mode;

  test(`${m}: each return is paired with its entry: errors by errno, total and maximum time, histogram`, () => {
    const sim = new TracerSimulator(layout, SIZES, DETAIL);
    sim.track(300, State.COUNT);
    for (let i = 0; i < 3; i++) sim.syscall(300, 300, NR.openat, -ENOENT, 1500); // [1, 2) µs
    sim.syscall(300, 300, NR.openat, 3, 3 * US); // [2, 4) µs, a success (fd 3)
    sim.syscall(300, 300, NR.read, -EBADF, 999); // under 1 µs
    sim.syscall(300, 300, NR.read, -4096, 1000); // -4096 is a value, not an error: [1, 2) µs
    sim.syscall(300, 300, NR.read, -4095, 64 * US); // MAX_ERRNO is an error: [64, 128) µs
    const open = cellOf(sim, 300, NR.openat)!;
    assert.equal({ errors: open.errors, totalNs: open.totalNs, maxNs: open.maxNs }, { errors: 3, totalNs: 3 * 1500 + 3 * US, maxNs: 3 * US });
    assert.equal(bucketsOf(open), { 1: 3, 2: 1 });
    const read = cellOf(sim, 300, NR.read)!;
    assert.equal({ errors: read.errors, maxNs: read.maxNs }, { errors: 2, maxNs: 64 * US });
    assert.equal(bucketsOf(read), { 0: 1, 1: 1, 7: 1 });
    assert.equal(sim.errnos(), new Map([[`300/${NR.openat}/${ENOENT}`, 3], [`300/${NR.read}/${EBADF}`, 1], [`300/${NR.read}/4095`, 1]]));
    assert.equal(sim.counts().get(300), new Map([[NR.openat, 4], [NR.read, 3]]), 'calls are still counted at entry');
    assert.equal(sim.inFlight(), new Map(), 'nothing left in flight');
  });

  test(`${m}: histogram boundaries are powers of two microseconds; the last bucket is open-ended`, () => {
    const sim = new TracerSimulator(layout, SIZES, DETAIL);
    sim.track(310, State.COUNT);
    const cases: [number, number][] = [[0, 0], [999, 0], [1000, 1], [1999, 1], [2000, 2], [2 ** 21 * US - 1, 21], [2 ** 21 * US, 22],
      [2 ** 22 * US, 23], [2 ** 25 * US, 26], [2 ** 26 * US - 1, 26], [2 ** 26 * US, 27], [3600e9, 27]];
    for (const [ns] of cases) sim.syscall(310, 310, NR.getpid, 310, ns);
    const want: Record<number, number> = {};
    for (const [, b] of cases) want[b] = (want[b] ?? 0) + 1;
    const c = cellOf(sim, 310, NR.getpid)!;
    assert.equal(bucketsOf(c), want);
    assert.is(c.maxNs, 3600e9);
    assert.is(c.totalNs, cases.reduce((a, [ns]) => a + ns, 0));
  });

  test(`${m}: exit and exit_group never return; the thread's exit frees its entry; a stray return counts nothing`, () => {
    const sim = new TracerSimulator(layout, SIZES, DETAIL);
    sim.track(320, State.COUNT);
    sim.sysExit(320, 320, 0, NR.read); // began before monitoring: no entry
    sim.sysEnter(320, 321, NR.exit); // a thread ends
    sim.exit(320, 321, false);
    sim.sysEnter(320, 320, NR.exit_group);
    assert.equal(sim.inFlight(), new Map([['320/320', NR.exit_group]]));
    sim.exit(320, 320, true);
    assert.equal(sim.inFlight(), new Map(), 'freed at the thread exit');
    assert.equal(sim.cells(), [], 'nothing returned');
    assert.equal(sim.counts().get(320), new Map([[NR.exit, 1], [NR.exit_group, 1]]));
    sim.sysExit(320, 320, 0, NR.exit_group); // the pid's next owner returns from something: not ours
    assert.equal(sim.cells(), []);
  });

  test(`${m}: threads sharing an in-flight entry: the second spills to the hash, both returns are paired`, () => {
    const sim = new TracerSimulator(layout, SIZES, DETAIL);
    const a = 401, b = colliding(a), stranger = colliding(a, b);
    sim.track(400, State.COUNT);
    sim.sysEnter(400, a, NR.read);
    sim.advance(10 * US);
    sim.sysEnter(400, b, NR.write); // same entry, taken: overflow
    assert.equal(sim.inFlight(), new Map([[`400/${a}`, NR.read], [`400/${b}`, NR.write]]));
    sim.sysExit(999, stranger, 0); // an untracked thread on the same entry: nothing
    sim.advance(5 * US);
    sim.sysExit(400, b, -EBADF, NR.write);
    sim.sysExit(400, a, 1, NR.read);
    assert.equal(sim.inFlight(), new Map());
    assert.equal([cellOf(sim, 400, NR.read)!.totalNs, cellOf(sim, 400, NR.write)!.totalNs, cellOf(sim, 400, NR.write)!.errors], [15 * US, 5 * US, 1]);
    assert.is(cellOf(sim, 999, 0), undefined);
    // The entry is free again: a later syscall of b takes the array, not the hash.
    sim.syscall(400, b, NR.write, 1, US);
    assert.is(cellOf(sim, 400, NR.write)!.totalNs, 6 * US);
    assert.is(sim.stat(Stat.DROPPED_INFLIGHT), 0);
  });

  test(`${m}: a thread killed in a syscall while another holds its entry: the exit clears the spilled one`, () => {
    const sim = new TracerSimulator(layout, SIZES, DETAIL);
    const a = 411, b = colliding(a);
    sim.track(410, State.COUNT);
    sim.sysEnter(410, a, NR.read);
    sim.sysEnter(410, b, NR.read);
    sim.exit(410, b, false);
    assert.equal(sim.inFlight(), new Map([[`410/${a}`, NR.read]]));
    sim.sysExit(410, a, 0, NR.read);
    assert.equal(sim.cells().map((c) => c.hist.reduce((x, y) => x + y)), [1]);
  });

  test(`${m}: processes beyond the rows find their cells in the hash; full tables are counted, never silent`, () => {
    const sim = new TracerSimulator(layout, { maxProcesses: 8, maxCounts: 64, maxSlots: 1, maxDetails: 3 }, DETAIL);
    sim.track(500, State.COUNT);
    sim.track(501, State.COUNT);
    sim.syscall(500, 500, NR.read, 1, US); // row: cell 0
    sim.syscall(501, 501, NR.read, -ENOENT, US); // no row: cell 1, through the hash
    sim.syscall(501, 501, NR.read, -ENOENT, US);
    sim.syscall(501, 501, NR.write, 1, US); // cell 2: the last
    sim.syscall(501, 501, NR.close, 0, US); // none left
    sim.syscall(500, 500, NR.close, -EBADF, US);
    assert.equal(sim.cells().map((c) => [c.tgid, c.nr, c.errors]), [[500, NR.read, 0], [501, NR.read, 2], [501, NR.write, 0]]);
    assert.is(sim.stat(Stat.DROPPED_DETAILS), 2, 'two returns not recorded');
    assert.equal(sim.counts().get(501), new Map([[NR.read, 2], [NR.write, 1], [NR.close, 1]]), 'calls are counted all the same');
  });

  test(`${m}: cells given back are handed out again first, in ring order, even once the fresh ones are used up`, () => {
    const sim = new TracerSimulator(layout, { maxProcesses: 8, maxCounts: 64, maxSlots: 1, maxDetails: 3 }, DETAIL);
    sim.track(500, State.COUNT); // the row
    sim.track(501, State.COUNT);
    sim.syscall(501, 501, NR.read, 1, US); // cell 0, through the hash
    sim.syscall(501, 501, NR.write, 1, US); // cell 1
    sim.syscall(500, 500, NR.read, -ENOENT, US); // cell 2, through the row: the last fresh one
    sim.syscall(501, 501, NR.close, 0, US);
    assert.is(sim.stat(Stat.DROPPED_DETAILS), 1, 'none left');
    // 501 has exited: its cells are zeroed and given back, 1 then 0.
    sim.exit(501, 501, true);
    sim.giveBack([1, 0]);
    assert.equal(sim.cells().slice(0, 2).map((c) => c.tgid), [0, 0], 'zeroed');
    sim.track(502, State.COUNT);
    sim.syscall(502, 502, NR.openat, -ENOENT, 2 * US);
    sim.syscall(502, 502, NR.openat, -ENOENT, 2 * US);
    sim.syscall(502, 502, NR.getpid, 502, US);
    assert.equal(sim.cells().map((c) => [c.tgid, c.nr, c.errors, c.totalNs]), [[502, NR.getpid, 0, US], [502, NR.openat, 2, 4 * US], [500, NR.read, 1, US]]);
    assert.equal([sim.stat(Stat.FREE_TAKEN), sim.stat(Stat.FREE_GIVEN)], [2, 2]);
    // The ring is empty again and the fresh cells are used up: counted, never silent.
    sim.syscall(502, 502, NR.close, 0, US);
    assert.is(sim.stat(Stat.DROPPED_DETAILS), 2);
    assert.is(sim.stat(Stat.FREE_TAKEN), 2, 'an empty ring is not taken from');
    // Positions wrap around the ring (its size is the number of cells).
    sim.giveBack([2]);
    sim.giveBack([0, 1]);
    sim.syscall(502, 502, NR.close, 0, US);
    assert.equal(sim.cells()[2]!.tgid, 502, 'position 2: cell 2');
    sim.track(503, State.COUNT);
    sim.syscall(503, 503, NR.read, 1, US);
    assert.equal([sim.cells()[0]!.tgid, sim.stat(Stat.FREE_TAKEN)], [503, 4], 'position 3 wraps to ring slot 0: cell 0');
  });

  test(`${m}: a full errno table is counted; errors stay exact in the cell`, () => {
    const sim = new TracerSimulator(layout, { ...SIZES, maxDetails: 2 }, DETAIL);
    sim.track(520, State.COUNT);
    sim.syscall(520, 520, NR.read, -EBADF, US);
    sim.syscall(520, 520, NR.read, -ENOENT, US);
    sim.syscall(520, 520, NR.read, -13, US); // a third (process, syscall, errno): no room
    assert.is(cellOf(sim, 520, NR.read)!.errors, 3);
    assert.is(sim.errnos().size, 2);
    assert.is(sim.stat(Stat.DROPPED_ERRNOS), 1);
  });

  test(`${m}: per thread: each thread's own calls, under its process, with its name at its exit`, () => {
    const sim = new TracerSimulator(layout, SIZES, { ...DETAIL, perThread: true });
    sim.track(600, State.COUNT);
    sim.setComm('main');
    sim.syscall(600, 600, NR.getpid, 600, US);
    sim.fork(600, 600, 601, { thread: true });
    sim.fork(600, 600, 610);
    sim.setComm('worker');
    for (let i = 0; i < 3; i++) sim.syscall(600, 601, NR.getppid, 1, US);
    sim.sysEnter(600, 601, NR.exit);
    sim.setComm('worker-end');
    sim.exit(600, 601, false);
    sim.setComm('child');
    sim.syscall(610, 610, NR.getpid, 610, US);
    const t = sim.threads();
    assert.equal(t.get(600), { tgid: 600, comm: 'main', counts: new Map([[NR.getpid, 1]]) });
    assert.equal(t.get(601), { tgid: 600, comm: 'worker-end', counts: new Map([[NR.getppid, 3], [NR.exit, 1]]) });
    assert.equal(t.get(610), { tgid: 610, comm: 'child', counts: new Map([[NR.getpid, 1]]) });
  });

  test(`${m}: --trace: only the selected syscalls are counted, recorded and timed`, () => {
    const sim = new TracerSimulator(layout, SIZES, { ...DETAIL, filter: true });
    sim.select([NR.openat]);
    sim.track(700, State.COUNT);
    sim.syscall(700, 700, NR.read, 1, US);
    sim.syscall(700, 700, NR.openat, -ENOENT, US);
    sim.syscall(700, 700, 600, 0, US); // past the rows: never selected
    assert.equal(sim.counts().get(700), new Map([[NR.openat, 1]]));
    assert.equal(sim.cells().map((c) => c.nr), [NR.openat]);
  });

  test(`${m}: --failed-only: a call is counted at its return, and only if it failed`, () => {
    const sim = new TracerSimulator(layout, SIZES, { ...DETAIL, failedOnly: true, perThread: true });
    sim.track(800, State.COUNT);
    sim.track(801, State.COUNT);
    sim.syscall(800, 800, NR.getpid, 800, US); // takes the first row
    sim.syscall(800, 800, NR.openat, -ENOENT, 2 * US);
    sim.syscall(800, 800, NR.openat, 3, US);
    sim.sysEnter(800, 800, NR.exit_group); // never returns: not counted
    for (const ret of [-EBADF, -EBADF, 0]) sim.syscall(801, 801, NR.close, ret, US);
    assert.equal(sim.counts(), new Map([[800, new Map([[NR.openat, 1]])], [801, new Map([[NR.close, 2]])]]));
    assert.equal(sim.cells().map((c) => [c.tgid, c.nr, c.errors, c.totalNs]), [[800, NR.openat, 1, 2 * US], [801, NR.close, 2, 2 * US]]);
    assert.equal([...sim.threads()].map(([tid, t]) => [tid, [...t.counts]]), [[800, [[NR.openat, 1]]], [801, [[NR.close, 2]]]]);
  });

  test(`${m}: the monitor (ARM) and the armed child before its execve record nothing; the execve returns in the new image`, () => {
    const sim = new TracerSimulator(layout, SIZES, DETAIL);
    sim.track(100, State.ARM);
    sim.syscall(100, 100, NR.clone, 200, US);
    sim.fork(100, 100, 200);
    sim.syscall(200, 200, NR.write, 1, US); // between fork and exec
    sim.sysEnter(200, 200, NR.execve);
    sim.exec(200, 200);
    sim.advance(300 * US);
    sim.sysExit(200, 200, 0, NR.execve);
    assert.equal(sim.cells().map((c) => [c.tgid, c.nr, c.totalNs]), [[200, NR.execve, 300 * US]]);
  });
}

test('raw: a 32-bit task\'s returns go to its compat syscall\'s cell', () => {
  const sim = new TracerSimulator(RAW, SIZES, DETAIL);
  sim.track(900, State.COUNT | CHECK_ABI);
  sim.syscall(900, 900, I386.getpid, 900, US, { compat: true });
  sim.syscall(900, 900, I386.getpid, 900, 2 * US, { compat: true });
  assert.equal(sim.cells().map((c) => [c.nr >>> 0, c.totalNs]), [[(COMPAT_BIT | I386.getpid) >>> 0, 3 * US]]);
});

/** Every combination of the features the options can ask for (failed-only implies detail). */
const COMBINATIONS: TracerFeatures[] = [];
for (const detail of [false, true]) for (const perThread of [false, true]) for (const filter of [false, true]) {
  for (const failedOnly of detail ? [false, true] : [false]) COMBINATIONS.push({ detail, perThread, filter, failedOnly });
}

test('every combination of features, in both layouts, passes the static verifier', () => {
  for (const layout of [RAW, TRACEFS]) {
    for (const f of COMBINATIONS) {
      for (const spec of tracerPrograms(layout, SIZES, { features: f })) {
        const r = verifyProgram(spec);
        assert.ok(r.ok, `${layout.mode} ${JSON.stringify(f)} ${spec.name}: ${r.errors.map((e) => e.message).join('; ')}`);
      }
    }
  }
});

test.run();
