// The monitoring session shared by `run` and `attach`: checks and opens everything in an order that
// leaves no trace on failure, samples on the adaptive schedule, and always ends with a summary.
import { performance } from 'node:perf_hooks';
import { machine } from 'node:os';
import {
  adaptiveIntervalMs,
  collectEnv,
  ProcessTreeMonitor,
  SummaryAccumulator,
} from '../monitor/index.js';
import type { MetadataRecord, SampleRecord, SummaryRecord, TreeRecord } from '../monitor/types.js';
import { EbpfSampler, liveEbpf, openTracer, type EbpfSetup } from './ebpf.js';
import { CliError, EXIT, UsageError } from './errors.js';
import type { GlobalOptions } from './options.js';
import { RecordSink, Terminal, writeStatsFile } from './output.js';
import { checkWritable } from './resolve.js';
import { packageVersion } from './version.js';

export type StopReason = 'exited' | 'duration' | 'signal' | 'error';

/** A stop request that also cuts the current sleep short. */
export class Stopper {
  reason: StopReason | undefined;
  private wake: (() => void) | undefined;

  stop(reason: StopReason): void {
    this.reason ??= reason;
    this.wake?.();
  }

  sleep(ms: number): Promise<void> {
    if (this.reason) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); resolve(); }
      this.wake = done;
    });
  }
}

export interface Session {
  opts: GlobalOptions;
  term: Terminal;
  sink: RecordSink;
  ebpf: EbpfSetup;
  statsPath?: string;
}

/**
 * Validates outputs without creating them, opens the tracer (before any child exists), then opens
 * --out. Anything that fails here fails before the command starts and leaves no file behind.
 */
export async function openSession(opts: GlobalOptions): Promise<Session> {
  const term = new Terminal({ quiet: opts.quiet, noUpdate: opts.noUpdate });
  const outPath = opts.out !== undefined ? checkWritable('out', opts.out) : undefined;
  const statsPath = opts.stats !== undefined ? checkWritable('stats', opts.stats) : undefined;
  if (outPath !== undefined && outPath === statsPath) {
    throw new UsageError('--out and --stats name the same file; give them different names');
  }
  const ebpf = await openTracer(opts, (m) => term.warn(m));
  try {
    const sink = RecordSink.open({ json: opts.json, out: outPath });
    return { opts, term, sink, ebpf, statsPath };
  } catch (err) {
    ebpf.tracer?.close();
    ebpf.releaseAll?.();
    throw err;
  }
}

/** Always safe to call, once or more: the tracer detaches and the output file is closed. */
export function closeSession(s: Session): void {
  s.term.endLine();
  try { s.ebpf.tracer?.close(); } catch { /* half-closed: the loader's registry releases the rest */ }
  s.ebpf.releaseAll?.();
  s.sink.close();
}

function cpuOf(rec: TreeRecord | SampleRecord): number {
  return rec.kind === 'tree' ? rec.aggregated.cpu_usage : rec.cpu_usage;
}

function attachEbpf(rec: TreeRecord | SampleRecord, block: Record<string, unknown>): void {
  if (rec.kind === 'tree') rec.aggregated.ebpf = block;
  else rec.ebpf = block;
}

export interface Target {
  pid: number;
  cmd: string[];
  executable: string;
  /** `run`: the target is our child, so its final totals can be read when we reap it. */
  ownChild?: boolean;
}

/**
 * Writes env + metadata, samples until `stopper` says stop (or the target is gone, or --duration
 * passes), then writes the summary record, the terminal table and the --stats file.
 */
export async function monitorTarget(s: Session, target: Target, stopper: Stopper): Promise<SummaryRecord> {
  const { opts, sink, term } = s;
  const t0 = performance.now();
  if (opts.writeEnv && sink.active) sink.write(collectEnv(target.pid));
  const metadata: MetadataRecord = {
    kind: 'metadata',
    pid: target.pid,
    cmd: target.cmd,
    executable: target.executable,
    t0_ms: Date.now(),
    version: packageVersion(),
    arch: machine(),
    capabilities: { ebpf: s.ebpf.capability },
  };
  sink.write(metadata);

  const monitor = new ProcessTreeMonitor({
    pid: target.pid,
    includeChildren: !opts.excludeChildren,
    sinceProcessStart: opts.sinceProcessStart,
    reapedByThisProcess: target.ownChild,
  });
  const acc = new SummaryAccumulator();
  const sampler = s.ebpf.tracer ? new EbpfSampler(s.ebpf.tracer, t0, (m) => term.warn(m)) : undefined;
  const durationMs = opts.durationSec * 1000;

  const record = (rec: TreeRecord | SampleRecord): number => {
    const elapsedMs = performance.now() - t0;
    const block = sampler?.sample(cpuOf(rec));
    if (block) attachEbpf(rec, block);
    acc.add(rec);
    sink.write(rec);
    term.sample(rec, elapsedMs, liveEbpf(block));
    return elapsedMs;
  };

  try {
    while (!stopper.reason) {
      const rec = monitor.sample();
      if (rec === null) {
        stopper.stop('exited');
        break;
      }
      const elapsedMs = record(rec);
      if (durationMs > 0 && elapsedMs >= durationMs) {
        stopper.stop('duration');
        break;
      }
      let wait = adaptiveIntervalMs(elapsedMs, opts.intervalMs, opts.maxIntervalMs);
      if (durationMs > 0) wait = Math.min(wait, Math.max(0, durationMs - elapsedMs));
      await stopper.sleep(wait);
    }
    // The command exited between samples: one last sample takes what it did since the previous one
    // (its final totals, when it was our child) and the syscalls it made until the end.
    if (stopper.reason === 'exited') {
      const last = monitor.sample();
      if (last) record(last);
    }
  } catch (err) {
    // Still end the stream with a summary so the output stays a valid, complete file.
    stopper.stop('error');
    term.warn(`monitoring stopped: ${(err as Error).message}`);
  }

  monitor.close();
  let summary = acc.finish();
  // The whole-run syscall analysis uses the run's mean CPU, as the summary reports it.
  const ebpf = sampler?.summary(summary.avg_cpu_usage);
  if (ebpf) summary = acc.finish({ ebpf });
  sink.write(summary);
  term.summary(summary);
  if (s.statsPath !== undefined) writeStatsFile(s.statsPath, summary);
  if (stopper.reason === 'error') throw new CliError('monitoring failed (see above); the summary covers the samples taken', EXIT.RUNTIME);
  return summary;
}
