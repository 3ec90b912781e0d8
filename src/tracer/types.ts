import type { ProcessExit } from './exits.js';
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
  /** Processes currently in the kernel's tracked set. */
  tracked: number;
  /** Exit accounting: per process that had a thread exit, the sum of its exited threads' figures. */
  exits: ProcessExit[];
}

export interface TracerLosses {
  /** Syscalls of tracked processes not counted: the (process, syscall) table was full (maxCounts). */
  syscallsUncounted: number;
  /** Processes forked in the tree but never tracked: the process table was full (maxProcesses). */
  processesUntracked: number;
  /** Processes whose exit figures could not be recorded: the exit table was full (maxProcesses). */
  exitsUnrecorded: number;
}
