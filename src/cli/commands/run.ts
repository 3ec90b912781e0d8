// `run -- CMD [ARGS...]`: start CMD (resolved to an absolute path first), monitor it and its
// children, exit with its exit code.
import { EXIT, UsageError } from '../errors.js';
import { CliOutputs, sessionOptions } from '../monitoring.js';
import { parseMonitorArgs } from '../options.js';
import { observerOf, startExporter } from '../prometheus.js';
import { resolveCommand } from '../resolve.js';
import { basename } from 'node:path';
import { clearAmbientCapabilities } from '../../loader/caps.js';
import { Session, exitCodeOf, type ExitStatus } from '../../session/index.js';
import { withRunReport } from '../run-report.js';
import type { Command, CommandContext } from './types.js';

/** The command's exit status once it is known (for --report). */
let finalStatus: ExitStatus | undefined;

async function run(ctx: CommandContext): Promise<number> {
  const { opts, words } = parseMonitorArgs(ctx.globalValues, ctx.args);
  if (opts.help) return ctx.printHelp(), EXIT.OK;
  const [name, ...args] = words;
  if (name === undefined) throw new UsageError('run needs a command, e.g. denet-pure run -- sleep 1');
  if (opts.cgroup !== undefined) throw new UsageError('--cgroup applies to attach only: denet-pure attach --cgroup PATH');
  const executable = resolveCommand(name);
  const out = new CliOutputs(opts);
  const exporter = await startExporter(opts, basename(name), out);

  let result;
  try {
    // Capabilities granted to us for BPF (setpriv/capsh ambient caps) must not pass on to the command.
    await clearAmbientCapabilities();
    const session = await Session.open(sessionOptions(opts), observerOf(out, exporter));
    try {
      result = await session.run({ executable, args, argv0: name, killOnDuration: opts.killOnDuration, waitForDescendants: !opts.stopWithCommand });
    } finally {
      out.close();
    }
  } finally {
    await exporter?.close();
  }
  finalStatus = result.status ?? undefined;
  if (result.descendantsLeft > 0) {
    const n = result.descendantsLeft;
    out.warn(`${name} exited; ${n} ${n === 1 ? 'descendant was' : 'descendants were'} still running and ${n === 1 ? 'is' : 'are'} not monitored further (without --stop-with-command, run waits for them)`);
  }
  // --duration without --kill-on-duration: monitoring stopped, the command keeps running on its own.
  return result.status ? exitCodeOf(result.status) : EXIT.OK;
}

export const command: Command = { run: (ctx) => withRunReport(ctx, run, () => finalStatus) };
