// `run -- CMD [ARGS...]`: start CMD (resolved to an absolute path first), monitor it and its
// children, exit with its exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { CliError, EXIT, UsageError } from '../errors.js';
import { printHelp } from '../help.js';
import { parseMonitorArgs } from '../options.js';
import { resolveCommand } from '../resolve.js';
import { clearAmbientCapabilities } from '../../loader/caps.js';
import { closeSession, monitorTarget, openSession, Stopper } from '../session.js';
import { withRunReport } from '../run-report.js';
import type { Command, CommandContext } from './types.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How long --kill-on-duration waits after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2000;

type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** The command's exit status once it is known (for --report). */
let finalStatus: ExitStatus | undefined;

/** Whether we belong to our controlling terminal's foreground process group (so does the command). */
function inTerminalForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    const tpgid = Number(fields[5]);
    return tpgid > 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}

export function exitCodeOf(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  const num = status.signal ? osConstants.signals[status.signal] : undefined;
  return 128 + (num ?? 0);
}

/** Spawns and waits for the spawn to succeed or fail, so exec errors become one clear line. */
function startChild(spawnFn: () => ChildProcess, name: string): Promise<ChildProcess> {
  const child = spawnFn();
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(new CliError(`cannot execute ${name}: ${err.code ?? err.message}`, err.code === 'ENOENT' ? EXIT.NOT_FOUND : EXIT.NOT_EXECUTABLE));
    });
  });
}

async function run(ctx: CommandContext): Promise<number> {
  const { opts, words } = parseMonitorArgs(ctx.globalValues, ctx.args);
  if (opts.help) return printHelp(), EXIT.OK;
  const [name, ...args] = words;
  if (name === undefined) throw new UsageError('run needs a command, e.g. denet-pure run -- sleep 1');
  const executable = resolveCommand(name);

  // Capabilities granted to us for BPF (setpriv/capsh ambient caps) must not pass on to the command.
  await clearAmbientCapabilities();
  const session = await openSession(opts);
  let child: ChildProcess;
  try {
    const spawnFn = () => spawn(executable, args, { stdio: 'inherit', argv0: name });
    child = await startChild(() => (session.ebpf.tracer ? session.ebpf.tracer.spawnTracked(spawnFn) : spawnFn()), name);
  } catch (err) {
    closeSession(session);
    session.sink.abandon();
    throw err;
  }

  const stopper = new Stopper();
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      stopper.stop('exited');
      resolve({ code, signal });
    });
  });
  // The child decides what a signal means; we pass it on and keep monitoring until it exits.
  const forward = (sig: NodeJS.Signals) => {
    // Ctrl-C and a hangup reach the whole foreground process group, the command included: sending it
    // a second copy would turn one Ctrl-C into two (a forced quit, for many tools).
    if (sig !== 'SIGTERM' && inTerminalForeground()) return;
    child.kill(sig);
  };
  for (const sig of FORWARDED) process.on(sig, forward);

  let failure: unknown;
  try {
    await monitorTarget(session, { pid: child.pid!, cmd: [name, ...args], executable, ownChild: true }, stopper);
  } catch (err) {
    failure = err;
  } finally {
    closeSession(session);
  }
  if (failure !== undefined) {
    // Monitoring failed (e.g. the output disk is full): the command is not abandoned mid-run. It goes
    // on to its end, signals still reach it, and then the failure is reported with its exit code.
    const message = failure instanceof Error ? failure.message : String(failure);
    process.stderr.write(`denet-pure: ${message.split('\n')[0]}; waiting for ${name} to exit\n`);
    finalStatus = await exited;
    for (const sig of FORWARDED) process.off(sig, forward);
    throw failure;
  }

  try {
    if (stopper.reason === 'duration') {
      if (!opts.killOnDuration) {
        // Documented: monitoring stops, the command keeps running on its own.
        child.unref();
        return EXIT.OK;
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      const status = (finalStatus = await exited);
      clearTimeout(timer);
      return exitCodeOf(status);
    }
    return exitCodeOf((finalStatus = await exited));
  } finally {
    for (const sig of FORWARDED) process.off(sig, forward);
  }
}

export const command: Command = { run: (ctx) => withRunReport(ctx, run, () => finalStatus) };
