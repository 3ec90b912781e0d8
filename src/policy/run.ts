// One run as the policy commands see it: a JSON Lines file written by --out/--json, or a summary
// written by --stats, told apart by content. A file whose summary line is missing (the run was cut
// short) gets its summary rebuilt from its samples by the accumulator `stats` uses; its syscall
// counts are then only those the last sample lists (the most frequent ones), and it says so.
import { parseJsonLines, summarizeRecords, type MonitorRecord, type SummaryRecord } from '../monitor/index.js';

/** A file that is not a usable run; the message is one line saying what is wrong and what to do. */
export class RunFileError extends Error {
  constructor(message: string, readonly source: string) {
    super(message);
    this.name = 'RunFileError';
  }
}

/** One syscall's figures in a run; errors and time only when the run recorded them. */
export interface SyscallFigures {
  calls: number;
  errors?: number;
  total_us?: number;
}

export type RunOrigin = 'summary-line' | 'summary-file' | 'rebuilt';

export interface RunData {
  /** the name given on the command line */
  source: string;
  origin: RunOrigin;
  summary: SummaryRecord;
  /** the architecture whose table named the syscalls (metadata.arch), when the file says */
  arch?: string;
  /** per-syscall figures; undefined when the run has no syscall counts (recorded without eBPF) */
  syscalls?: Map<string, SyscallFigures>;
  /** true when `syscalls` lists only the last sample's most frequent syscalls, not all of them */
  syscallsPartial: boolean;
  byCategory?: Record<string, number>;
  syscallTotal?: number;
  /** failed syscalls in all, when the run recorded errors */
  errorsTotal?: number;
  /** time spent in syscalls, microseconds, when the run recorded it */
  syscallTimeUs?: number;
  /** why the syscall counts are incomplete (ebpf.losses: full kernel tables), when they are */
  incomplete?: string;
  /** lines that were not records: how many, and the first one's line number and reason */
  skipped?: { count: number; first: string };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

function describeJson(v: unknown): string {
  if (Array.isArray(v)) return 'a JSON array';
  if (v === null) return 'JSON null';
  if (isObject(v)) return typeof v.kind === 'string' ? `a JSON record of kind '${v.kind}'` : 'a JSON object of no known kind';
  return `a JSON ${typeof v}`;
}

const EXPECTED = 'expected JSON Lines written by denet-pure --out, or a summary written by --stats';

/** Reads a run from the text of its file. Throws RunFileError when the text is not a usable run. */
export function loadRun(text: string, source: string): RunData {
  if (text.trim() === '') throw new RunFileError(`${source} is empty; ${EXPECTED}`, source);
  const whole = tryJson(text);
  if (whole.ok && !text.trim().includes('\n')) {
    // One line: a summary file written on one line, or a JSON Lines file of one record.
    if (!isObject(whole.value)) throw new RunFileError(`${source} holds ${describeJson(whole.value)}, not a denet-pure record; ${EXPECTED}`, source);
  } else if (whole.ok) {
    // Several lines forming one JSON value: a --stats file (pretty-printed).
    const v = whole.value;
    if (isObject(v) && (v.kind === 'summary' || (v.kind === undefined && 'total_time_secs' in v && 'sample_count' in v))) {
      return fromSummary({ ...v, kind: 'summary' } as unknown as SummaryRecord, 'summary-file', source);
    }
    throw new RunFileError(`${source} holds ${describeJson(v)}, not a summary; ${EXPECTED}`, source);
  }
  const { records, errors } = parseJsonLines(text);
  if (records.length === 0) {
    const first = errors[0];
    throw new RunFileError(`${source} is not denet-pure JSON Lines (line ${first?.line ?? 1}: ${first?.message ?? 'no records'}); ${EXPECTED}`, source);
  }
  const skipped = errors.length ? { count: errors.length, first: `line ${errors[0]!.line}: ${errors[0]!.message}` } : undefined;
  const meta = records.find((r) => r.kind === 'metadata') as (MonitorRecord & { arch?: unknown }) | undefined;
  const arch = typeof meta?.arch === 'string' ? meta.arch : undefined;
  let summary: SummaryRecord | undefined;
  for (const r of records) if (r.kind === 'summary') summary = r;
  let run: RunData;
  if (summary) {
    run = fromSummary(summary, records.length === 1 ? 'summary-file' : 'summary-line', source);
  } else {
    const samples = records.filter((r) => r.kind === 'tree' || r.kind === 'sample');
    if (samples.length === 0) {
      const kinds = [...new Set(records.map((r) => r.kind))].join(', ');
      throw new RunFileError(`${source} holds no summary and no samples (only ${kinds}): the run ended before its first sample; record a longer run`, source);
    }
    // The last sample's ebpf block is cumulative: totals and categories are whole, the syscall list is its top few.
    const last = samples[samples.length - 1]!;
    const ebpf = last.kind === 'tree' ? last.aggregated?.ebpf : last.ebpf;
    // Every record goes in (process records carry exited processes' figures), as `stats` does it.
    run = fromSummary(summarizeRecords(records, ebpf === undefined ? undefined : { ebpf }), 'rebuilt', source);
  }
  if (arch !== undefined) run.arch = arch;
  if (skipped) run.skipped = skipped;
  return run;
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function fromSummary(summary: SummaryRecord, origin: RunOrigin, source: string): RunData {
  const run: RunData = { source, origin, summary, syscallsPartial: false };
  const ebpf = isObject(summary.ebpf) ? summary.ebpf : undefined;
  const block = isObject(ebpf?.syscalls) ? ebpf.syscalls : undefined;
  if (!block) return run;
  const losses: Record<string, unknown> = isObject(ebpf!.losses) ? ebpf!.losses : {};
  const uncounted = count(losses.syscalls_uncounted) ?? count((ebpf as Record<string, unknown>).dropped) ?? 0;
  const untracked = count(losses.processes_untracked) ?? 0;
  const lost = [
    uncounted ? `${uncounted} syscall${uncounted === 1 ? ' was' : 's were'} not counted` : '',
    untracked ? `${untracked} process${untracked === 1 ? ' was' : 'es were'} never tracked` : '',
  ].filter(Boolean);
  if (lost.length) run.incomplete = `${lost.join(' and ')} (a kernel table was full)`;
  run.syscallTotal = count(block.total);
  if (isObject(block.by_category)) {
    run.byCategory = Object.fromEntries(Object.entries(block.by_category).flatMap(([k, v]) => (count(v) === undefined ? [] : [[k, v as number]])));
  }
  const figures = new Map<string, SyscallFigures>();
  if (isObject(block.by_syscall)) {
    for (const [name, v] of Object.entries(block.by_syscall)) if (count(v) !== undefined) figures.set(name, { calls: v as number });
  } else if (Array.isArray(block.top_syscalls)) {
    // A rebuilt summary (or an older one) lists only the most frequent syscalls.
    for (const e of block.top_syscalls) if (isObject(e) && typeof e.name === 'string' && count(e.count) !== undefined) figures.set(e.name, { calls: e.count as number });
    run.syscallsPartial = true;
  }
  // The per-syscall table, when present, adds errors and time (and is the authority on calls).
  let timeUs = 0;
  let errorsSum = 0;
  let hasTime = false;
  let hasErrors = false;
  if (Array.isArray(block.table)) {
    for (const row of block.table) {
      if (!isObject(row) || typeof row.name !== 'string') continue;
      const f: SyscallFigures = { ...figures.get(row.name), calls: count(row.calls) ?? figures.get(row.name)?.calls ?? 0 };
      if (count(row.errors) !== undefined) { f.errors = row.errors as number; errorsSum += f.errors; hasErrors = true; }
      if (count(row.total_us) !== undefined) { f.total_us = row.total_us as number; timeUs += f.total_us; hasTime = true; }
      figures.set(row.name, f);
    }
  }
  if (figures.size > 0 || isObject(block.by_syscall)) run.syscalls = figures;
  const errors = block.errors;
  run.errorsTotal = count(errors) ?? (isObject(errors) ? count(errors.total) : undefined) ?? (hasErrors ? errorsSum : undefined);
  if (hasTime) run.syscallTimeUs = timeUs;
  return run;
}

/** How the run's figures were obtained, in a few words (for reports). */
export function describeOrigin(run: RunData): string {
  switch (run.origin) {
    case 'summary-file': return 'summary';
    case 'summary-line': return 'summary line';
    default:
      return `summary line missing: rebuilt from ${run.summary.sample_count} samples${run.syscallsPartial ? ', syscalls: only the most frequent' : ''}`;
  }
}
