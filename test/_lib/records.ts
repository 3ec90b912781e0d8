// Building records for tests of summaries, parsing and rendering.
import type { Metrics, SampleRecord } from '../../src/monitor/types.js';

/** Every Metrics field 0 (cpu_core absent), then `over`. */
export function metrics(over: Partial<Metrics> = {}): Metrics {
  return {
    ts_ms: 0,
    cpu_usage: 0,
    mem_rss_kb: 0,
    mem_vms_kb: 0,
    disk_read_bytes: 0,
    disk_write_bytes: 0,
    syscall_read_bytes: 0,
    syscall_write_bytes: 0,
    page_faults_minor: 0,
    page_faults_major: 0,
    thread_count: 0,
    uptime_secs: 0,
    netns_rx_bytes: 0,
    netns_tx_bytes: 0,
    ...over,
  };
}

/** A `sample` record at `ts` with `cpu` % and 1000/2000 KiB RSS/VMS, one thread, 1 s up, then `extra`. */
export function sampleRecord(ts: number, cpu: number, extra: Partial<SampleRecord> = {}): SampleRecord {
  return {
    kind: 'sample',
    ...metrics({ ts_ms: ts, cpu_usage: cpu, mem_rss_kb: 1000, mem_vms_kb: 2000, thread_count: 1, uptime_secs: 1 }),
    ...extra,
  };
}
