// Where output goes. Records: JSON Lines to stdout (--json) and/or a file (--out), one complete line
// per write call so that a reader never sees a torn line. Human output: stderr, so that stdout stays
// for the child's own output and for --json.
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { formatLiveLine, formatSummaryTable } from '../monitor/index.js';
import type { MonitorRecord, SampleRecord, SummaryRecord, TreeRecord } from '../monitor/types.js';
import type { LiveEbpf } from './ebpf.js';
import { CliError, EXIT } from './errors.js';

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream): boolean {
  const noColor = process.env.NO_COLOR;
  return Boolean(stream.isTTY) && (noColor === undefined || noColor === '');
}

function writeFully(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

export class RecordSink {
  private stdoutBroken = false;
  private constructor(private fd: number | undefined, private readonly toStdout: boolean, private readonly path?: string) {
    if (toStdout) {
      // A reader that goes away (`| head`) must not crash the monitor or orphan the child.
      process.stdout.on('error', () => { this.stdoutBroken = true; });
    }
  }

  /** Opens --out for writing (truncating). Call only after every other check has passed. */
  static open(opts: { json: boolean; out?: string }): RecordSink {
    let fd: number | undefined;
    if (opts.out !== undefined) {
      try {
        fd = openSync(opts.out, 'w');
      } catch (err) {
        throw new CliError(`cannot write --out ${opts.out}: ${(err as Error).message}`, EXIT.OUTPUT);
      }
    }
    return new RecordSink(fd, opts.json, opts.out);
  }

  get active(): boolean {
    return this.fd !== undefined || this.toStdout;
  }

  write(rec: MonitorRecord): void {
    if (!this.active) return;
    const line = JSON.stringify(rec) + '\n';
    // One write call per line on each destination: a line is never split or interleaved with ours.
    if (this.toStdout && !this.stdoutBroken) process.stdout.write(line);
    if (this.fd === undefined) return;
    try {
      writeFully(this.fd, line);
    } catch (err) {
      // Disk full or similar: a clear cause and exit code instead of an internal error.
      throw new CliError(`cannot write --out ${this.path}: ${(err as Error).message}`, EXIT.OUTPUT);
    }
  }

  /** The command never started: remove the --out file we created rather than leave an empty one. */
  abandon(): void {
    this.close();
    if (this.path !== undefined) {
      try { unlinkSync(this.path); } catch { /* already gone */ }
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** Writes the --stats summary atomically: a reader sees the old file, nothing, or the whole summary. */
export function writeStatsFile(path: string, summary: SummaryRecord): void {
  writeFileAtomic('stats', path, JSON.stringify(summary, null, 2) + '\n');
}

/** Writes `text` to `path` through a temporary file and a rename; failures name the option. */
export function writeFileAtomic(option: string, path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFully(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw new CliError(`cannot write --${option} ${path}: ${(err as Error).message}`, EXIT.OUTPUT);
  }
}

/** The human side: a live line in place on a terminal, plain lines otherwise, a table at the end. */
export class Terminal {
  private readonly stream = process.stderr;
  private readonly live: boolean;
  private readonly color: boolean;
  private lineOpen = false;

  constructor(private readonly opts: { quiet: boolean; noUpdate: boolean }) {
    this.live = Boolean(this.stream.isTTY) && !opts.noUpdate;
    this.color = useColor(this.stream);
    // A reader of stderr that went away (`2>&1 | head`) must not end the monitoring: the records
    // and the summary still go to their files. Later writes to a broken pipe are dropped.
    this.stream.on('error', () => {});
  }

  sample(rec: TreeRecord | SampleRecord, elapsedMs: number, ebpf: LiveEbpf | null): void {
    if (this.opts.quiet) return;
    // One column short of the terminal: a line of exactly full width wraps on some terminals.
    const width = this.live && this.stream.columns ? this.stream.columns - 1 : undefined;
    const text = formatLiveLine(rec, { color: this.color, elapsedMs, ebpf, width });
    if (this.live) {
      // \r + erase-to-end rewrites the same line; the width keeps it from wrapping.
      this.stream.write(`\r${text}\x1b[K`);
      this.lineOpen = true;
    } else {
      this.stream.write(text + '\n');
    }
  }

  /** Warnings are printed even with --quiet: they say the numbers are incomplete or degraded. */
  warn(message: string): void {
    this.endLine();
    this.stream.write(`denet-pure: ${message}\n`);
  }

  summary(summary: SummaryRecord): void {
    this.endLine();
    if (this.opts.quiet) return;
    this.stream.write(formatSummaryTable(summary, { color: this.color }));
  }

  endLine(): void {
    if (this.lineOpen) {
      this.stream.write('\n');
      this.lineOpen = false;
    }
  }
}
