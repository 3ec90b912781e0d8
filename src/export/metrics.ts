// The metric families served to Prometheus, read from the ExportState at scrape time. prom-client does
// the exposition (escaping, the classic text format and OpenMetrics, where counters are declared without
// `_total` and the text ends with `# EOF`); the families are our own objects because every figure is
// already a cumulative value from the records (prom-client's Counter only adds, its Histogram only
// observes single values). Label cardinality is fixed: syscall names and categories come from the
// syscall tables, there is no pid label, and `target` is one value per exporter.
import type { Metric, Registry, RegistryContentType } from 'prom-client';
import { categoryOf } from '../syscalls/index.js';
import type { ExportState, Log2Histogram, PerSyscall, SampledFigures } from './state.js';

type Labels = Record<string, string>;
interface Value {
  value: number;
  labels: Labels;
  /** Set for the parts of a histogram (_bucket, _sum, _count). */
  metricName?: string;
}
type Kind = 'counter' | 'gauge' | 'histogram';

interface FamilySpec {
  name: string;
  type: Kind;
  help: string;
  /** Served in detail mode only (errors and time measured): absent with --count-only or without eBPF, not zero. */
  detail?: true;
  values(state: ExportState): Value[];
}

/** The shape prom-client's Registry reads from a metric: its name, type, help, and get(). */
class Family {
  name: string;
  readonly type: Kind;
  readonly help: string;
  constructor(private readonly spec: FamilySpec, private readonly state: ExportState) {
    this.name = spec.name;
    this.type = spec.type;
    this.help = spec.help;
  }
  async get() {
    // The registry may rename a counter for OpenMetrics (without `_total`): report the current name.
    return { name: this.name, help: this.help, type: this.type, values: this.spec.values(this.state), aggregator: 'sum' };
  }
  reset(): void {}
}

const one = (v: number | undefined, labels: Labels = {}): Value[] => (v === undefined ? [] : [{ value: v, labels }]);
const fromSample = (pick: (s: SampledFigures) => number) => (st: ExportState) => one(st.sample && pick(st.sample));

function perSyscall(m: PerSyscall): Value[] {
  const out: Value[] = [];
  for (const [syscall, n] of m) out.push({ value: n, labels: { syscall, category: categoryOf(syscall) } });
  return out;
}

/**
 * The first open-ended bucket of SyscallRow.hist_log2_us (the 28th: 2^26 µs and longer): it and any
 * beyond count in +Inf only.
 */
export const OPEN_BUCKET = 27;

/** Upper bound (seconds) of log2 bucket i < OPEN_BUCKET: bucket i holds calls from 2^(i-1) to 2^i µs ([0]: under 1 µs). */
export const bucketBoundSecs = (i: number): number => 2 ** i / 1e6;

/**
 * The latency histogram per category: the sum of its syscalls' histograms (per syscall it would be
 * hundreds of series per target). Every finite bucket is served, empty ones included, so the label
 * set is the same at every scrape.
 */
function histogramValues(hists: ReadonlyMap<string, Log2Histogram>, name: string): Value[] {
  const byCategory = new Map<string, Log2Histogram>();
  for (const [syscall, h] of hists) {
    const cat = categoryOf(syscall);
    const acc = byCategory.get(cat) ?? { buckets: [], sumUs: 0 };
    h.buckets.forEach((n, i) => { acc.buckets[i] = (acc.buckets[i] ?? 0) + n; });
    acc.sumUs += h.sumUs;
    byCategory.set(cat, acc);
  }
  const out: Value[] = [];
  for (const [category, h] of [...byCategory].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    let cum = 0;
    for (let i = 0; i < OPEN_BUCKET; i++) {
      cum += h.buckets[i] ?? 0;
      out.push({ metricName: `${name}_bucket`, value: cum, labels: { category, le: String(bucketBoundSecs(i)) } });
    }
    for (let i = OPEN_BUCKET; i < h.buckets.length; i++) cum += h.buckets[i] ?? 0;
    out.push({ metricName: `${name}_bucket`, value: cum, labels: { category, le: '+Inf' } });
    out.push({ metricName: `${name}_sum`, value: h.sumUs / 1e6, labels: { category } });
    out.push({ metricName: `${name}_count`, value: cum, labels: { category } });
  }
  return out;
}

/** Every family, in exposition order. docs/prometheus.md explains each one. */
export const FAMILIES: FamilySpec[] = [
  {
    name: 'denet_info', type: 'gauge', help: 'Always 1; labels: the version of denet-pure and how syscalls are counted (raw, tracefs, or off).',
    values: (st) => st.metadata ? [{ value: 1, labels: { version: st.metadata.version, ebpf: st.metadata.capabilities.ebpf.available ? st.metadata.capabilities.ebpf.mode ?? 'on' : 'off' } }] : [],
  },
  { name: 'denet_monitoring', type: 'gauge', help: '1 while the target is monitored, 0 once monitoring has ended (the last figures stay).', values: (st) => one(st.metadata ? (st.finished ? 0 : 1) : undefined) },
  { name: 'denet_last_sample_timestamp_seconds', type: 'gauge', help: 'When the figures served were sampled (Unix time).', values: fromSample((s) => s.tsMs / 1000) },
  { name: 'denet_samples_total', type: 'counter', help: 'Samples taken since monitoring began.', values: (st) => one(st.metadata ? st.samples : undefined) },
  { name: 'denet_processes', type: 'gauge', help: 'Processes of the target alive at the last sample.', values: fromSample((s) => s.processes) },
  { name: 'denet_threads', type: 'gauge', help: 'Threads of those processes.', values: fromSample((s) => s.threads) },
  { name: 'denet_process_exits_total', type: 'counter', help: 'Processes of the target that exited since monitoring began.', values: (st) => one(st.metadata ? st.processExits : undefined) },
  { name: 'denet_cpu_seconds_total', type: 'counter', help: 'CPU time (user + system) used by the target since monitoring began, exited processes included.', values: fromSample((s) => s.cpuSecs) },
  { name: 'denet_memory_rss_bytes', type: 'gauge', help: 'Resident memory of the processes alive at the last sample (summed).', values: fromSample((s) => s.rssBytes) },
  { name: 'denet_memory_virtual_bytes', type: 'gauge', help: 'Virtual memory size of those processes (summed).', values: fromSample((s) => s.vmsBytes) },
  { name: 'denet_disk_read_bytes_total', type: 'counter', help: 'Bytes read from block devices since monitoring began (read_bytes of /proc/PID/io).', values: fromSample((s) => s.diskReadBytes) },
  { name: 'denet_disk_write_bytes_total', type: 'counter', help: 'Bytes written to block devices since monitoring began (write_bytes of /proc/PID/io).', values: fromSample((s) => s.diskWriteBytes) },
  { name: 'denet_io_read_bytes_total', type: 'counter', help: 'Bytes passed to read-like syscalls since monitoring began (rchar), page cache and pipes included.', values: fromSample((s) => s.ioReadBytes) },
  { name: 'denet_io_write_bytes_total', type: 'counter', help: 'Bytes passed to write-like syscalls since monitoring began (wchar).', values: fromSample((s) => s.ioWriteBytes) },
  {
    name: 'denet_page_faults_total', type: 'counter', help: 'Page faults since monitoring began, by type (minor, major).',
    values: (st) => st.sample ? [{ value: st.sample.minorFaults, labels: { type: 'minor' } }, { value: st.sample.majorFaults, labels: { type: 'major' } }] : [],
  },
  { name: 'denet_netns_receive_bytes_total', type: 'counter', help: 'Bytes received by the network namespaces of the target (every process in them, not the target alone).', values: fromSample((s) => s.netnsRxBytes) },
  { name: 'denet_netns_transmit_bytes_total', type: 'counter', help: 'Bytes sent by the network namespaces of the target (every process in them).', values: fromSample((s) => s.netnsTxBytes) },
  { name: 'denet_syscalls_total', type: 'counter', help: 'Syscalls made by the target since monitoring began, counted in the kernel, by name and category.', values: (st) => perSyscall(st.syscalls) },
  { name: 'denet_syscall_errors_total', type: 'counter', detail: true, help: 'Syscalls that returned an error (-4095..-1), by name and category.', values: (st) => perSyscall(st.errors) },
  { name: 'denet_syscall_seconds_total', type: 'counter', detail: true, help: 'Wall-clock time spent in syscalls (entry to return) by the calls that returned, by name and category.', values: (st) => perSyscall(st.seconds) },
  { name: 'denet_syscall_duration_seconds', type: 'histogram', detail: true, help: 'Time per returned syscall (entry to return), log2 buckets from 1 us to 2^26 us, by category.', values: (st) => histogramValues(st.histograms, 'denet_syscall_duration_seconds') },
  { name: 'denet_ebpf_syscalls_uncounted_total', type: 'counter', help: 'Syscalls of tracked processes not counted: the kernel count table was full (raise --max-counts).', values: (st) => one(st.losses?.syscalls_uncounted) },
  { name: 'denet_ebpf_processes_untracked_total', type: 'counter', help: 'Processes of the target never tracked in the kernel: the process table was full (raise --max-processes).', values: (st) => one(st.losses?.processes_untracked) },
  { name: 'denet_ebpf_syscalls_untimed_total', type: 'counter', detail: true, help: 'Counted syscalls whose return (error, time) was not recorded: the detail table was full (raise --max-details).', values: (st) => one(st.losses?.syscalls_untimed) },
  { name: 'denet_ebpf_exits_unrecorded_total', type: 'counter', help: 'Exited processes whose final figures the kernel could not record (their last /proc figures count instead).', values: (st) => one(st.losses?.exits_unrecorded) },
];

export const CONTENT_TYPES = {
  classic: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
} as const;
export type Format = keyof typeof CONTENT_TYPES;

/**
 * The exposition of `state` in both formats: one registry per format (prom-client renames counters in
 * place for OpenMetrics). The detail families are registered once the metadata says detail mode, so
 * without it they are absent, not zero. prom-client is loaded here, when an exporter is made, not by
 * every run of the CLI.
 */
export class Exposition {
  private registered: boolean | undefined;

  private constructor(
    private readonly regs: Record<Format, Registry<RegistryContentType>>,
    private readonly state: ExportState,
    private readonly labels: Labels,
  ) {}

  static async create(state: ExportState, labels: Labels): Promise<Exposition> {
    const { Registry: Reg } = await import('prom-client');
    const make = (contentType: (typeof CONTENT_TYPES)[Format]) => {
      const reg = new Reg<RegistryContentType>();
      reg.setContentType(contentType);
      return reg;
    };
    return new Exposition({ classic: make(CONTENT_TYPES.classic), openmetrics: make(CONTENT_TYPES.openmetrics) }, state, labels);
  }

  /** The text a scrape gets now. */
  text(format: Format): Promise<string> {
    if (this.registered !== this.state.detail) this.register(this.state.detail);
    return this.regs[format].metrics();
  }

  private register(detail: boolean): void {
    for (const reg of Object.values(this.regs)) {
      reg.clear();
      reg.setDefaultLabels(this.labels);
      for (const spec of FAMILIES) if (detail || !spec.detail) reg.registerMetric(new Family(spec, this.state) as unknown as Metric);
    }
    this.registered = detail;
  }
}
