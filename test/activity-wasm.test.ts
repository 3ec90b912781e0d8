// The scheduler and socket programs in the WebAssembly engine, on synthetic events with a clock the
// test moves: off-CPU, I/O-wait and run-queue time and socket bytes to the nanosecond, without privilege.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ActivitySimulator } from '../src/tracer/simulate-activity.js';
import { State } from '../src/tracer/maps.js';

const test = suite('scheduler and socket programs in WASM');

const A = { tgid: 100, tid: 100 };
const A2 = { tgid: 100, tid: 101 };
const B = { tgid: 200, tid: 200 };
const STRANGER = { tgid: 300, tid: 300 };
const INTERRUPTIBLE = 1, UNINTERRUPTIBLE = 2, DEAD = 0x80;
const TCP = { family: 2, protocol: 6 }, UDP6 = { family: 10, protocol: 17 }, UNIX = { family: 1, protocol: 0 };
const SCTP = { family: 2, protocol: 132 }, NETLINK = { family: 16, protocol: 0 };

const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

function sim(): ActivitySimulator {
  const s = new ActivitySimulator();
  s.track(A.tgid);
  s.track(B.tgid);
  // Every thread is seen running first (its first switch-in creates its entry).
  s.switch(null, A);
  s.switch(A, B, { preempt: true });
  s.switch(B, null, { preempt: true });
  return s;
}

test('a sleep: off-CPU from switch-out to wake-up, then run-queue wait to switch-in', () => {
  const s = sim();
  s.switch(null, A); // A had waited 0 ms in the run queue
  s.switch(A, null, { prevState: INTERRUPTIBLE });
  s.advance(300);
  s.wakeup(A);
  s.advance(20);
  s.switch(null, A);
  const a = s.read([100, 200]).processes.get(100)!;
  near(a.offCpuSecs, 0.3, 'off-CPU');
  near(a.runqWaitSecs, 0.02, 'run-queue');
  near(a.ioWaitSecs, 0, 'I/O wait');
  assert.equal(a.threads.map((t) => [t.tid, t.state]), [[100, 'running']]);
});

test('preempted (or still TASK_RUNNING) is a run-queue wait, not off-CPU, whatever prev_state says', () => {
  const s = sim();
  s.switch(null, A);
  s.switch(A, B, { preempt: true, prevState: INTERRUPTIBLE });
  s.advance(50);
  s.switch(B, A, { prevState: 0 });
  s.advance(30);
  s.switch(A, B);
  const snap = s.read([100, 200]);
  near(snap.processes.get(100)!.runqWaitSecs, 0.05, 'A waited while B ran');
  near(snap.processes.get(200)!.runqWaitSecs, 0.03, 'B waited while A ran');
  near(snap.processes.get(100)!.offCpuSecs, 0, 'A never blocked');
});

test('in_iowait at switch-out: the blocked time is I/O wait too; an uninterruptible sleep without it is not', () => {
  const s = sim();
  s.switch(null, A);
  s.switch(A, null, { prevState: UNINTERRUPTIBLE, ioWait: true });
  s.advance(40);
  s.wakeup(A);
  s.switch(null, A);
  s.switch(A, null, { prevState: UNINTERRUPTIBLE });
  s.advance(10);
  s.wakeup(A);
  const a = s.read([100, 200]).processes.get(100)!;
  near(a.offCpuSecs, 0.05, 'off-CPU');
  near(a.ioWaitSecs, 0.04, 'I/O wait');
});

test('a read in the middle of a wait adds the open interval, and the figures only grow', () => {
  const s = sim();
  s.switch(null, A);
  s.switch(A, null, { prevState: INTERRUPTIBLE });
  s.advance(100);
  const mid = s.read([100, 200]).processes.get(100)!;
  near(mid.offCpuSecs, 0.1, 'blocked so far');
  assert.is(mid.threads[0]!.state, 'blocked');
  s.advance(100);
  s.wakeup(A);
  s.advance(5);
  const runnable = s.read([100, 200]).processes.get(100)!;
  near(runnable.offCpuSecs, 0.2, 'blocked');
  near(runnable.runqWaitSecs, 0.005, 'waiting for a CPU so far');
});

test('only the tree: strangers and the monitor itself (ARM) get no entries', () => {
  const s = sim();
  s.track(400, State.ARM);
  const arm = { tgid: 400, tid: 400 };
  for (const t of [STRANGER, arm]) {
    s.switch(null, t);
    s.switch(t, null, { prevState: INTERRUPTIBLE });
    s.advance(10);
    s.wakeup(t);
    s.sock('send', t, 1000, TCP);
  }
  const snap = s.read([100, 200, 400]);
  assert.equal([...snap.processes.keys()].sort(), [100, 200]);
  assert.is(snap.totals.net.tcp.tx, 0);
});

test('the per-CPU membership cache: a stranger that joins the tree (a new epoch) is counted from then on; slot collisions are told apart', () => {
  const s = sim();
  const late = { tgid: 300, tid: 300 };
  const twin = { tgid: 300 + 1024, tid: 300 + 1024 }; // the same cache slot
  s.switch(null, late);
  s.switch(late, null, { prevState: INTERRUPTIBLE }); // cached: not in the tree
  s.track(300);
  s.track(twin.tgid);
  s.wakeup(late);
  s.advance(4);
  s.switch(null, late);
  s.switch(late, twin, { preempt: true });
  s.advance(6);
  s.switch(twin, late);
  const snap = s.read([100, 200, 300, 1324]);
  near(snap.processes.get(300)!.runqWaitSecs, 0.01, 'counted once tracked');
  assert.ok(snap.processes.has(1324), 'the twin has its own verdict');
  s.untrack(1324);
  s.switch(late, twin, { preempt: true });
  s.advance(5);
  s.switch(twin, late);
  near(s.read([100, 200, 300]).processes.get(300)!.runqWaitSecs, 0.015, 'still counted');
});

test('a wake-up of a thread that is not blocked changes nothing; wakeup_new starts a new thread\'s wait', () => {
  const s = sim();
  s.switch(null, A);
  s.advance(10);
  s.wakeup(A); // woken while still on its CPU (it had not gone to sleep yet)
  s.advance(10);
  s.switch(A, null, { prevState: INTERRUPTIBLE });
  s.wakeup(A2, { fresh: true, by: A });
  s.advance(7);
  s.switch(null, A2);
  const a = s.read([100, 200]).processes.get(100)!;
  const [t1, t2] = [...a.threads].sort((x, y) => x.tid - y.tid);
  near(t1!.runqWaitSecs, 0, 'the wake-up on its CPU started no wait');
  near(t1!.offCpuSecs, 0.007, 'blocked since its switch-out');
  near(t2!.runqWaitSecs, 0.007, 'the new thread waited 7 ms');
  assert.equal([t1!.state, t2!.state], ['blocked', 'running']);
});

test('a thread that dies keeps its time in its process; the process, once out of the tree at two reads, is final and removed', () => {
  const s = sim();
  s.switch(null, A);
  s.wakeup(A2, { fresh: true, by: A });
  s.advance(3);
  s.switch(null, A2);
  s.switch(A2, null, { prevState: INTERRUPTIBLE });
  s.advance(11);
  s.wakeup(A2);
  s.switch(null, A2);
  s.switch(A2, null, { prevState: DEAD });
  let a = s.read([100, 200]).processes.get(100)!;
  near(a.offCpuSecs, 0.011, 'the dead thread\'s off-CPU');
  near(a.runqWaitSecs, 0.003, 'the dead thread\'s run-queue wait');
  assert.equal(a.threads.map((t) => t.tid), [100], 'only the live thread is listed');
  // The last thread dies; dp_exit has removed the process from `tracked`.
  s.switch(A, null, { prevState: DEAD });
  s.untrack(100);
  a = s.read([200]).processes.get(100)!;
  assert.is(a.final, false, 'not final at the first read out of the tree');
  assert.is(a.startBootNs, 5_000_000, 'the leader\'s start time names it');
  a = s.read([200]).processes.get(100)!;
  assert.is(a.final, true);
  const after = s.read([200]);
  assert.is(after.processes.has(100), false, 'removed');
  near(after.totals.offCpuSecs, 0.011, 'the totals keep what removed entries held');
});

test('socket bytes by class; errors and MSG_PEEK are not counted', () => {
  const s = sim();
  s.sock('send', A, 1000, TCP);
  s.sock('recv', A2, 400, TCP);
  s.sock('recv', A, 500, UDP6);
  s.sock('send', A, 300, UNIX);
  s.sock('send', A, 10, SCTP);
  s.sock('recv', A, 7, NETLINK);
  s.sock('send', A, -11, TCP); // -EAGAIN
  s.sock('recv', A, 0, TCP); // EOF
  s.sock('recv', A, 99, TCP, 2); // MSG_PEEK: the bytes stay queued
  s.sock('send', B, 64, TCP);
  const snap = s.read([100, 200]);
  const n = snap.processes.get(100)!.net;
  assert.equal(n, {
    tcp: { tx: 1000, rx: 400 }, udp: { tx: 0, rx: 500 }, other_ip: { tx: 10, rx: 0 }, unix: { tx: 300, rx: 0 }, other: { tx: 0, rx: 7 },
  });
  assert.is(snap.processes.get(200)!.net.tcp.tx, 64);
  assert.is(snap.totals.net.tcp.tx, 1064);
});

test('full tables are counted, never silent', () => {
  const s = new ActivitySimulator({ maxProcesses: 1, maxThreads: 2 });
  s.track(100);
  s.track(200);
  for (let tid = 100; tid < 104; tid++) s.switch(null, { tgid: 100, tid });
  s.sock('send', A, 10, TCP);
  s.sock('send', B, 32, TCP); // no room for a second process
  const l = s.read([100, 200]).losses;
  assert.is(l.schedEventsLost, 2, 'two threads had no entry');
  assert.is(l.netBytesLost, 32);
});

test.run();
