// What `run` and `attach` share in the CLI: their options as SessionOptions, and the observer that
// turns the session's records into files (--out, --json, --stats) and terminal output.
import { liveEbpfOf, type MonitorRecord, type SummaryRecord } from '../monitor/index.js';
import { DEFAULT_MAX_COUNTS, DEFAULT_MAX_DETAILS, DEFAULT_MAX_PROCESSES } from '../tracer/limits.js';
import type { RecordInfo, SessionObserver, SessionOptions } from '../session/index.js';
import { UsageError } from './errors.js';
import type { GlobalOptions, StackCliOptions } from './options.js';
import type { StackOptions } from '../tracer/index.js';
import { RecordSink, Terminal, writeStatsFile, writeOutput } from './output.js';
import { flameGraphSvg, foldedText, stackLossWarning } from './stacks-output.js';
import { checkWritable, type OutputTarget } from './resolve.js';

export function sessionOptions(opts: GlobalOptions): SessionOptions {
  return {
    intervalMs: opts.intervalMs,
    maxIntervalMs: opts.maxIntervalMs,
    durationSec: opts.durationSec,
    includeChildren: !opts.excludeChildren,
    sinceProcessStart: opts.sinceProcessStart,
    writeEnv: opts.writeEnv,
    ebpf: opts.enableEbpf ? {
      attach: opts.ebpfAttach,
      // A flame graph cannot be drawn without the kernel's stacks: asking for one requires eBPF.
      required: opts.requireEbpf || opts.stacks !== undefined,
      requiredBy: opts.requireEbpf ? '--require-ebpf' : opts.stacks?.flamegraph !== undefined ? '--flamegraph' : '--stacks',
      maxProcesses: opts.maxProcesses, maxCounts: opts.maxCounts,
      sched: !opts.noOffCpu, net: !opts.noNet,
      maxDetails: opts.maxDetails, detail: !opts.countOnly, perThread: opts.perThread, trace: opts.trace, failedOnly: opts.failedOnly,
      stacks: opts.stacks ? stackTableSizes(opts.stacks) : undefined,
    } : undefined,
  };
}

/** --stacks-max N: N distinct stacks in the stack table, 4N (process, syscall, stack) entries, per drain period. */
function stackTableSizes(s: StackCliOptions): StackOptions {
  return { every: s.every, kernel: s.kernel, ...(s.max !== undefined ? { maxStacks: s.max, maxEntries: 4 * s.max } : {}) };
}

/** The CLI's outputs for one session. Validated (without creating anything) by prepare(), opened by open(). */
export class CliOutputs implements SessionObserver {
  readonly term: Terminal;
  private readonly sink: RecordSink;
  private readonly statsTarget?: OutputTarget;
  private readonly foldedTarget?: OutputTarget;
  private readonly flameTarget?: OutputTarget;
  private cmd: string[] | undefined;
  /** The env and metadata records: written again at the top of a reopened --out. */
  private readonly headers: MonitorRecord[] = [];
  private reopenError: unknown;

  /** Checks the outputs (creating nothing: --out is opened at the first record). */
  constructor(private readonly opts: GlobalOptions) {
    this.term = new Terminal({ quiet: opts.quiet, noUpdate: opts.noUpdate });
    const out = opts.out !== undefined ? checkWritable('out', opts.out) : undefined;
    const stats = opts.stats !== undefined ? checkWritable('stats', opts.stats) : undefined;
    const same = (a?: OutputTarget, b?: OutputTarget) => a?.kind === 'path' && b?.kind === 'path' && a.path === b.path && !a.special;
    if (same(out, stats)) throw new UsageError('--out and --stats name the same file; give them different names');
    const recordsOnStdout = opts.json || out?.kind === 'stdout';
    if (stats?.kind === 'stdout' && recordsOnStdout) {
      throw new UsageError('--stats - and the records (--json or --out -) would both go to standard output; send one of them to a file');
    }
    this.sink = new RecordSink({ json: opts.json, out });
    this.statsTarget = stats;
    const folded = opts.stacks?.folded !== undefined ? checkWritable('stacks', opts.stacks.folded) : undefined;
    const flame = opts.stacks?.flamegraph !== undefined ? checkWritable('flamegraph', opts.stacks.flamegraph) : undefined;
    const onStdout = [recordsOnStdout, stats?.kind === 'stdout', folded?.kind === 'stdout', flame?.kind === 'stdout'].filter(Boolean).length;
    if (onStdout > 1) throw new UsageError('two outputs would go to standard output (-); send all but one of them to files');
    for (const [name, t] of [['stacks', folded], ['flamegraph', flame]] as const) {
      if (t && (same(t, out) || same(t, stats))) throw new UsageError(`--${name} names the same file as --out or --stats; give it its own name`);
    }
    this.foldedTarget = folded;
    this.flameTarget = flame;
  }

  record(rec: MonitorRecord, info: RecordInfo): void {
    const sink = this.sink;
    if (rec.kind === 'env' && !sink.active) return;
    if (rec.kind === 'env' || rec.kind === 'metadata') this.headers.push(rec);
    // A failed reopen ends monitoring like any failed write (exit 4), at the next record.
    if (this.reopenError !== undefined) throw this.reopenError;
    sink.write(rec);
    if (rec.kind === 'metadata') this.cmd = rec.cmd;
    if (rec.kind === 'tree') this.term.sample(rec, info.elapsedMs, liveEbpfOf(rec.aggregated.ebpf), info.waitingFor);
    else if (rec.kind === 'sample') this.term.sample(rec, info.elapsedMs, liveEbpfOf(rec.ebpf));
    else if (rec.kind === 'summary') {
      this.warnLosses(rec);
      this.term.summary(rec);
      if (this.statsTarget !== undefined) writeStatsFile(this.statsTarget, rec);
      this.writeStacks(rec);
    }
  }

  /** --stacks and --flamegraph, from the summary's stacks (none when capture failed: warned already). */
  private writeStacks(rec: SummaryRecord): void {
    if (!this.foldedTarget && !this.flameTarget) return;
    const stacks = rec.ebpf?.stacks;
    if (!stacks) {
      this.term.warn('eBPF: no stacks were recorded; --stacks/--flamegraph files are not written');
      return;
    }
    const lossLine = stackLossWarning(stacks);
    if (lossLine) this.term.warn(lossLine);
    if (this.foldedTarget) writeOutput('stacks', this.foldedTarget, foldedText(stacks));
    if (this.flameTarget) writeOutput('flamegraph', this.flameTarget, flameGraphSvg(stacks, this.cmd));
  }

  warn(message: string): void {
    this.term.warn(message);
  }

  /** Whether --out names a regular file, which SIGHUP reopens (log rotation). */
  get reopenable(): boolean {
    return this.sink.reopenable;
  }

  /**
   * SIGHUP with --out FILE: the file is reopened by its name (a rotation tool has renamed it), so
   * records go on in a new file that starts with the env and metadata records. Runs between records.
   */
  reopen(): void {
    try {
      this.sink.reopen(this.headers);
    } catch (err) {
      this.reopenError ??= err;
    }
  }

  /** What the kernel could not record, with the exact figures of the whole run and what to raise. */
  private warnLosses(rec: SummaryRecord): void {
    const l = rec.ebpf?.losses;
    if (!l) return;
    const n = (x: number) => x.toLocaleString('en-US');
    if (l.processes_untracked > 0) {
      this.term.warn(`eBPF: ${n(l.processes_untracked)} processes of the tree were not tracked (the process table was full; raise --max-processes, now ${n(this.opts.maxProcesses ?? DEFAULT_MAX_PROCESSES)}): none of their syscalls is counted`);
    }
    if (l.syscalls_uncounted > 0) {
      this.term.warn(`eBPF: ${n(l.syscalls_uncounted)} syscalls were not counted (the (process, syscall) table was full; raise --max-counts, now ${n(this.opts.maxCounts ?? DEFAULT_MAX_COUNTS)})`);
    }
    if ((l.syscalls_untimed ?? 0) > 0) {
      this.term.warn(`eBPF: the errors and time of ${n(l.syscalls_untimed!)} syscalls were not recorded (the detail table was full; raise --max-details, now ${n(this.opts.maxDetails ?? DEFAULT_MAX_DETAILS)}): their calls are counted`);
    }
    if ((l.errnos_uncounted ?? 0) > 0) {
      this.term.warn(`eBPF: the errno of ${n(l.errnos_uncounted!)} failed syscalls was not recorded (the errno table was full; raise --max-details): their errors are counted`);
    }
    if ((l.thread_syscalls_uncounted ?? 0) > 0) {
      this.term.warn(`eBPF: ${n(l.thread_syscalls_uncounted!)} syscalls were not counted per thread (the thread tables were full; raise --max-counts or --max-processes)`);
    }
    const lost = (l.scheduler_events_uncounted ?? 0) + (l.thread_times_lost ?? 0);
    if (lost > 0) {
      this.term.warn(`eBPF: off-CPU time is short: ${n(l.scheduler_events_uncounted ?? 0)} scheduler events and ${n(l.thread_times_lost ?? 0)} exited threads were not counted (a kernel table was full; raise --max-processes)`);
    }
    if ((l.socket_bytes_uncounted ?? 0) > 0) {
      this.term.warn(`eBPF: ${n(l.socket_bytes_uncounted!)} socket bytes were not counted (the process table was full; raise --max-processes)`);
    }
    if (l.exits_unrecorded > 0) {
      this.term.warn(`eBPF: the final figures of ${n(l.exits_unrecorded)} exited processes were not recorded (the exit table was full; raise --max-processes): their last /proc figures count instead`);
    }
  }

  close(): void {
    this.term.endLine();
    this.sink.close();
  }
}
