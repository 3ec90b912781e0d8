// From JSON Lines text to one normalised run: the samples in time order (tree or single-process),
// the per-process exit records when the file has them, and whatever else the file says about the run.
// Reads files of this version, older denet-pure versions and denet (records without `kind`):
// every field is optional here, and a missing one means "not recorded", never 0.
import { closeSync, openSync, readSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { parseJsonLines, SummaryAccumulator, type ParseError } from '../monitor/index.js';
import { ReportInputError } from './errors.js';

export type Obj = Record<string, unknown>;

export interface ProcEntry {
  pid: number;
  command: string;
  metrics: Obj;
}

/** One sample: the tree's (or the lone process's) metrics and the processes listed in it. */
export interface Frame {
  /** Seconds since the start of monitoring. */
  t: number;
  ts_ms: number;
  m: Obj;
  procs: ProcEntry[];
  ebpf: Obj | undefined;
}

export interface Run {
  meta: Obj | undefined;
  env: Obj | undefined;
  /** The file's summary record, or one rebuilt from the samples (then `summaryRebuilt`). */
  summary: Obj;
  summaryRebuilt: boolean;
  frames: Frame[];
  /** `kind: "process"` records, in file order. */
  processes: Obj[];
  /** Monitoring start, ms since the epoch (metadata.t0_ms, else the first sample). */
  t0_ms: number;
  /** Tree records (children followed) or sample records (--exclude-children). */
  tree: boolean;
  warnings: string[];
  /** The full eBPF block of the latest sample (samples keep only what the panels need). */
  lastEbpf: Obj | undefined;
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The fields of a sample's metrics that the report uses (the rest is dropped as soon as it is read). */
const AGG_KEYS = [
  'ts_ms', 'cpu_usage', 'mem_rss_kb', 'disk_read_bytes', 'disk_write_bytes', 'syscall_read_bytes', 'syscall_write_bytes',
  'netns_rx_bytes', 'netns_tx_bytes', 'net_rx_bytes', 'net_tx_bytes', 'thread_count', 'process_count', 'cpu_time_secs',
  'off_cpu_secs', 'runq_wait_secs', 'psi', 'ebpf',
];
const PROC_KEYS = ['cpu_usage', 'mem_rss_kb', 'uptime_secs', 'disk_read_bytes', 'disk_write_bytes'];
/** Lines parsed at a time: the records of one chunk are reduced to what the report needs, then dropped. */
const CHUNK_LINES = 2000;

function keep(o: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

interface Sample {
  kind: 'tree' | 'sample';
  ts: number | null;
  m: Obj;
  parent: Obj | null;
  children: ProcEntry[];
}

/** The per-sample eBPF block, without what only the summary needs (cumulative top lists, analysis). */
function keepEbpf(m: Obj): void {
  const e = m.ebpf;
  if (!isObj(e)) return;
  const out: Obj = keep(e, ['losses', 'dropped', 'syscalls_uncounted', 'processes_untracked']);
  if (isObj(e.syscalls)) out.syscalls = keep(e.syscalls, ['total', 'by_category', 'window']);
  m.ebpf = out;
}

function reduce(r: Obj): Sample {
  if (r.kind === 'tree') {
    const agg = isObj(r.aggregated) ? r.aggregated : {};
    const children: ProcEntry[] = [];
    for (const c of Array.isArray(r.children) ? r.children : []) {
      if (!isObj(c) || num(c.pid) === null || !isObj(c.metrics)) continue;
      children.push({ pid: c.pid as number, command: str(c.command) ?? `pid ${c.pid}`, metrics: keep(c.metrics, PROC_KEYS) });
    }
    const m = keep(agg, AGG_KEYS);
    keepEbpf(m);
    return { kind: 'tree', ts: num(r.ts_ms) ?? num(agg.ts_ms), m, parent: isObj(r.parent) ? keep(r.parent, PROC_KEYS) : null, children };
  }
  const m = keep(r, [...AGG_KEYS, 'uptime_secs']);
  keepEbpf(m);
  return { kind: 'sample', ts: num(r.ts_ms), m, parent: null, children: [] };
}

/**
 * Parses JSON Lines: the whole text, or chunks of whole lines (fileChunks). Throws ReportInputError
 * when nothing in it is a sample.
 */
export function readRun(input: string | Iterable<string>, source = 'the input'): Run {
  const warnings: string[] = [];
  const errors: ParseError[] = [];
  let meta: Obj | undefined;
  let env: Obj | undefined;
  let summary: Obj | undefined;
  const samples: Sample[] = [];
  const processes: Obj[] = [];
  const acc = new SummaryAccumulator();
  let records = 0;
  let lastEbpf: Obj | undefined;
  let lastEbpfTs = -Infinity;
  // In chunks of whole lines, so that only one chunk's full records are alive at a time.
  let line = 0;
  for (const chunk of typeof input === 'string' ? textChunks(input) : input) {
    const parsed = parseJsonLines(chunk);
    for (const e of parsed.errors) errors.push({ line: e.line + line, message: e.message });
    for (const rec of parsed.records as unknown as Obj[]) {
      records++;
      switch (rec.kind) {
        case 'metadata': meta ??= rec; break;
        case 'env': env ??= rec; break;
        case 'summary': summary = rec; break;
        case 'process': processes.push(rec); break;
        case 'tree':
        case 'sample': {
          acc.add(rec as never);
          // The latest sample's full eBPF block stands in for the summary's when that is missing.
          const e = rec.kind === 'tree' ? (isObj(rec.aggregated) ? rec.aggregated.ebpf : undefined) : rec.ebpf;
          const ts = num(rec.ts_ms) ?? -Infinity;
          if (isObj(e) && ts >= lastEbpfTs) [lastEbpf, lastEbpfTs] = [e, ts];
          samples.push(reduce(rec));
          break;
        }
      }
    }
    line += countLines(chunk);
  }
  if (errors.length > 0) {
    const first = errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`).join('; ');
    warnings.push(`${errors.length} line${errors.length === 1 ? '' : 's'} skipped (${first}${errors.length > 3 ? '; …' : ''})`);
  }
  if (samples.length === 0) {
    throw new ReportInputError(records === 0
      ? `${source} holds no records; expected JSON Lines written by denet-pure --out (or denet)`
      : `${source} holds no samples (no tree or sample records), so there is nothing to plot`);
  }
  const trees = samples.filter((r) => r.kind === 'tree').length;
  const tree = trees > 0;
  if (tree && trees !== samples.length) warnings.push('the file mixes tree and sample records; only the tree records are plotted');
  const kept = tree ? samples.filter((r) => r.kind === 'tree') : samples;
  const rootPid = num(meta?.pid);
  const rootCmd = Array.isArray(meta?.cmd) ? (meta.cmd as unknown[]).map(String).join(' ') : '';

  const raw = kept.filter((r) => r.ts !== null).sort((a, b) => a.ts! - b.ts!);
  if (raw.length === 0) throw new ReportInputError(`${source} holds samples but none with a time stamp (ts_ms)`);
  if (raw.length < kept.length) warnings.push(`${kept.length - raw.length} samples without a time stamp ignored`);
  const t0_ms = num(meta?.t0_ms) ?? raw[0]!.ts!;
  const frames: Frame[] = raw.map((r) => {
    const procs: ProcEntry[] = [];
    if (r.kind === 'tree' && r.parent && rootPid !== null) procs.push({ pid: rootPid, command: rootCmd, metrics: r.parent });
    if (r.kind === 'sample' && rootPid !== null) procs.push({ pid: rootPid, command: rootCmd, metrics: r.m });
    procs.push(...r.children);
    return { t: (r.ts! - t0_ms) / 1000, ts_ms: r.ts!, m: r.m, procs, ebpf: isObj(r.m.ebpf) ? r.m.ebpf : undefined };
  });
  let summaryRebuilt = false;
  if (!summary) {
    warnings.push('the file has no summary record (the run was cut short?); totals come from the samples');
    summary = acc.finish() as unknown as Obj;
    summaryRebuilt = true;
  }
  return { meta, env, summary, summaryRebuilt, frames, processes, t0_ms, tree, warnings, lastEbpf };
}

/** The text in chunks of CHUNK_LINES whole lines. */
function* textChunks(text: string): Generator<string> {
  for (let start = 0; start < text.length;) {
    let end = start - 1;
    for (let k = 0; k < CHUNK_LINES; k++) {
      end = text.indexOf('\n', end + 1);
      if (end === -1) break;
    }
    const stop = end === -1 ? text.length : end + 1;
    yield text.slice(start, stop);
    start = stop;
  }
}

/**
 * A file in chunks of whole lines, read 4 MiB at a time: a long run's file is never one string.
 * A chunk ends at a newline byte, which never occurs inside a UTF-8 sequence.
 */
export function* fileChunks(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    let carry = Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      const cut = data.lastIndexOf(10);
      if (cut < 0) { carry = Buffer.from(data); continue; }
      yield data.toString('utf8', 0, cut + 1);
      carry = Buffer.from(data.subarray(cut + 1));
    }
    if (carry.length) yield carry.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** The `ebpf.syscalls` object of a frame or of the summary. */
export function syscallsOf(ebpf: unknown): Obj | undefined {
  return isObj(ebpf) && isObj(ebpf.syscalls) ? ebpf.syscalls : undefined;
}

/** The whole-run eBPF block: the summary's, else the last sample's (cumulative). */
export function runEbpf(run: Run): Obj | undefined {
  return isObj(run.summary.ebpf) ? (run.summary.ebpf as Obj) : run.lastEbpf;
}

/** "cc1 -O2 x.c" -> "cc1"; "/usr/bin/python3 job.py" -> "python3". */
export function commandName(command: string): string {
  const first = command.trim().split(/\s+/)[0] ?? '';
  const base = first.slice(first.lastIndexOf('/') + 1);
  return base || command.trim() || '?';
}

/** 9 -> "SIGKILL"; a name stays a name; anything else: null. */
export function signalName(v: unknown): string | null {
  if (typeof v === 'string') return v;
  const n = num(v);
  if (n === null) return null;
  const name = Object.entries(osConstants.signals).find(([, k]) => k === n)?.[0];
  return name ?? `signal ${n}`;
}
