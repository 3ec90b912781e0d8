// `attach PID`: monitor a process we did not start, until it exits, --duration passes or we are
// interrupted. The process is never signalled: it is not ours.
import { constants as osConstants } from 'node:os';
import { EXIT, UsageError } from '../errors.js';
import { printHelp } from '../help.js';
import { parseMonitorArgs } from '../options.js';
import { describeProcess, parsePid } from '../resolve.js';
import { closeSession, monitorTarget, openSession, Stopper } from '../session.js';
import { withRunReport } from '../run-report.js';
import type { Command, CommandContext } from './types.js';

const STOPPING: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

async function run(ctx: CommandContext): Promise<number> {
  const { opts, words } = parseMonitorArgs(ctx.globalValues, ctx.args);
  if (opts.help) return printHelp(), EXIT.OK;
  if (words.length > 1) throw new UsageError(`attach takes one PID, got ${words.length} arguments; to start a command use: denet-pure run -- ${words.join(' ')}`);
  if (opts.killOnDuration) throw new UsageError('--kill-on-duration applies to run only; attach never signals the process');
  const pid = parsePid(words[0]);
  if (pid === process.pid) throw new UsageError('cannot attach to denet-pure itself');
  const { cmd, executable } = describeProcess(pid);

  const session = await openSession(opts);
  const stopper = new Stopper();
  let caught: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    caught ??= sig;
    stopper.stop('signal');
  };
  for (const sig of STOPPING) process.on(sig, onSignal);
  try {
    session.ebpf.tracer?.trackTree(pid);
    await monitorTarget(session, { pid, cmd, executable }, stopper);
  } finally {
    for (const sig of STOPPING) process.off(sig, onSignal);
    closeSession(session);
  }
  // Interrupted: the conventional 128+signal, after the summary has been written.
  return caught ? 128 + (osConstants.signals[caught] ?? 0) : EXIT.OK;
}

// The process is not ours: its exit status is not known, and the report says so.
export const command: Command = { run: (ctx) => withRunReport(ctx, run, () => undefined) };
