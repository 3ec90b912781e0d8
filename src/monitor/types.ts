// Record shapes of the JSON Lines stream. Every line carries `kind`.
// Field names follow denet where denet has the field; new fields say truthfully what they measure.
import type { SyscallsBlock, WindowBlock } from '../syscalls/index.js';
import type { ProcessExit } from '../tracer/exits.js';
import type { ActivitySnapshot } from '../tracer/activity.js';

/** What exit accounting gives the monitor for a process that had threads exit (see src/tracer/exits.ts). */
export type ExitFigures = ProcessExit;
/** What the scheduler and socket programs give the monitor (see src/tracer/activity.ts). */
export type KernelActivity = ActivitySnapshot;

/** Socket bytes of one class. */
export interface NetDirection {
  tx_bytes: number;
  rx_bytes: number;
}

/**
 * Socket bytes by class: TCP, UDP (and UDP-Lite), other IP protocols (raw, SCTP, MPTCP...), unix
 * sockets (all types), and other families (netlink, packet, vsock...).
 */
export interface NetByClass {
  tcp: NetDirection;
  udp: NetDirection;
  other_ip: NetDirection;
  unix: NetDirection;
  other: NetDirection;
}

/** One live thread's time off the CPU (multi-threaded processes), seconds since monitoring began. */
export interface ThreadTimes {
  tid: number;
  /** What it was doing at the sample. */
  state: 'running' | 'runnable' | 'blocked' | 'io_wait';
  off_cpu_secs: number;
  io_wait_secs: number;
  runq_wait_secs: number;
}

/**
 * Off-CPU time and socket bytes (eBPF: the scheduler and socket programs), cumulative since monitoring
 * began; each field is present when its programs run.
 */
export interface ActivityMetrics {
  /** Time its threads spent blocked: sleeping, waiting for I/O, a lock, a child, a socket (summed over threads). */
  off_cpu_secs?: number;
  /** The part of off_cpu_secs in I/O wait (the kernel's in_iowait: block I/O, page-cache misses, fsync). */
  io_wait_secs?: number;
  /** Time its threads were runnable but waiting for a CPU (summed over threads). */
  runq_wait_secs?: number;
  /** Bytes sent and received over IP sockets (TCP, UDP and other IP protocols; unix sockets are in `net` only). */
  net_tx_bytes?: number;
  net_rx_bytes?: number;
  /** Socket bytes by class. */
  net?: NetByClass;
}

/** Pressure stall figures of one line of a pressure file (`some` or `full`). */
export interface PsiFigures {
  /** Share of the last 10 s (60, 300) in which tasks stalled, percent (the kernel's running averages). */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time, µs, since the source's start (the kernel's `total`). */
  total_us: number;
  /** Stall time since the previous sample (the first: since monitoring began), µs. */
  total_us_delta: number;
}

export interface PsiResource {
  /** Some task stalled on the resource. */
  some: PsiFigures;
  /** Every non-idle task stalled at once (absent where the kernel has no such line). */
  full?: PsiFigures;
}

/** Pressure stall information of the monitored process's cgroup, or of the whole system. */
export interface PsiBlock {
  /** 'cgroup': the root process's own cgroup (v2) pressure files; 'system': /proc/pressure. */
  source: 'cgroup' | 'system';
  /** source 'cgroup': the cgroup's path in the v2 hierarchy, e.g. "/jobs/build". */
  cgroup?: string;
  cpu?: PsiResource;
  memory?: PsiResource;
  io?: PsiResource;
}

/** What the in-kernel accounting could not record. Each figure is exact; none is ever silent. */
export interface EbpfLosses {
  /** Syscalls of tracked processes that were not counted: the (process, syscall) table was full (--max-counts). */
  syscalls_uncounted: number;
  /** Processes of the tree that were never tracked: the process table was full (--max-processes). None of their syscalls is counted. */
  processes_untracked: number;
  /** Exited processes whose final figures the kernel could not record (the exit table was full): their last /proc figures count instead. */
  exits_unrecorded: number;
  /** With the scheduler programs: events of threads the thread table had no room for (their time is not counted). */
  scheduler_events_uncounted?: number;
  /** With the scheduler programs: exited threads whose time was lost (the process table was full). */
  thread_times_lost?: number;
  /** With the socket programs: bytes not counted (the process table was full). */
  socket_bytes_uncounted?: number;
  /** Detail mode: counted calls whose return (error, time) was not recorded: the detail table was full (--max-details). */
  syscalls_untimed?: number;
  /** Detail mode: failed calls whose errno was not counted (the errno table was full: --max-details); their errors are counted. */
  errnos_uncounted?: number;
  /** --per-thread: calls not counted per thread (the thread tables were full: --max-counts, --max-processes). */
  thread_syscalls_uncounted?: number;
}

/** One syscall of the strace -c style table (detail mode). */
export interface SyscallRow {
  name: string;
  calls: number;
  /** Calls that returned an error (a value in -4095..-1). */
  errors: number;
  /** The errors by errno name, for the running architecture ({ENOENT: 3}). */
  errnos: Record<string, number>;
  /** Time in the syscall, entry to return (wall clock, like strace -w), of the calls that returned: the sum, µs. */
  total_us: number;
  /** total_us per returned call. */
  avg_us: number;
  /** The longest call, µs. */
  max_us: number;
  /** Returned calls per log2 bucket of their time: [0] under 1 µs, [i] from 2^(i-1) to 2^i µs; up to the last non-empty bucket (the 28th, from 2^26 µs, is open-ended). */
  hist_log2_us: number[];
  /**
   * Calls whose return was not seen: those that never return (exit, exit_group, an execve that
   * replaced another thread's image), those in flight when monitoring ended, and untimed losses.
   */
  unfinished: number;
}

/** One process of the tree (exited ones included) and its syscalls. */
export interface ProcessSyscalls {
  pid: number;
  ppid: number;
  /** The kernel's name of the process (at its exit, or at the end of monitoring). */
  comm: string;
  total: number;
  /** Detail mode: its failed calls. */
  errors?: number;
  by_syscall: Record<string, number>;
}

/** Processes summed into one entry: how many, and their calls (and errors, in detail mode). */
export interface ProcessesRest {
  processes: number;
  total: number;
  errors?: number;
  by_syscall: Record<string, number>;
}

/** One thread (--per-thread) and its syscalls. */
export interface ThreadSyscalls {
  tid: number;
  /** Its process. */
  pid: number;
  comm: string;
  total: number;
  by_syscall: Record<string, number>;
}

/** What the kernel was told to count (absent: every call of every syscall). */
export interface EbpfFilter {
  /** --trace: categories and syscall names, as given. */
  trace?: string[];
  /** --failed-only: only the calls that failed. */
  failed_only?: boolean;
}

/** A sample's window, with detail mode's errors and time. */
export interface EbpfWindow extends WindowBlock {
  /** Failed calls in the window (detail mode). */
  errors?: number;
  /** Time spent in the syscalls that returned in the window, µs (detail mode; concurrent calls add up). */
  time_us?: number;
}

export interface EbpfSyscalls extends SyscallsBlock {
  /** Samples: the interval since the previous sample. */
  window?: EbpfWindow;
  /** Summary: every syscall of the run and its count, most frequent first. */
  by_syscall?: Record<string, number>;
  /** Summary, detail mode: the strace -c style table, one row per syscall, most calls first. */
  table?: SyscallRow[];
}

/** Sampled syscalls whose stack is missing, by cause (each exact). */
export interface StackLosses {
  /**
   * Always 0: stacks are stored under their contents, and only a full table refuses one. (A table keyed
   * by a stack's addresses, as earlier versions used, refused a stack whose slot another one held.)
   */
  stack_collisions: number;
  /** The stack table was full in that drain period (raise --stacks-max). */
  stack_table_full: number;
  /** The kernel found no user stack. */
  no_user_stack: number;
  /** Any other refusal of the stack helper. */
  other: number;
  /** Kernel stacks not stored (--stacks-kernel; the user stack is kept). */
  kernel_stacks_lost: number;
  /** Sampled syscalls not counted at all: the (process, syscall, stack) table was full (raise --stacks-max). */
  counts_table_full: number;
}

/**
 * Summary only (--stacks / --flamegraph): where the tree's syscalls were made. Counts are sampled
 * syscalls: with `every` N, one syscall in N (per CPU) was sampled.
 */
export interface EbpfStacks {
  /** Folded stacks `comm;root frame;…;leaf frame;SYSCALL` and their counts, heaviest first: all of them. */
  folded: { stack: string; count: number }[];
  /** Distinct folded stacks. */
  unique: number;
  /** Sampled syscalls, lost ones included. */
  total: number;
  /** Sampling: one syscall in `every` (1: all). */
  every: number;
  /** Sampled syscalls whose stack is missing (the sum of `losses`, kernel stacks apart): exact. */
  lost: number;
  losses: StackLosses;
  /** How the distinct frames were named: symbol table, dynamic symbols, JIT map, kallsyms, file offset only, unknown. */
  frames: Record<'symtab' | 'dynsym' | 'perf_map' | 'kallsyms' | 'file_offset' | 'unknown', number>;
}

/** The `ebpf` object of samples (cumulative since monitoring began, plus the window) and of the summary. */
export interface EbpfBlock {
  syscalls: EbpfSyscalls;
  losses: EbpfLosses;
  /**
   * Summary: every process of the tree that made a counted syscall, most calls first: the live ones,
   * and up to 1000 of those that exited (the ones with the most calls; the others add up in by_process_rest).
   */
  by_process?: ProcessSyscalls[];
  /** Summary: the exited processes not listed in by_process (a long attach with process churn), summed. */
  by_process_rest?: ProcessesRest;
  /** Summary with --per-thread: every thread, most calls first. */
  by_thread?: ThreadSyscalls[];
  /** Summary: what was filtered in the kernel (absent: nothing). */
  filter?: EbpfFilter;
  /** Summary only, when stacks were captured. */
  stacks?: EbpfStacks;
}

/** Whether the run had in-kernel counting, how it was attached, or why not. */
export interface EbpfCapability {
  available: boolean;
  mode?: string;
  reason?: string;
  /** Errors and time per syscall were measured (false: --count-only). */
  detail?: boolean;
  /** Calls were counted per thread as well. */
  per_thread?: boolean;
  filter?: EbpfFilter;
}

/** Whether the run has a kind of figure, or why not. */
export interface Capability {
  available: boolean;
  reason?: string;
  /** psi: where pressure is read from at the start ('cgroup' or 'system'). */
  source?: string;
}

/** Metrics of one process (or, in `aggregated`, summed over the tree). */
export interface Metrics extends ActivityMetrics {
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
  /** Multi-threaded processes, with the scheduler programs: each live thread's off-CPU and run-queue time. */
  threads?: ThreadTimes[];
}

export interface AggregatedMetrics extends Omit<Metrics, 'cpu_core' | 'threads'> {
  process_count: number;
  /** Total CPU seconds used by the tree since monitoring start, exited children included. */
  cpu_time_secs: number;
  /** Pressure stall information (the root process's cgroup, or the system). */
  psi?: PsiBlock;
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
  capabilities: {
    ebpf: EbpfCapability;
    /** Off-CPU and run-queue time (eBPF scheduler programs). */
    off_cpu?: Capability;
    /** The tree's own socket bytes (eBPF socket programs); without them only netns_* (the whole namespace). */
    net?: Capability;
    /** Pressure stall information. */
    psi?: Capability;
  };
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
  psi?: PsiBlock;
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
  /** With the scheduler programs: the tree's time blocked, in I/O wait, waiting for a CPU (summed over threads). */
  total_off_cpu_secs?: number;
  total_io_wait_secs?: number;
  total_runq_wait_secs?: number;
  /** With the socket programs: the tree's own IP socket bytes, and all socket bytes by class. */
  total_net_tx_bytes?: number;
  total_net_rx_bytes?: number;
  total_net?: NetByClass;
  ebpf?: EbpfBlock;
}

/**
 * One process of the tree, written when it has exited (and, for those still running, when monitoring
 * ends): the whole of what it did while monitored, each process once; with eBPF, its off-CPU,
 * I/O-wait and run-queue time and socket bytes while monitored (ActivityMetrics).
 */
export interface ProcessRecord extends ActivityMetrics {
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
