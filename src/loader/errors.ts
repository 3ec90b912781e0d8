// Errors from the kernel, named the way one reads them in man pages: command, errno name, text.
import { errnoMessage, errnoName } from './ffi.js';

export class BpfError extends Error {
  readonly code: string;
  constructor(readonly command: string, readonly errno: number, detail?: string) {
    const code = errnoName(errno);
    super(`${command} failed: ${code} (${errnoMessage(errno)})${detail ? `: ${detail}` : ''}`);
    this.name = 'BpfError';
    this.code = code;
  }
}

/** The kernel verifier refused a program; `log` is the whole verifier log. */
export class VerifierRejectedError extends BpfError {
  constructor(
    readonly program: string,
    errno: number,
    readonly log: string,
    /** the lines of the log leading to the error, and the error line itself */
    readonly excerpt: string,
    /** index of the last instruction the verifier printed before failing, if any */
    readonly failedInsn: number | null,
  ) {
    super('BPF_PROG_LOAD', errno, `the kernel verifier rejected program "${program}"` +
      (failedInsn !== null ? ` at instruction ${failedInsn}` : '') +
      (excerpt ? `:\n${excerpt}` : ' (no verifier log; retry with logLevel: 1)'));
    this.name = 'VerifierRejectedError';
  }
}

/** Picks the failing part of a verifier log: ~`context` lines before the error line, and the error line. */
export function trimVerifierLog(log: string, context = 10): { excerpt: string; failedInsn: number | null } {
  const lines = log.split('\n').map((l) => l.trimEnd());
  // Trailing noise after the error: statistics and blank lines.
  let end = lines.length;
  while (end > 0) {
    const l = lines[end - 1]!;
    if (l === '' || /^processed \d+ insns/.test(l) || /^verification time/.test(l) || /^stack depth/.test(l)) end--;
    else break;
  }
  if (end === 0) return { excerpt: '', failedInsn: null };
  const start = Math.max(0, end - 1 - context);
  const kept = lines.slice(start, end);
  let failedInsn: number | null = null;
  for (let i = end - 1; i >= 0; i--) {
    const m = /^(\d+): \([0-9a-f]{2}\)/.exec(lines[i]!);
    if (m) { failedInsn = Number(m[1]); break; }
  }
  return { excerpt: kept.join('\n'), failedInsn };
}

/** What went wrong with tracefs, as a kind the caller can act on (the message says it in words). */
export type TracefsErrorKind =
  /** not mounted, and we were not to mount it */
  | 'not-mounted'
  /** mounting it was refused (needs CAP_SYS_ADMIN) */
  | 'mount-denied'
  /** unmounting failed */
  | 'umount-failed'
  /** mounted, but without events/: a kernel without CONFIG_FTRACE */
  | 'no-events'
  /** the tracepoint does not exist on this kernel */
  | 'no-tracepoint'
  /** a file under tracefs cannot be read by this user */
  | 'access-denied'
  /** a format file we cannot parse, or a name we refuse */
  | 'bad-input';

export class TracefsError extends Error {
  constructor(readonly kind: TracefsErrorKind, message: string, readonly path?: string) {
    super(message);
    this.name = 'TracefsError';
  }
}

/** The kernel's BTF is missing or unreadable: defined with the BTF reader, re-exported here. */
export { BtfUnavailableError } from '../btf/btf.js';
