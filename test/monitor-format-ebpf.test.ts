// The summary table's syscall rows, from a constructed summary.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatSummaryTable } from '../src/monitor/index.js';
import { buildSyscallsBlock } from '../src/syscalls/index.js';
import type { SummaryRecord } from '../src/monitor/types.js';

const test = suite('summary table: eBPF rows');

const base: SummaryRecord = {
  kind: 'summary', total_time_secs: 2, sample_count: 20, max_processes: 3, max_threads: 4, peak_mem_rss_kb: 1024,
  avg_cpu_usage: 50, peak_cpu_usage: 90, total_cpu_time_secs: 1, total_disk_read_bytes: 0, total_disk_write_bytes: 0,
  total_syscall_read_bytes: 0, total_syscall_write_bytes: 0,
};

test('without eBPF there are no syscall rows', () => {
  assert.not.match(formatSummaryTable(base, { color: false }), /Syscalls|Top syscalls/);
});

test('with eBPF: total and rate, the top five, category shares, the class, and what was not counted or tracked', () => {
  const counts = new Map([['read', 6000], ['write', 3000], ['mmap', 500], ['openat', 300], ['close', 150], ['getpid', 50]]);
  const syscalls = buildSyscallsBlock(counts, 2, { cpuUsagePercent: 50 });
  const table = formatSummaryTable({ ...base, ebpf: { syscalls, losses: { syscalls_uncounted: 7, processes_untracked: 3, exits_unrecorded: 0 } } }, { color: false });
  assert.match(table, /Syscalls\s+10,000 \(5,000\/s\)/);
  assert.match(table, /Top syscalls\s+read 6,000, write 3,000, mmap 500, openat 300, close 150\n/);
  assert.match(table, /Categories\s+file_io 94\.5%, memory 5\.0%, process 0\.5%/);
  assert.match(table, new RegExp(`Behaviour\\s+${syscalls.analysis.behavior_classification}`));
  assert.match(table, /Not counted\s+7 syscalls .*--max-counts/);
  assert.match(table, /Not tracked\s+3 processes .*--max-processes/);
});

test.run();
