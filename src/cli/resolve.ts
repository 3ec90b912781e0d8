// Checks done before anything starts, so that invalid input fails with one line and leaves no trace.
import { accessSync, closeSync, constants, existsSync, lstatSync, openSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, resolve } from 'node:path';
import { readCmdline, readStat } from '../monitor/index.js';
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
    if (statSync(abs).isDirectory()) throw new CliError(`cannot execute ${cmd}: it is a directory`, EXIT.NOT_EXECUTABLE);
    if (!isExecutableFile(abs)) throw new CliError(`cannot execute ${cmd}: not an executable file (check its permissions: chmod +x ${cmd})`, EXIT.NOT_EXECUTABLE);
    checkInterpreter(cmd, abs);
    return abs;
  }
  let nonExecutable: string | undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    // An empty PATH entry means the current directory, as in POSIX shells.
    const candidate = resolve(dir === '' ? '.' : dir, cmd);
    if (isExecutableFile(candidate)) {
      checkInterpreter(cmd, candidate);
      return candidate;
    }
    if (nonExecutable === undefined && existsSync(candidate) && statSync(candidate).isFile()) nonExecutable = candidate;
  }
  if (nonExecutable) throw new CliError(`cannot execute ${cmd}: ${nonExecutable} is not executable (chmod +x ${nonExecutable})`, EXIT.NOT_EXECUTABLE);
  throw new CliError(`command not found: ${cmd} (not in PATH; give a path like ./${cmd} or check spelling)`, EXIT.NOT_FOUND);
}

/**
 * A script whose #! line names an interpreter that does not exist fails with ENOENT, which reads as
 * if the script itself were missing: say which interpreter is.
 */
function checkInterpreter(cmd: string, abs: string): void {
  let head = '';
  try {
    const fd = openSync(abs, 'r');
    try {
      const buf = Buffer.alloc(256);
      head = buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return; // unreadable (execute-only): exec will tell
  }
  if (!head.startsWith('#!')) return;
  const line = head.slice(2).split('\n')[0]!.replace(/\r$/, '').trim();
  const interpreter = line.split(/[ \t]/)[0] ?? '';
  if (interpreter === '') throw new CliError(`cannot execute ${cmd}: its #! line names no interpreter`, EXIT.NOT_EXECUTABLE);
  if (!existsSync(interpreter)) {
    const crlf = head.split('\n')[0]!.endsWith('\r') ? '; the script has Windows (CRLF) line ends' : '';
    throw new CliError(`cannot execute ${cmd}: its interpreter ${interpreter} (from the #! line) does not exist${crlf}`, EXIT.NOT_FOUND);
  }
  if (!isExecutableFile(interpreter)) throw new CliError(`cannot execute ${cmd}: its interpreter ${interpreter} (from the #! line) is not executable`, EXIT.NOT_EXECUTABLE);
}

export function parsePid(raw: string | undefined): number {
  if (raw === undefined) throw new UsageError('attach needs a PID, e.g. denet-pure attach 1234');
  if (!/^[1-9][0-9]*$/.test(raw)) throw new UsageError(`invalid PID '${raw}': expected a positive integer`);
  const pid = Number(raw);
  const st = readStat(pid);
  if (!st) throw new CliError(`no such process: ${pid} (see ps -e for running PIDs)`, EXIT.NO_PROCESS);
  // A zombie leader whose other threads still run (it called pthread_exit) is alive.
  if ((st.state === 'Z' || st.state === 'X') && st.numThreads <= 1) {
    throw new CliError(`process ${pid} has already exited (a zombie, waiting for its parent to reap it): nothing to monitor`, EXIT.NO_PROCESS);
  }
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

/** Where an output option writes: standard output, or a path (a symlink resolved to its target). */
export type OutputTarget =
  | { kind: 'stdout' }
  /** `special`: a character device or FIFO: written in place, never replaced. */
  | { kind: 'path'; path: string; special: boolean };

/**
 * Throws unless `path` can be created or overwritten, without creating it (so a later failure
 * elsewhere leaves nothing behind). `-` is standard output; a symlink is followed to what it names
 * (that file is what gets replaced, the link stays); devices and FIFOs are written in place.
 */
export function checkWritable(option: string, path: string): OutputTarget {
  if (path === '-') return { kind: 'stdout' };
  const fail = (why: string) => new CliError(`cannot write --${option} ${path}: ${why}`, EXIT.OUTPUT);
  let abs = isAbsolute(path) ? path : resolve(path);
  abs = followLinks(abs, fail);
  if (existsSync(abs)) {
    const st = statSync(abs);
    if (st.isDirectory()) throw fail('it is a directory; give a file name inside it');
    try { accessSync(abs, constants.W_OK); } catch { throw fail('permission denied'); }
    return { kind: 'path', path: abs, special: st.isCharacterDevice() || st.isFIFO() || st.isBlockDevice() || st.isSocket() };
  }
  const dir = dirname(abs);
  if (!existsSync(dir)) throw fail(`directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw fail(`${dir} is not a directory`);
  try { accessSync(dir, constants.W_OK); } catch { throw fail(`directory ${dir} is not writable`); }
  return { kind: 'path', path: abs, special: false };
}

/** The path a chain of symlinks ends at (which may not exist yet: a dangling link names the file to create). */
function followLinks(abs: string, fail: (why: string) => Error): string {
  for (let hops = 0; hops < 40; hops++) {
    let st;
    try { st = lstatSync(abs); } catch { return abs; }
    if (!st.isSymbolicLink()) return abs;
    const target = readlinkSync(abs);
    abs = isAbsolute(target) ? target : resolve(dirname(abs), target);
  }
  throw fail('too many levels of symbolic links');
}
