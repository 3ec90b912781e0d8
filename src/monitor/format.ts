// Human-readable renderings: the one-line live status and the end-of-run summary table.
import type { EbpfBlock, SampleRecord, SummaryRecord, TreeRecord } from './types.js';
import { describeFilter, formatSyscallTable } from './format-syscalls.js';

/** Rows of the syscall table in the end-of-run summary (stats --syscalls shows them all). */
export const SUMMARY_SYSCALL_ROWS = 10;

const ESC = '\x1b[';
const paint = (on: boolean, code: string, s: string) => (on ? `${ESC}${code}m${s}${ESC}0m` : s);
const ANSI = /\x1b\[[0-9;]*m/g;

/** Visible width (ANSI colour codes take no columns). */
export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Math.max(0, bytes);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

/** 75.2 -> "1m15s"; 3725 -> "1h02m05s"; under a minute with one decimal. */
export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) secs = 0;
  if (secs < 60) return `${secs.toFixed(1)}s`;
  const s = Math.floor(secs);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h${two(m)}m${two(r)}s` : `${m}m${two(r)}s`;
}

function formatRate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(1)}M/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)}k/s`;
  return `${Math.round(perSec)}/s`;
}

/** The syscall part of the live line. */
export interface LiveEbpf {
  ratePerSec: number;
  topCategory: string;
}

export interface LiveLineOptions {
  color: boolean;
  elapsedMs: number;
  ebpf?: LiveEbpf | null;
  /** Terminal columns; segments are dropped, least important first, to fit. Default 120. */
  width?: number;
  /** The command has exited; monitoring waits for this many descendants. */
  waitingFor?: number;
}

interface Segment {
  text: string;
  /** Higher = dropped first. */
  drop: number;
}

/** "⏱ 12.3s │ 11 procs │ CPU 199.5% │ RSS 201.2 MiB │ disk r 0 B w 50.0 MiB │ 14 thr │ sys 12.3k/s file". */
export function formatLiveLine(rec: TreeRecord | SampleRecord, opts: LiveLineOptions): string {
  const c = opts.color;
  const m = rec.kind === 'tree' ? rec.aggregated : rec;
  const procs = rec.kind === 'tree' ? rec.aggregated.process_count : 1;
  const cpu = m.cpu_usage;
  const cpuCode = cpu >= 150 ? '31' : cpu >= 50 ? '33' : '32';
  const label = (s: string) => paint(c, '2', s);
  const segs: Segment[] = [
    { text: paint(c, '1', formatDuration(opts.elapsedMs / 1000)), drop: 0 },
    opts.waitingFor !== undefined
      ? { text: paint(c, '33', `waiting for ${opts.waitingFor} ${opts.waitingFor === 1 ? 'descendant' : 'descendants'}`), drop: 0 }
      : { text: `${procs} ${procs === 1 ? 'proc' : 'procs'}`, drop: 4 },
    { text: `${label('CPU')} ${paint(c, cpuCode, `${cpu.toFixed(1)}%`)}`, drop: 0 },
    { text: `${label('RSS')} ${formatBytes(m.mem_rss_kb * 1024)}`, drop: 1 },
    {
      text: `${label('disk')} r ${formatBytes(m.disk_read_bytes)} w ${formatBytes(m.disk_write_bytes)}`,
      drop: 3,
    },
    { text: `${m.thread_count} thr`, drop: 5 },
  ];
  if (opts.ebpf) {
    segs.push({ text: `${label('sys')} ${formatRate(opts.ebpf.ratePerSec)}`, drop: 2 });
    if (opts.ebpf.topCategory) segs.push({ text: paint(c, '36', opts.ebpf.topCategory), drop: 6 });
  }
  const width = opts.width ?? 120;
  const sep = label(' │ ');
  const join = (list: Segment[]) => list.map((s) => s.text).join(sep);
  let kept = segs;
  let line = join(kept);
  while (visibleLength(line) > width && kept.length > 1) {
    const worst = Math.max(...kept.map((s) => s.drop));
    const idx = kept.map((s) => s.drop).lastIndexOf(worst);
    kept = kept.filter((_, i) => i !== idx);
    line = join(kept);
  }
  if (visibleLength(line) > width) line = truncateVisible(line, width, c);
  return line;
}

/** Cuts to `width` visible columns without splitting an escape sequence. */
function truncateVisible(s: string, width: number, color: boolean): string {
  let out = '';
  let cols = 0;
  for (let i = 0; i < s.length && cols < width; ) {
    if (s[i] === '\x1b') {
      const end = s.indexOf('m', i);
      out += s.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    out += s[i];
    cols++;
    i++;
  }
  return color ? out + `${ESC}0m` : out;
}

/** The end-of-run summary as an aligned two-column table in human units. */
export function formatSummaryTable(s: SummaryRecord, opts: { color: boolean }): string {
  const c = opts.color;
  const rows: [string, string][] = [
    ['Duration', formatDuration(s.total_time_secs)],
    ['Samples', String(s.sample_count)],
    ['Processes (max)', String(s.max_processes)],
    ['Threads (max)', String(s.max_threads)],
    ['CPU avg / peak', `${s.avg_cpu_usage.toFixed(1)}% / ${s.peak_cpu_usage.toFixed(1)}%`],
    ['CPU time', `${s.total_cpu_time_secs.toFixed(2)}s`],
    ['Peak RSS', formatBytes(s.peak_mem_rss_kb * 1024)],
    ['Disk read / write', `${formatBytes(s.total_disk_read_bytes)} / ${formatBytes(s.total_disk_write_bytes)}`],
    ['Syscall read / write', `${formatBytes(s.total_syscall_read_bytes)} / ${formatBytes(s.total_syscall_write_bytes)}`],
  ];
  rows.push(...activityRows(s));
  rows.push(...ebpfRows(s.ebpf));
  const w = Math.max(...rows.map(([k]) => k.length));
  const title = paint(c, '1', 'Summary');
  const out = [title, ...rows.map(([k, v]) => `  ${paint(c, '2', k.padEnd(w))}  ${v}`)].join('\n') + '\n';
  const table = s.ebpf?.syscalls.table;
  if (!table || table.length === 0) return out;
  const more = table.length > SUMMARY_SYSCALL_ROWS ? `top ${SUMMARY_SYSCALL_ROWS} of ${table.length} by time; all: denet-pure stats --syscalls FILE` : 'by time';
  return `${out}\n${paint(c, '1', 'Syscalls')} ${paint(c, '2', `(${more})`)}\n${formatSyscallTable(table, { sort: 'time', limit: SUMMARY_SYSCALL_ROWS, color: c })}`;
}

const count = (n: number): string => n.toLocaleString('en-US');

/** Off-CPU time and the tree's socket bytes (eBPF), when the run recorded them. */
function activityRows(s: SummaryRecord): [string, string][] {
  const rows: [string, string][] = [];
  if (s.total_off_cpu_secs !== undefined) {
    rows.push(['Off-CPU (I/O wait)', `${s.total_off_cpu_secs.toFixed(2)}s (${(s.total_io_wait_secs ?? 0).toFixed(2)}s)`]);
    rows.push(['Run-queue wait', `${(s.total_runq_wait_secs ?? 0).toFixed(2)}s`]);
  }
  if (s.total_net_tx_bytes !== undefined) {
    rows.push(['Network sent / received', `${formatBytes(s.total_net_tx_bytes)} / ${formatBytes(s.total_net_rx_bytes ?? 0)} (the tree's IP sockets)`]);
    const u = s.total_net?.unix;
    if (u && u.tx_bytes + u.rx_bytes > 0) rows.push(['Unix sockets', `${formatBytes(u.tx_bytes)} / ${formatBytes(u.rx_bytes)}`]);
  }
  return rows;
}

/** The syscall part of the summary table, from the summary's `ebpf` block (absent: no rows). */
function ebpfRows(block: EbpfBlock | undefined): [string, string][] {
  const sc = block?.syscalls;
  if (!sc) return [];
  const rows: [string, string][] = [];
  rows.push(['Syscalls', `${count(sc.total)} (${count(Math.round(sc.analysis.syscall_rate_per_sec))}/s)`]);
  if (sc.top_syscalls.length > 0) {
    rows.push(['Top syscalls', sc.top_syscalls.slice(0, 5).map((t) => `${t.name} ${count(t.count)}`).join(', ')]);
  }
  if (sc.total > 0) {
    const shares = Object.entries(sc.by_category).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    rows.push(['Categories', shares.slice(0, 4).map(([k, n]) => `${k} ${((n / sc.total) * 100).toFixed(1)}%`).join(', ')]);
  }
  rows.push(['Behaviour', sc.analysis.behavior_classification]);
  const filter = describeFilter(block.filter);
  if (filter) rows.push(['Filtered', filter]);
  if (block.by_process && block.by_process.length > 1) {
    const top = block.by_process.slice(0, 3).map((p) => `${p.comm} (${p.pid}) ${count(p.total)}`).join(', ');
    rows.push(['Processes', `${block.by_process.length}: ${top}${block.by_process.length > 3 ? ', …' : ''}`]);
  }
  const lost = block.losses;
  if (lost.syscalls_uncounted > 0) rows.push(['Not counted', `${count(lost.syscalls_uncounted)} syscalls (the count table was full: raise --max-counts)`]);
  if (lost.processes_untracked > 0) rows.push(['Not tracked', `${count(lost.processes_untracked)} processes (the process table was full: raise --max-processes)`]);
  if ((lost.syscalls_untimed ?? 0) > 0) rows.push(['Not timed', `${count(lost.syscalls_untimed!)} syscalls (the detail table was full: raise --max-details)`]);
  return rows;
}

/** What the live line shows of a sample's eBPF block: the last interval's rate and busiest category. */
export function liveEbpfOf(block: EbpfBlock | undefined): LiveEbpf | null {
  const window = block?.syscalls.window;
  if (!window) return null;
  let topCategory = '';
  let best = 0;
  for (const [cat, n] of Object.entries(window.by_category)) {
    if (n > best) [best, topCategory] = [n, cat];
  }
  return { ratePerSec: window.rate_per_sec, topCategory };
}
