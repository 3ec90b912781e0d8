// Exact accounting, tried the way users hit it: processes that exit at the worst moment for a sampler,
// daemons that outlive their parents, outputs that are not plain files, a killed monitor, many
// processes under a low fd limit. Each case runs the built CLI on real processes; with eBPF (exit
// accounting in the kernel) and without it (the kernel's reaper credits, run as child subreaper).
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SyscallTracer } from '../src/tracer/index.js';
import { runCli, readRecords } from './_lib/cli.js';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { sleep, waitFor } from './_lib/wait.js';
import { CLI, blockBackedDir, compileFixture, countDiff, exited, hasCommand, parseStraceSummary, scratchDir } from './_lib/workloads.js';

const test = suite('exact accounting');
const needGcc = () => (hasCommand('gcc') ? null : 'gcc is not installed');
const needEbpfGcc = () => bpfUnavailableReason() ?? needGcc();
const needStrace = () => needEbpfGcc() ?? (hasCommand('strace') ? null : 'strace is not installed (apt-get install strace)');

const MODES: [string, string[], () => string | null][] = [
  ['eBPF', ['--enable-ebpf'], needEbpfGcc],
  ['/proc', [], needGcc],
];

function runStats(args: string[], cmd: string[]): Record<string, any> {
  const stats = join(scratchDir(), `acc-${process.hrtime.bigint()}.json`);
  const r = runCli(['-q', '--stats', stats, ...args, 'run', '--', ...cmd], { timeout: 120_000 });
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(readFileSync(stats, 'utf8'));
}

for (const [mode, flags, why] of MODES) {
  kernelTest(test, `${mode}: a child burning 1 s of CPU that exits with its root in one interval is counted once; peak ≤ cores × 100 %`, () => {
    const acc = compileFixture('accounting');
    // One-second intervals: the child and the root usually exit between two samples.
    const s = runStats([...flags, '-i', '1000', '-m', '1000'], [acc, 'burnchild', '1']);
    assert.ok(Math.abs(s.total_cpu_time_secs - 1) <= 0.1, `total CPU ${s.total_cpu_time_secs} s (the child burnt 1 s)`);
    assert.ok(s.peak_cpu_usage <= availableParallelism() * 100, `peak ${s.peak_cpu_usage} %`);
    assert.ok(s.max_processes >= 2, `both processes counted (${s.max_processes})`);
  }, why);

  kernelTest(test, `${mode}: 50 MiB written with fsync by a child forked at once: disk_write_bytes within 3 %, every time`, () => {
    const acc = compileFixture('accounting');
    const dir = mkdtempSync(join(blockBackedDir(), 'denet-acc-'));
    try {
      const mb = 50 * 1024 * 1024;
      for (let i = 0; i < 3; i++) {
        const s = runStats(flags, [acc, 'writechild', join(dir, `out${i}.bin`), '50']);
        assert.ok(Math.abs(s.total_disk_write_bytes - mb) <= 0.03 * mb, `run ${i}: disk_write_bytes ${s.total_disk_write_bytes}`);
        assert.ok(Math.abs(s.total_syscall_write_bytes - mb) <= 0.03 * mb, `run ${i}: syscall_write_bytes ${s.total_syscall_write_bytes}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, why);

  kernelTest(test, `${mode}: orphans that sleep, and are read less often, count once when we reap them`, () => {
    const acc = compileFixture('accounting');
    // Adopted by us (child subreaper), asleep long enough to be read less often, reaped at different samples.
    const s = runStats([...flags, '-i', '50', '-m', '50'], [acc, 'orphans', '5']);
    assert.ok(s.total_cpu_time_secs >= 0.9 && s.total_cpu_time_secs <= 1.15, `total CPU ${s.total_cpu_time_secs} s (5 x 0.2 s burnt)`);
    assert.is(s.total_processes, 6);
  }, why);

  kernelTest(test, `${mode}: a sleeper whose parent is left a zombie counts once when we reap it`, () => {
    const acc = compileFixture('accounting');
    // Its parent exits but stays a zombie (the root never waits): it is re-parented to us unseen. At
    // once (the sleeper's ppid is stale for a while), or after 3 s asleep itself, 10 ms before its
    // child (both read less often then: nobody has seen the parent exit when we reap the child).
    for (const [p, c] of [['0', '1.5'], ['3', '3.01']] as const) {
      const s = runStats([...flags, '-i', '50', '-m', '50'], [acc, 'zombieparent', p, c]);
      assert.ok(s.total_cpu_time_secs >= 0.18 && s.total_cpu_time_secs <= 0.3, `parent ${p} s, child ${c} s: total CPU ${s.total_cpu_time_secs} s (0.2 s burnt)`);
    }
  }, why);

  kernelTest(test, `${mode}: run follows a daemonised grandchild to its end (like strace -f)`, () => {
    const acc = compileFixture('accounting');
    const s = runStats(flags, [acc, 'daemon', '1000']);
    // The command exits at once; its grandchild works a second later.
    assert.ok(s.total_time_secs >= 0.7, `monitoring lasted until the daemon was done (${s.total_time_secs} s)`);
    assert.ok((s.total_processes ?? 0) >= 2, `the daemon is in the tree (${s.total_processes} processes)`);
  }, why);
}

kernelTest(test, "eBPF: a daemonised grandchild's syscalls equal strace -f -c", () => {
  const acc = compileFixture('accounting');
  const s = runStats(['--enable-ebpf'], [acc, 'daemon', '1000']);
  const out = join(scratchDir(), `strace-daemon-${process.hrtime.bigint()}.txt`);
  const st = spawnSync('strace', ['-f', '-qq', '-c', '-o', out, acc, 'daemon', '1000']);
  assert.is(st.status, 0);
  // strace -f waits for the daemon too; give its summary a moment when the daemon outlives the root.
  const strace = parseStraceSummary(out);
  assert.is(strace.get('getppid'), 1000);
  assert.equal(countDiff(strace, s.ebpf.syscalls.by_syscall), []);
}, needStrace);

test('--stats given a device node, a FIFO and a symlink: each is still what it was', async () => {
  // A character device: written in place, still a device.
  const r = runCli(['-q', '--stats', '/dev/null', 'run', '--', 'true']);
  assert.is(r.code, 0, r.stderr);
  assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still a character device');
  const full = runCli(['-q', '--stats', '/dev/full', 'run', '--', 'true']);
  assert.is(full.code, 4, 'a full device is an output error');
  assert.ok(statSync('/dev/full').isCharacterDevice(), '/dev/full is still a character device');
  assert.is(full.stderr.trim().split('\n').length, 1, `one line: ${full.stderr}`);
  // A FIFO: the reader gets the summary, the FIFO stays.
  const dir = mkdtempSync(join(scratchDir(), 'outputs-'));
  const fifo = join(dir, 'fifo');
  assert.is(spawnSync('mkfifo', [fifo]).status, 0);
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  let got = '';
  reader.stdout.on('data', (d) => { got += d; });
  const viaFifo = runCli(['-q', '--stats', fifo, 'run', '--', 'true']);
  assert.is(viaFifo.code, 0, viaFifo.stderr);
  await exited(reader);
  assert.is(JSON.parse(got).kind, 'summary');
  assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
  // A symlink: the file it names is replaced, the link stays.
  const target = join(dir, 'target.json');
  const link = join(dir, 'link.json');
  writeFileSync(target, 'old');
  symlinkSync(target, link);
  assert.is(runCli(['-q', '--stats', link, 'run', '--', 'true']).code, 0);
  assert.ok(lstatSync(link).isSymbolicLink(), 'still a symlink');
  assert.is(readlinkSync(link), target);
  assert.is(JSON.parse(readFileSync(target, 'utf8')).kind, 'summary');
  // A directory is refused, and '-' is standard output.
  const d = runCli(['-q', '--stats', dir, 'run', '--', 'true']);
  assert.is(d.code, 4);
  assert.match(d.stderr, /is a directory/);
  const dash = runCli(['-q', '--stats', '-', 'run', '--', 'true']);
  assert.is(JSON.parse(dash.stdout).kind, 'summary');
});

kernelTest(test, 'attach from the shell that started denet-pure counts none of its syscalls', () => {
  const stats = join(scratchDir(), `self-${process.hrtime.bigint()}.json`);
  // The shell waits for denet-pure, which attaches to that very shell (so denet-pure is its descendant).
  const sh = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" -q --enable-ebpf -d 1 --stats "${stats}" attach $$; true`], { encoding: 'utf8', timeout: 60_000 });
  assert.is(sh.status, 0, sh.stderr);
  const s = JSON.parse(readFileSync(stats, 'utf8'));
  const by: Record<string, number> = s.ebpf.syscalls.by_syscall;
  assert.is(by.bpf, undefined, `no bpf syscalls counted (${JSON.stringify(by)})`);
  assert.is(by.pread64, undefined, 'none of the monitor\'s /proc reads');
  assert.ok((s.max_processes ?? 0) <= 1, `the tree is the shell alone (${s.max_processes})`);
}, bpfUnavailableReason);

kernelTest(test, '--exclude-children: the process alone, in the kernel too (one execve)', () => {
  const s = runStats(['--enable-ebpf', '--exclude-children'], ['sh', '-c', '/bin/true; /bin/true; :']);
  assert.is(s.ebpf.syscalls.by_syscall.execve, 1);
  assert.is(s.total_processes, 1);
}, bpfUnavailableReason);

kernelTest(test, 'eBPF: run -- /bin/true reports its process and its peak RSS', () => {
  const s = runStats(['--enable-ebpf'], ['/bin/true']);
  assert.ok(s.max_processes >= 1, `max_processes ${s.max_processes}`);
  assert.is(s.total_processes, 1);
  // Its own image (about 1 MiB), not the copy of the monitor it was forked from.
  assert.ok(s.peak_mem_rss_kb > 0 && s.peak_mem_rss_kb < 8192, `peak RSS ${s.peak_mem_rss_kb} KiB`);
}, bpfUnavailableReason);

for (const [mode, flags, why] of MODES) {
  kernelTest(test, `${mode}: 400 children at ulimit -n 256 are monitored to the end`, () => {
    const stats = join(scratchDir(), `fds-${process.hrtime.bigint()}.json`);
    const cli = [process.execPath, CLI, '-q', '--stats', stats, ...flags, 'run', '--', 'sh', '-c', 'for i in $(seq 400); do sleep 3 & done; wait']
      .map((a) => `'${a}'`).join(' ');
    const r = spawnSync('sh', ['-c', `ulimit -n 256 && exec ${cli}`], { encoding: 'utf8', timeout: 120_000 });
    assert.is(r.status, 0, r.stderr);
    assert.not.match(r.stderr, /EMFILE|too many open files/i);
    const s = JSON.parse(readFileSync(stats, 'utf8'));
    assert.ok(s.total_processes >= 401, `every process was seen (${s.total_processes})`);
    assert.ok(s.max_processes >= 300, `most were alive together (${s.max_processes})`);
  }, why);
}

/** Pids whose parent is `ppid`, from /proc (this kernel may lack /proc/PID/task/TID/children). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch { /* gone */ }
  }
  return out;
}

test('kill -9 of denet-pure during run: the command does not outlive it', async () => {
  const cli = spawn(process.execPath, [CLI, '-q', 'run', '--', 'sleep', '60'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  cli.stderr.on('data', (d) => { stderr += d; });
  let sleeper = 0;
  await waitFor(() => {
    for (const pid of childrenOf(cli.pid!)) {
      try { if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0')) sleeper = pid; } catch { /* gone */ }
    }
    return sleeper > 0;
  }, 20_000);
  cli.kill('SIGKILL');
  await exited(cli);
  await waitFor(() => {
    try {
      return /\) [ZX] /.test(readFileSync(`/proc/${sleeper}/stat`, 'latin1'));
    } catch {
      return true; // gone
    }
  }, 10_000);
  // The watchdog kills first and says so after: on a busy machine the line can come well later.
  await waitFor(() => /the monitor died; stopped its command/.test(stderr), 10_000).catch(() => undefined);
  assert.match(stderr, /the monitor died; stopped its command/);
});

kernelTest(test, 'stats of a file whose summary is missing rebuilds it from the samples, eBPF block included, and says so', () => {
  const out = join(scratchDir(), `cut-${process.hrtime.bigint()}.jsonl`);
  const r = runCli(['-q', '--enable-ebpf', '--out', out, '-i', '50', 'run', '--', 'sh', '-c', 'for i in 1 2 3 4 5; do ls / > /dev/null; sleep 0.05; done']);
  assert.is(r.code, 0, r.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  const live = JSON.parse(lines.at(-1)!);
  assert.is(live.kind, 'summary');
  // As after a kill -9: no summary line, and a torn last line.
  const cut = join(dirname(out), 'cut.jsonl');
  writeFileSync(cut, lines.slice(0, -1).join('\n') + '\n{"kind":"tree","ts_');
  const stats = runCli(['stats', '--json', cut]);
  assert.is(stats.code, 0, stats.stderr);
  assert.match(stats.stderr, /no summary record/);
  const rebuilt = JSON.parse(stats.stdout);
  assert.equal(rebuilt.ebpf.syscalls.by_syscall, live.ebpf.syscalls.by_syscall, 'every syscall count, from the windows');
  assert.is(rebuilt.ebpf.syscalls.total, live.ebpf.syscalls.total);
  assert.is(rebuilt.total_cpu_time_secs, live.total_cpu_time_secs);
}, bpfUnavailableReason);

kernelTest(test, 'a full process table: processes not tracked and syscalls not counted are exact and named apart', async () => {
  const tracer = SyscallTracer.open({ maxProcesses: 64 });
  try {
    const child = tracer.spawnTracked(() => spawn('/bin/sh', ['-c', 'for i in $(seq 200); do sleep 2 & done; wait'], { stdio: 'ignore' }));
    await exited(child);
    const snap = tracer.read();
    // Every process (sh, the subshell running seq, 200 sleeps) either was tracked (and made syscalls)
    // or is counted as not tracked.
    assert.is(snap.byProcess.size + snap.losses.processesUntracked, 202, `${snap.byProcess.size} tracked + ${snap.losses.processesUntracked} not`);
    assert.ok(snap.losses.processesUntracked > 0, 'the table did fill');
  } finally {
    tracer.close();
  }
}, bpfUnavailableReason);

test.run();
