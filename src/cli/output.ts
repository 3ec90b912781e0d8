// Where output goes. Records: JSON Lines to stdout (--json) and/or a file (--out), one complete line
// per write call so that a reader never sees a torn line. Human output: stderr, so that stdout stays
// for the child's own output and for --json.
import { closeSync, fstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { formatLiveLine, formatSummaryTable, type LiveEbpf } from '../monitor/index.js';
import type { MonitorRecord, SampleRecord, SummaryRecord, TreeRecord } from '../monitor/types.js';
import { CliError, EXIT } from './errors.js';
import type { OutputTarget } from './resolve.js';

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream): boolean {
  const noColor = process.env.NO_COLOR;
  return Boolean(stream.isTTY) && (noColor === undefined || noColor === '');
}

function writeFully(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

export class RecordSink {
  private stdoutBroken = false;
  private fd: number | undefined;
  private readonly toStdout: boolean;
  private readonly path?: string;
  private readonly special: boolean;

  /**
   * Records to standard output (--json, or --out -) and/or a file. The file is opened (created or
   * truncated) at the first record, i.e. once the command has started: a failure before leaves no
   * file behind and an existing one untouched. Devices and FIFOs are written in place.
   */
  constructor(opts: { json: boolean; out?: OutputTarget }) {
    this.toStdout = opts.json || opts.out?.kind === 'stdout';
    if (opts.out?.kind === 'path') this.path = opts.out.path;
    this.special = opts.out?.kind === 'path' && Boolean(opts.out.special);
    if (this.toStdout) {
      // A reader that goes away (`| head`) must not crash the monitor or orphan the child.
      process.stdout.on('error', () => { this.stdoutBroken = true; });
    }
  }

  get active(): boolean {
    return this.path !== undefined || this.toStdout;
  }

  write(rec: MonitorRecord): void {
    if (!this.active) return;
    const line = JSON.stringify(rec) + '\n';
    // One write call per line on each destination: a line is never split or interleaved with ours.
    if (this.toStdout && !this.stdoutBroken) process.stdout.write(line);
    if (this.path === undefined) return;
    try {
      this.fd ??= openSync(this.path, 'w');
      writeFully(this.fd, line);
    } catch (err) {
      // Disk full or similar: a clear cause and exit code instead of an internal error.
      throw new CliError(`cannot write --out ${this.path}: ${(err as Error).message}`, EXIT.OUTPUT);
    }
  }

  /** Whether --out names a file that reopen() can start anew (not stdout, not a device or FIFO). */
  get reopenable(): boolean {
    return this.path !== undefined && !this.special;
  }

  /**
   * Log rotation: closes the file and opens its path again (appending, so a file the rotation tool
   * created empty is not clobbered), then, when it is empty, writes `headers` (env, metadata) to it
   * alone, so each file describes its own records. Called between records: a line is never split across the two files.
   */
  reopen(headers: readonly MonitorRecord[]): void {
    if (!this.reopenable || this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    try {
      this.fd = openSync(this.path!, 'a');
      // A file that was not rotated away (or was truncated in place) goes on as it is.
      if (fstatSync(this.fd).size === 0) for (const h of headers) writeFully(this.fd, JSON.stringify(h) + '\n');
    } catch (err) {
      throw new CliError(`cannot reopen --out ${this.path}: ${(err as Error).message}`, EXIT.OUTPUT);
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** Writes the --stats summary (see writeOutput). */
export function writeStatsFile(target: OutputTarget, summary: SummaryRecord): void {
  writeOutput('stats', target, JSON.stringify(summary, null, 2) + '\n');
}

/**
 * Writes a whole output (checked with checkWritable first). A file is replaced atomically (a reader
 * sees the old file, nothing, or the whole new one; through a symlink, the file it names is
 * replaced); a device or FIFO is written in place; `-` is standard output.
 */
export function writeOutput(option: string, target: OutputTarget, data: string | Uint8Array): void {
  if (target.kind === 'stdout') {
    process.stdout.write(data);
    return;
  }
  const { path } = target;
  if (target.special) {
    try {
      const fd = openSync(path, 'w');
      try { writeFully(fd, data); } finally { closeSync(fd); }
    } catch (err) {
      throw new CliError(`cannot write --${option} ${path}: ${(err as Error).message}`, EXIT.OUTPUT);
    }
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeFully(fd, data);
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

  sample(rec: TreeRecord | SampleRecord, elapsedMs: number, ebpf: LiveEbpf | null, waitingFor?: number): void {
    if (this.opts.quiet) return;
    // One column short of the terminal: a line of exactly full width wraps on some terminals.
    const width = this.live && this.stream.columns ? this.stream.columns - 1 : undefined;
    const text = formatLiveLine(rec, { color: this.color, elapsedMs, ebpf, width, waitingFor });
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
