// Exited processes' counters leave the kernel's (process, syscall) table as they are read: a churn of
// short-lived processes many times larger than the table is counted exactly, where without retiring
// the table fills and syscalls go uncounted.
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SyscallTracer } from '../src/tracer/index.js';
import { kernelTest } from './_lib/privilege.js';
import { exited } from './_lib/workloads.js';
import { sleep } from './_lib/wait.js';

const test = suite('tracer: retiring exited processes');

const PROCESSES = 200;
const BATCH = 10;

/**
 * A shell runs /bin/true once per line it reads and says so on stdout; lines come in batches, and the
 * tracer is read after each batch has run, as a sampling loop would. Returns the last snapshot.
 */
async function churn(tracer: SyscallTracer) {
  const sh = spawn('sh', ['-c', 'while read x; do /bin/true; echo; done'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let ran = 0;
  sh.stdout!.on('data', (c: Buffer) => { for (const b of c) if (b === 10) ran++; });
  tracer.trackTree(sh.pid!);
  for (let done = 0; done < PROCESSES; done += BATCH) {
    sh.stdin!.write('x\n'.repeat(BATCH));
    const deadline = Date.now() + 20_000;
    while (ran < done + BATCH && Date.now() < deadline) await sleep(5);
    tracer.read();
  }
  sh.stdin!.end();
  assert.is(await exited(sh), 0);
  assert.is(ran, PROCESSES);
  return tracer.read();
}

kernelTest(test, 'a churn of 200 processes through a 1024-entry table: exact with retiring, losses without', async () => {
  // One array row (the shell's): every child counts in the hash table.
  const opts = { maxCounts: 1024, maxRows: 1 };
  const tracer = SyscallTracer.open({ ...opts, retireExited: true });
  let snap;
  try {
    snap = await churn(tracer);
    assert.ok(tracer.retiredEntries > 1024, `retired ${tracer.retiredEntries} entries, more than the table holds`);
  } finally {
    tracer.close();
  }
  assert.is(snap.losses.syscallsUncounted, 0);
  assert.is(snap.bySyscall.get('execve'), PROCESSES);
  // The shell forks once per process (whichever call its C library forks with).
  const forks = ['clone', 'clone3', 'fork', 'vfork'].reduce((n, c) => n + (snap!.bySyscall.get(c) ?? 0), 0);
  assert.is(forks, PROCESSES);
  // Each /bin/true and the shell end with exit_group.
  assert.is(snap.bySyscall.get('exit_group'), PROCESSES + 1);
  assert.ok(snap.byProcess.size < 20, `${snap.byProcess.size} processes still listed`);
  // The same churn without retiring overflows the table.
  const plain = SyscallTracer.open(opts);
  try {
    const s = await churn(plain);
    assert.ok(s.losses.syscallsUncounted > 0, 'the table filled up');
  } finally {
    plain.close();
  }
});

kernelTest(test, 'rows of exited processes are folded in and no longer read; the totals stay exact', async () => {
  // Rows for every process of the churn.
  const tracer = SyscallTracer.open({ retireExited: true });
  let snap;
  try {
    snap = await churn(tracer);
    assert.ok(tracer.retiredRows > PROCESSES / 2, `${tracer.retiredRows} rows retired`);
  } finally {
    tracer.close();
  }
  assert.is(snap.losses.syscallsUncounted, 0);
  assert.is(snap.bySyscall.get('execve'), PROCESSES);
  assert.is(snap.bySyscall.get('exit_group'), PROCESSES + 1);
  const forks = ['clone', 'clone3', 'fork', 'vfork'].reduce((n, c) => n + (snap!.bySyscall.get(c) ?? 0), 0);
  assert.is(forks, PROCESSES);
  assert.ok(snap.byProcess.size < 20, `${snap.byProcess.size} processes still listed`);
});

kernelTest(test, 'detail: exited processes\' cells are folded in and reused: a churn twice the cell table, every return timed, errors exact', async () => {
  const small = SyscallTracer.open({ maxDetails: 1024, retireExited: true });
  let snap;
  let recycled;
  try {
    snap = await churn(small);
    recycled = small.recycledCells;
  } finally {
    small.close();
  }
  assert.is(snap.losses.returnsUntimed, 0, 'no return went untimed');
  assert.is(snap.losses.errnosUncounted, 0);
  // The reference: the same churn with room for every cell.
  const big = SyscallTracer.open({ maxDetails: 16384 });
  let ref;
  try {
    ref = await churn(big);
  } finally {
    big.close();
  }
  assert.is(ref.losses.returnsUntimed, 0);
  // Without retiring, every (process, syscall) that returned keeps its cell: the cells the churn needs.
  const pairs = [...ref.byProcess.values()].reduce((n, by) => n + [...by.keys()].filter((k) => k !== 'exit_group').length, 0);
  assert.ok(pairs >= 2 * 1024, `the churn needs ${pairs} cells`);
  assert.ok(recycled >= pairs - 1024, `${recycled} cells given back and reused`);
  const returned = (t: { hist: number[] }) => t.hist.reduce((a, b) => a + b, 0);
  for (const [name, calls] of snap.bySyscall) {
    const t = snap.timing!.get(name);
    // Every call returned but exit_group (and the shell's read that the end of its input cut short).
    if (name !== 'exit_group') assert.is(t && returned(t), calls, `${name}: ${calls} calls, ${t && returned(t)} timed`);
    if (!t) continue;
    assert.is([...t.errnos.values()].reduce((a, b) => a + b, 0), t.errors, `${name}: errnos add up to the errors`);
    const r = ref.timing!.get(name);
    assert.is(t.errors, r?.errors ?? 0, `${name}: as many errors as with a table for all`);
    assert.equal([...t.errnos].sort(), [...(r?.errnos ?? new Map())].sort(), `${name}: the same errnos`);
  }
  assert.ok([...snap.timing!.values()].some((t) => t.errors >= 200), 'each process failed some call (its loader probes)');
});

test.run();
