// The session's use of the syscall tracer: open it (or degrade with one warning), and turn its
// cumulative snapshots into the typed `ebpf` blocks of samples and of the summary.
import type { EbpfBlock, EbpfCapability, EbpfLosses } from '../monitor/index.js';
import { buildBySyscall, buildSyscallsBlock, buildWindowBlock } from '../syscalls/index.js';
import type { AttachMode, SyscallSnapshot, SyscallTracer, TracerLosses } from '../tracer/index.js';
import { EbpfRequiredError, firstLine } from './errors.js';

export interface EbpfOptions {
  /** How the programs attach (default 'auto': raw tracepoints when the kernel has BTF, else tracefs). */
  attach?: 'auto' | AttachMode;
  /** Fail with EbpfRequiredError instead of continuing without syscall counts. */
  required?: boolean;
  /** Bound of the kernel's process table (default 16384). */
  maxProcesses?: number;
  /** Bound of the kernel's (process, syscall) table (default 65536). */
  maxCounts?: number;
  /** attach --cgroup: the cgroup's directory, so the kernel adds its processes as they come. */
  cgroup?: string;
}

export interface EbpfSetup {
  tracer?: SyscallTracer;
  capability: EbpfCapability;
  /** Detaches the programs and closes every descriptor the loader still holds. Idempotent. */
  close(): void;
}

const NONE: EbpfSetup = { capability: { available: false, reason: 'not requested (use --enable-ebpf)' }, close() {} };

/**
 * Opens the tracer when asked to. Must run before the child is spawned (counting starts at its exec).
 * Unavailable: a warning, or EbpfRequiredError when required. The tracer (and ffi-rs under it) is
 * imported only here, so plain monitoring never depends on it.
 */
export async function openEbpf(opts: EbpfOptions | undefined, warn: (msg: string) => void): Promise<EbpfSetup> {
  if (!opts) return NONE;
  let reason: string;
  let fix: string;
  try {
    const { SyscallTracer, EbpfUnavailableError, describeFailure } = await import('../tracer/index.js');
    const { closeAll } = await import('../loader/index.js');
    try {
      // Exited processes' counters leave the kernel's table as they are read: a long attach with
      // process churn neither fills it nor reads more each time.
      const tracer = SyscallTracer.open({ attach: opts.attach, maxProcesses: opts.maxProcesses, maxCounts: opts.maxCounts, cgroup: opts.cgroup, retireExited: true });
      return {
        tracer,
        capability: { available: true, mode: tracer.mode },
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
  if (opts.required) throw new EbpfRequiredError(reason, fix);
  warn(`eBPF unavailable: ${reason}; ${fix}; continuing without syscall counts`);
  return { capability: { available: false, reason }, close() {} };
}

/** A missing module or native library: a broken install, not a bug in the tracer. */
function isLoadFailure(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_DLOPEN_FAILED';
}

export function lossesOf(l: TracerLosses): EbpfLosses {
  return { syscalls_uncounted: l.syscallsUncounted, processes_untracked: l.processesUntracked, exits_unrecorded: l.exitsUnrecorded };
}

/** Reads the tracer once per sample and builds the blocks; remembers the previous read for windows. */
export class EbpfSampler {
  /** The snapshot of the previous sample: the start of the next window, and the summary's fallback. */
  private prev: SyscallSnapshot | undefined;
  private failed = false;

  constructor(
    private readonly tracer: SyscallTracer,
    /** performance.now() when monitoring started. */
    private readonly t0: number,
    private readonly warn: (msg: string) => void,
  ) {}

  /** The tracer's cumulative state now, or undefined once reading has failed (warned once). */
  read(): SyscallSnapshot | undefined {
    if (this.failed) return undefined;
    try {
      return this.tracer.read();
    } catch (err) {
      // Keep monitoring /proc metrics; the records just stop carrying syscall counts.
      this.failed = true;
      this.warn(`eBPF: reading the counters failed (${firstLine(err)}); continuing without syscall counts`);
      return undefined;
    }
  }

  /** The `ebpf` block of one sample from the snapshot `cur` (read for this sample). */
  sample(cur: SyscallSnapshot, cpuUsagePercent: number): EbpfBlock {
    const prev = this.prev;
    this.prev = cur;
    const window = buildWindowBlock(prev?.bySyscall ?? new Map(), cur.bySyscall, cur.atMs - (prev?.atMs ?? this.t0));
    const block = this.block(cur, cpuUsagePercent);
    block.syscalls.window = window;
    return block;
  }

  /** The summary's block: the whole run, every syscall's count. Reads once more for the tail. */
  summary(cpuUsagePercent: number): EbpfBlock | undefined {
    const cur = this.read() ?? this.prev;
    if (!cur) return undefined;
    const block = this.block(cur, cpuUsagePercent);
    block.syscalls.by_syscall = buildBySyscall(cur.bySyscall);
    return block;
  }

  /** The cumulative block since monitoring began. */
  private block(cur: SyscallSnapshot, cpuUsagePercent: number): EbpfBlock {
    const elapsedSec = Math.max(0, (cur.atMs - this.t0) / 1000);
    return {
      syscalls: buildSyscallsBlock(cur.bySyscall, elapsedSec, { cpuUsagePercent }),
      losses: lossesOf(cur.losses),
    };
  }
}
