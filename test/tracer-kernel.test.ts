// The syscall tracer against the real kernel, with strace as the oracle.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIVITY_GROUPS, SyscallTracer } from '../src/tracer/index.js';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { CLI, ROOT, compileFixture, countDiff, exited, hasCommand, parseStraceSummary, scratchDir } from './_lib/workloads.js';

const test = suite('tracer (kernel)');

const needStrace = () => bpfUnavailableReason() ?? (hasCommand('strace') ? null : 'strace is not installed (apt-get install strace)');
const needGcc = () => needStrace() ?? (hasCommand('gcc') ? null : 'gcc is not installed');

function tracingMounted(): boolean {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[2] === 'tracefs');
}

/** Ids of the BPF programs loaded on the machine, as bpftool lists them. */
function progIds(): Set<number> {
  const out = spawnSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
  return new Set((JSON.parse(out.stdout || '[]') as { id: number }[]).map((p) => p.id));
}

/**
 * Runs `strace -f -c BIN ARGS` and counts the very same execution with the tracer: the tracer counts
 * the children of a waiting shell that then execs strace, so strace itself is not counted, its tracee
 * is, from its execve on.
 */
async function straceAndTrace(tracer: SyscallTracer, argv: string[]): Promise<{ strace: Map<string, number>; ours: Map<string, number> }> {
  const out = join(scratchDir(), `strace-${process.hrtime.bigint()}.txt`);
  const cmd = ['read go; exec strace -f -qq -c -o "$0" "$@"', out, ...argv];
  const sh = spawn('sh', ['-c', ...cmd], { stdio: ['pipe', 'ignore', 'inherit'] });
  tracer.trackChildrenOf(sh.pid!);
  sh.stdin.end('go\n');
  assert.is(await exited(sh), 0, 'workload under strace exits 0');
  return { strace: parseStraceSummary(out), ours: tracer.read().bySyscall };
}

for (const mode of ['raw', 'tracefs'] as const) {
  kernelTest(test, `${mode}: counts equal strace -f -c on the same run (threads, forks, short-lived exec'ing grandchild)`, async () => {
    const bin = compileFixture('workload');
    const wasMounted = tracingMounted();
    const tracer = SyscallTracer.open({ attach: mode });
    try {
      assert.is(tracer.mode, mode);
      const threads = 3;
      const perThread = 1000;
      const { strace, ours } = await straceAndTrace(tracer, [bin, String(threads), String(perThread)]);
      assert.ok(strace.size > 10, 'strace listed syscalls');
      assert.equal(countDiff(strace, ours), [], 'every syscall strace lists has the same count');
      // Independent of strace: the workload's own arithmetic.
      assert.is(ours.get('getppid'), threads * perThread);
      assert.is(ours.get('execve'), 2, 'the workload and its grandchild each exec once');
    } finally {
      tracer.close();
    }
    assert.is(tracingMounted(), wasMounted, 'tracefs left as it was found');
  }, needGcc);
}

kernelTest(test, 'with the array rows used up, the rest counts in the table: still equal to strace', async () => {
  const bin = compileFixture('workload');
  const tracer = SyscallTracer.open({ maxRows: 1 });
  try {
    const { strace, ours } = await straceAndTrace(tracer, [bin, '2', '300']);
    assert.equal(countDiff(strace, ours), []);
    assert.ok(tracer.read().byProcess.size >= 3, 'several processes, one row');
  } finally {
    tracer.close();
  }
}, needGcc);

kernelTest(test, 'a shell loop: every /bin/true is seen (execve count equals strace)', async () => {
  const tracer = SyscallTracer.open();
  try {
    const { strace, ours } = await straceAndTrace(tracer, ['sh', '-c', 'for i in $(seq 50); do /bin/true; done']);
    // sh itself, seq in the command substitution, and 50 /bin/true.
    assert.is(strace.get('execve'), 52);
    assert.is(ours.get('execve'), strace.get('execve'));
    assert.equal(countDiff(strace, ours), []);
  } finally {
    tracer.close();
  }
}, needStrace);

/** Builds the i386 fixture (no libc, so no multilib needed); null when this machine cannot. */
function compat32(): { bin: string } | { why: string } {
  if (process.arch !== 'x64') return { why: 'the i386 fixture is x86_64-only' };
  const bin = join(scratchDir(), 'compat32');
  if (existsSync(bin)) return { bin };
  const r = spawnSync('gcc', ['-m32', '-O1', '-nostdlib', '-static', '-fno-pie', '-no-pie', '-o', bin, join(ROOT, 'test/fixtures/compat32.c')]);
  return r.status === 0 ? { bin } : { why: `cannot build a 32-bit binary here: ${String(r.stderr).split('\n')[0]}` };
}

kernelTest(test, '32-bit (compat) syscalls are named as ia32 syscalls, never as the 64-bit ones with the same numbers', async () => {
  const { bin } = compat32() as { bin: string };
  const tracer = SyscallTracer.open({ attach: 'raw' });
  try {
    const child = tracer.spawnTracked(() => spawn(bin, [], { stdio: 'ignore' }));
    assert.is(await exited(child), 0);
    const counts = tracer.read().bySyscall;
    assert.is(counts.get('ia32:getpid'), 5);
    assert.is(counts.get('ia32:getppid'), 3);
    assert.is(counts.get('execve'), 1, 'the execve itself is made by the 64-bit parent image');
    assert.not.ok(counts.has('writev') || counts.has('semget'), `no 64-bit misnaming: ${[...counts.keys()]}`);
  } finally {
    tracer.close();
  }
}, () => {
  const built = compat32();
  return bpfUnavailableReason() ?? ('why' in built ? built.why : null);
});

kernelTest(test, 'attach: existing descendants are counted, and children forked later', async () => {
  // The parent waits; its existing child (a subshell) waits for a line, then forks and execs
  // /bin/true twice. (A background job's stdin is /dev/null: it reads a copy kept on fd 3.)
  const root = spawn('sh', ['-c', 'exec 3<&0; (read go <&3; /bin/true; /bin/true) & wait'], { stdio: ['pipe', 'ignore', 'ignore'] });
  await new Promise((r) => setTimeout(r, 150));
  const tracer = SyscallTracer.open();
  try {
    tracer.trackTree(root.pid!);
    root.stdin.end('go\n');
    await exited(root);
    const snap = tracer.read();
    assert.ok((snap.bySyscall.get('execve') ?? 0) >= 2, `two /bin/true execs seen, got ${snap.bySyscall.get('execve')}`);
    assert.ok(snap.byProcess.size >= 3, `counts from several processes, got ${snap.byProcess.size}`);
    assert.not.ok(snap.byProcess.has(process.pid), 'the monitor itself is not counted');
    assert.equal(snap.losses, { syscallsUncounted: 0, processesUntracked: 0, exitsUnrecorded: 0, returnsUntimed: 0, errnosUncounted: 0, threadCallsUncounted: 0 });
  } finally {
    tracer.close();
  }
});

kernelTest(test, 'attach: an exited (zombie) child is not put in the tracked set', async () => {
  // `true` exits at once; sleep (which sh became) never reaps it: a zombie child of a live parent.
  const parent = spawn('sh', ['-c', 'true & exec sleep 3'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const tracer = SyscallTracer.open();
  try {
    tracer.trackTree(parent.pid!);
    assert.is(tracer.read().tracked, 1, 'only the live parent');
  } finally {
    tracer.close();
    parent.kill();
  }
});

kernelTest(test, 'a full count map is reported as syscalls not counted, not silently lost', async () => {
  // One array row (taken by sh), so ls counts in the (process, syscall) table, which holds 4.
  const tracer = SyscallTracer.open({ maxCounts: 4, maxRows: 1 });
  try {
    const child = tracer.spawnTracked(() => spawn('/bin/sh', ['-c', 'ls / > /dev/null'], { stdio: 'ignore' }));
    await exited(child);
    const snap = tracer.read();
    assert.ok(snap.losses.syscallsUncounted > 0, 'syscalls not counted are counted');
    assert.is(snap.losses.processesUntracked, 0, 'and named apart from processes not tracked');
    assert.ok((snap.byProcess.get(child.pid!)?.size ?? 0) > 4, 'sh, in its row, is counted in full');
  } finally {
    tracer.close();
  }
});

kernelTest(test, 'close() detaches everything: bpftool no longer lists our programs', async () => {
  const tracer = SyscallTracer.open();
  const ours = tracer.programIds();
  // dp_exec exists where the task's ABI can be read (raw mode on x86_64/arm64); dp_sys_exit in detail mode (the default)
  const groups = tracer.activityGroups();
  // and the scheduler and socket programs where they can run
  const optional = (['sched', 'net'] as const).flatMap((g) => (groups[g].available ? ACTIVITY_GROUPS[g] : []));
  const expected = ['dp_exit', 'dp_fork', 'dp_sys_enter', 'dp_sys_exit', ...(tracer.mode === 'raw' ? ['dp_exec'] : []), ...optional].sort();
  assert.equal(ours.map((p) => p.name).sort(), expected);
  const listed = progIds();
  for (const p of ours) assert.ok(listed.has(p.id), `bpftool lists ${p.name} (id ${p.id}) while open`);
  tracer.close();
  tracer.close(); // idempotent
  // The kernel frees a detached program after an RCU grace period: poll briefly.
  let after = progIds();
  for (let i = 0; i < 60 && ours.some((p) => after.has(p.id)); i++) {
    await new Promise((r) => setTimeout(r, 50));
    after = progIds();
  }
  for (const p of ours) assert.not.ok(after.has(p.id), `${p.name} (id ${p.id}) is gone within 3 s of close`);
}, () => bpfUnavailableReason() ?? (hasCommand('bpftool') ? null : 'bpftool is not installed (apt-get install bpftool)'));

kernelTest(test, 'signals arriving while the kernel verifies (here a profiler\'s SIGPROF) do not make loading fail', () => {
  // The verifier returns EAGAIN when a signal is pending; the loader must retry, not give up.
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', join(scratchDir(), 'prof'), CLI, '--require-ebpf', '--quiet', 'run', '--', 'true'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.not.match(r.stderr, /unavailable|EAGAIN/);
  }
});

kernelTest(test, 'CLI: --stats by_syscall matches strace -f -c of the same command', async () => {
  const bin = compileFixture('workload');
  const stats = join(scratchDir(), 'cli-stats.json');
  const r = spawnSync(process.execPath, [CLI, '--enable-ebpf', '--quiet', '--stats', stats, 'run', '--', bin, '2', '500'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.ok(existsSync(stats), 'stats file written');
  const summary = JSON.parse(readFileSync(stats, 'utf8'));
  const bySyscall = summary.ebpf.syscalls.by_syscall as Record<string, number>;
  const straceOut = join(scratchDir(), 'cli-strace.txt');
  spawnSync('strace', ['-f', '-qq', '-c', '-o', straceOut, bin, '2', '500']);
  // Separate runs: futex waits in pthread_join depend on timing, everything else is deterministic.
  assert.equal(countDiff(parseStraceSummary(straceOut), bySyscall, ['futex']), []);
  assert.is(bySyscall.getppid, 1000);
  assert.is(summary.ebpf.syscalls.total, Object.values(bySyscall).reduce((a, b) => a + b, 0));
}, needGcc);

test.run();
