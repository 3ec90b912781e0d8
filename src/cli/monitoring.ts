// What `run` and `attach` share in the CLI: their options as SessionOptions, and the observer that
// turns the session's records into files (--out, --json, --stats) and terminal output.
import { liveEbpfOf, type MonitorRecord } from '../monitor/index.js';
import type { RecordInfo, SessionObserver, SessionOptions } from '../session/index.js';
import { UsageError } from './errors.js';
import type { GlobalOptions } from './options.js';
import { RecordSink, Terminal, writeStatsFile } from './output.js';
import { checkWritable } from './resolve.js';

export function sessionOptions(opts: GlobalOptions): SessionOptions {
  return {
    intervalMs: opts.intervalMs,
    maxIntervalMs: opts.maxIntervalMs,
    durationSec: opts.durationSec,
    includeChildren: !opts.excludeChildren,
    sinceProcessStart: opts.sinceProcessStart,
    writeEnv: opts.writeEnv,
    ebpf: opts.enableEbpf ? { attach: opts.ebpfAttach, required: opts.requireEbpf } : undefined,
  };
}

/** The CLI's outputs for one session. Validated (without creating anything) by prepare(), opened by open(). */
export class CliOutputs implements SessionObserver {
  readonly term: Terminal;
  private sink: RecordSink | undefined;
  private readonly outPath?: string;
  private readonly statsPath?: string;

  constructor(private readonly opts: GlobalOptions) {
    this.term = new Terminal({ quiet: opts.quiet, noUpdate: opts.noUpdate });
    this.outPath = opts.out !== undefined ? checkWritable('out', opts.out) : undefined;
    this.statsPath = opts.stats !== undefined ? checkWritable('stats', opts.stats) : undefined;
    if (this.outPath !== undefined && this.outPath === this.statsPath) {
      throw new UsageError('--out and --stats name the same file; give them different names');
    }
  }

  /** Opens --out. Call once everything else that can fail before the start has passed. */
  open(): void {
    this.sink = RecordSink.open({ json: this.opts.json, out: this.outPath });
  }

  record(rec: MonitorRecord, info: RecordInfo): void {
    const sink = this.sink;
    if (rec.kind === 'env' && !sink?.active) return;
    sink?.write(rec);
    if (rec.kind === 'tree') this.term.sample(rec, info.elapsedMs, liveEbpfOf(rec.aggregated.ebpf));
    else if (rec.kind === 'sample') this.term.sample(rec, info.elapsedMs, liveEbpfOf(rec.ebpf));
    else if (rec.kind === 'summary') {
      this.term.summary(rec);
      if (this.statsPath !== undefined) writeStatsFile(this.statsPath, rec);
    }
  }

  warn(message: string): void {
    this.term.warn(message);
  }

  /** The command never started: no --out file is left behind. */
  abandon(): void {
    this.term.endLine();
    this.sink?.abandon();
  }

  close(): void {
    this.term.endLine();
    this.sink?.close();
  }
}
