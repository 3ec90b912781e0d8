// From JSON Lines text to one normalised run: the samples in time order (tree or single-process),
// the per-process exit records when the file has them, and whatever else the file says about the run.
// Reads files of this version, older denet-pure versions and denet (records without `kind`):
// every field is optional here, and a missing one means "not recorded", never 0.
import { parseJsonLines, summarizeRecords } from '../monitor/index.js';

export type Obj = Record<string, unknown>;

export class ReportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportInputError';
  }
}

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
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Parses the text; throws ReportInputError when nothing in it is a sample. */
export function readRun(text: string): Run {
  const { records, errors } = parseJsonLines(text);
  const warnings: string[] = [];
  if (errors.length > 0) {
    const first = errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`).join('; ');
    warnings.push(`${errors.length} line${errors.length === 1 ? '' : 's'} skipped (${first}${errors.length > 3 ? '; …' : ''})`);
  }
  let meta: Obj | undefined;
  let env: Obj | undefined;
  let summary: Obj | undefined;
  const samples: Obj[] = [];
  const processes: Obj[] = [];
  let trees = 0;
  for (const rec of records as unknown as Obj[]) {
    switch (rec.kind) {
      case 'metadata': meta ??= rec; break;
      case 'env': env ??= rec; break;
      case 'summary': summary = rec; break;
      case 'process': processes.push(rec); break;
      case 'tree': trees++; samples.push(rec); break;
      case 'sample': samples.push(rec); break;
    }
  }
  if (samples.length === 0) {
    throw new ReportInputError(records.length === 0
      ? 'holds no records; expected JSON Lines written by denet-pure --out (or denet)'
      : 'holds no samples (no tree or sample records), so there is nothing to plot');
  }
  const tree = trees > 0;
  if (tree && trees !== samples.length) warnings.push('the file mixes tree and sample records; only the tree records are plotted');
  const kept = tree ? samples.filter((r) => r.kind === 'tree') : samples;
  const rootPid = num(meta?.pid);
  const rootCmd = Array.isArray(meta?.cmd) ? (meta!.cmd as unknown[]).map(String).join(' ') : '';

  const raw = kept
    .map((r) => toFrame(r, rootPid, rootCmd))
    .filter((f): f is Omit<Frame, 't'> => f !== null)
    .sort((a, b) => a.ts_ms - b.ts_ms);
  if (raw.length === 0) throw new ReportInputError('holds samples but none with a time stamp (ts_ms)');
  if (raw.length < kept.length) warnings.push(`${kept.length - raw.length} samples without a time stamp ignored`);
  const t0_ms = num(meta?.t0_ms) ?? raw[0]!.ts_ms;
  const frames = raw.map((f) => ({ ...f, t: (f.ts_ms - t0_ms) / 1000 }));
  let summaryRebuilt = false;
  if (!summary) {
    warnings.push('the file has no summary record (the run was cut short?); totals come from the samples');
    summary = summarizeRecords(records) as unknown as Obj;
    summaryRebuilt = true;
  }
  return { meta, env, summary, summaryRebuilt, frames, processes, t0_ms, tree, warnings };
}

function toFrame(r: Obj, rootPid: number | null, rootCmd: string): Omit<Frame, 't'> | null {
  if (r.kind === 'tree') {
    const m = isObj(r.aggregated) ? r.aggregated : {};
    const ts = num(r.ts_ms) ?? num(m.ts_ms);
    if (ts === null) return null;
    const procs: ProcEntry[] = [];
    if (isObj(r.parent) && rootPid !== null) procs.push({ pid: rootPid, command: rootCmd, metrics: r.parent });
    for (const c of Array.isArray(r.children) ? r.children : []) {
      if (!isObj(c) || num(c.pid) === null || !isObj(c.metrics)) continue;
      procs.push({ pid: c.pid as number, command: str(c.command) ?? `pid ${c.pid}`, metrics: c.metrics });
    }
    return { ts_ms: ts, m, procs, ebpf: isObj(m.ebpf) ? m.ebpf : undefined };
  }
  const ts = num(r.ts_ms);
  if (ts === null) return null;
  const procs = rootPid !== null ? [{ pid: rootPid, command: rootCmd, metrics: r }] : [];
  return { ts_ms: ts, m: r, procs, ebpf: isObj(r.ebpf) ? r.ebpf : undefined };
}

/** The `ebpf.syscalls` object of a frame or of the summary. */
export function syscallsOf(ebpf: unknown): Obj | undefined {
  return isObj(ebpf) && isObj(ebpf.syscalls) ? ebpf.syscalls : undefined;
}

/** The whole-run eBPF block: the summary's, else the last sample's (cumulative). */
export function runEbpf(run: Run): Obj | undefined {
  if (isObj(run.summary.ebpf)) return run.summary.ebpf as Obj;
  for (let i = run.frames.length - 1; i >= 0; i--) if (run.frames[i]!.ebpf) return run.frames[i]!.ebpf;
  return undefined;
}

/** "cc1 -O2 x.c" -> "cc1"; "/usr/bin/python3 job.py" -> "python3". */
export function commandName(command: string): string {
  const first = command.trim().split(/\s+/)[0] ?? '';
  const base = first.slice(first.lastIndexOf('/') + 1);
  return base || command.trim() || '?';
}
