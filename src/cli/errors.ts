// Expected failures carry their exit code and a one-line message; main prints them without a stack.

/** Exit codes of denet-pure itself (for `run`, the child's own code is passed through otherwise). */
export const EXIT = {
  OK: 0,
  /** Failure while monitoring or reading input (I/O error, stats file without records). */
  RUNTIME: 1,
  /** Bad invocation: unknown option, bad value, missing subcommand or command. */
  USAGE: 2,
  /** `attach`: no such process. */
  NO_PROCESS: 3,
  /** --out / --stats cannot be written. */
  OUTPUT: 4,
  /** --require-ebpf was given and eBPF counting cannot run here. */
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

/** The one line (with newline) a CliError prints on stderr. */
export function errorLine(err: CliError): string {
  return `denet-pure: ${err.message}\n`;
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
    this.name = 'UsageError';
  }
}
