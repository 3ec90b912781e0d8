// Record shapes of the JSON Lines stream. Every line carries `kind`.
// Field names follow denet where denet has the field; new fields say truthfully what they measure.

/** Metrics of one process (or, in `aggregated`, summed over the tree). */
export interface Metrics {
  /** Sample time, ms since the Unix epoch. */
  ts_ms: number;
  /** CPU use since the previous sample; 100 = one core busy (top's convention). */
  cpu_usage: number;
  mem_rss_kb: number;
  mem_vms_kb: number;
  /** Block-device I/O (read_bytes/write_bytes of /proc/PID/io), since monitoring start unless --since-process-start. */
  disk_read_bytes: number;
  disk_write_bytes: number;
  /** Bytes passed to read-/write-like syscalls (rchar/wchar), same baseline rule. */
  syscall_read_bytes: number;
  syscall_write_bytes: number;
  page_faults_minor: number;
  page_faults_major: number;
  thread_count: number;
  uptime_secs: number;
  /** CPU the process last ran on (absent in aggregated). */
  cpu_core?: number;
  /** Network bytes of the process's network namespace (all processes in it), not of the process alone. */
  netns_rx_bytes: number;
  netns_tx_bytes: number;
}

export interface AggregatedMetrics extends Omit<Metrics, 'cpu_core'> {
  process_count: number;
  /** Total CPU seconds used by the tree since monitoring start, exited children included. */
  cpu_time_secs: number;
  ebpf?: unknown;
}

export interface ChildEntry {
  pid: number;
  command: string;
  metrics: Metrics;
}

export interface EnvRecord {
  kind: 'env';
  host: string;
  kernel: string;
  cpu: { model: string; sockets: number; cores: number; threads: number };
  numa_nodes: number;
  affinity: number[];
  governor: string | null;
  thp: string | null;
  smt: string | null;
  cgroup: string | null;
}

export interface MetadataRecord {
  kind: 'metadata';
  pid: number;
  cmd: string[];
  executable: string;
  /** When monitoring started, ms since the Unix epoch. */
  t0_ms: number;
  version: string;
  /** The machine's architecture as `uname -m` prints it (x86_64, aarch64): the table that names the syscalls. */
  arch?: string;
  capabilities: { ebpf: { available: boolean; mode?: string; reason?: string } };
}

export interface TreeRecord {
  kind: 'tree';
  ts_ms: number;
  parent: Metrics | null;
  children: ChildEntry[];
  aggregated: AggregatedMetrics;
}

export interface SampleRecord extends Metrics {
  kind: 'sample';
  /** CPU seconds used by the process since monitoring start (children not followed). Absent in denet files. */
  cpu_time_secs?: number;
  ebpf?: unknown;
}

export interface SummaryRecord {
  kind: 'summary';
  total_time_secs: number;
  sample_count: number;
  max_processes: number;
  max_threads: number;
  peak_mem_rss_kb: number;
  avg_cpu_usage: number;
  peak_cpu_usage: number;
  /** CPU seconds used by the whole tree during monitoring, exited children included. */
  total_cpu_time_secs: number;
  total_disk_read_bytes: number;
  total_disk_write_bytes: number;
  total_syscall_read_bytes: number;
  total_syscall_write_bytes: number;
  ebpf?: unknown;
}

export type MonitorRecord = EnvRecord | MetadataRecord | TreeRecord | SampleRecord | SummaryRecord;
