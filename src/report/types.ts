// The report's data contract: what the generator (Node) computes from the records and embeds in the
// HTML as JSON, and what the view (browser, src/report/view/) draws. Imports nothing, so both sides
// can share it. Times are seconds since the start of monitoring.

export type Unit = 'percent' | 'bytes' | 'bytes_per_sec' | 'per_sec' | 'count' | 'secs_per_sec';

export interface SeriesSpec {
  label: string;
  color: string;
  /** Stacked series are drawn as bands on top of each other (in order); others as plain lines. */
  stack?: boolean;
  dash?: boolean;
}

export interface Panel {
  id: string;
  title: string;
  /** One line under the title: what the figures are, where they come from. */
  note: string;
  unit: Unit;
  series: SeriesSpec[];
  /** Sample times (s), ascending; every entry is a real sample (downsampling selects, never averages). */
  x: number[];
  /** One array per series, aligned with x; null = no value at that instant. */
  ys: (number | null)[][];
  /** Set when the panel shows a subset of the samples. */
  downsampled?: { from: number; to: number };
}

export interface Fact {
  label: string;
  value: string;
  tone?: 'ok' | 'warn' | 'bad';
}

export interface Header {
  command: string;
  /** The record source: "denet-pure 0.1.0", "denet", "denet-pure (version not recorded)". */
  producer: string;
  started_ms: number | null;
  duration_secs: number;
  /** "exit 0", "killed by SIGKILL", or null when the file does not say. */
  exit: string | null;
  exitTone: 'ok' | 'bad' | null;
  facts: Fact[];
  /** Headline figures of the whole run. */
  totals: Fact[];
  /** What the run did not record, each with why and how to get it. */
  lacks: { what: string; why: string }[];
  /** Problems met while reading the file (skipped lines, missing summary). */
  warnings: string[];
}

/** One process of the timeline. */
export interface ProcRow {
  pid: number;
  ppid: number | null;
  /** Index into ProcessView.commands. */
  cmd: number;
  start: number;
  /** null: still running when monitoring ended. */
  end: number | null;
  exit_code: number | null;
  signal: string | null;
  cpu_secs: number | null;
  peak_rss_kb: number | null;
  read_bytes: number | null;
  write_bytes: number | null;
  /** Row of the chart it is drawn in. */
  lane: number;
  /** Generations below the root, when the parent is known (for indenting in the rows layout). */
  depth: number;
  /** The start is when it was first seen, not its real start (it predates monitoring or the sample). */
  start_approx?: boolean;
  /** Where its figures come from (process records): 'kernel' (exact, at exit), 'proc' (last seen), 'running'. */
  figures?: string;
}

export interface ProcessView {
  /** Where the rows come from: exit records of every process, or what the samples saw. */
  source: 'process records' | 'samples' | 'none';
  commands: string[];
  rows: ProcRow[];
  /** rows: one process per lane; packed: short processes share lanes (large trees). */
  layout: 'rows' | 'packed';
  lanes: number;
  end: number;
  /** Processes left out of the chart (the file stays small), with their CPU seconds. */
  hidden: { count: number; cpu_secs: number };
  /** Processes the kernel counted (ebpf.by_process) that the timeline has no times for. */
  kernelOnly: { count: number; comms: { comm: string; count: number }[] };
  note: string;
}

export interface Phase {
  start: number;
  end: number;
  /** Sample indices [from, to) in the full series. */
  from: number;
  to: number;
  /** 'cpu', 'disk', 'network', 'syscalls', 'memory' or 'idle'. */
  dominant: string;
  /** A short sentence: why that resource. */
  why: string;
  means: { cpu_percent: number; disk_bytes_per_sec: number; net_bytes_per_sec: number; syscalls_per_sec: number | null; rss_kb: number };
  /** The syscall analysis of the phase (classification rules of docs/syscall-analysis.md), when counted. */
  behavior: string | null;
  by_category: Record<string, number> | null;
  /** Most frequent syscalls in the phase's windows (a lower bound: each window lists its top ones). */
  top: { name: string; count: number }[];
}

export interface TableRow {
  name: string;
  calls: number;
  errors: number | null;
  errnos: Record<string, number> | null;
  total_us: number | null;
  avg_us: number | null;
  max_us: number | null;
  hist_log2_us: number[] | null;
}

export interface SyscallView {
  total: number;
  by_category: Record<string, number>;
  top: { name: string; count: number }[];
  analysis: Record<string, number | string> | null;
  /** Why the analysis decided what it did, in words. */
  reasons: string[];
  /** The strace -c style table, or calls only when the run did not time syscalls. */
  table: TableRow[];
  tableHasTimes: boolean;
  byProcess: { pid: number; comm: string; total: number; errors: number | null; top: string }[] | null;
}

export interface FlameView {
  /** [folded stack "comm;f1;f2;syscall", count], heaviest first; bounded. */
  stacks: [string, number][];
  total: number;
  unique: number;
  lost: number;
  /** Stacks left out to keep the file small, and their count. */
  hidden: { stacks: number; count: number };
}

export interface ReportData {
  format: 1;
  generator: string;
  header: Header;
  panels: Panel[];
  phases: Phase[];
  phaseNote: string;
  processes: ProcessView;
  syscalls: SyscallView | null;
  flame: FlameView | null;
}
