// Summaries, JSON Lines parsing and CSV export. A live run and a file read back go through the same
// SummaryAccumulator, so `stats` on a file reproduces the summary written at the end of the run.
import { CATEGORIES, buildBySyscall, buildSyscallsBlock } from '../syscalls/index.js';
import { Concurrency } from './concurrency.js';
import type { AggregatedMetrics, EbpfBlock, Metrics, MonitorRecord, ProcessRecord, SampleRecord, SummaryRecord, TreeRecord } from './types.js';

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Figures of process records that add up to tree totals. */
const ACTIVITY_SUMS = ['off_cpu_secs', 'io_wait_secs', 'runq_wait_secs', 'net_tx_bytes', 'net_rx_bytes'] as const;

export class SummaryAccumulator {
  private count = 0;
  private firstTs = 0;
  private lastTs = 0;
  private maxProcesses = 0;
  private maxThreads = 0;
  private peakRss = 0;
  private cpuSum = 0;
  private peakCpu = 0;
  private last: Partial<Metrics> = {};
  /** cpu_time_secs of the last record, when it carried one. */
  private lastCpuTime: number | undefined;
  /** Fallback for denet files without cpu_time_secs: the integral of cpu_usage between samples. */
  private integratedCpu = 0;
  /** Process records: their lifetimes (in memory bounded however many there are) and the largest peak RSS among them. */
  private readonly lifetimes = new Concurrency();
  private processPeakRss = 0;

  /** A process record: counted once; its lifetime and peak RSS bound max_processes and peak_mem_rss_kb from below. */
  addProcess(p: ProcessRecord): void {
    this.lifetimes.add(num(p.start_ms), typeof p.exit_ms === 'number' ? p.exit_ms : null);
    this.processPeakRss = Math.max(this.processPeakRss, num(p.peak_mem_rss_kb));
    // Each process once, with its final kernel figures: their sum bounds the tree's totals from below
    // (a thread's last switch after its exit can land after the last sample).
    for (const k of ACTIVITY_SUMS) if (typeof p[k] === 'number') this.activitySums[k] += p[k];
  }

  private readonly activitySums: Record<(typeof ACTIVITY_SUMS)[number], number> = {
    off_cpu_secs: 0, io_wait_secs: 0, runq_wait_secs: 0, net_tx_bytes: 0, net_rx_bytes: 0,
  };

  add(record: TreeRecord | SampleRecord): void {
    let m: Partial<AggregatedMetrics>;
    let processes: number;
    let ts: number;
    if (record.kind === 'tree') {
      m = record.aggregated ?? {};
      processes = num(m.process_count);
      ts = num(record.ts_ms ?? m.ts_ms);
      this.lastCpuTime = typeof m.cpu_time_secs === 'number' ? m.cpu_time_secs : undefined;
    } else {
      m = record;
      processes = 1;
      ts = num(record.ts_ms);
      this.lastCpuTime = typeof record.cpu_time_secs === 'number' ? record.cpu_time_secs : undefined;
    }
    const cpu = num(m.cpu_usage);
    if (this.count === 0) this.firstTs = ts;
    else this.integratedCpu += ((cpu / 100) * Math.max(0, ts - this.lastTs)) / 1000;
    this.lastTs = ts;
    this.lifetimes.observe(ts);
    this.count++;
    this.maxProcesses = Math.max(this.maxProcesses, processes);
    this.maxThreads = Math.max(this.maxThreads, num(m.thread_count));
    this.peakRss = Math.max(this.peakRss, num(m.mem_rss_kb));
    this.cpuSum += cpu;
    this.peakCpu = Math.max(this.peakCpu, cpu);
    this.last = m;
  }

  finish(extra?: { ebpf?: EbpfBlock }): SummaryRecord {
    const last = this.last;
    const s: SummaryRecord = {
      kind: 'summary',
      // From the first to the last sample (the time before the first sample is not observed).
      total_time_secs: (this.lastTs - this.firstTs) / 1000,
      sample_count: this.count,
      // Samples see the processes alive at their instant; process records also those that lived between two.
      max_processes: Math.max(this.maxProcesses, this.lifetimes.max()),
      max_threads: this.maxThreads,
      peak_mem_rss_kb: Math.max(this.peakRss, this.processPeakRss),
      // Mean over samples (denet's definition), not weighted by interval length.
      avg_cpu_usage: this.count > 0 ? round2(this.cpuSum / this.count) : 0,
      peak_cpu_usage: this.peakCpu,
      total_cpu_time_secs: round2(this.lastCpuTime ?? this.integratedCpu),
      // The I/O fields are cumulative, so the last sample holds the totals.
      total_disk_read_bytes: num(last.disk_read_bytes),
      total_disk_write_bytes: num(last.disk_write_bytes),
      total_syscall_read_bytes: num(last.syscall_read_bytes),
      total_syscall_write_bytes: num(last.syscall_write_bytes),
    };
    if (this.lifetimes.size > 0) s.total_processes = this.lifetimes.size;
    // Off-CPU time and socket bytes (eBPF) are cumulative too: present when the run recorded them.
    const sum = this.activitySums;
    const most = (k: (typeof ACTIVITY_SUMS)[number]) => Math.round(Math.max(num(last[k]), sum[k]) * 1e6) / 1e6;
    if (typeof last.off_cpu_secs === 'number') {
      s.total_off_cpu_secs = most('off_cpu_secs');
      s.total_io_wait_secs = most('io_wait_secs');
      s.total_runq_wait_secs = most('runq_wait_secs');
    }
    if (typeof last.net_tx_bytes === 'number') {
      s.total_net_tx_bytes = most('net_tx_bytes');
      s.total_net_rx_bytes = most('net_rx_bytes');
      if (last.net) s.total_net = last.net;
    }
    if (extra?.ebpf !== undefined) s.ebpf = extra.ebpf;
    return s;
  }
}

/**
 * The summary of parsed records, by the same code as the live one. Without `extra`, the ebpf block of
 * the file's own summary line is carried over, so a file reproduces its live summary; a file without
 * one (the run was cut short) gets it rebuilt from its samples: the last one's cumulative counts, and
 * every syscall's count as the sum of the samples' windows.
 */
export function summarizeRecords(records: readonly MonitorRecord[], extra?: { ebpf?: EbpfBlock }): SummaryRecord {
  const acc = new SummaryAccumulator();
  let fileEbpf: EbpfBlock | undefined;
  let lastBlock: EbpfBlock | undefined;
  let firstTs: number | undefined;
  let lastTs = 0;
  const bySyscall = new Map<string, number>();
  let windowsComplete = true;
  for (const r of records) {
    if (r.kind === 'tree' || r.kind === 'sample') {
      acc.add(r);
      const block = r.kind === 'tree' ? r.aggregated.ebpf : r.ebpf;
      if (block?.syscalls) {
        lastBlock = block;
        const w = block.syscalls.window?.by_syscall;
        if (w) for (const [name, n] of Object.entries(w)) bySyscall.set(name, (bySyscall.get(name) ?? 0) + n);
        else windowsComplete = false;
      }
      const ts = r.kind === 'tree' ? r.ts_ms ?? r.aggregated.ts_ms : r.ts_ms;
      firstTs ??= ts;
      lastTs = ts;
    } else if (r.kind === 'process') acc.addProcess(r);
    else if (r.kind === 'summary' && r.ebpf !== undefined) fileEbpf = r.ebpf;
  }
  if (extra) return acc.finish(extra);
  if (fileEbpf !== undefined) return acc.finish({ ebpf: fileEbpf });
  if (!lastBlock) return acc.finish();
  const base = acc.finish();
  const total = [...bySyscall.values()].reduce((a, b) => a + b, 0);
  // The windows add up to the cumulative total when no sample line was lost; else the last sample's block stands.
  const syscalls = windowsComplete && total === lastBlock.syscalls.total
    ? { ...buildSyscallsBlock(bySyscall, Math.max(0, lastTs - (firstTs ?? lastTs)) / 1000, { cpuUsagePercent: base.avg_cpu_usage }), by_syscall: buildBySyscall(bySyscall) }
    : { ...lastBlock.syscalls, window: undefined };
  delete (syscalls as { window?: unknown }).window;
  return acc.finish({ ebpf: { syscalls, losses: lastBlock.losses } });
}

/** Whether the records end with a summary line (a run cut short, e.g. by SIGKILL, has none). */
export function hasSummary(records: readonly MonitorRecord[]): boolean {
  return records.some((r) => r.kind === 'summary');
}

// ---------------------------------------------------------------- JSON Lines

export interface ParseError {
  /** 1-based line number. */
  line: number;
  message: string;
}

const KINDS = new Set(['env', 'metadata', 'tree', 'sample', 'process', 'summary']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The kind of a record written by denet (which has no `kind` field), from its shape. */
function inferKind(o: Record<string, unknown>): MonitorRecord['kind'] | null {
  if ('aggregated' in o && 'children' in o && 'parent' in o) return 'tree';
  if ('total_time_secs' in o && 'sample_count' in o) return 'summary';
  if ('ts_ms' in o && 'cpu_usage' in o) return 'sample';
  if ('pid' in o && 'cmd' in o && 't0_ms' in o) return 'metadata';
  return null;
}

export function parseJsonLines(text: string): { records: MonitorRecord[]; errors: ParseError[] } {
  const records: MonitorRecord[] = [];
  const errors: ParseError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      errors.push({ line: i + 1, message: `invalid JSON (${(err as Error).message})` });
      continue;
    }
    if (!isObject(value)) {
      errors.push({ line: i + 1, message: 'not a JSON object' });
      continue;
    }
    let kind = value.kind;
    if (kind === undefined) {
      kind = inferKind(value);
      if (kind === null) {
        errors.push({ line: i + 1, message: 'record without kind and of no known shape' });
        continue;
      }
    } else if (typeof kind !== 'string' || !KINDS.has(kind)) {
      errors.push({ line: i + 1, message: `unknown kind ${JSON.stringify(kind)}` });
      continue;
    }
    if (kind === 'tree' && !isObject(value.aggregated)) {
      errors.push({ line: i + 1, message: 'tree record without an aggregated object' });
      continue;
    }
    // The object is fresh from JSON.parse: completing it in place spares a copy of every record.
    const rec = value;
    rec.kind = kind;
    if (kind === 'tree') {
      if (rec.ts_ms === undefined) rec.ts_ms = (value.aggregated as Record<string, unknown>).ts_ms;
      if (!Array.isArray(rec.children)) rec.children = [];
    }
    records.push(rec as unknown as MonitorRecord);
  }
  return { records, errors };
}

// ---------------------------------------------------------------- CSV

const CSV_COLUMNS = [
  'ts_ms',
  'cpu_usage',
  'mem_rss_kb',
  'mem_vms_kb',
  'disk_read_bytes',
  'disk_write_bytes',
  'syscall_read_bytes',
  'syscall_write_bytes',
  'page_faults_minor',
  'page_faults_major',
  'thread_count',
  'uptime_secs',
  'netns_rx_bytes',
  'netns_tx_bytes',
  'process_count',
  'cpu_time_secs',
] as const;

const ACTIVITY_COLUMNS = [['off_cpu_secs', 'io_wait_secs', 'runq_wait_secs'], ['net_tx_bytes', 'net_rx_bytes']] as const;

/** With eBPF: the cumulative syscall count, the last interval's count and rate, and its count per category. */
const SYSCALL_COLUMNS = ['syscalls_total', 'syscalls_window', 'syscalls_per_sec', ...CATEGORIES.map((c) => `syscalls_${c}`)];

/** Detail mode: the last interval's failed calls and time in syscalls. */
const DETAIL_COLUMNS = ['syscalls_errors_window', 'syscalls_time_us_window'];

function syscallCells(block: EbpfBlock | undefined, detail: boolean): unknown[] {
  const sc = block?.syscalls;
  const w = sc?.window;
  const extra = detail ? [w?.errors, w?.time_us] : [];
  if (!sc) return [...SYSCALL_COLUMNS.map(() => undefined), ...extra];
  return [sc.total, w?.total, w?.rate_per_sec, ...CATEGORIES.map((c) => w?.by_category[c]), ...extra];
}

const blockOf = (r: MonitorRecord): EbpfBlock | undefined => (r.kind === 'tree' ? r.aggregated.ebpf : r.kind === 'sample' ? r.ebpf : undefined);

/** One RFC 4180 field: quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One row per sample (tree records: the aggregated metrics), with a header row; CRLF line ends (RFC 4180).
 * Files with syscall counts get the syscall columns too.
 */
export function recordsToCsv(records: readonly MonitorRecord[]): string {
  const withSyscalls = records.some((r) => blockOf(r) !== undefined);
  const withDetail = records.some((r) => blockOf(r)?.syscalls.window?.errors !== undefined);
  const metricsOf = (r: MonitorRecord) => (r.kind === 'tree' ? r.aggregated : r.kind === 'sample' ? r : undefined);
  // Off-CPU time and the tree's socket bytes (eBPF), each group when the file has it.
  const activity = ACTIVITY_COLUMNS.filter((group) => records.some((r) => metricsOf(r)?.[group[0]] !== undefined)).flat();
  const rows = [['kind', ...CSV_COLUMNS, ...activity, ...(withSyscalls ? SYSCALL_COLUMNS : []), ...(withDetail ? DETAIL_COLUMNS : [])].map(csvField).join(',')];
  for (const r of records) {
    let m: Record<string, unknown>;
    let block: EbpfBlock | undefined;
    if (r.kind === 'tree') {
      m = { ...r.aggregated, ts_ms: r.ts_ms ?? r.aggregated.ts_ms };
      block = r.aggregated.ebpf;
    } else if (r.kind === 'sample') {
      m = { ...r, process_count: 1 };
      block = r.ebpf;
    } else continue;
    const cells = [r.kind, ...CSV_COLUMNS.map((c) => m[c]), ...activity.map((c) => m[c]), ...(withSyscalls ? syscallCells(block, withDetail) : [])];
    rows.push(cells.map(csvField).join(','));
  }
  return rows.join('\r\n') + '\r\n';
}
