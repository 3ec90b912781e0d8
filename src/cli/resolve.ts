// Checks done before anything starts, so that invalid input fails with one line and leaves no trace.
import { accessSync, constants, existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, resolve } from 'node:path';
import { readCmdline } from '../monitor/index.js';
import { CliError, EXIT, UsageError } from './errors.js';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves CMD to an absolute path the way a shell does (PATH lookup unless it contains '/'). */
export function resolveCommand(cmd: string, env: NodeJS.ProcessEnv = process.env): string {
  if (cmd === '') throw new UsageError('empty command name');
  if (cmd.includes('/')) {
    const abs = resolve(cmd);
    if (!existsSync(abs)) throw new CliError(`command not found: ${cmd} (no such file)`, EXIT.NOT_FOUND);
    if (!isExecutableFile(abs)) throw new CliError(`cannot execute ${cmd}: not an executable file (check its permissions: chmod +x)`, EXIT.NOT_EXECUTABLE);
    return abs;
  }
  let nonExecutable: string | undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    // An empty PATH entry means the current directory, as in POSIX shells.
    const candidate = resolve(dir === '' ? '.' : dir, cmd);
    if (isExecutableFile(candidate)) return candidate;
    if (nonExecutable === undefined && existsSync(candidate) && statSync(candidate).isFile()) nonExecutable = candidate;
  }
  if (nonExecutable) throw new CliError(`cannot execute ${cmd}: ${nonExecutable} is not executable`, EXIT.NOT_EXECUTABLE);
  throw new CliError(`command not found: ${cmd} (not in PATH; give a path like ./${cmd} or check spelling)`, EXIT.NOT_FOUND);
}

export function parsePid(raw: string | undefined): number {
  if (raw === undefined) throw new UsageError('attach needs a PID, e.g. denet-pure attach 1234');
  if (!/^[1-9][0-9]*$/.test(raw)) throw new UsageError(`invalid PID '${raw}': expected a positive integer`);
  const pid = Number(raw);
  if (!existsSync(`/proc/${pid}/stat`)) throw new CliError(`no such process: ${pid} (see ps -e for running PIDs)`, EXIT.NO_PROCESS);
  return pid;
}

/** Command line and executable of a running process, for the metadata record. */
export function describeProcess(pid: number): { cmd: string[]; executable: string } {
  let cmd: string[] = [];
  try {
    cmd = readCmdline(pid) ?? [];
  } catch { /* unreadable: leave empty */ }
  let executable = '';
  try {
    executable = readlinkSync(`/proc/${pid}/exe`);
  } catch { /* kernel thread or not ours to read */ }
  if (cmd.length === 0) {
    try {
      cmd = [readFileSync(`/proc/${pid}/comm`, 'utf8').trim()];
    } catch { /* gone */ }
  }
  return { cmd, executable };
}

/**
 * Throws unless `path` can be created or overwritten, without creating it (so a later failure
 * elsewhere leaves nothing behind).
 */
export function checkWritable(option: string, path: string): string {
  const abs = isAbsolute(path) ? path : resolve(path);
  const fail = (why: string) => new CliError(`cannot write --${option} ${path}: ${why}`, EXIT.OUTPUT);
  if (existsSync(abs)) {
    if (statSync(abs).isDirectory()) throw fail('it is a directory');
    try { accessSync(abs, constants.W_OK); } catch { throw fail('permission denied'); }
    return abs;
  }
  const dir = dirname(abs);
  if (!existsSync(dir)) throw fail(`directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw fail(`${dir} is not a directory`);
  try { accessSync(dir, constants.W_OK); } catch { throw fail(`directory ${dir} is not writable`); }
  return abs;
}
