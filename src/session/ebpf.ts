// The session's use of the syscall tracer: open it (or degrade with one warning), and turn its
// cumulative snapshots into the typed `ebpf` blocks of samples and of the summary.
import type { Capability, EbpfBlock, EbpfCapability, EbpfFilter, EbpfLosses, ProcessRecord, SyscallRow } from '../monitor/index.js';
import { buildBySyscall, buildSyscallsBlock, buildWindowBlock, selectSyscalls, type TimeEvidence } from '../syscalls/index.js';
import type { ActivityLosses, AttachMode, StackOptions, SyscallSnapshot, SyscallTracer, TracerLosses } from '../tracer/index.js';
import { EbpfOptionsError, EbpfRequiredError, SyscallFilterError, firstLine } from './errors.js';
import { ExitedProcesses, ProcessNames, buildByThread, buildTable, detailTotals } from './ebpf-detail.js';
import { StackCollector } from './stacks.js';

export interface EbpfOptions {
  /** How the programs attach (default 'auto': raw tracepoints when the kernel has BTF, else tracefs). */
  attach?: 'auto' | AttachMode;
  /** Fail with EbpfRequiredError instead of continuing without syscall counts. */
  required?: boolean;
  /** What makes it required, for the error (default '--require-ebpf'). */
  requiredBy?: string;
  /** Bound of the kernel's process table (default 16384). */
  maxProcesses?: number;
  /** Bound of the kernel's (process, syscall) table (default 65536). */
  maxCounts?: number;
  /** attach --cgroup: the cgroup's directory, so the kernel adds its processes as they come. */
  cgroup?: string;
  /** Off-CPU and run-queue time of the tree (scheduler programs; default true). */
  sched?: boolean;
  /** The tree's own socket bytes (socket programs; default true). */
  net?: boolean;
  /** Capture the stacks of the tree's syscalls (summary: ebpf.stacks). */
  stacks?: StackOptions;
  /** Errors and time per syscall, from a second program at the syscall's return (default true); false: counts only. */
  detail?: boolean;
  /** Count per thread as well: the summary gets `by_thread`. */
  perThread?: boolean;
  /** Count only these: categories (file_io, or strace's `file`; network, ...) and syscall names. */
  trace?: readonly string[];
  /** Count only the calls that fail (implies detail). */
  failedOnly?: boolean;
  /** Bound of the kernel's detail tables: (process, syscall) pairs with errors and time (default 16384). */
  maxDetails?: number;
}

/** The filter of the options, as the records report it (undefined: none). */
export function filterOf(opts: EbpfOptions): EbpfFilter | undefined {
  if (!opts.trace && !opts.failedOnly) return undefined;
  return { ...(opts.trace ? { trace: [...opts.trace] } : {}), ...(opts.failedOnly ? { failed_only: true } : {}) };
}

/** What the run has besides syscall counts: off-CPU time and the tree's own socket bytes, or why not. */
export interface ActivityCapabilities {
  off_cpu: Capability;
  net: Capability;
}

export interface EbpfSetup {
  tracer?: SyscallTracer;
  capability: EbpfCapability;
  activity: ActivityCapabilities;
  /** Detaches the programs and closes every descriptor the loader still holds. Idempotent. */
  close(): void;
}

/** Without the tracer: why the scheduler and socket figures are missing. */
function noActivity(why: string): ActivityCapabilities {
  return {
    off_cpu: { available: false, reason: `off-CPU and run-queue time need eBPF (${why})` },
    net: { available: false, reason: `per-tree network is unavailable: it needs eBPF (${why}); netns_rx_bytes/netns_tx_bytes count the whole network namespace` },
  };
}

const NONE: EbpfSetup = { capability: { available: false, reason: 'not requested (use --enable-ebpf)' }, activity: noActivity('use --enable-ebpf'), close() {} };

/** The tracer's optional groups as record capabilities (a group left out says why). */
function activityOf(tracer: SyscallTracer): ActivityCapabilities {
  const g = tracer.activityGroups();
  const cap = (a: { available: boolean; reason?: string }, what: string): Capability =>
    a.available ? { available: true } : { available: false, reason: `${what}: ${a.reason ?? 'unavailable'}` };
  return {
    off_cpu: cap(g.sched, 'off-CPU and run-queue time'),
    net: cap(g.net, 'per-tree network is unavailable (netns_rx_bytes/netns_tx_bytes count the whole network namespace)'),
  };
}

/**
 * Opens the tracer when asked to. Must run before the child is spawned (counting starts at its exec).
 * Unavailable: a warning, or EbpfRequiredError when required. The tracer (and ffi-rs under it) is
 * imported only here, so plain monitoring never depends on it.
 */
export async function openEbpf(opts: EbpfOptions | undefined, warn: (msg: string) => void): Promise<EbpfSetup> {
  if (!opts) return NONE;
  // A stack is taken at the syscall's entry, before its result is known (docs/stacks.md).
  if (opts.failedOnly && opts.stacks) {
    throw new EbpfOptionsError('failedOnly counts calls at their return, but stacks are taken at their entry, before the result is known; give one of them (trace narrows stacks to chosen syscalls)');
  }
  let trace: string[] | undefined;
  if (opts.trace) {
    const sel = selectSyscalls(opts.trace);
    if (sel.unknown.length > 0) throw new SyscallFilterError(sel.unknown);
    trace = sel.names;
  }
  let reason: string;
  let fix: string;
  try {
    const { SyscallTracer, EbpfUnavailableError, describeFailure } = await import('../tracer/index.js');
    const { closeAll } = await import('../loader/index.js');
    try {
      const tracer = SyscallTracer.open({
        attach: opts.attach, maxProcesses: opts.maxProcesses, maxCounts: opts.maxCounts, sched: opts.sched, net: opts.net,
        maxDetails: opts.maxDetails, detail: opts.detail, perThread: opts.perThread, trace, failedOnly: opts.failedOnly,
        stacks: opts.stacks,
        // Exited processes' counters leave the kernel's table as they are read: a long attach with
        // process churn neither fills it nor reads more each time.
        cgroup: opts.cgroup, retireExited: true,
      });
      const filter = filterOf(opts);
      return {
        tracer,
        capability: {
          available: true, mode: tracer.mode, detail: tracer.features.detail,
          ...(tracer.features.perThread ? { per_thread: true } : {}), ...(filter ? { filter } : {}),
        },
        activity: activityOf(tracer),
        close() {
          try { tracer.close(); } catch { /* half-closed: closeAll releases the rest */ }
          closeAll();
        },
      };
    } catch (err) {
      closeAll();
      ({ reason, fix } = err instanceof EbpfUnavailableError ? err : describeFailure(err));
    }
  } catch (err) {
    if (!isLoadFailure(err)) throw err;
    reason = `the eBPF engine could not be loaded (${firstLine(err)})`;
    fix = 'reinstall the package (npm ci) on a supported Linux machine';
  }
  if (opts.required) throw new EbpfRequiredError(reason, fix, opts.requiredBy);
  warn(`eBPF unavailable: ${reason}; ${fix}; continuing without syscall counts`);
  return { capability: { available: false, reason }, activity: noActivity('eBPF is unavailable here'), close() {} };
}

/** A missing module or native library: a broken install, not a bug in the tracer. */
function isLoadFailure(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_DLOPEN_FAILED';
}

export function lossesOf(l: TracerLosses, a?: ActivityLosses, has: { detail: boolean; perThread: boolean } = { detail: false, perThread: false }): EbpfLosses {
  const out: EbpfLosses = {
    syscalls_uncounted: l.syscallsUncounted, processes_untracked: l.processesUntracked, exits_unrecorded: l.exitsUnrecorded,
    ...(has.detail ? { syscalls_untimed: l.returnsUntimed, errnos_uncounted: l.errnosUncounted } : {}),
    ...(has.perThread ? { thread_syscalls_uncounted: l.threadCallsUncounted } : {}),
  };
  if (a) {
    out.scheduler_events_uncounted = a.schedEventsLost;
    out.thread_times_lost = a.threadTimeLost;
    out.socket_bytes_uncounted = a.netBytesLost;
  }
  return out;
}

/** Reads the tracer once per sample and builds the blocks; remembers the previous read for windows. */
export class EbpfSampler {
  /** The snapshot of the previous sample: the start of the next window, and the summary's fallback. */
  private prev: SyscallSnapshot | undefined;
  /** The stack drain that went with each read (its period ends the stacks of that read's sample). */
  private readonly stackPeriods = new WeakMap<SyscallSnapshot, number>();
  private failed = false;
  /** Stack capture, when the tracer does it. */
  readonly stacks: StackCollector | undefined;
  private readonly names = new ProcessNames();
  /** What the kernel was told to count, for the summary (undefined: everything). */
  private readonly filter: EbpfFilter | undefined;
  /** The processes whose counts have left the kernel's tables (exited), for the summary's by_process. */
  private readonly exited = new ExitedProcesses();

  constructor(
    private readonly tracer: SyscallTracer,
    /** performance.now() when monitoring started. */
    private readonly t0: number,
    private readonly warn: (msg: string) => void,
    opts: {
      /** What the kernel was told to count, for the summary (undefined: everything). */
      filter?: EbpfFilter;
      /** Stack capture: the sampling period, what names the target's frames, the longest time between drains. */
      stacks?: { every: number; startedAtMs: number; executable?: string; drainMs?: number };
    } = {},
  ) {
    this.filter = opts.filter;
    if (tracer.capturesStacks) {
      const s = opts.stacks;
      this.stacks = new StackCollector(tracer, s?.every ?? 1, { startedAtMs: s?.startedAtMs ?? Date.now(), executable: s?.executable, drainMs: s?.drainMs });
    }
  }

  /** A process record of the tree: its parent and command name the per-process table when the kernel has none. */
  noteProcess(p: ProcessRecord): void {
    // Needed only while its counts are in the kernel: a record that comes after they left (the
    // process kept in `exited`, named already) would stay for nothing.
    if (!this.prev || this.prev.byProcess.has(p.pid)) this.names.noteRecord(p);
  }

  /** The tracer's cumulative state now, or undefined once reading has failed (warned once). */
  read(): SyscallSnapshot | undefined {
    if (this.failed) return undefined;
    try {
      // The stack tables drained with the counts, switched just before them: a sample's stacks end
      // where its counts start.
      const snap = this.tracer.read({ drainStacks: this.stacks?.draining ?? false });
      if (snap.stacks) this.stackPeriods.set(snap, this.stacks!.took(snap.stacks.entries, snap.stacks.period));
      this.names.noteSnapshot(snap);
      return snap;
    } catch (err) {
      // Keep monitoring /proc metrics; the records just stop carrying syscall counts.
      this.failed = true;
      this.warn(`eBPF: reading the counters failed (${firstLine(err)}); continuing without syscall counts`);
      return undefined;
    }
  }

  /**
   * The `ebpf` block of one sample from the snapshot `cur` (read for this sample). `time`: where the
   * tree's threads spent the time since monitoring began (with the scheduler programs), which the
   * classification uses.
   */
  sample(cur: SyscallSnapshot, cpuUsagePercent: number, time?: TimeEvidence): EbpfBlock {
    const prev = this.prev;
    this.prev = cur;
    this.stacks?.mark(this.stackPeriods.get(cur));
    this.exited.note(prev, cur, this.names);
    const window = buildWindowBlock(prev?.bySyscall ?? new Map(), cur.bySyscall, cur.atMs - (prev?.atMs ?? this.t0));
    const block = this.block(cur, cpuUsagePercent, time);
    const now = detailTotals(cur);
    if (now) {
      const before = detailTotals(prev) ?? { errors: 0, timeNs: 0 };
      block.syscalls.window = { ...window, errors: now.errors - before.errors, time_us: Math.round((now.timeNs - before.timeNs) / 1000) };
    } else {
      block.syscalls.window = window;
    }
    return block;
  }

  /** Detail mode: the strace -c style table of the snapshot `cur` (cumulative); undefined without detail. */
  table(cur: SyscallSnapshot): SyscallRow[] | undefined {
    return cur.timing ? buildTable(cur) : undefined;
  }

  /** The summary's block: the whole run, every syscall's count. */
  summary(cpuUsagePercent: number, time?: TimeEvidence): EbpfBlock | undefined {
    // The last sample's counts, as every other figure of the summary: so the samples' windows add up to
    // it (a file cut short rebuilds the same summary). Read anew only when no sample was taken.
    const cur = this.prev ?? this.read();
    if (!cur) return undefined;
    const block = this.block(cur, cpuUsagePercent, time);
    block.syscalls.by_syscall = buildBySyscall(cur.bySyscall);
    if (cur.timing) block.syscalls.table = buildTable(cur);
    const { list, rest } = this.exited.byProcess(cur, this.names);
    block.by_process = list;
    if (rest) block.by_process_rest = rest;
    const threads = buildByThread(cur);
    if (threads) block.by_thread = threads;
    if (this.filter) block.filter = this.filter;
    try {
      const stacks = this.stacks?.finish();
      if (stacks) block.stacks = stacks;
    } catch (err) {
      this.warn(`eBPF: the stacks could not be read or named (${firstLine(err)}); the summary has none`);
    }
    return block;
  }

  /** The cumulative block since monitoring began. */
  private block(cur: SyscallSnapshot, cpuUsagePercent: number, time?: TimeEvidence): EbpfBlock {
    const elapsedSec = Math.max(0, (cur.atMs - this.t0) / 1000);
    return {
      syscalls: buildSyscallsBlock(cur.bySyscall, elapsedSec, { cpuUsagePercent, time }),
      losses: lossesOf(cur.losses, cur.activity?.losses, this.tracer.features),
    };
  }
}

/** The classification's time evidence from a record's cumulative figures (undefined without the scheduler programs). */
export function timeEvidenceOf(m: { cpu_time_secs?: number; off_cpu_secs?: number; io_wait_secs?: number; runq_wait_secs?: number }): TimeEvidence | undefined {
  if (m.off_cpu_secs === undefined || m.cpu_time_secs === undefined) return undefined;
  return { cpuSecs: m.cpu_time_secs, offCpuSecs: m.off_cpu_secs, ioWaitSecs: m.io_wait_secs ?? 0, runqWaitSecs: m.runq_wait_secs ?? 0 };
}
