// `attach PID` / `attach --cgroup PATH`: monitor a process we did not start (and its descendants), or
// every process of a cgroup v2, until it is over, --duration passes or we are interrupted. No process
// is ever signalled: they are not ours.
import { basename } from 'node:path';
import { constants as osConstants } from 'node:os';
import { EXIT, UsageError } from '../errors.js';
import { CliOutputs, sessionOptions } from '../monitoring.js';
import { parseMonitorArgs } from '../options.js';
import { observerOf, startExporter } from '../prometheus.js';
import { describeProcess, parsePid } from '../resolve.js';
import { resolveCgroup } from '../../monitor/cgroup.js';
import { Session } from '../../session/index.js';
import { withRunReport } from '../run-report.js';
import type { Command, CommandContext } from './types.js';

async function run(ctx: CommandContext): Promise<number> {
  const { opts, words } = parseMonitorArgs(ctx.globalValues, ctx.args);
  if (opts.help) return ctx.printHelp(), EXIT.OK;
  if (opts.killOnDuration) throw new UsageError('--kill-on-duration applies to run only; attach never signals the process');
  if (opts.stopWithCommand) throw new UsageError('--stop-with-command applies to run only; attach ends when the process and its descendants have exited');
  let target: { pid: number; cmd: string[]; executable: string } | undefined;
  let cgroup;
  if (opts.cgroup !== undefined) {
    if (words.length > 0) throw new UsageError(`attach takes a PID or --cgroup PATH, not both (got ${words.join(' ')} too)`);
    if (opts.excludeChildren) throw new UsageError('--exclude-children does not apply to --cgroup: a cgroup is every process in it');
    cgroup = resolveCgroup(opts.cgroup);
  } else {
    if (words.length > 1) throw new UsageError(`attach takes one PID, got ${words.length} arguments; to start a command use: denet-pure run -- ${words.join(' ')}`);
    const pid = parsePid(words[0]);
    if (pid === process.pid) throw new UsageError('cannot attach to denet-pure itself');
    target = { pid, ...describeProcess(pid) };
  }
  const out = new CliOutputs(opts);
  const exporter = await startExporter(opts, cgroup ? cgroup.path : basename(target!.cmd[0] ?? String(target!.pid)), out);

  let caught: NodeJS.Signals | undefined;
  let session: Session | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    // Log rotation: with --out FILE, SIGHUP reopens the file and monitoring goes on.
    if (sig === 'SIGHUP' && out.reopenable) return out.reopen();
    caught ??= sig;
    session?.stop('signal');
  };
  for (const sig of STOPPING) process.on(sig, onSignal);
  try {
    const so = sessionOptions(opts);
    if (cgroup && so.ebpf) so.ebpf.cgroup = cgroup.dir;
    session = await Session.open(so, observerOf(out, exporter));
    // A signal while the tracer was being loaded: stop at once (the summary is still written).
    if (caught) session.stop('signal');
    if (cgroup) await session.attachCgroup(cgroup);
    else await session.attach(target!.pid, target!);
  } finally {
    for (const sig of STOPPING) process.off(sig, onSignal);
    out.close();
    await exporter?.close();
  }
  // Interrupted: the conventional 128+signal, after the summary has been written.
  return caught ? 128 + (osConstants.signals[caught] ?? 0) : EXIT.OK;
}

const STOPPING: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

// The process is not ours: its exit status is not known, and the report says so.
export const command: Command = { run: (ctx) => withRunReport(ctx, run, () => undefined) };
