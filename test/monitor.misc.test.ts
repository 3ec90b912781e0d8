// The adaptive interval, live line and summary table rendering, and the environment record.
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { adaptiveIntervalMs, collectEnv, formatBytes, formatDuration, formatLiveLine, formatSummaryTable, parseCpuList } from '../src/monitor/index.js';
import { parseCgroup, selected } from '../src/monitor/env.js';
import { visibleLength } from '../src/monitor/format.js';
import type { SummaryRecord, TreeRecord } from '../src/monitor/types.js';
import { metrics } from './_lib/records.js';

const s = suite('monitor misc');

s('adaptive interval: base for 1 s, linear to max by 10 s, max after', () => {
  assert.is(adaptiveIntervalMs(0, 100, 1000), 100);
  assert.is(adaptiveIntervalMs(1000, 100, 1000), 100);
  assert.is(adaptiveIntervalMs(5500, 100, 1000), 550);
  assert.is(adaptiveIntervalMs(10_000, 100, 1000), 1000);
  assert.is(adaptiveIntervalMs(3_600_000, 100, 1000), 1000);
  assert.is(adaptiveIntervalMs(5000, 200, 200), 200);
  let prev = 0;
  for (let t = 0; t <= 12_000; t += 250) {
    const v = adaptiveIntervalMs(t, 100, 1000);
    assert.ok(v >= prev && v >= 100 && v <= 1000);
    prev = v;
  }
});

const rec: TreeRecord = {
  kind: 'tree',
  ts_ms: 0,
  parent: null,
  children: [],
  aggregated: {
    ...metrics({ cpu_usage: 199.5, mem_rss_kb: 204800, disk_write_bytes: 52428800, thread_count: 14, uptime_secs: 3 }),
    process_count: 11,
    cpu_time_secs: 5,
  },
};

s('live line: content, colour only on request, always fits the width', () => {
  const ebpf = { ratePerSec: 12345, topCategory: 'file' };
  const wide = formatLiveLine(rec, { color: false, elapsedMs: 75_000, ebpf, width: 200 });
  for (const part of ['1m15s', '11 procs', '199.5%', '200 MiB', '50.0 MiB', '14 thr', '12.3k/s', 'file']) assert.ok(wide.includes(part), `${part} in ${wide}`);
  assert.not.ok(wide.includes('\x1b'));
  assert.ok(formatLiveLine(rec, { color: true, elapsedMs: 1000, width: 200 }).includes('\x1b['));
  for (const width of [20, 40, 60, 80, 100]) {
    for (const color of [false, true]) {
      const line = formatLiveLine(rec, { color, elapsedMs: 1000, ebpf, width });
      assert.ok(visibleLength(line) <= width, `${width}: ${line}`);
      assert.ok(line.includes('199.5%') || width < 30, `CPU kept at ${width}`);
    }
  }
});

s('summary table in human units', () => {
  const sum: SummaryRecord = {
    kind: 'summary',
    total_time_secs: 3725,
    sample_count: 10,
    max_processes: 11,
    max_threads: 14,
    peak_mem_rss_kb: 204800,
    avg_cpu_usage: 150,
    peak_cpu_usage: 199.5,
    total_cpu_time_secs: 12.345,
    total_disk_read_bytes: 1536,
    total_disk_write_bytes: 52428800,
    total_syscall_read_bytes: 0,
    total_syscall_write_bytes: 10,
  };
  const t = formatSummaryTable(sum, { color: false });
  for (const part of ['1h02m05s', '200 MiB', '1.5 KiB / 50.0 MiB', '150.0% / 199.5%', '12.35s', '10 B']) assert.ok(t.includes(part), `${part} in\n${t}`);
  assert.not.ok(t.includes('\x1b'));
  assert.ok(formatSummaryTable(sum, { color: true }).includes('\x1b['));
  assert.is(formatBytes(0), '0 B');
  assert.is(formatBytes(1024 ** 3 * 2.5), '2.5 GiB');
  assert.is(formatDuration(12.34), '12.3s');
});

s('environment from /proc and /sys', () => {
  const env = collectEnv();
  assert.is(env.kind, 'env');
  assert.is(env.kernel, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
  assert.is(env.host, readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
  assert.ok(env.cpu.threads >= 1 && env.cpu.cores >= 1 && env.cpu.sockets >= 1);
  assert.ok(env.cpu.cores <= env.cpu.threads && env.cpu.sockets <= env.cpu.cores);
  assert.ok(env.affinity.length >= 1 && env.affinity.length <= env.cpu.threads);
  assert.ok(env.numa_nodes >= 1);
  assert.ok(env.cgroup !== null);
  const none = collectEnv(2 ** 22 + 99);
  assert.is(none.cgroup, null);
  assert.is(none.kernel, env.kernel);
});

s('env helpers', () => {
  assert.equal(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.equal(parseCpuList(''), []);
  assert.is(selected('always [madvise] never'), 'madvise');
  assert.is(selected(null), null);
  assert.is(parseCgroup('0::/user.slice/x.scope\n'), '/user.slice/x.scope');
  assert.is(parseCgroup('1:cpu:/a\n0::/\n'), '1:cpu:/a;0::/');
  assert.is(parseCgroup(''), null);
});

s.run();
