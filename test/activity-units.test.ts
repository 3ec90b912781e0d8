// Pieces of the off-CPU / socket / PSI work that need no kernel: the classification's time rule at
// its boundaries, the pressure reader on a constructed /proc and cgroup tree (moves, removals, bad
// files), and the monitor's view of the kernel figures (never decreasing, pid reuse).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSyscallsBlock, classify, timeShares, MIN_THREAD_SECS } from '../src/syscalls/index.js';
import { PsiReader, cgroup2Mount, parsePressure } from '../src/monitor/psi.js';
import { ActivityView } from '../src/monitor/activity.js';
import { emptyFigures, type ActivitySnapshot, type ProcessActivity } from '../src/tracer/activity.js';
import { SummaryAccumulator, recordsToCsv, formatSummaryTable } from '../src/monitor/index.js';
import { sampleRecord } from './_lib/records.js';

const test = suite('off-CPU, sockets and PSI: units');

const FIG = { syscall_rate_per_sec: 50, io_intensity: 0, memory_intensity: 0, cpu_intensity: 0.01, network_intensity: 0 };

test('time rule: I/O wait at half of the time on and off the CPU is io_bound; run-queue wait does not dilute it', () => {
  const at = (io: number, on: number, off: number, runq: number) =>
    classify(10, 1, { ...FIG, time_shares: timeShares({ cpuSecs: on, offCpuSecs: off, ioWaitSecs: io, runqWaitSecs: runq }) }, true);
  assert.is(at(0.5, 0.5, 0.5, 0), 'io_bound');
  assert.is(at(0.49, 0.51, 0.49, 0), 'unknown', '10 syscalls and no time evidence: too few to say');
  // A busy machine: the threads waited three times as long for a CPU as they used; still I/O-bound.
  assert.is(at(0.3, 0.2, 0.3, 1.5), 'io_bound');
  // Blocked but not on I/O (a sleep): the time rule says nothing, the syscall rules decide.
  assert.is(at(0, 0.01, 1.5, 0), 'unknown');
});

test('time rule needs enough thread time, and a block without time evidence is unchanged', () => {
  assert.is(timeShares({ cpuSecs: MIN_THREAD_SECS / 2, offCpuSecs: MIN_THREAD_SECS / 2 - 1e-9, ioWaitSecs: 0.05, runqWaitSecs: 5 }), undefined);
  assert.ok(timeShares({ cpuSecs: MIN_THREAD_SECS / 2, offCpuSecs: MIN_THREAD_SECS / 2, ioWaitSecs: 0.05, runqWaitSecs: 5 }));
  assert.is(timeShares({ cpuSecs: NaN, offCpuSecs: -1, ioWaitSecs: Infinity, runqWaitSecs: 0 }), undefined);
  const counts = { read: 600, write: 400 };
  const plain = buildSyscallsBlock(counts, 2, { cpuUsagePercent: 90 });
  assert.is(plain.analysis.time_shares, undefined);
  const timed = buildSyscallsBlock(counts, 2, { cpuUsagePercent: 90, time: { cpuSecs: 1, offCpuSecs: 3, ioWaitSecs: 2.5, runqWaitSecs: 0 } });
  assert.equal(timed.analysis.time_shares, { on_cpu: 0.25, off_cpu: 0.75, io_wait: 0.63, runq_wait: 0 });
  assert.is(timed.analysis.behavior_classification, 'io_bound');
  // I/O wait larger than off-CPU (a torn read) is capped at it.
  assert.is(timeShares({ cpuSecs: 1, offCpuSecs: 1, ioWaitSecs: 5, runqWaitSecs: 0 })!.io_wait, 0.5);
});

function fakeRoot(): { root: string; cg: string; sys: string; write: (path: string, text: string) => void } {
  const root = mkdtempSync(join(tmpdir(), 'denet-psi-'));
  const cg = join(root, 'cg v2');
  const sys = join(root, 'pressure');
  const write = (path: string, text: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  };
  // Spaces in mount points are escaped as \040 in mountinfo.
  write(join(root, 'self/mountinfo'), `25 1 0:22 / /sys rw - sysfs sysfs rw\n31 25 0:27 / ${cg.replace(/ /g, '\\040')} rw,nosuid - cgroup2 cgroup2 rw\n`);
  return { root, cg, sys, write };
}

const pressure = (some: number, full?: number, avg10 = 1.5) =>
  `some avg10=${avg10.toFixed(2)} avg60=0.50 avg300=0.10 total=${some}\n` + (full === undefined ? '' : `full avg10=0.00 avg60=0.00 avg300=0.00 total=${full}\n`);

test('PSI: the process\'s own cgroup, deltas since the previous sample; a move restarts them; a removed cgroup falls back to the system', () => {
  const f = fakeRoot();
  try {
    assert.equal(cgroup2Mount(f.root), { root: '/', path: f.cg });
    f.write(join(f.root, '42/cgroup'), '0::/jobs/a\n');
    for (const r of ['cpu', 'memory', 'io']) f.write(join(f.cg, 'jobs/a', `${r}.pressure`), pressure(1000, 400));
    for (const r of ['cpu', 'memory', 'io']) f.write(join(f.sys, r), pressure(9_000_000, 0));
    const psi = new PsiReader(42, f.root, f.sys, 0);
    assert.equal(psi.capability(), { available: true, source: 'cgroup' });
    f.write(join(f.cg, 'jobs/a/cpu.pressure'), pressure(1700, 450, 12.25));
    let b = psi.read()!;
    assert.is(b.source, 'cgroup');
    assert.is(b.cgroup, '/jobs/a');
    assert.equal(b.cpu, {
      some: { avg10: 12.25, avg60: 0.5, avg300: 0.1, total_us: 1700, total_us_delta: 700 },
      full: { avg10: 0, avg60: 0, avg300: 0, total_us: 450, total_us_delta: 50 },
    });
    assert.is(b.io!.some.total_us_delta, 0);
    // Moved to another cgroup: its figures, deltas from its own next reading.
    f.write(join(f.root, '42/cgroup'), '0::/jobs/b\n');
    f.write(join(f.cg, 'jobs/b/cpu.pressure'), pressure(50));
    b = psi.read()!;
    assert.equal([b.cgroup, b.cpu!.some.total_us, b.cpu!.some.total_us_delta, b.cpu!.full, b.memory], ['/jobs/b', 50, 0, undefined, undefined]);
    f.write(join(f.cg, 'jobs/b/cpu.pressure'), pressure(80));
    assert.is(psi.read()!.cpu!.some.total_us_delta, 30);
    // The cgroup is removed (and the process gone): the system's pressure, said so. A kept descriptor
    // on a real /proc/PID/cgroup fails once the process is gone; a deleted regular file would still
    // read, so the fake empties it instead.
    rmSync(join(f.cg, 'jobs'), { recursive: true });
    writeFileSync(join(f.root, '42/cgroup'), '');
    b = psi.read()!;
    assert.equal([b.source, b.cgroup, b.cpu!.some.total_us], ['system', undefined, 9_000_000]);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test('PSI: between cgroup lookups only the pressure files are read; a move is seen at the next lookup', async () => {
  const f = fakeRoot();
  try {
    f.write(join(f.root, '42/cgroup'), '0::/jobs/a\n');
    for (const g of ['a', 'b']) f.write(join(f.cg, 'jobs', g, 'cpu.pressure'), pressure(g === 'a' ? 1000 : 5));
    // (No timing assumption: one reader's next lookup is far off, the other's is due after 50 ms.)
    const late = new PsiReader(42, f.root, f.sys, 3_600_000);
    const soon = new PsiReader(42, f.root, f.sys, 50);
    f.write(join(f.root, '42/cgroup'), '0::/jobs/b\n');
    assert.is(late.read()!.cgroup, '/jobs/a', 'looked up again before its time');
    await new Promise((r) => setTimeout(r, 120));
    assert.is(soon.read()!.cgroup, '/jobs/b');
    late.close();
    soon.close();
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test('PSI: pressure files are re-read through descriptors kept open, all released by close()', () => {
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  const psi = new PsiReader(process.pid);
  if (psi.capability().available) {
    psi.read();
    // The process's cgroup file and one file per resource.
    assert.is(fds() - before, 4);
    for (let i = 0; i < 50; i++) psi.read();
    assert.is(fds() - before, 4, 'no descriptor opened per read');
  }
  psi.close();
  assert.is(fds(), before);
});

test('PSI: the root cgroup is the system; no pressure files at all: no block, and the capability says why', () => {
  const f = fakeRoot();
  try {
    f.write(join(f.root, '7/cgroup'), '12:memory:/x\n0::/\n');
    f.write(join(f.cg, 'cpu.pressure'), pressure(5));
    f.write(join(f.sys, 'cpu'), pressure(77));
    assert.is(new PsiReader(7, f.root, f.sys).read()!.source, 'system');
    rmSync(f.sys, { recursive: true });
    const none = new PsiReader(7, f.root, f.sys);
    assert.is(none.read(), undefined);
    assert.is(none.capability().available, false);
    assert.match(none.capability().reason!, /CONFIG_PSI|psi=0/);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test('PSI: damaged pressure files are skipped line by line, not trusted', () => {
  assert.equal(parsePressure('some avg10=x avg60=0 avg300=0 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\ngarbage'), {
    full: { avg10: 0, avg60: 0, avg300: 0, total_us: 12 },
  });
  assert.equal(parsePressure(''), {});
  assert.equal(parsePressure('some avg10=1.00 avg60=2.00 avg300=3.00 total=-5\n'), {});
});

function snap(procs: Partial<ProcessActivity>[], totals = emptyFigures()): ActivitySnapshot {
  const processes = new Map<number, ProcessActivity>();
  for (const p of procs) processes.set(p.pid!, { startBootNs: 0, threads: [], final: false, ...emptyFigures(), ...p } as ProcessActivity);
  return { sched: true, net: true, processes, totals, losses: { schedEventsLost: 0, threadTimeLost: 0, netBytesLost: 0 } };
}

test('the monitor\'s view: figures never decrease (a torn read), a reused pid starts from zero, records get their process\'s figures', () => {
  const v = new ActivityView();
  assert.equal(v.of(5), {}, 'nothing before the programs report');
  v.update(snap([{ pid: 5, startBootNs: 1e9, offCpuSecs: 2, runqWaitSecs: 1 }]));
  v.update(snap([{ pid: 5, startBootNs: 1e9, offCpuSecs: 1.5, runqWaitSecs: 1.2 }]));
  assert.is(v.of(5, 1e9).off_cpu_secs, 2);
  assert.is(v.of(5, 1e9).runq_wait_secs, 1.2);
  // The same pid, another process (started 5 s later): not the old figures.
  assert.is(v.of(5, 6e9).off_cpu_secs, 0);
  v.update(snap([{ pid: 5, startBootNs: 6e9, offCpuSecs: 0.25 }]));
  assert.is(v.of(5, 6e9).off_cpu_secs, 0.25);
  const net = emptyFigures().net;
  net.tcp.tx = 100;
  net.unix.rx = 7;
  v.update(snap([{ pid: 9, net }]));
  const m = v.of(9);
  assert.equal([m.net_tx_bytes, m.net_rx_bytes, m.net!.unix.rx_bytes], [100, 0, 7], 'unix bytes are not network bytes');
  const rec = { kind: 'process', pid: 9, start_ms: 1000 } as never;
  v.fill(rec, 0);
  assert.is((rec as { net_tx_bytes: number }).net_tx_bytes, 100);
});

test('summary, table and CSV: the last sample\'s cumulative figures; files without them get no such columns', () => {
  const net = { tcp: { tx_bytes: 2048, rx_bytes: 1024 }, udp: { tx_bytes: 0, rx_bytes: 0 }, other_ip: { tx_bytes: 0, rx_bytes: 0 }, unix: { tx_bytes: 9, rx_bytes: 9 }, other: { tx_bytes: 0, rx_bytes: 0 } };
  const recs = [
    sampleRecord(1000, 10, { off_cpu_secs: 0.5, io_wait_secs: 0.1, runq_wait_secs: 0.2, net_tx_bytes: 1024, net_rx_bytes: 0, net }),
    sampleRecord(2000, 10, { off_cpu_secs: 1.25, io_wait_secs: 0.25, runq_wait_secs: 0.5, net_tx_bytes: 2048, net_rx_bytes: 1024, net }),
  ];
  const acc = new SummaryAccumulator();
  for (const r of recs) acc.add(r);
  const s = acc.finish();
  assert.equal([s.total_off_cpu_secs, s.total_io_wait_secs, s.total_runq_wait_secs, s.total_net_tx_bytes, s.total_net_rx_bytes], [1.25, 0.25, 0.5, 2048, 1024]);
  assert.equal(s.total_net, net);
  const table = formatSummaryTable(s, { color: false });
  assert.match(table, /Off-CPU \(I\/O wait\)\s+1\.25s \(0\.25s\)/);
  assert.match(table, /Unix sockets/);
  const csv = recordsToCsv(recs).split('\r\n');
  assert.ok(csv[0]!.endsWith(',off_cpu_secs,io_wait_secs,runq_wait_secs,net_tx_bytes,net_rx_bytes'), csv[0]);
  assert.ok(csv[2]!.endsWith(',1.25,0.25,0.5,2048,1024'), csv[2]);
  const plain = recordsToCsv([sampleRecord(1000, 10)]).split('\r\n')[0]!;
  assert.not.match(plain, /off_cpu|net_tx/);
  const none = new SummaryAccumulator();
  none.add(sampleRecord(1000, 10));
  assert.is(none.finish().total_off_cpu_secs, undefined);
});

test.run();
