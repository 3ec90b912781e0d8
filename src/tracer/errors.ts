// Turns whatever went wrong while setting up the tracer into one line: the cause and the fix.
import { BpfError } from '../loader/index.js';

/** eBPF counting cannot work here: `reason` says why in one line, `fix` what to do. */
export class EbpfUnavailableError extends Error {
  constructor(readonly reason: string, readonly fix: string, readonly detail?: string) {
    super(`${reason}; ${fix}`);
    this.name = 'EbpfUnavailableError';
  }
}

const PRIVILEGE_FIX = 'run as root (sudo), or grant CAP_BPF and CAP_PERFMON as shown in docs/ebpf.md';

export function describeFailure(err: unknown): EbpfUnavailableError {
  if (err instanceof EbpfUnavailableError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof BpfError) {
    switch (err.code) {
      case 'EPERM':
      case 'EACCES':
        return new EbpfUnavailableError(`${err.command} was refused (${err.code})`, PRIVILEGE_FIX, detail);
      case 'ENOSYS':
        return new EbpfUnavailableError('this kernel has no bpf() syscall', 'use a kernel built with CONFIG_BPF_SYSCALL=y', detail);
      case 'ENOMEM':
        return new EbpfUnavailableError(`${err.command} ran out of locked memory`, 'raise the memlock limit (ulimit -l unlimited) or use a kernel ≥ 5.11', detail);
      default:
        break;
    }
  }
  return new EbpfUnavailableError(`eBPF set-up failed: ${detail.split('\n')[0]}`, 'run `denet-pure diag` for a full diagnosis', detail);
}
