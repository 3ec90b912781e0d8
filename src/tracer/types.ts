import type { ProcessExit } from './exits.js';
import type { StackOptions } from './stacks-maps.js';
import type { ActivitySnapshot } from './activity.js';
import type { StackEntry } from './stacks-read.js';
// The public shape of the syscall-counting engine. The monitor and CLI program against this.

export type AttachMode = 'raw' | 'tracefs';

export interface TracerOptions {
  /** 'auto' (default): raw tracepoints when BTF offsets are available, tracefs tracepoints otherwise. */
  attach?: 'auto' | AttachMode;
  /** Bound of the table of tracked processes (default 16384). */
  maxProcesses?: number;
  /** Bound of the (process, syscall) count table (default 65536). */
  maxCounts?: number;
  /**
   * Processes whose counters live in an array row (1024 × 8 bytes of kernel memory each; default 256),
   * the fast path; later ones count in the (process, syscall) table.
   */
  maxRows?: number;
  /** Capture the stack of every (or every Nth) syscall of the tree: loads dp_stacks (see stacks.ts). */
  stacks?: StackOptions;
  /** Skip our static verifier before loading (default false). */
  skipVerifier?: boolean;
  /**
   * Count the processes of this cgroup v2 (its directory; descendant cgroups included) as they make
   * syscalls, besides those given to trackTree/trackProcesses (src/tracer/cgroup.ts).
   */
  cgroup?: string;
  /**
   * Take exited processes' entries out of the (process, syscall) table at each read, keeping their
   * counts in the totals (src/tracer/retire.ts): the table and the reads stay as big as the live
   * processes need over a long attach. byProcess then lists exited processes only once, at the read
   * that retires them.
   */
  retireExited?: boolean;
  /** Off-CPU and run-queue time of the tree: the sched_switch/sched_wakeup programs (default true; raw mode only). */
  sched?: boolean;
  /** Socket bytes of the tree: the sock_send_length/sock_recv_length programs (default true; raw mode, Linux 6.3+). */
  net?: boolean;
  /** Bound of the scheduler programs' thread table (default 2 × maxProcesses). */
  maxThreads?: number;
  /**
   * Errors and time per (process, syscall), from a second program on sys_exit (default true). false:
   * calls are counted by the sys_enter program alone, the lowest overhead (`--count-only`).
   */
  detail?: boolean;
  /** Calls per (thread, syscall) too (default false). */
  perThread?: boolean;
  /**
   * Count only these syscalls: names of the running architecture, applying to both ABIs; a prefixed
   * name (`ia32:getpid`) selects the compat ABI's alone. The check runs in the kernel, before anything is counted.
   */
  trace?: readonly string[];
  /** Count only the calls that fail (at their return; needs detail). */
  failedOnly?: boolean;
  /** Bound of the detail tables: (process, syscall) pairs with errors and time recorded (default 16384). */
  maxDetails?: number;
}

/** What the kernel measured of one syscall's returns (detail mode), for a process or the whole tree. */
export interface SyscallTiming {
  /** Returns with an error (a value in -4095..-1). */
  errors: number;
  /** The errors by errno name (ENOENT, ...), for the running architecture. */
  errnos: Map<string, number>;
  /** Time from entry to return (wall clock), summed over the calls that returned, and the longest; ns. */
  totalNs: number;
  maxNs: number;
  /** Returned calls per log2 bucket of their time: [0] under 1 µs, [i] 2^(i-1) to 2^i µs; the last is open-ended. */
  hist: number[];
}

/** Calls of one thread (--per-thread). */
export interface ThreadCounts {
  /** Its process (tgid). */
  pid: number;
  /** Its name (comm), as at its last new syscall or its exit. */
  comm: string;
  bySyscall: Map<string, number>;
}

export interface SyscallSnapshot {
  /** Monotonic time of the read, ms (performance.now()). */
  atMs: number;
  /** Cumulative count per syscall name for the whole tracked tree (exited processes included). */
  bySyscall: Map<string, number>;
  /** Cumulative count per process (tgid) and syscall name. */
  byProcess: Map<number, Map<string, number>>;
  /** Sum of bySyscall. */
  total: number;
  /** What a full kernel table kept from being recorded (all 0 when the numbers are exact). */
  losses: TracerLosses;
  /**
   * Processes currently in the kernel's tracked set. Read, like `exits`, before the counts: a process
   * these say has exited made all its syscalls before the counts were read.
   */
  tracked: number;
  /** Exit accounting: per process that had a thread exit, the sum of its exited threads' figures. */
  exits: ProcessExit[];
  /** Detail mode: errors and time per syscall name, for the whole tree. */
  timing?: Map<string, SyscallTiming>;
  /** Detail mode: failed calls per process (tgid). */
  errorsByProcess?: Map<number, number>;
  /** Per-thread mode: calls per thread (tid). */
  byThread?: Map<number, ThreadCounts>;
  /** Off-CPU / run-queue time and socket bytes, when those programs run (activity.ts). */
  activity?: ActivitySnapshot;
  /**
   * read({ drainStacks: true }): the stack tables were drained and switched with this read, just
   * before the counts (so these stacks end where the counts start): the entries taken, per process,
   * and the period to give markStacks when this read becomes a sample.
   */
  stacks?: { entries: StackEntry[]; period: number };
}

export interface TracerLosses {
  /** Syscalls of tracked processes not counted: the (process, syscall) table was full (maxCounts). */
  syscallsUncounted: number;
  /** Processes forked in the tree but never tracked: the process table was full (maxProcesses). */
  processesUntracked: number;
  /** Processes whose exit figures could not be recorded: the exit table was full (maxProcesses). */
  exitsUnrecorded: number;
  /**
   * Detail mode: counted calls whose return (error, time) was not recorded: the detail table was full
   * (maxDetails), or too many threads were in colliding syscalls at once (maxProcesses).
   */
  returnsUntimed: number;
  /** Detail mode: failed calls whose errno was not counted: the errno table was full (maxDetails). */
  errnosUncounted: number;
  /** Per-thread mode: calls not counted per thread: the thread tables were full (maxCounts, maxProcesses). */
  threadCallsUncounted: number;
}
