// Expected failures carry their exit code and a one-line message; main prints them without a stack.
import { ReportAssetError, ReportInputError } from '../report/errors.js';
import { EbpfRequiredError, MonitoringFailedError, SpawnError, SyscallFilterError, EbpfOptionsError, TargetError } from '../session/errors.js';
import { FlameError } from '../flame/errors.js';
import { ExporterListenError } from '../export/address.js';
import { CgroupError } from '../monitor/cgroup.js';

/** Exit codes of denet-pure itself (for `run`, the child's own code is passed through otherwise). */
export const EXIT = {
  OK: 0,
  /** Failure while monitoring or reading input (I/O error, stats file without records). */
  RUNTIME: 1,
  /** Bad invocation: unknown option, bad value, missing subcommand or command. */
  USAGE: 2,
  /** `attach`: no such process (or cgroup). */
  NO_PROCESS: 3,
  /** --out / --stats cannot be written, --prometheus cannot be served. */
  OUTPUT: 4,
  /** --require-ebpf (or --stacks/--flamegraph, which need it) was given and eBPF counting cannot run here. */
  EBPF_REQUIRED: 5,
  /** `run`: the command exists but cannot be executed. */
  NOT_EXECUTABLE: 126,
  /** `run`: the command was not found. */
  NOT_FOUND: 127,
} as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.RUNTIME) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
    this.name = 'UsageError';
  }
}

/** What the user sees for an error: one line (null when it was already shown) and the exit code. */
export interface UserError {
  line: string | null;
  exitCode: number;
  /** Not an expected failure: a bug, worth its stack trace. */
  internal?: boolean;
}

/** The one place where errors become the user's line and exit code. */
export function toUserError(err: unknown): UserError {
  if (err instanceof CliError) return { line: err.message, exitCode: err.exitCode };
  if (err instanceof EbpfRequiredError) {
    return { line: `${err.message} (${err.requiredBy} given, nothing started)`, exitCode: EXIT.EBPF_REQUIRED };
  }
  if (err instanceof FlameError) return { line: err.message, exitCode: EXIT.RUNTIME };
  if (err instanceof MonitoringFailedError) {
    const cause = err.cause instanceof CliError ? err.cause : undefined;
    return { line: err.reported ? null : err.message, exitCode: cause?.exitCode ?? EXIT.RUNTIME };
  }
  if (err instanceof SpawnError) {
    return { line: err.message, exitCode: err.code === 'ENOENT' ? EXIT.NOT_FOUND : EXIT.NOT_EXECUTABLE };
  }
  if (err instanceof ExporterListenError) return { line: `--prometheus: ${err.message}`, exitCode: EXIT.OUTPUT };
  if (err instanceof CgroupError) {
    const exitCode = err.problem === 'not-found' ? EXIT.NO_PROCESS : err.problem === 'cgroup-v1' || err.problem === 'not-cgroup' ? EXIT.USAGE : EXIT.RUNTIME;
    return { line: err.message, exitCode };
  }
  if (err instanceof SyscallFilterError || err instanceof EbpfOptionsError) return { line: err.message, exitCode: EXIT.USAGE };
  // A file that cannot be reported on, or an installation without the report viewer.
  if (err instanceof ReportInputError || err instanceof ReportAssetError) return { line: err.message, exitCode: EXIT.RUNTIME };
  if (err instanceof TargetError) {
    return { line: err.message, exitCode: err.why === 'self' ? EXIT.USAGE : EXIT.NO_PROCESS };
  }
  const msg = err instanceof Error ? err.message : String(err);
  return { line: `internal error: ${msg.split('\n')[0]}`, exitCode: EXIT.RUNTIME, internal: true };
}
