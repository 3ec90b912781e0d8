// The CLI's use of the syscall tracer: open it (or degrade with one warning), and turn its cumulative
// snapshots into the per-sample and whole-run `ebpf` blocks of the records.
import { buildBySyscall, buildSyscallsBlock, buildWindowBlock, type WindowBlock } from '../syscalls/index.js';
import type { SyscallSnapshot, SyscallTracer } from '../tracer/index.js';
import { CliError, EXIT } from './errors.js';
import type { GlobalOptions } from './options.js';

/** What the live line shows: the syscall rate of the last interval and its busiest category. */
export interface LiveEbpf {
  ratePerSec: number;
  topCategory: string;
}

export function liveEbpf(block: Record<string, unknown> | undefined): LiveEbpf | null {
  const window = (block?.syscalls as { window?: WindowBlock } | undefined)?.window;
  if (!window) return null;
  let topCategory = '';
  let best = 0;
  for (const [cat, n] of Object.entries(window.by_category)) {
    if (n > best) [best, topCategory] = [n, cat];
  }
  return { ratePerSec: window.rate_per_sec, topCategory };
}

export interface EbpfCapability {
  available: boolean;
  mode?: string;
  reason?: string;
}

export interface EbpfSetup {
  tracer?: SyscallTracer;
  /** Closes every fd the loader still holds (the safety net after tracer.close()). */
  releaseAll?: () => void;
  capability: EbpfCapability;
}

/**
 * Opens the tracer when asked to. Must run before the child is spawned (counting starts at its exec).
 * Without --require-ebpf an unavailable tracer is a warning; with it, an error before anything starts.
 * The tracer (and ffi-rs under it) is loaded only here, so plain monitoring never depends on it.
 */
export async function openTracer(opts: GlobalOptions, warn: (msg: string) => void): Promise<EbpfSetup> {
  if (!opts.enableEbpf) return { capability: { available: false, reason: 'not requested (use --enable-ebpf)' } };
  let reason: string;
  let fix: string;
  try {
    const { SyscallTracer, EbpfUnavailableError } = await import('../tracer/index.js');
    const { closeAll } = await import('../loader/index.js');
    try {
      const tracer = SyscallTracer.open({ attach: opts.ebpfAttach });
      return { tracer, releaseAll: closeAll, capability: { available: true, mode: tracer.mode } };
    } catch (err) {
      closeAll();
      if (!(err instanceof EbpfUnavailableError)) throw err;
      ({ reason, fix } = err);
    }
  } catch (err) {
    if (!isLoadFailure(err)) throw err;
    reason = `the eBPF engine could not be loaded (${firstLine(err)})`;
    fix = 'reinstall the package (npm ci) on a supported Linux machine';
  }
  if (opts.requireEbpf) {
    throw new CliError(`eBPF unavailable: ${reason}; ${fix} (--require-ebpf given, nothing started)`, EXIT.EBPF_REQUIRED);
  }
  warn(`eBPF unavailable: ${reason}; ${fix}; continuing without syscall counts`);
  return { capability: { available: false, reason } };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** A missing module or native library: a broken install, not a bug in the tracer. */
function isLoadFailure(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_DLOPEN_FAILED';
}

/** Reads the tracer once per sample and builds the blocks; remembers the previous read for windows. */
export class EbpfSampler {
  /** The snapshot of the previous sample: the start of the next window, and the summary's fallback. */
  private prev: SyscallSnapshot | undefined;
  private warnedDropped = false;
  private failed = false;

  constructor(
    private readonly tracer: SyscallTracer,
    /** performance.now() when monitoring started. */
    private readonly t0: number,
    private readonly warn: (msg: string) => void,
  ) {}

  private read(): SyscallSnapshot | undefined {
    if (this.failed) return undefined;
    try {
      const snap = this.tracer.read();
      if (snap.dropped > 0 && !this.warnedDropped) {
        this.warnedDropped = true;
        this.warn(`eBPF: ${snap.dropped} syscall events were not counted (a kernel table is full); counts are incomplete`);
      }
      return snap;
    } catch (err) {
      // Keep monitoring /proc metrics; the records just stop carrying syscall counts.
      this.failed = true;
      this.warn(`eBPF: reading the counters failed (${(err as Error).message}); continuing without syscall counts`);
      return undefined;
    }
  }

  /** The `ebpf` object of one sample record, or undefined when no counts can be read. */
  sample(cpuUsagePercent: number): Record<string, unknown> | undefined {
    const cur = this.read();
    if (!cur) return undefined;
    const prev = this.prev;
    this.prev = cur;
    const window = buildWindowBlock(prev?.bySyscall ?? new Map(), cur.bySyscall, cur.atMs - (prev?.atMs ?? this.t0));
    return this.block(cur, cpuUsagePercent, { window });
  }

  /** The summary's block: the whole run, with every syscall's count. Reads once more for the tail. */
  summary(cpuUsagePercent: number): Record<string, unknown> | undefined {
    const cur = this.read() ?? this.prev;
    if (!cur) return undefined;
    return this.block(cur, cpuUsagePercent, { by_syscall: buildBySyscall(cur.bySyscall) });
  }

  /** The cumulative `syscalls` block since monitoring began, with `extra` fields, and `dropped` when some were. */
  private block(cur: SyscallSnapshot, cpuUsagePercent: number, extra: Record<string, unknown>): Record<string, unknown> {
    const elapsedSec = Math.max(0, (cur.atMs - this.t0) / 1000);
    const block: Record<string, unknown> = {
      syscalls: { ...buildSyscallsBlock(cur.bySyscall, elapsedSec, { cpuUsagePercent }), ...extra },
    };
    if (cur.dropped > 0) block.dropped = cur.dropped;
    return block;
  }
}
