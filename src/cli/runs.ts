// Reading run files for the policy commands (diff, seccomp): the file or stdin, the library's
// typed errors as one-line CLI errors, and the caveats about a file said once on stderr.
import { readFileSync } from 'node:fs';
import { loadRun, LimitSyntaxError, PolicyError, RunFileError, type RunData } from '../policy/index.js';
import { CliError, EXIT, UsageError } from './errors.js';

export function readRun(file: string, warn: (msg: string) => void): RunData {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new CliError(`cannot read ${file}: ${why}`);
  }
  const run = asCliError(() => loadRun(text, file === '-' ? 'stdin' : file));
  if (run.skipped) warn(`${run.source}: ${run.skipped.count} line${run.skipped.count > 1 ? 's' : ''} skipped (${run.skipped.first})`);
  if (run.origin === 'rebuilt') {
    warn(`${run.source}: no summary line (the run was cut short); summary rebuilt from its ${run.summary.sample_count} samples${run.syscallsPartial ? ', per-syscall counts only for the most frequent syscalls' : ''}`);
  }
  return run;
}

/** Runs `fn`, turning the policy layer's typed errors into CLI errors with their exit codes. */
export function asCliError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof LimitSyntaxError) throw new UsageError(err.message);
    if (err instanceof RunFileError || err instanceof PolicyError) throw new CliError(err.message, EXIT.RUNTIME);
    throw err;
  }
}

export const stderrWarn = (msg: string): void => {
  process.stderr.write(`denet-pure: ${msg}\n`);
};
