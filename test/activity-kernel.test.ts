// Off-CPU and run-queue time, the tree's socket bytes and PSI, on the real kernel, with real
// processes. The machine is busy: every figure is compared with what the workload measured itself
// (its own clocks, its own byte counts, its cgroup's own pressure file), never with wall-clock hopes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { CLI, CLI_ENV, runCli, readRecords, type Rec } from './_lib/cli.js';
import { sleep, waitFor } from './_lib/wait.js';
import { blockBackedDir, compileFixture, exited, hasCommand, scratchDir } from './_lib/workloads.js';
import { cgroup2Mount, clockTicksPerSec, parsePressure } from '../src/monitor/index.js';

const test = suite('off-CPU time, socket bytes and PSI (kernel)');

let runs = 0;
/** `run` with eBPF, records to a file; returns the records and the command's stdout. */
function monitored(cmd: string[], extra: string[] = []): { recs: Rec[]; stdout: string } {
  const out = join(scratchDir(), `activity-${++runs}.jsonl`);
  const r = runCli(['--enable-ebpf', '-q', '--out', out, ...extra, 'run', '--', ...cmd], { timeout: 120_000 });
  assert.is(r.code, 0, r.stderr);
  return { recs: readRecords(out), stdout: r.stdout };
}

const of = (recs: Rec[], kind: string) => recs.filter((r) => r.kind === kind);
const summary = (recs: Rec[]) => of(recs, 'summary')[0]!;
const within = (got: number, want: number, rel: number, what: string) =>
  assert.ok(Math.abs(got - want) <= rel * want, `${what}: ${got} is not within ${rel * 100} % of ${want}`);

const needsTaskset = () => bpfUnavailableReason() ?? (hasCommand('taskset') ? null : 'taskset is not installed (util-linux)');
const needsGcc = () => bpfUnavailableReason() ?? (hasCommand('gcc') ? null : 'gcc is not installed');

kernelTest(test, 'run -- sleep 1.5: off-CPU is the 1.5 s it slept (within 5 %), none of it I/O wait', () => {
  const { recs } = monitored(['sleep', '1.5']);
  const meta = of(recs, 'metadata')[0]!;
  assert.equal(meta.capabilities.off_cpu, { available: true });
  const s = summary(recs);
  within(s.total_off_cpu_secs, 1.5, 0.05, 'summary total_off_cpu_secs');
  assert.is(s.total_io_wait_secs, 0);
  const [p] = of(recs, 'process');
  within(p!.off_cpu_secs, 1.5, 0.05, 'the process record');
  // Cumulative and never decreasing from sample to sample.
  const series = of(recs, 'tree').map((t) => t.aggregated.off_cpu_secs as number);
  for (let i = 1; i < series.length; i++) assert.ok(series[i]! >= series[i - 1]!, `off_cpu_secs decreased at sample ${i}`);
  // Samples during the sleep already show it growing (the open interval is counted).
  assert.ok(series.some((v) => v > 0.3 && v < 1.4), `a sample in the middle of the sleep sees part of it: ${series.join(' ')}`);
});

kernelTest(test, '--exclude-children: the process alone; its sample records carry its off-CPU time to the end', () => {
  // sh waits for its two sleeps (0.3 s, 0.2 s): blocked in wait4 for as long as they sleep; the sleeps are not counted.
  const { recs } = monitored(['sh', '-c', 'sleep 0.3; sleep 0.2'], ['--exclude-children']);
  const samples = of(recs, 'sample');
  assert.ok(samples.length >= 2);
  for (const r of samples) assert.type(r.off_cpu_secs, 'number');
  within(summary(recs).total_off_cpu_secs, 0.5, 0.08, 'sh waited for its children');
  assert.is(of(recs, 'process').length, 1, 'the sleeps are not part of it');
});

kernelTest(test, 'attach to a process asleep since before: its wait counts from the attach (not from its first wake-up)', async () => {
  // A sleep that outlives any start-up of the monitor: it ends when told to, a while after the monitor
  // has attached (a fixed lifetime could run out before a slow start, leaving nothing to watch).
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  const pid = sleeper.pid!;
  try {
    // Asleep before the attach: exec'd (its name is sleep) and blocked in its nanosleep (state S).
    await waitFor(() => sleepingSleep(pid), 30_000);
    const out = join(scratchDir(), 'activity-attach.jsonl');
    // Asynchronously: this process must reap the sleeper when it dies, and keep the time meanwhile.
    const mon = spawn(process.execPath, [CLI, '--enable-ebpf', '-q', '--out', out, 'attach', String(pid)], { env: CLI_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    mon.stderr.on('data', (d) => (stderr += d));
    const code = exited(mon);
    // The metadata line is written once the process is tracked; a sample follows. Then a second of watching.
    await waitFor(() => mon.exitCode !== null || (existsSync(out) && readFileSync(out, 'utf8').includes('"kind":"tree"')), 60_000);
    assert.is(mon.exitCode, null, `the monitor ended early: ${stderr}`);
    assert.ok(sleepingSleep(pid), 'still asleep once attached');
    await sleep(1000);
    sleeper.kill('SIGTERM');
    assert.is(await withDeadline(code, 60_000, 'the monitor did not end after its process'), 0, stderr);
    const recs = readRecords(out);
    const t0 = of(recs, 'metadata')[0]!.t0_ms as number;
    const [p] = of(recs, 'process');
    assert.ok(p, 'the process record');
    // Asleep the whole time it was watched: from the attach to its exit (its own exit time, from the kernel).
    const watched = (p.exit_ms - t0) / 1000;
    assert.ok(watched > 0.9, `watched ${watched} s`);
    within(p.off_cpu_secs, watched, 0.05, 'off-CPU while watched');
  } finally {
    sleeper.kill('SIGKILL');
    await exited(sleeper);
  }
});

/** Whether `pid` is the sleep command, blocked (its exec done, in its nanosleep). */
function sleepingSleep(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(sleep\) S /.test(stat);
  } catch {
    return false;
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what} within ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * cpu0's interrupt and steal time so far (/proc/stat, seconds): time in which the thread on it
 * neither runs (its CPU clock excludes it) nor waits in the run queue. On a busy VM it is not small.
 */
function cpu0Lost(): number {
  const line = readFileSync('/proc/stat', 'latin1').split('\n').find((l) => l.startsWith('cpu0 ')) ?? '';
  const f = line.trim().split(/\s+/).map(Number);
  return ((f[6] ?? 0) + (f[7] ?? 0) + (f[8] ?? 0)) / clockTicksPerSec();
}

kernelTest(test, 'two busy threads pinned to one core: each waits in the run queue for what it did not run (wall − CPU, its own clocks)', () => {
  const bin = compileFixture('spin2');
  const lost0 = cpu0Lost();
  const { recs, stdout } = monitored(['taskset', '-c', '0', bin, '300']);
  const lost = cpu0Lost() - lost0;
  const threads = JSON.parse(stdout) as { tid: number; wall_ns: number; cpu_ns: number }[];
  const expected = threads.reduce((n, t) => n + (t.wall_ns - t.cpu_ns) / 1e9, 0);
  const [p] = of(recs, 'process');
  // The spinners never block: all their time off the CPU is run-queue wait, less what interrupts and
  // the hypervisor took from core 0 meanwhile (ticks: up to 10 ms more). The main thread adds a little.
  const floor = (expected - lost - 0.02) * 0.95;
  assert.ok(p!.runq_wait_secs >= floor, `runq_wait_secs ${p!.runq_wait_secs} < 95 % of the threads' wall − CPU ${expected} less core 0's interrupt and steal time ${lost}`);
  assert.ok(p!.runq_wait_secs <= expected * 1.05 + 0.05, `runq_wait_secs ${p!.runq_wait_secs} > the threads' wall − CPU ${expected} + 5 %`);
  // Sharing one core, each spinner waited at least about half its wall time (more if others use that core).
  for (const t of threads) assert.ok(t.wall_ns - t.cpu_ns >= 0.4 * t.wall_ns, `thread ${t.tid} ran ${t.cpu_ns} of ${t.wall_ns} ns`);
  within(summary(recs).total_runq_wait_secs, p!.runq_wait_secs, 0.001, 'the summary');
  // Per thread: the samples list both spinners, with their own run-queue waits.
  const last = of(recs, 'tree').map((t) => t.parent).filter((m) => m?.threads).pop();
  assert.ok(last, 'a sample lists the threads');
  const byTid = new Map((last.threads as Rec[]).map((t) => [t.tid, t]));
  for (const t of threads) {
    const seen = byTid.get(t.tid);
    assert.ok(seen, `thread ${t.tid} is listed`);
    assert.ok(seen.runq_wait_secs > 0 && seen.runq_wait_secs <= (t.wall_ns - t.cpu_ns) / 1e9 * 1.05 + 0.02, `thread ${t.tid}: ${seen.runq_wait_secs}`);
  }
}, needsTaskset);

kernelTest(test, 'loopback TCP: the tree\'s 1 MiB is counted exactly on both ends; a busier transfer outside the tree is not seen', async () => {
  const bin = compileFixture('tcp_pair');
  // The outsider: not a descendant of the monitored command, moving hundreds of MiB meanwhile.
  const outsider = spawn(bin, ['-t', '4000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let outsiderOut = '';
  outsider.stdout.on('data', (d) => (outsiderOut += d));
  try {
    await new Promise((r) => setTimeout(r, 300));
    // It stays a second after the transfer, so samples see its namespace while the outsider runs.
    const { recs, stdout } = monitored([bin, String(1 << 20), '1000']);
    assert.equal(JSON.parse(stdout), { sent: 1 << 20, received: 1 << 20 });
    const s = summary(recs);
    assert.is(s.total_net_tx_bytes, 1 << 20, 'tx');
    assert.is(s.total_net_rx_bytes, 1 << 20, 'rx');
    assert.equal(s.total_net.tcp, { tx_bytes: 1 << 20, rx_bytes: 1 << 20 });
    assert.equal(s.total_net.udp, { tx_bytes: 0, rx_bytes: 0 });
    // Each end is its own process: the sender sent it all, the receiver received it all.
    const procs = of(recs, 'process');
    assert.is(procs.length, 2);
    const sender = procs.find((p) => p.net_tx_bytes > 0)!;
    const receiver = procs.find((p) => p.net_rx_bytes > 0)!;
    assert.equal([sender.net_tx_bytes, sender.net_rx_bytes, receiver.net_tx_bytes, receiver.net_rx_bytes], [1 << 20, 0, 0, 1 << 20]);
    assert.is.not(sender.pid, receiver.pid);
    // The namespace counters, by contrast, saw the outsider's traffic too.
    const netns = Math.max(...of(recs, 'tree').map((t) => t.aggregated.netns_tx_bytes as number));
    assert.ok(netns > 16 * (1 << 20), `netns_tx_bytes ${netns} shows the outsider's traffic`);
  } finally {
    await exited(outsider);
  }
  const moved = JSON.parse(outsiderOut) as { sent: number };
  assert.ok(moved.sent > 16 * (1 << 20), `the outsider moved far more (${moved.sent} bytes)`);
}, needsGcc);

kernelTest(test, 'unix sockets are counted apart from IP: not in net_tx_bytes', () => {
  const script = 'import socket\na, b = socket.socketpair()\na.sendall(b"x" * 70000)\ngot = 0\nwhile got < 70000:\n    got += len(b.recv(65536))\n';
  const { recs } = monitored(['python3', '-c', script]);
  const s = summary(recs);
  assert.ok(s.total_net.unix.tx_bytes >= 70000 && s.total_net.unix.rx_bytes >= 70000, JSON.stringify(s.total_net.unix));
  assert.is(s.total_net_tx_bytes, s.total_net.tcp.tx_bytes + s.total_net.udp.tx_bytes + s.total_net.other_ip.tx_bytes);
}, () => bpfUnavailableReason() ?? (hasCommand('python3') ? null : 'python3 is not installed'));

kernelTest(test, 'direct, synchronous writes: their blocked time is I/O wait (in_iowait), a sleep\'s is not', () => {
  const file = join(blockBackedDir(), `denet-iowait-${process.pid}`);
  try {
    const { recs } = monitored(['dd', 'if=/dev/zero', `of=${file}`, 'bs=1M', 'count=32', 'oflag=direct,dsync', 'status=none']);
    const s = summary(recs);
    assert.ok(s.total_io_wait_secs > 0, 'some I/O wait');
    assert.ok(s.total_io_wait_secs >= 0.8 * s.total_off_cpu_secs, `I/O wait ${s.total_io_wait_secs} is most of off-CPU ${s.total_off_cpu_secs}`);
    const [p] = of(recs, 'process');
    assert.is(p!.io_wait_secs, s.total_io_wait_secs, 'the process record has it');
  } finally {
    rmSync(file, { force: true });
  }
});

kernelTest(test, 'PSI in every sample, with its source; the metadata says where it comes from', () => {
  const { recs } = monitored(['sleep', '0.5']);
  assert.is(of(recs, 'metadata')[0]!.capabilities.psi.available, true);
  const trees = of(recs, 'tree');
  assert.ok(trees.length >= 2);
  for (const t of trees) {
    const psi = t.aggregated.psi;
    assert.ok(psi && (psi.source === 'system' || psi.source === 'cgroup'), JSON.stringify(psi));
    for (const res of ['cpu', 'memory', 'io']) {
      assert.type(psi[res].some.avg10, 'number');
      assert.ok(psi[res].some.total_us_delta >= 0);
    }
  }
}, () => bpfUnavailableReason() ?? (existsSync('/proc/pressure/cpu') ? null : 'the kernel has no PSI (/proc/pressure)'));

/** A child cgroup of the v2 hierarchy for this test, removed afterwards (its processes moved out first). */
function withCgroup<T>(fn: (dir: string, path: string) => T): T | undefined {
  const mount = cgroup2Mount();
  if (!mount) return undefined;
  const path = `/denet-psi-test-${process.pid}`;
  const dir = `${mount.path}${path}`;
  mkdirSync(dir);
  try {
    return fn(dir, path);
  } finally {
    for (const pid of readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) {
      try { writeFileSync(`${mount.path}/cgroup.procs`, pid); } catch { /* exited */ }
    }
    rmdirSync(dir);
  }
}

const needsCgroup = () => needsTaskset() ?? (cgroup2Mount() ? null : 'no cgroup v2 hierarchy is mounted');

kernelTest(test, 'a process in its own cgroup: the samples carry that cgroup\'s pressure, not the system\'s', () => {
  const bin = compileFixture('spin2');
  withCgroup((dir, path) => {
    // The command moves itself into the cgroup, then two threads contend for one core: CPU pressure there.
    const { recs } = monitored(['sh', '-c', `echo $$ > ${dir}/cgroup.procs && exec taskset -c 0 ${bin} 300`]);
    const cgFinal = parsePressure(readFileSync(`${dir}/cpu.pressure`, 'utf8')).some!.total_us;
    const system = parsePressure(readFileSync('/proc/pressure/cpu', 'utf8')).some!.total_us;
    const inCg = of(recs, 'tree').map((t) => t.aggregated.psi).filter((p) => p?.source === 'cgroup');
    assert.ok(inCg.length >= 2, `samples from the cgroup: ${inCg.length}`);
    for (const p of inCg) assert.is(p.cgroup, path);
    const last = inCg.pop()!.cpu.some;
    assert.ok(cgFinal > 0, 'the contention stalled the cgroup');
    // The cgroup has no task left: its total no longer moves, and the last sample read it (the system's is far larger).
    assert.ok(last.total_us <= cgFinal && last.total_us >= cgFinal * 0.9 - 20_000, `last sample ${last.total_us} µs vs the cgroup's ${cgFinal} µs`);
    assert.ok(system > cgFinal, 'not the system figure');
    const deltas = of(recs, 'tree').map((t) => t.aggregated.psi).filter((p) => p?.source === 'cgroup').reduce((n, p) => n + p.cpu.some.total_us_delta, 0);
    assert.ok(deltas > 0 && deltas <= cgFinal, `stall deltas in the cgroup ${deltas} µs`);
  });
}, needsCgroup);

kernelTest(test, '--no-off-cpu --no-net: the programs are left out and the records say so', () => {
  const { recs } = monitored(['true'], ['--no-off-cpu', '--no-net']);
  const caps = of(recs, 'metadata')[0]!.capabilities;
  assert.is(caps.off_cpu.available, false);
  assert.match(caps.off_cpu.reason, /turned off/);
  assert.is(caps.net.available, false);
  const s = summary(recs);
  assert.is(s.total_off_cpu_secs, undefined);
  assert.is(s.total_net_tx_bytes, undefined);
});

test('without eBPF: the records say per-tree network (and off-CPU time) is unavailable, and carry neither', () => {
  const out = join(scratchDir(), 'activity-noebpf.jsonl');
  const r = runCli(['-q', '--out', out, 'run', '--', 'true']);
  assert.is(r.code, 0, r.stderr);
  const recs = readRecords(out);
  const caps = of(recs, 'metadata')[0]!.capabilities;
  assert.is(caps.net.available, false);
  assert.match(caps.net.reason, /per-tree network is unavailable.*eBPF/);
  assert.is(caps.off_cpu.available, false);
  for (const t of of(recs, 'tree')) {
    assert.is(t.aggregated.net_tx_bytes, undefined);
    assert.is(t.aggregated.off_cpu_secs, undefined);
    assert.type(t.aggregated.netns_tx_bytes, 'number');
  }
});

test.run();
