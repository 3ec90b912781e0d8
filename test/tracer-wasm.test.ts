// The tracer's programs in the WebAssembly engine, on synthetic events: the counting logic is tested
// bit-exactly without any BPF privilege.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TracerSimulator } from '../src/tracer/simulate.js';
import { CHECK_ABI, State, Stat } from '../src/tracer/programs.js';
import { COMPAT_BIT } from '../src/syscalls/index.js';
import { I386, NR, RAW, TRACEFS } from './_lib/tracer-layouts.js';

const test = suite('tracer programs in WASM');

const MONITOR = 100;
/** The stored number of a compat syscall (unsigned, as the map key holds it). */
const compat = (nr: number) => (COMPAT_BIT | nr) >>> 0;

for (const layout of [RAW, TRACEFS]) {
  const m = layout.mode;

  test(`${m}: run — the child counts from its own execve; the monitor and strangers never count`, () => {
    const sim = new TracerSimulator(layout);
    sim.track(MONITOR, State.ARM);
    sim.sysEnter(MONITOR, MONITOR, NR.clone);
    sim.fork(MONITOR, MONITOR, 200);
    assert.is(sim.tracked().get(200), State.PENDING);
    sim.sysEnter(200, 200, NR.write); // between fork and exec: not the command's own
    sim.sysEnter(200, 200, NR.execve);
    sim.sysEnter(200, 200, NR.read);
    sim.sysEnter(200, 200, NR.read);
    sim.sysEnter(999, 999, NR.read); // not ours
    sim.sysEnter(200, 200, -1); // no syscall: ignored
    assert.equal(sim.counts(), new Map([[200, new Map([[NR.execve, 1], [NR.read, 2]])]]));
    assert.is(sim.tracked().get(200), State.COUNT);
  });

  test(`${m}: children and grandchildren are added at fork; threads count toward their process`, () => {
    const sim = new TracerSimulator(layout);
    sim.track(300, State.COUNT);
    sim.fork(300, 300, 301);
    sim.fork(301, 301, 302); // grandchild
    sim.fork(300, 300, 310, { thread: true });
    assert.equal([...sim.tracked().keys()].sort(), [300, 301, 302]);
    sim.sysEnter(302, 302, NR.getpid);
    sim.sysEnter(300, 310, NR.getpid); // the thread
    sim.sysEnter(300, 300, NR.getpid);
    const counts = sim.counts();
    assert.is(counts.get(302)?.get(NR.getpid), 1);
    assert.is(counts.get(300)?.get(NR.getpid), 2);
    assert.not.ok(counts.has(310));
    assert.is(sim.stat(Stat.FORKS), 2);
  });

  test(`${m}: an exited process leaves the tracked set, its counts stay, a recycled pid is not counted`, () => {
    const sim = new TracerSimulator(layout);
    sim.track(400, State.COUNT);
    sim.sysEnter(400, 400, NR.read);
    sim.exit(400, 401, false); // a thread: the process lives on
    assert.ok(sim.tracked().has(400));
    sim.sysEnter(400, 400, NR.exit_group);
    sim.exit(400, 400, true);
    assert.not.ok(sim.tracked().has(400));
    sim.sysEnter(400, 400, NR.read); // the pid, recycled by a stranger
    assert.equal(sim.counts().get(400), new Map([[NR.read, 1], [NR.exit_group, 1]]));
    assert.is(sim.stat(Stat.EXITS), 1);
  });

  test(`${m}: the per-CPU cache never hides a change to the tracked set`, () => {
    const sim = new TracerSimulator(layout);
    sim.sysEnter(800, 800, NR.read); // cached on this CPU as untracked
    sim.sysEnter(800, 800, NR.read);
    sim.track(800, State.COUNT); // user space starts tracking it (attach)
    sim.sysEnter(800, 800, NR.read);
    sim.sysEnter(800, 800, NR.read); // fast path now
    sim.fork(800, 800, 801);
    sim.sysEnter(801, 801, NR.read); // the child, added by the kernel
    sim.sysEnter(800, 800, NR.exit_group);
    sim.exit(800, 800, true);
    sim.sysEnter(800, 800, NR.read); // recycled pid: the exit invalidated the cached COUNT
    assert.equal(sim.counts(), new Map([
      [800, new Map([[NR.read, 2], [NR.exit_group, 1]])],
      [801, new Map([[NR.read, 1]])],
    ]));
  });

  test(`${m}: processes beyond the array rows count in the table; a full table is reported as drops`, () => {
    const sim = new TracerSimulator(layout, { maxProcesses: 8, maxCounts: 2, maxSlots: 1 });
    sim.track(499, State.COUNT);
    sim.track(500, State.COUNT);
    sim.sysEnter(499, 499, NR.getpid); // takes the only row
    for (const nr of [NR.read, NR.write, NR.getpid, NR.getpid, NR.read]) sim.sysEnter(500, 500, nr);
    sim.sysEnter(499, 499, NR.getpid);
    assert.is(sim.slotsUsed(), 2, 'the second process asked for a row and got none');
    assert.equal(sim.counts().get(499), new Map([[NR.getpid, 2]]));
    assert.equal(sim.counts().get(500), new Map([[NR.read, 2], [NR.write, 1]]));
    assert.is(sim.stat(Stat.DROPPED_COUNTS), 2);
  });
}

test('raw: a 32-bit task is named by its ABI, learnt again after each successful exec', () => {
  const sim = new TracerSimulator(RAW);
  sim.track(600, State.COUNT | CHECK_ABI);
  sim.sysEnter(600, 600, I386.getpid, { compat: true }); // first syscall: the ABI is probed
  sim.sysEnter(600, 600, I386.getpid, { compat: true });
  sim.sysEnter(600, 600, I386.execve, { compat: true }); // execs a 64-bit image...
  sim.sysEnter(600, 600, I386.getpid, { compat: true }); // (a syscall before the exec completes: old ABI)
  sim.exec(600, 600); // ...which succeeds: dp_exec asks for a new look at the ABI
  sim.sysEnter(600, 600, NR.getpid);
  sim.fork(600, 600, 601);
  sim.sysEnter(601, 601, NR.getpid);
  assert.equal(sim.counts().get(600), new Map([
    [compat(I386.getpid), 3],
    [compat(I386.execve), 1],
    [NR.getpid, 1],
  ]));
  assert.equal(sim.counts().get(601), new Map([[NR.getpid, 1]]), 'the child inherits the 64-bit ABI');
});

test.run();
