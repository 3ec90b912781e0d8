// `attach PID`: monitor a process we did not start, until it exits, --duration passes or we are
// interrupted. The process is never signalled: it is not ours.
import { constants as osConstants } from 'node:os';
import { EXIT, UsageError } from '../errors.js';
import { CliOutputs, sessionOptions } from '../monitoring.js';
import { parseMonitorArgs } from '../options.js';
import { describeProcess, parsePid } from '../resolve.js';
import { Session } from '../../session/index.js';
import { withRunReport } from '../run-report.js';
import type { Command, CommandContext } from './types.js';

const STOPPING: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

async function run(ctx: CommandContext): Promise<number> {
  const { opts, words } = parseMonitorArgs(ctx.globalValues, ctx.args);
  if (opts.help) return ctx.printHelp(), EXIT.OK;
  if (words.length > 1) throw new UsageError(`attach takes one PID, got ${words.length} arguments; to start a command use: denet-pure run -- ${words.join(' ')}`);
  if (opts.killOnDuration) throw new UsageError('--kill-on-duration applies to run only; attach never signals the process');
  if (opts.stopWithCommand) throw new UsageError('--stop-with-command applies to run only; attach ends when the process and its descendants have exited');
  const pid = parsePid(words[0]);
  if (pid === process.pid) throw new UsageError('cannot attach to denet-pure itself');
  const { cmd, executable } = describeProcess(pid);
  const out = new CliOutputs(opts);

  const session = await Session.open(sessionOptions(opts), out);
  let caught: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    caught ??= sig;
    session.stop('signal');
  };
  for (const sig of STOPPING) process.on(sig, onSignal);
  try {
    await session.attach(pid, { cmd, executable });
  } finally {
    for (const sig of STOPPING) process.off(sig, onSignal);
    out.close();
  }
  // Interrupted: the conventional 128+signal, after the summary has been written.
  return caught ? 128 + (osConstants.signals[caught] ?? 0) : EXIT.OK;
}

// The process is not ours: its exit status is not known, and the report says so.
export const command: Command = { run: (ctx) => withRunReport(ctx, run, () => undefined) };
