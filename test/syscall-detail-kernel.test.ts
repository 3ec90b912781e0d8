// Detail mode against the real kernel: calls, errors and errnos equal strace -f -c on the same run;
// per thread and per process equal strace -ff; the sleeps' time is the workload's own measurement.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyscallTracer } from '../src/tracer/index.js';
import { INFLIGHT_BITS } from '../src/tracer/detail.js';
import type { SyscallSnapshot } from '../src/tracer/index.js';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { compileFixture, exited, hasCommand, parseStraceFf, parseStraceTable, scratchDir } from './_lib/workloads.js';
import { readRecords, runCli, type Rec } from './_lib/cli.js';

const test = suite('syscall detail (kernel)');

const needStrace = () => bpfUnavailableReason() ?? (hasCommand('strace') ? null : 'strace is not installed (apt-get install strace)');
const needGcc = () => needStrace() ?? (hasCommand('gcc') ? null : 'gcc is not installed');

// The fixture's arithmetic (test/fixtures/syscall-detail.c).
const OPENS = 40, READS = 25, SLEEPS = 4, SLEEP_MS = 50;
const THREADS = [0, 1, 2], CHILDREN = [0, 1];
const CHILD_OPENS = CHILDREN.reduce((a, c) => a + 5 * (c + 1), 0);
const THREAD_CLOSES = THREADS.reduce((a, t) => a + 10 * (t + 1), 0);

let seq = 0;
const scratch = (name: string) => join(scratchDir(), `${name}-${process.pid}-${++seq}`);

/** The workload's own report: the sleep it measured, its threads' and children's ids. */
function report(file: string): { sleepNs: number; threads: number[]; children: number[] } {
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(' '));
  return {
    sleepNs: Number(lines.find((l) => l[0] === 'sleep_ns')![1]),
    threads: lines.filter((l) => l[0] === 'thread').map((l) => Number(l[2])),
    children: lines.filter((l) => l[0] === 'child').map((l) => Number(l[2])),
  };
}

/** Runs `strace ARGS BIN ...` from a waiting shell the tracer counts the children of (strace's tracee, not strace). */
async function underStrace(tracer: SyscallTracer, straceArgs: string[], out: string): Promise<SyscallSnapshot> {
  const bin = compileFixture('syscall-detail');
  const sh = spawn('sh', ['-c', 'read go; exec strace "$@"', 'sh', ...straceArgs, bin, String(OPENS), String(READS), String(SLEEPS), String(SLEEP_MS), out],
    { stdio: ['pipe', 'ignore', 'inherit'] });
  tracer.trackChildrenOf(sh.pid!);
  sh.stdin.end('go\n');
  assert.is(await exited(sh), 0, 'the workload under strace exits 0');
  return tracer.read();
}

for (const mode of ['raw', 'tracefs'] as const) {
  kernelTest(test, `${mode}: every syscall's calls and errors equal strace -f -c's; errnos name the errno`, async () => {
    const tracer = SyscallTracer.open({ attach: mode });
    let snap: SyscallSnapshot;
    const table = scratch('strace-c');
    try {
      snap = await underStrace(tracer, ['-f', '-qq', '-c', '-w', '-o', table], scratch('report'));
    } finally {
      tracer.close();
    }
    const strace = parseStraceTable(table);
    assert.ok(strace.size > 15, 'strace listed the syscalls');
    const diffs: string[] = [];
    for (const [name, row] of strace) {
      const calls = snap.bySyscall.get(name) ?? 0, errors = snap.timing!.get(name)?.errors ?? 0;
      if (calls !== row.calls || errors !== row.errors) diffs.push(`${name}: strace ${row.calls} calls ${row.errors} errors, ours ${calls} calls ${errors} errors`);
    }
    assert.equal(diffs, []);
    for (const name of snap.bySyscall.keys()) {
      if (name !== 'exit' && name !== 'exit_group') assert.ok(strace.has(name), `${name} is one strace lists too`);
    }
    // Independent of strace: the workload's arithmetic.
    assert.equal([...snap.timing!.get('openat')!.errnos], [['ENOENT', OPENS + CHILD_OPENS]]);
    assert.equal([...snap.timing!.get('read')!.errnos], [['EBADF', READS]]);
    assert.equal([...snap.timing!.get('close')!.errnos], [['EBADF', THREAD_CLOSES]]);
    assert.is(snap.bySyscall.get('clock_nanosleep'), SLEEPS);
    assert.equal(snap.losses, { syscallsUncounted: 0, processesUntracked: 0, exitsUnrecorded: 0, returnsUntimed: 0, errnosUncounted: 0, threadCallsUncounted: 0 });
  }, needGcc);
}

kernelTest(test, 'per thread and per process: each thread and each child exactly its own calls (strace -ff)', async () => {
  const tracer = SyscallTracer.open({ perThread: true });
  const dir = scratch('ff');
  mkdirSync(dir);
  const out = scratch('report');
  let snap: SyscallSnapshot;
  try {
    snap = await underStrace(tracer, ['-f', '-ff', '-qq', '-o', join(dir, 'trace')], out);
  } finally {
    tracer.close();
  }
  const ff = parseStraceFf(join(dir, 'trace'));
  const { threads, children } = report(out);
  assert.is(ff.size, 1 + THREADS.length + CHILDREN.length, 'strace wrote one file per thread');
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  for (const [tid, t] of ff) {
    const ours = snap.byThread!.get(tid);
    assert.ok(ours, `thread ${tid} is listed`);
    assert.is(ours.pid, t.tgid, `thread ${tid}'s process`);
    assert.equal(sorted(ours.bySyscall), sorted(t.calls), `thread ${tid}: every syscall, exit included`);
  }
  assert.is(snap.byThread!.size, ff.size, 'no other thread');
  // Per process: the sum of its threads' files; its errors too.
  const procs = new Map<number, { calls: Map<string, number>; errors: number }>();
  for (const t of ff.values()) {
    const p = procs.get(t.tgid) ?? { calls: new Map<string, number>(), errors: 0 };
    for (const [n, c] of t.calls) p.calls.set(n, (p.calls.get(n) ?? 0) + c);
    p.errors += t.errors;
    procs.set(t.tgid, p);
  }
  assert.is(procs.size, 1 + CHILDREN.length);
  for (const [pid, p] of procs) {
    assert.equal(sorted(snap.byProcess.get(pid)!), sorted(p.calls), `process ${pid}`);
    assert.is(snap.errorsByProcess!.get(pid) ?? 0, p.errors, `process ${pid}'s errors`);
  }
  // And the workload's own arithmetic.
  threads.forEach((tid, t) => {
    assert.is(snap.byThread!.get(tid)!.bySyscall.get('getppid'), 100 * (t + 1));
    assert.is(snap.byThread!.get(tid)!.bySyscall.get('close'), 10 * (t + 1));
  });
  children.forEach((pid, c) => {
    assert.is(snap.byProcess.get(pid)!.get('getpid'), 50 * (c + 1));
    assert.is(snap.errorsByProcess!.get(pid), 5 * (c + 1));
  });
}, needGcc);

/** `denet-pure OPTS --out FILE run -- workload`: the records and the workload's report. */
function cliRun(opts: string[]): { recs: Rec[]; summary: Rec; rep: ReturnType<typeof report>; stderr: string } {
  const bin = compileFixture('syscall-detail');
  const file = scratch('run.jsonl');
  const out = scratch('report');
  const r = runCli(['--quiet', ...opts, '--out', file, 'run', '--', bin, String(OPENS), String(READS), String(SLEEPS), String(SLEEP_MS), out], { timeout: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const recs = readRecords(file);
  return { recs, summary: recs.at(-1)!, rep: report(out), stderr: r.stderr };
}

kernelTest(test, 'run --enable-ebpf --per-thread: the table, the sleeps\' time, by_process and by_thread, windows that add up', () => {
  const { recs, summary, rep } = cliRun(['--enable-ebpf', '--per-thread']);
  const ebpf = summary.ebpf;
  const row = (name: string) => ebpf.syscalls.table.find((r: Rec) => r.name === name);
  assert.equal([row('openat').errors, row('openat').errnos], [OPENS + CHILD_OPENS, { ENOENT: OPENS + CHILD_OPENS }]);
  assert.equal([row('read').errors, row('read').errnos], [READS, { EBADF: READS }]);
  // Time in the kernel: entry to return of the four sleeps, against the workload's own clock around them.
  const slept = row('clock_nanosleep');
  assert.is(slept.calls, SLEEPS);
  const measuredUs = rep.sleepNs / 1000;
  assert.ok(Math.abs(slept.total_us - measuredUs) <= 0.1 * measuredUs, `sleeps: ours ${slept.total_us} µs, the workload's ${measuredUs} µs`);
  assert.ok(slept.total_us <= measuredUs * 1.001, 'inside the workload\'s own measurement');
  assert.ok(slept.max_us >= SLEEP_MS * 1000 && slept.avg_us >= SLEEP_MS * 1000);
  assert.is(slept.hist_log2_us.reduce((a: number, b: number) => a + b, 0), SLEEPS);
  assert.ok(slept.hist_log2_us.length - 1 >= Math.floor(Math.log2(SLEEP_MS * 1000)) + 1, 'in the 32–64 ms bucket or above');
  assert.is(row('exit_group').unfinished, 1 + CHILDREN.length, 'exit_group never returns');
  assert.is(row('exit').unfinished, THREADS.length);
  assert.is(row('execve').unfinished, 0, 'the successful execve returns in the new image');
  // Sorted by calls, and by_syscall as before.
  const calls = ebpf.syscalls.table.map((r: Rec) => r.calls);
  assert.equal(calls, [...calls].sort((a: number, b: number) => b - a));
  assert.is(ebpf.syscalls.by_syscall.getppid, 600);

  const root = recs.find((r) => r.kind === 'metadata')!.pid;
  const proc = (pid: number) => ebpf.by_process.find((p: Rec) => p.pid === pid);
  assert.is(ebpf.by_process.length, 1 + CHILDREN.length);
  rep.children.forEach((pid, c) => {
    assert.equal(
      [proc(pid).ppid, proc(pid).comm, proc(pid).by_syscall.getpid, proc(pid).by_syscall.openat, proc(pid).errors],
      [root, 'syscall-detail', 50 * (c + 1), 5 * (c + 1), 5 * (c + 1)]);
  });
  // The root's own failures, and whatever its loader's probes add (ld.so.preload, ...): the rest of the table's.
  const errorsAll = ebpf.syscalls.table.reduce((a: number, r: Rec) => a + r.errors, 0);
  assert.is(proc(root).errors, errorsAll - CHILD_OPENS);
  assert.ok(proc(root).errors >= OPENS + READS + THREAD_CLOSES);
  assert.is(ebpf.by_process.reduce((a: number, p: Rec) => a + p.total, 0), ebpf.syscalls.total);
  rep.threads.forEach((tid, t) => {
    const th = ebpf.by_thread.find((x: Rec) => x.tid === tid);
    assert.equal([th.pid, th.by_syscall.getppid, th.by_syscall.close], [root, 100 * (t + 1), 10 * (t + 1)]);
  });
  assert.is(ebpf.by_thread.reduce((a: number, t: Rec) => a + t.total, 0), ebpf.syscalls.total);
  // The windows of the samples add up to the run's errors and time.
  const windows = recs.filter((r) => r.kind === 'tree').map((r) => r.aggregated.ebpf.syscalls.window);
  const errors = errorsAll;
  const timeUs = ebpf.syscalls.table.reduce((a: number, r: Rec) => a + r.total_us, 0);
  assert.is(windows.reduce((a: number, w: Rec) => a + w.errors, 0), errors);
  assert.ok(Math.abs(windows.reduce((a: number, w: Rec) => a + w.time_us, 0) - timeUs) <= windows.length, 'time_us: rounding only');
  const meta = recs.find((r) => r.kind === 'metadata')!;
  assert.equal([meta.capabilities.ebpf.detail, meta.capabilities.ebpf.per_thread], [true, true]);
}, needGcc);

kernelTest(test, 'run: by_process keeps the processes that exited long before the end (their counts have left the kernel\'s tables)', () => {
  const file = scratch('exited.jsonl');
  // Five short-lived children whose open fails, then a second of samples: each child's counts are
  // retired from the kernel's tables after its exit.
  const r = runCli(['--quiet', '--enable-ebpf', '--out', file, 'run', '--', 'sh', '-c', 'for i in 1 2 3 4 5; do cat /nonexistent-denet-pure/missing 2>/dev/null; done; sleep 1'], { timeout: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const ebpf = readRecords(file).at(-1)!.ebpf;
  const cats = ebpf.by_process.filter((p: Rec) => p.comm === 'cat');
  assert.is(cats.length, 5, JSON.stringify(ebpf.by_process.map((p: Rec) => p.comm)));
  for (const c of cats) assert.ok(c.by_syscall.openat >= 1 && c.errors >= 1, JSON.stringify(c));
  assert.equal(new Set(cats.map((c: Rec) => c.total)).size, 1, 'the five did the same');
  assert.is(ebpf.by_process_rest, undefined);
  assert.is(ebpf.by_process.reduce((a: number, p: Rec) => a + p.total, 0), ebpf.syscalls.total);
  assert.is(ebpf.by_process.reduce((a: number, p: Rec) => a + p.errors, 0), ebpf.syscalls.table.reduce((a: number, row: Rec) => a + row.errors, 0));
}, () => bpfUnavailableReason());

kernelTest(test, 'run --count-only: the one program, counts as before, no table', () => {
  const { recs, summary } = cliRun(['--count-only']);
  assert.is(summary.ebpf.syscalls.table, undefined);
  const by = summary.ebpf.syscalls.by_syscall;
  assert.equal([by.getppid, by.getpid, by.clock_nanosleep, by.exit], [600, 150, SLEEPS, THREADS.length]);
  assert.ok(by.openat >= OPENS + CHILD_OPENS && by.read >= READS);
  assert.is(summary.ebpf.by_process.length, 1 + CHILDREN.length);
  assert.is(summary.ebpf.by_process[0].errors, undefined, 'no errors without the exit program');
  assert.is(recs.find((r) => r.kind === 'metadata')!.capabilities.ebpf.detail, false);
  assert.is(recs.find((r) => r.kind === 'tree')!.aggregated.ebpf.syscalls.window.errors, undefined);
}, () => bpfUnavailableReason() ?? (hasCommand('gcc') ? null : 'gcc is not installed'));

kernelTest(test, 'run --trace file --failed-only: only file syscalls that failed are counted, and the records say so', () => {
  const { summary, recs } = cliRun(['--trace', 'file', '--failed-only']);
  const ebpf = summary.ebpf;
  assert.equal(ebpf.filter, { trace: ['file'], failed_only: true });
  assert.equal(recs.find((r) => r.kind === 'metadata')!.capabilities.ebpf.filter, { trace: ['file'], failed_only: true });
  for (const r of ebpf.syscalls.table) {
    assert.is(r.errors, r.calls, `${r.name}: every call counted failed`);
    assert.is(ebpf.syscalls.by_category.file_io, ebpf.syscalls.total, 'file_io only');
  }
  const by = ebpf.syscalls.by_syscall;
  assert.is(by.read, READS);
  assert.is(by.close, THREAD_CLOSES);
  assert.is(by.openat, OPENS + CHILD_OPENS, 'the loader\'s own openat calls succeed');
  assert.is(by.getppid, undefined);
  assert.is(by.clock_nanosleep, undefined);
}, () => bpfUnavailableReason() ?? (hasCommand('gcc') ? null : 'gcc is not installed'));

kernelTest(test, 'a syscall in flight when monitoring ends is counted and unfinished, not timed', () => {
  const file = scratch('inflight.jsonl');
  // Monitoring ends after 0.6 s, then the command is stopped (SIGTERM: 128 + 15).
  const r = runCli(['--quiet', '--enable-ebpf', '-d', '0.6', '--kill-on-duration', '--out', file, 'run', '--', '/bin/sleep', '30'], { timeout: 30_000 });
  assert.is(r.code, 143, r.stderr);
  const summary = readRecords(file).at(-1)!;
  const row = summary.ebpf.syscalls.table.find((x: Rec) => x.name === 'clock_nanosleep');
  assert.equal([row.calls, row.unfinished, row.total_us, row.hist_log2_us], [1, 1, 0, []]);
}, () => bpfUnavailableReason());

kernelTest(test, 'hundreds of threads in a syscall at once: every return paired (entries that share a slot overflow, none lost)', async () => {
  const bin = compileFixture('many-threads');
  const threads = 400, ms = 200;
  const tracer = SyscallTracer.open({ perThread: true });
  let snap: SyscallSnapshot;
  try {
    const child = tracer.spawnTracked(() => spawn(bin, [String(threads), String(ms)], { stdio: 'ignore' }));
    assert.is(await exited(child), 0);
    snap = tracer.read();
  } finally {
    tracer.close();
  }
  const t = snap.timing!.get('clock_nanosleep')!;
  assert.is(snap.bySyscall.get('clock_nanosleep'), threads);
  assert.is(t.hist.reduce((a, b) => a + b, 0), threads, 'every return paired with its entry');
  assert.ok(t.totalNs >= threads * ms * 1e6 && t.maxNs < 60e9, `${t.totalNs} ns in all`);
  assert.is(snap.losses.returnsUntimed, 0);
  // Each thread: clone3 in the parent, then its own calls; exit never returns.
  assert.is(snap.bySyscall.get('exit'), threads);
  // Thread ids handed out one after the other spread over the whole table (what the multiplicative
  // hash is for), so these rarely share an entry; the next test makes two that do.
}, () => bpfUnavailableReason() ?? (hasCommand('gcc') ? null : 'gcc is not installed'));

const slotOf = (tid: number) => (Math.imul(tid, 0x9e3779b1 | 0) >>> 0) >>> (32 - INFLIGHT_BITS);

/** Two free thread ids above the ones in use that share an in-flight entry. */
function collidingFreeTids(): [number, number] {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const seen = new Map<number, number>();
  // Neighbouring ids never share an entry: look over the whole range, from a random start.
  const start = 300 + Math.floor(Math.random() * (max - 300));
  for (let i = 0; i < max - 300; i++) {
    const tid = 300 + ((start - 300 + i) % (max - 300));
    if (existsSync(`/proc/${tid}`)) continue;
    const other = seen.get(slotOf(tid));
    if (other !== undefined) return [other, tid];
    seen.set(slotOf(tid), tid);
  }
  throw new Error('no two free thread ids share an entry');
}

kernelTest(test, 'two threads sharing an in-flight entry while both are in a syscall: both returns paired (the overflow hash, in the kernel)', async () => {
  const bin = compileFixture('collide');
  const ms = 150;
  const tracer = SyscallTracer.open({ perThread: true });
  try {
    // Another process may take a chosen id first (the machine is busy): try again with others.
    for (let attempt = 0; attempt < 8; attempt++) {
      const [a, b] = collidingFreeTids();
      const child = tracer.spawnTracked(() => spawn(bin, [String(a), String(b), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] }));
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      assert.is(await exited(child), 0);
      const got = out.trim().split(' ').map(Number);
      if (got[0] !== a || got[1] !== b) continue;
      const snap = tracer.read();
      const t = snap.timing!.get('clock_nanosleep')!;
      assert.is(snap.byThread!.get(a)!.bySyscall.get('clock_nanosleep'), 1);
      assert.is(snap.byThread!.get(b)!.bySyscall.get('clock_nanosleep'), 1);
      assert.is(t.hist.reduce((x, y) => x + y, 0), 2, 'both returns paired');
      assert.ok(t.totalNs >= 2 * ms * 1e6 && t.maxNs < 30e9, `${t.totalNs} ns`);
      assert.is(snap.losses.returnsUntimed, 0);
      return;
    }
    throw new Error('could not get two colliding thread ids in 8 attempts');
  } finally {
    tracer.close();
  }
}, () => bpfUnavailableReason() ?? (hasCommand('gcc') ? null : 'gcc is not installed')
  ?? (canChoosePids() ? null : 'choosing thread ids needs write access to /proc/sys/kernel/ns_last_pid (root)'));

function canChoosePids(): boolean {
  try {
    accessSync('/proc/sys/kernel/ns_last_pid', constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

kernelTest(test, 'every combination of --count-only, --per-thread, --trace and --failed-only loads in both modes', () => {
  for (const mode of ['raw', 'tracefs'] as const) {
    for (const detail of [false, true]) for (const perThread of [false, true]) for (const filtered of [false, true]) {
      for (const failedOnly of detail ? [false, true] : [false]) {
        const opts = { detail, perThread, failedOnly, trace: filtered ? ['openat'] : undefined, sched: false, net: false };
        const tracer = SyscallTracer.load(mode, opts);
        try {
          assert.is(tracer.loadedSizes().programs, (mode === 'raw' ? 4 : 3) + (detail ? 1 : 0), `${mode} ${JSON.stringify(opts)}`);
        } finally {
          tracer.close();
        }
      }
    }
  }
}, () => bpfUnavailableReason());

test.run();
