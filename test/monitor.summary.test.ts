// Summaries, JSON Lines round trips (denet files included) and CSV.
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSyscallsBlock } from '../src/syscalls/index.js';
import {
  ProcessTreeMonitor,
  SummaryAccumulator,
  csvField,
  parseJsonLines,
  recordsToCsv,
  summarizeRecords,
} from '../src/monitor/index.js';
import type { MonitorRecord, TreeRecord } from '../src/monitor/types.js';
import { sampleRecord } from './_lib/records.js';
import { sleep } from './_lib/wait.js';

const s = suite('monitor summary');
const sample = sampleRecord;

s('a live run summarised from its JSON Lines file reproduces the live summary exactly', async () => {
  const child = spawn('sh', ['-c', 'for i in 1 2 3; do sleep 2 & done; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; wait'], {
    detached: true,
    stdio: 'ignore',
  });
  try {
    const m = new ProcessTreeMonitor({ pid: child.pid! });
    const acc = new SummaryAccumulator();
    const lines: string[] = [JSON.stringify({ kind: 'metadata', pid: child.pid, cmd: ['sh'], executable: 'sh', t0_ms: m.t0Ms, version: '0', capabilities: { ebpf: { available: false } } })];
    for (let i = 0; i < 6; i++) {
      await sleep(80);
      const r = m.sample();
      if (!r) break;
      acc.add(r);
      lines.push(JSON.stringify(r));
    }
    m.close();
    const ebpf = { syscalls: buildSyscallsBlock({ read: 1234 }, 0.5), losses: { syscalls_uncounted: 0, processes_untracked: 0, exits_unrecorded: 0 } };
    const live = acc.finish({ ebpf });
    lines.push(JSON.stringify(live));
    assert.ok(live.sample_count >= 5, 'the run produced samples');
    assert.ok(live.max_processes >= 2, 'children were seen');
    const { records, errors } = parseJsonLines(lines.join('\n') + '\n');
    assert.equal(errors, []);
    assert.is(records.length, lines.length);
    assert.equal(summarizeRecords(records), live);
  } finally {
    process.kill(-child.pid!, 'SIGKILL');
  }
});

s('summary fields: duration first to last sample, mean and peak CPU, last I/O totals', () => {
  const acc = new SummaryAccumulator();
  acc.add(sample(1000, 50, { disk_write_bytes: 10, thread_count: 2, cpu_time_secs: 0.5 }));
  acc.add(sample(1500, 150, { disk_write_bytes: 30, mem_rss_kb: 9000, cpu_time_secs: 1.25 }));
  acc.add(sample(3000, 100, { disk_write_bytes: 40, syscall_read_bytes: 7, cpu_time_secs: 2.5 }));
  const sum = acc.finish();
  assert.equal(sum, {
    kind: 'summary',
    total_time_secs: 2,
    sample_count: 3,
    max_processes: 1,
    max_threads: 2,
    peak_mem_rss_kb: 9000,
    avg_cpu_usage: 100,
    peak_cpu_usage: 150,
    total_cpu_time_secs: 2.5,
    total_disk_read_bytes: 0,
    total_disk_write_bytes: 40,
    total_syscall_read_bytes: 7,
    total_syscall_write_bytes: 0,
  });
  assert.is(new SummaryAccumulator().finish().sample_count, 0);
});

s('denet files: records without kind are recognised by shape; CPU time is integrated when absent', () => {
  const agg = { ts_ms: 2000, cpu_usage: 100, mem_rss_kb: 5, mem_vms_kb: 6, disk_read_bytes: 1, disk_write_bytes: 2, syscall_read_bytes: 3, syscall_write_bytes: 4, page_faults_minor: 0, page_faults_major: 0, thread_count: 3, uptime_secs: 1, netns_rx_bytes: 0, netns_tx_bytes: 0, process_count: 2 };
  const text = [
    JSON.stringify({ pid: 5, cmd: ['x'], executable: '/bin/x', t0_ms: 1000 }),
    JSON.stringify({ ts_ms: 1000, parent: null, children: [], aggregated: { ...agg, ts_ms: 1000 } }),
    JSON.stringify({ parent: null, children: [], aggregated: agg }),
    JSON.stringify({ ...sample(3000, 200), kind: undefined }),
    JSON.stringify({ total_time_secs: 2, sample_count: 3, max_processes: 2 }),
  ].join('\n');
  const { records, errors } = parseJsonLines(text);
  assert.equal(errors, []);
  assert.equal(records.map((r) => r.kind), ['metadata', 'tree', 'tree', 'sample', 'summary']);
  assert.is((records[2] as TreeRecord).ts_ms, 2000); // taken from aggregated
  const sum = summarizeRecords(records);
  assert.is(sum.sample_count, 3);
  assert.is(sum.max_processes, 2);
  // 1 s at 100 % + 1 s at 200 % (the first sample has no interval before it).
  assert.is(sum.total_cpu_time_secs, 3);
});

s('corrupt, truncated and unknown lines are reported with 1-based line numbers and skipped', () => {
  const good = JSON.stringify(sample(1, 1));
  const text = [good, '{"kind":"sample",', '', '[1,2]', '42', JSON.stringify({ kind: 'bogus' }), JSON.stringify({ hello: 1 }), JSON.stringify({ kind: 'tree', children: [] }), good + '\r', '{"kind":"sam'].join('\n');
  const { records, errors } = parseJsonLines(text);
  assert.is(records.length, 2);
  assert.equal(errors.map((e) => e.line), [2, 4, 5, 6, 7, 8, 10]);
  assert.match(errors[0]!.message, /invalid JSON/);
  assert.match(errors[3]!.message, /unknown kind/);
});

s('CSV: header, one row per sample with the aggregated metrics, RFC 4180 quoting and CRLF', () => {
  const t: TreeRecord = {
    kind: 'tree',
    ts_ms: 5,
    parent: null,
    children: [],
    aggregated: { ...sample(5, 12.5), process_count: 3, cpu_time_secs: 0.25 } as unknown as TreeRecord['aggregated'],
  };
  const recs: MonitorRecord[] = [{ kind: 'env' } as MonitorRecord, t, sample(6, 1), { kind: 'summary' } as MonitorRecord];
  const csv = recordsToCsv(recs);
  const rows = csv.split('\r\n');
  assert.is(rows.length, 4); // header, 2 rows, trailing empty
  assert.is(rows[3], '');
  const header = rows[0]!.split(',');
  assert.is(header[0], 'kind');
  const row = rows[1]!.split(',');
  assert.is(row[header.indexOf('cpu_usage')], '12.5');
  assert.is(row[header.indexOf('process_count')], '3');
  assert.is(row[header.indexOf('cpu_time_secs')], '0.25');
  assert.is(rows[2]!.split(',')[header.indexOf('process_count')], '1');
  assert.is(rows[2]!.split(',')[header.indexOf('cpu_time_secs')], '');
  assert.is(csvField('a,"b"'), '"a,""b"""');
  assert.is(csvField('line\nbreak'), '"line\nbreak"');
  assert.is(csvField('plain'), 'plain');
  assert.is(csvField(undefined), '');
});

s.run();
