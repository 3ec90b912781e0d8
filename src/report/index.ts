// Public API of the report layer: one self-contained HTML file from the JSON Lines of a run.
import { renderHtml } from './html.js';
import { buildHeader, type ExitStatus } from './header.js';
import { buildPanels } from './panels.js';
import { buildPhases } from './phases.js';
import { buildProcesses } from './processes.js';
import { readRun } from './read.js';
import { buildSeries } from './series.js';
import { buildFlame, buildSyscalls } from './syscalls.js';
import type { ReportData } from './types.js';

export type * from './types.js';
export { ReportAssetError, ReportInputError } from './errors.js';
export { fileChunks, readRun, type Run } from './read.js';
export { renderHtml, scriptSafeJson } from './html.js';
export { selectRows } from './downsample.js';
export { changePoints, noiseSigma, SIGMA_FLOOR, type SegmentOptions } from './segment.js';
export { FLOORS } from './phases.js';
export type { ExitStatus } from './header.js';

export interface ReportOptions {
  /** Most points per time-series panel (default 2000); longer runs are downsampled keeping peaks. */
  maxPoints?: number;
  /** The command's exit status, when the caller knows it (the file may not say). */
  exit?: ExitStatus;
  /** Recorded in the file as its generator. */
  generator?: string;
  /** The input's name in error messages (default "the input"). */
  source?: string;
}

export const DEFAULT_MAX_POINTS = 2000;

/** Everything the report shows, computed from the text of a JSON Lines file (or its chunks: fileChunks). */
export function buildReportData(input: string | Iterable<string>, opts: ReportOptions = {}): ReportData {
  const run = readRun(input, opts.source);
  const series = buildSeries(run);
  const { panels, quiet } = buildPanels(series, Math.max(16, opts.maxPoints ?? DEFAULT_MAX_POINTS));
  const { phases, note } = buildPhases(run, series);
  const processes = buildProcesses(run);
  const syscalls = buildSyscalls(run);
  const flame = buildFlame(run);
  const header = buildHeader({ run, series, quiet, processes, syscalls, flame, exit: opts.exit });
  return { format: 1, generator: opts.generator ?? 'denet-pure', header, panels, phases, phaseNote: note, processes, syscalls, flame };
}

/** The report as one HTML document. */
export function buildReport(input: string | Iterable<string>, opts: ReportOptions = {}): string {
  return renderHtml(buildReportData(input, opts));
}
