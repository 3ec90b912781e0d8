// Record shapes of the JSON Lines stream. Every line carries `kind`.
// Field names follow denet where denet has the field; new fields say truthfully what they measure.
import type { SyscallsBlock, WindowBlock } from '../syscalls/index.js';
import type { ProcessExit } from '../tracer/exits.js';

/** What exit accounting gives the monitor for a process that had threads exit (see src/tracer/exits.ts). */
export type ExitFigures = ProcessExit;

/** What the in-kernel accounting could not record. Each figure is exact; none is ever silent. */
export interface EbpfLosses {
  /** Syscalls of tracked processes that were not counted: the (process, syscall) table was full (--max-counts). */
  syscalls_uncounted: number;
  /** Processes of the tree that were never tracked: the process table was full (--max-processes). None of their syscalls is counted. */
  processes_untracked: number;
  /** Exited processes whose final figures the kernel could not record (the exit table was full): their last /proc figures count instead. */
  exits_unrecorded: number;
}

export interface EbpfSyscalls extends SyscallsBlock {
  /** Samples: the interval since the previous sample. */
  window?: WindowBlock;
  /** Summary: every syscall of the run and its count, most frequent first. */
  by_syscall?: Record<string, number>;
}

/** The `ebpf` object of samples (cumulative since monitoring began, plus the window) and of the summary. */
export interface EbpfBlock {
  syscalls: EbpfSyscalls;
  losses: EbpfLosses;
}

/** Whether the run had in-kernel counting, how it was attached, or why not. */
export interface EbpfCapability {
  available: boolean;
  mode?: string;
  reason?: string;
}

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
  ebpf?: EbpfBlock;
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
  capabilities: { ebpf: EbpfCapability };
  /** attach --cgroup: the cgroup monitored, as /proc/PID/cgroup shows it (pid is then 0). */
  cgroup?: string;
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
  ebpf?: EbpfBlock;
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
  /** Every process of the tree during monitoring, short-lived ones included (from process records; absent in older files). */
  total_processes?: number;
  ebpf?: EbpfBlock;
}

/**
 * One process of the tree, written when it has exited (and, for those still running, when monitoring
 * ends): the whole of what it did while monitored, each process once.
 */
export interface ProcessRecord {
  kind: 'process';
  pid: number;
  ppid: number;
  command: string;
  /** When it started and ended, ms since the Unix epoch (exit null: still running at the end). */
  start_ms: number;
  exit_ms: number | null;
  /** Its exit code, or the signal that ended it (both null when unknown or still running). */
  exit_code: number | null;
  signal: number | null;
  cpu_time_secs: number;
  /** Its peak resident set (of its last program image, the one after its last exec). */
  peak_mem_rss_kb: number;
  disk_read_bytes: number;
  disk_write_bytes: number;
  syscall_read_bytes: number;
  syscall_write_bytes: number;
  page_faults_minor: number;
  page_faults_major: number;
  /**
   * Where the figures come from: 'kernel' = final figures taken at its exit (exact); 'proc' = last
   * seen in /proc (what it did after the last sample is missing); 'running' = still running at the end.
   */
  figures: 'kernel' | 'proc' | 'running';
}

export type MonitorRecord = EnvRecord | MetadataRecord | TreeRecord | SampleRecord | ProcessRecord | SummaryRecord;
