// The state an exporter serves: the figures of the last sample record, and the cumulative counters the
// records carry only per interval (syscalls: each sample's window), summed as records arrive. It is fed
// by the same records as the JSON Lines (one more observer of the session, no sampling of its own), and
// its size is bounded by the fixed set of syscall names, not by time or by processes.
import type { EbpfBlock, EbpfLosses, MetadataRecord, MonitorRecord } from '../monitor/types.js';

/** The figures of the last tree/sample record (counters cumulative since monitoring began). */
export interface SampledFigures {
  /** Sample time, ms since the Unix epoch. */
  tsMs: number;
  processes: number;
  threads: number;
  cpuSecs: number;
  rssBytes: number;
  vmsBytes: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  ioReadBytes: number;
  ioWriteBytes: number;
  minorFaults: number;
  majorFaults: number;
  netnsRxBytes: number;
  netnsTxBytes: number;
}

/** Per-syscall cumulative figures (name → value). */
export type PerSyscall = Map<string, number>;

/** A latency histogram of one syscall: log2 buckets of microseconds (bucket i: < 2^i µs), cumulative. */
export interface Log2Histogram {
  buckets: number[];
  sumUs: number;
}

export class ExportState {
  sample: SampledFigures | undefined;
  metadata: MetadataRecord | undefined;
  /** Syscalls per name since monitoring began (sum of the windows; the summary's exact totals at the end). */
  readonly syscalls: PerSyscall = new Map();
  /** With per-syscall detail in the records: failed calls per name. */
  readonly errors: PerSyscall = new Map();
  /** With per-syscall detail: seconds spent in each syscall. */
  readonly seconds: PerSyscall = new Map();
  /** With per-syscall detail in the summary: its log2 latency histogram per name. */
  readonly histograms = new Map<string, Log2Histogram>();
  losses: EbpfLosses | undefined;
  /** Processes of the target that have exited (process records with an exit time). */
  processExits = 0;
  /** Samples taken (tree/sample records). */
  samples = 0;
  /** The summary has been delivered: monitoring has ended. */
  finished = false;

  record(rec: MonitorRecord): void {
    switch (rec.kind) {
      case 'metadata':
        this.metadata = rec;
        return;
      case 'tree': {
        const a = rec.aggregated;
        this.takeSample({ ...a, ts_ms: rec.ts_ms, process_count: a.process_count, cpu_time_secs: a.cpu_time_secs });
        this.takeWindow(a.ebpf);
        return;
      }
      case 'sample':
        this.takeSample({ ...rec, process_count: 1, cpu_time_secs: rec.cpu_time_secs ?? this.sample?.cpuSecs ?? 0 });
        this.takeWindow(rec.ebpf);
        return;
      case 'process':
        if (rec.exit_ms !== null) this.processExits++;
        return;
      case 'summary':
        this.finished = true;
        if (rec.ebpf) this.takeTotals(rec.ebpf);
        return;
      default:
        return;
    }
  }

  private takeSample(m: {
    ts_ms: number; process_count: number; thread_count: number; cpu_time_secs: number; mem_rss_kb: number; mem_vms_kb: number;
    disk_read_bytes: number; disk_write_bytes: number; syscall_read_bytes: number; syscall_write_bytes: number;
    page_faults_minor: number; page_faults_major: number; netns_rx_bytes: number; netns_tx_bytes: number;
  }): void {
    this.samples++;
    this.sample = {
      tsMs: m.ts_ms,
      processes: m.process_count,
      threads: m.thread_count,
      cpuSecs: m.cpu_time_secs,
      rssBytes: m.mem_rss_kb * 1024,
      vmsBytes: m.mem_vms_kb * 1024,
      diskReadBytes: m.disk_read_bytes,
      diskWriteBytes: m.disk_write_bytes,
      ioReadBytes: m.syscall_read_bytes,
      ioWriteBytes: m.syscall_write_bytes,
      minorFaults: m.page_faults_minor,
      majorFaults: m.page_faults_major,
      netnsRxBytes: m.netns_rx_bytes,
      netnsTxBytes: m.netns_tx_bytes,
    };
  }

  /** A sample's ebpf block: its window adds to the per-syscall totals; losses are cumulative already. */
  private takeWindow(block: EbpfBlock | undefined): void {
    if (!block) return;
    this.takeLosses(block.losses);
    const w = block.syscalls.window;
    if (!w) return;
    addAll(this.syscalls, w.by_syscall);
    // Per-syscall detail (errors, time, log2 histograms), when the records carry it: name → value per
    // window. TODO(per-syscall detail): the shapes are those the records are to have (window.errors,
    // window.time_us, window.hist_log2_us, summary table rows with hist_log2_us); check them, and the
    // bucket bounds of bucketBoundSecs, once those records exist. Until then these families stay empty.
    const detail = w as unknown as { errors?: unknown; time_us?: unknown; hist_log2_us?: unknown };
    if (isCounts(detail.errors)) addAll(this.errors, detail.errors);
    if (isCounts(detail.time_us)) addAll(this.seconds, detail.time_us, 1e6);
    if (isCounts(detail.hist_log2_us)) {
      for (const [name, hist] of Object.entries(detail.hist_log2_us as Record<string, unknown>)) {
        if (!isBuckets(hist)) continue;
        const h = this.histograms.get(name) ?? { buckets: [], sumUs: 0 };
        hist.forEach((n, i) => { h.buckets[i] = (h.buckets[i] ?? 0) + n; });
        h.sumUs = (this.seconds.get(name) ?? 0) * 1e6;
        this.histograms.set(name, h);
      }
    }
  }

  /** The kernel's loss counters only grow; a counter served never goes back. */
  private takeLosses(l: EbpfLosses | undefined): void {
    if (!l) return;
    const p = this.losses;
    this.losses = p ? {
      syscalls_uncounted: Math.max(p.syscalls_uncounted, l.syscalls_uncounted),
      processes_untracked: Math.max(p.processes_untracked, l.processes_untracked),
      exits_unrecorded: Math.max(p.exits_unrecorded, l.exits_unrecorded),
    } : { ...l };
  }

  /**
   * The summary's block: the exact totals of the whole run, read once more after the last sample. Each
   * counter takes the larger of the two (never going back), so the end of the run is not lost.
   */
  private takeTotals(block: EbpfBlock): void {
    this.takeLosses(block.losses);
    const by = block.syscalls.by_syscall;
    if (by) for (const [name, n] of Object.entries(by)) if (n > (this.syscalls.get(name) ?? 0)) this.syscalls.set(name, n);
    // Per-syscall detail: table rows {name, calls, errors, total_us, hist_log2_us}.
    const table = (block.syscalls as unknown as { table?: unknown }).table;
    if (!Array.isArray(table)) return;
    for (const row of table as Record<string, unknown>[]) {
      const name = row?.name;
      if (typeof name !== 'string') continue;
      raise(this.errors, name, row.errors);
      if (typeof row.total_us === 'number') raise(this.seconds, name, row.total_us / 1e6);
      const hist = row.hist_log2_us;
      const prior = this.histograms.get(name);
      if (isBuckets(hist) && sum(hist) >= sum(prior?.buckets ?? [])) {
        this.histograms.set(name, { buckets: [...hist], sumUs: (this.seconds.get(name) ?? 0) * 1e6 });
      }
    }
  }
}

function isCounts(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isBuckets(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

function addAll(into: PerSyscall, add: Record<string, number>, divisor = 1): void {
  for (const [name, n] of Object.entries(add)) {
    if (typeof n === 'number' && Number.isFinite(n) && n > 0) into.set(name, (into.get(name) ?? 0) + n / divisor);
  }
}

function raise(into: PerSyscall, name: string, v: unknown): void {
  if (typeof v === 'number' && Number.isFinite(v) && v > (into.get(name) ?? 0)) into.set(name, v);
}
