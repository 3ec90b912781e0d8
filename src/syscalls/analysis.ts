// From syscall counts to the `ebpf.syscalls` block: totals per category, the most frequent
// syscalls, and a behaviour classification. The algorithm and its thresholds are explained in
// docs/syscall-analysis.md; the constants below are exported so tests can probe their boundaries.
import { CATEGORIES, categoryOf, type Category } from './categories.js';

export type Behavior = 'io_bound' | 'cpu_bound' | 'memory_bound' | 'network_bound' | 'mixed' | 'unknown';
export type CountsLike = ReadonlyMap<string, number> | Readonly<Record<string, number>>;
export type ByCategory = Record<Category, number>;

export interface SyscallCount {
  name: string;
  count: number;
}

export interface SyscallAnalysis {
  behavior_classification: Behavior;
  syscall_rate_per_sec: number;
  io_intensity: number;
  memory_intensity: number;
  cpu_intensity: number;
  network_intensity: number;
  /** With time evidence (the scheduler programs): how the threads' time divides, as shares of it. */
  time_shares?: TimeShares;
}

/** Shares of the tree's thread time (on a CPU + blocked + runnable waiting), each rounded to 2 decimals. */
export interface TimeShares {
  on_cpu: number;
  /** blocked, for any reason (io_wait is part of it) */
  off_cpu: number;
  /** blocked in I/O wait (the kernel's in_iowait: block I/O, page-cache misses, fsync) */
  io_wait: number;
  runq_wait: number;
}

/** Where the tree's threads spent the period, seconds summed over threads (each may exceed the elapsed time). */
export interface TimeEvidence {
  cpuSecs: number;
  offCpuSecs: number;
  ioWaitSecs: number;
  runqWaitSecs: number;
}

export interface SyscallsBlock {
  total: number;
  by_category: ByCategory;
  top_syscalls: SyscallCount[];
  analysis: SyscallAnalysis;
}

export interface WindowBlock {
  duration_ms: number;
  total: number;
  rate_per_sec: number;
  by_category: ByCategory;
  top_syscalls: SyscallCount[];
  /** Every syscall made in the window and its count (so the windows of a run add up to its totals). */
  by_syscall: Record<string, number>;
}

export interface BlockOptions {
  /** How many syscalls `top_syscalls` lists (default 10). */
  top?: number;
  /** CPU use of the monitored tree over the same period; 100 = one core busy. */
  cpuUsagePercent?: number;
  /** Where the threads' time went over the same period (off-CPU, I/O wait, run queue): see classify(). */
  time?: TimeEvidence;
}

/** Below this much observed time the counts say nothing about behaviour. */
export const MIN_ELAPSED_SEC = 0.1;
/** Below this many syscalls the category shares are noise (a bare `sleep` makes about 30). */
export const MIN_TOTAL = 100;
/** A category share (or CPU intensity) at or above this dominates. */
export const DOMINANT_SHARE = 0.5;
/**
 * Syscall rate under which a busy CPU must be computing in user space: at a few microseconds per
 * syscall, 10,000 per second fill at most a few percent of a core. Also the rate at which the
 * rate-only CPU estimate reaches 0.
 */
export const LOW_RATE_PER_SEC = 10_000;

/** Below this much thread time on and off the CPU (run-queue wait aside) the time shares say nothing. */
export const MIN_THREAD_SECS = 0.1;

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The time shares, or undefined when there is too little thread time to judge. */
export function timeShares(t: TimeEvidence | undefined): TimeShares | undefined {
  if (!t) return undefined;
  const f = (x: number) => (Number.isFinite(x) && x > 0 ? x : 0);
  if (!(f(t.cpuSecs) + f(t.offCpuSecs) >= MIN_THREAD_SECS)) return undefined;
  const total = f(t.cpuSecs) + f(t.offCpuSecs) + f(t.runqWaitSecs);
  return {
    on_cpu: round2(f(t.cpuSecs) / total),
    off_cpu: round2(f(t.offCpuSecs) / total),
    io_wait: round2(Math.min(f(t.ioWaitSecs), f(t.offCpuSecs)) / total),
    runq_wait: round2(f(t.runqWaitSecs) / total),
  };
}

function entries(counts: CountsLike): Iterable<[string, number]> {
  return counts instanceof Map ? counts.entries() : Object.entries(counts);
}

/** Counts with zero, negative or non-finite values dropped (they carry no information). */
function positive(counts: CountsLike): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, n] of entries(counts)) if (Number.isFinite(n) && n > 0) out.set(name, n);
  return out;
}

function summarize(counts: Map<string, number>, top: number) {
  const by_category = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as ByCategory;
  let total = 0;
  for (const [name, n] of counts) {
    by_category[categoryOf(name)] += n;
    total += n;
  }
  const top_syscalls = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.max(0, Math.floor(top)))
    .map(([name, count]) => ({ name, count }));
  return { total, by_category, top_syscalls };
}

/** The classification rules, in order; inputs are the rounded figures the block reports. */
export function classify(total: number, elapsedSec: number, a: Omit<SyscallAnalysis, 'behavior_classification'>,
  cpuMeasured: boolean): Behavior {
  if (!(elapsedSec >= MIN_ELAPSED_SEC)) return 'unknown';
  // Time evidence first: threads that, when not waiting for a CPU, mostly wait for the disk are I/O-bound
  // whatever the syscalls. The run-queue wait is left out: it measures the machine's load, not the work.
  const ts = a.time_shares;
  if (ts && ts.on_cpu + ts.off_cpu > 0 && ts.io_wait / (ts.on_cpu + ts.off_cpu) >= DOMINANT_SHARE) return 'io_bound';
  const computing = a.cpu_intensity >= DOMINANT_SHARE && a.syscall_rate_per_sec < LOW_RATE_PER_SEC;
  // A measured busy CPU with few syscalls is CPU-bound however few syscalls there were.
  if (cpuMeasured && computing) return 'cpu_bound';
  if (total < MIN_TOTAL) return 'unknown';
  const shares: [Behavior, number][] = [
    ['io_bound', a.io_intensity], ['memory_bound', a.memory_intensity], ['network_bound', a.network_intensity],
  ];
  const dominant = shares.filter(([, s]) => s >= DOMINANT_SHARE);
  if (dominant.length === 1) return dominant[0]![0];
  // Two shares of exactly 0.5 are a tie: that is mixed, not the first in the list.
  if (dominant.length === 0 && computing) return 'cpu_bound';
  return 'mixed';
}

/** The `syscalls` block of the reference output from cumulative counts over `elapsedSec` seconds. */
export function buildSyscallsBlock(counts: CountsLike, elapsedSec: number, opts: BlockOptions = {}): SyscallsBlock {
  const { total, by_category, top_syscalls } = summarize(positive(counts), opts.top ?? 10);
  const rate = elapsedSec > 0 ? total / elapsedSec : 0;
  const share = (c: Category): number => (total > 0 ? round2(by_category[c] / total) : 0);
  const cpuMeasured = opts.cpuUsagePercent !== undefined && Number.isFinite(opts.cpuUsagePercent);
  const cpu = cpuMeasured
    ? Math.min(1, Math.max(0, opts.cpuUsagePercent! / 100))
    // Without a CPU figure, only a low syscall rate hints at computing (it cannot tell computing from idling).
    : total > 0 ? Math.max(0, 1 - rate / LOW_RATE_PER_SEC) : 0;
  const figures = {
    syscall_rate_per_sec: round2(rate),
    io_intensity: share('file_io'),
    memory_intensity: share('memory'),
    cpu_intensity: round2(cpu),
    network_intensity: share('network'),
    ...(opts.time ? optional('time_shares', timeShares(opts.time)) : {}),
  };
  return {
    total,
    by_category,
    top_syscalls,
    analysis: { behavior_classification: classify(total, elapsedSec, figures, cpuMeasured), ...figures },
  };
}

function optional<K extends string, V>(key: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, V>);
}

/** Counts of one sampling window: `cur - prev` per name (cumulative counters, so never negative). */
export function buildWindowBlock(prev: CountsLike, cur: CountsLike, windowMs: number,
  opts: Pick<BlockOptions, 'top'> = {}): WindowBlock {
  const before = positive(prev);
  const delta = new Map<string, number>();
  for (const [name, n] of positive(cur)) {
    const d = n - (before.get(name) ?? 0);
    if (d > 0) delta.set(name, d);
  }
  const { total, by_category, top_syscalls } = summarize(delta, opts.top ?? 10);
  return {
    duration_ms: Math.round(windowMs),
    total,
    rate_per_sec: windowMs > 0 ? round2((total * 1000) / windowMs) : 0,
    by_category,
    top_syscalls,
    by_syscall: buildBySyscall(delta),
  };
}

/** Every syscall and its count, most frequent first (ties by name), for the summary's `by_syscall`. */
export function buildBySyscall(counts: CountsLike): Record<string, number> {
  const all = positive(counts);
  return Object.fromEntries(summarize(all, all.size).top_syscalls.map(({ name, count }) => [name, count]));
}
