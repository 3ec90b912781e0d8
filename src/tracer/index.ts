// Placeholder: the syscall tracer engine is being written; the signatures below are the contract.
import type { AttachMode, SyscallSnapshot, TracerOptions } from './types.js';
export type { AttachMode, SyscallSnapshot, TracerOptions } from './types.js';

/** eBPF counting cannot work here: `reason` says why in one line, `fix` what to do. */
export class EbpfUnavailableError extends Error {
  constructor(readonly reason: string, readonly fix: string) {
    super(`${reason}; ${fix}`);
    this.name = 'EbpfUnavailableError';
  }
}

export class SyscallTracer {
  readonly mode: AttachMode = 'raw';
  /** Loads maps and programs and attaches them; throws EbpfUnavailableError when it cannot. */
  static open(_opts: TracerOptions = {}): SyscallTracer {
    throw new EbpfUnavailableError('the eBPF tracer is not built yet', 'wait for the tracer to land');
  }
  /** `attach PID`: count PID and all its current and future descendants. */
  trackTree(_pid: number): void {}
  /**
   * `run`: calls `spawnFn` (which must spawn exactly one child, by absolute path); counting of that
   * child starts at its execve, and its descendants are added in the kernel as they fork.
   */
  spawnTracked<T>(spawnFn: () => T): T { return spawnFn(); }
  /** Cumulative counts since open. */
  read(): SyscallSnapshot { throw new Error('not built'); }
  /** Detaches and closes every fd. Idempotent. */
  close(): void {}
}
