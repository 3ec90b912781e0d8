// What can end a session early, as types: the CLI maps each to the user's line and exit code in one
// place (src/cli/errors.ts), embedders catch the class they care about.

/** eBPF counting was required (`ebpf.required`) but cannot run here; nothing was started. */
export class EbpfRequiredError extends Error {
  /** `requiredBy`: what made eBPF necessary (the option the user gave). */
  constructor(readonly reason: string, readonly fix: string, readonly requiredBy = '--require-ebpf') {
    super(`eBPF unavailable: ${reason}; ${fix}`);
    this.name = 'EbpfRequiredError';
  }
}

/**
 * Monitoring stopped before the target ended, e.g. the observer could not write a record (disk full).
 * The summary of what was sampled has still been delivered; `cause` is what went wrong.
 */
export class MonitoringFailedError extends Error {
  /** The cause has already been shown to the user (run warns while it waits for the command). */
  reported = false;
  constructor(override readonly cause: unknown) {
    super(`monitoring failed: ${firstLine(cause)}`);
    this.name = 'MonitoringFailedError';
  }
}

/** The command of `run` could not be started (not found, not executable, bad interpreter). */
export class SpawnError extends Error {
  constructor(readonly command: string, readonly code: string, readonly hint?: string) {
    super(`cannot execute ${command}: ${code}${hint ? ` (${hint})` : ''}`);
    this.name = 'SpawnError';
  }
}

/** The process to attach to does not exist, has exited, or is this process. */
export class TargetError extends Error {
  /** `ended`: it was there when asked for, but exited before monitoring began. */
  constructor(readonly pid: number, readonly why: 'no-such-process' | 'exited' | 'ended' | 'self') {
    super(why === 'self' ? 'cannot attach to denet-pure itself'
      : why === 'exited' ? `process ${pid} has already exited (a zombie waiting for its parent); nothing to monitor`
        : why === 'ended' ? `process ${pid} exited while monitoring was being set up; nothing to monitor`
        : `no such process: ${pid} (see ps -e for running PIDs)`);
    this.name = 'TargetError';
  }
}

/** `trace` named words that are neither a syscall category nor a syscall of this architecture; nothing was started. */
export class SyscallFilterError extends Error {
  constructor(readonly unknown: string[]) {
    super(`unknown syscall or category ${unknown.map((w) => `'${w}'`).join(', ')} in the trace filter; categories: file (file_io), memory, process, network, time, ipc, security, signal, system, other`);
    this.name = 'SyscallFilterError';
  }
}

/** Two eBPF options that cannot work together (e.g. failedOnly with stacks); nothing was started. */
export class EbpfOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EbpfOptionsError';
  }
}

export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
