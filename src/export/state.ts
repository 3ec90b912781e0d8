// The state an exporter serves: the figures of the last sample record, and the cumulative counters the
// records carry only per interval (syscalls: each sample's window), summed as records arrive. It is fed
// by the same records as the JSON Lines (one more observer of the session, no sampling of its own), and
// in detail mode by the session's cumulative syscall table after each sample; its size is bounded by the
// fixed set of syscall names, not by time or by processes.
import type { EbpfBlock, EbpfLosses, MetadataRecord, MonitorRecord, SyscallRow } from '../monitor/types.js';

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

/**
 * A latency histogram of one syscall, cumulative: SyscallRow.hist_log2_us's buckets ([0] under 1 µs,
 * [i] from 2^(i-1) to 2^i µs, the last open-ended) and the time of those calls.
 */
export interface Log2Histogram {
  buckets: number[];
  sumUs: number;
}

export class ExportState {
  sample: SampledFigures | undefined;
  metadata: MetadataRecord | undefined;
  /** Syscalls per name since monitoring began (sum of the windows; the summary's exact totals at the end). */
  readonly syscalls: PerSyscall = new Map();
  /** Detail mode (errors and time measured; metadata says so): the families below are served. */
  detail = false;
  /** Detail mode: failed calls per name, from the cumulative tables. */
  readonly errors: PerSyscall = new Map();
  /** Detail mode: seconds spent in each syscall (entry to return, the calls that returned). */
  readonly seconds: PerSyscall = new Map();
  /** Detail mode: the log2 latency histogram per name. */
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
        this.detail = rec.capabilities.ebpf.available && rec.capabilities.ebpf.detail === true;
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
    if (w) addAll(this.syscalls, w.by_syscall);
  }

  /**
   * Detail mode: the cumulative table of the run so far (after a sample, or the summary's). Every
   * figure is raised to the table's, never lowered, bucket by bucket for the histograms: a counter
   * served never goes back, and a histogram's buckets stay consistent with its count.
   */
  syscallTable(rows: readonly SyscallRow[]): void {
    for (const row of rows) {
      raise(this.syscalls, row.name, row.calls);
      raise(this.errors, row.name, row.errors);
      raise(this.seconds, row.name, row.total_us / 1e6);
      let h = this.histograms.get(row.name);
      if (!h) this.histograms.set(row.name, (h = { buckets: [], sumUs: 0 }));
      row.hist_log2_us.forEach((n, i) => {
        if (Number.isFinite(n) && n > (h.buckets[i] ?? 0)) h.buckets[i] = n;
      });
      for (let i = 0; i < h.buckets.length; i++) h.buckets[i] ??= 0;
      if (Number.isFinite(row.total_us) && row.total_us > h.sumUs) h.sumUs = row.total_us;
    }
  }

  /** The kernel's loss counters only grow; a counter served never goes back. */
  private takeLosses(l: EbpfLosses | undefined): void {
    if (!l) return;
    const p = this.losses;
    if (!p) {
      this.losses = { ...l };
      return;
    }
    for (const k of Object.keys(l) as (keyof EbpfLosses)[]) {
      const v = l[k];
      if (typeof v === 'number' && Number.isFinite(v) && v > (p[k] ?? -1)) p[k] = v;
    }
  }

  /**
   * The summary's block: the exact totals of the whole run, read once more after the last sample. Each
   * counter takes the larger of the two (never going back), so the end of the run is not lost.
   */
  private takeTotals(block: EbpfBlock): void {
    this.takeLosses(block.losses);
    const by = block.syscalls.by_syscall;
    if (by) for (const [name, n] of Object.entries(by)) if (n > (this.syscalls.get(name) ?? 0)) this.syscalls.set(name, n);
    if (block.syscalls.table) this.syscallTable(block.syscalls.table);
  }
}

function addAll(into: PerSyscall, add: Record<string, number>): void {
  for (const [name, n] of Object.entries(add)) {
    if (typeof n === 'number' && Number.isFinite(n) && n > 0) into.set(name, (into.get(name) ?? 0) + n);
  }
}

/** Sets a figure the first time (zero included: a syscall without errors has a series at 0), then only raises it. */
function raise(into: PerSyscall, name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) return;
  const had = into.get(name);
  if (had === undefined || v > had) into.set(name, v);
}
