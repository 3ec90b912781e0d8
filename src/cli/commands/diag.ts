// `diag [--json] [--debug]`: checks the eBPF environment for real and says what to fix.
// Exit 0 when eBPF counting works in at least one attach mode, 5 when it does not (as --require-ebpf).
import { EXIT } from '../errors.js';
import { printHelp } from '../help.js';
import { parseStrict } from '../options.js';
import type { Command, CommandContext } from './types.js';

const OPTIONS = {
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseStrict(ctx.args, OPTIONS, false);
  if (values.help || ctx.globalValues.help) return printHelp(), EXIT.OK;
  const json = values.json === true || ctx.globalValues.json === true;
  const debug = values.debug === true || process.env.DENET_DEBUG === '1';
  const { runDiag, formatHuman, toJson } = await import('../../diag/index.js');
  const report = await runDiag();
  const code = report.ok ? EXIT.OK : EXIT.EBPF_REQUIRED;
  process.stdout.write(json ? JSON.stringify(toJson(report, { debug, exitCode: code }), null, 2) + '\n' : formatHuman(report, { debug }));
  return code;
}

export const command: Command = { run };
