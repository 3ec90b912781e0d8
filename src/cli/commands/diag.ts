// `diag [--json] [--debug]`: checks the eBPF environment for real and says what to fix.
// Exit 0 when eBPF counting works in at least one attach mode, 5 when it does not (as --require-ebpf).
import { EXIT } from '../errors.js';
import { parseStrict } from '../options.js';
import type { Command, CommandContext } from './types.js';

const OPTIONS = {
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: denet-pure diag [--json] [--debug]

Checks whether eBPF syscall counting can work here. Each check (kernel version and config, BTF,
sysctls, capabilities, tracefs, bpffs, lockdown, memlock) prints PASS, WARN or FAIL with its evidence
and, when not PASS, the fix. Then it loads, attaches and counts for real in each attach mode.

  --json    one JSON document instead of text
  --debug   add the raw kernel errors and verifier logs to failing checks (also DENET_DEBUG=1)

Exit code: ${EXIT.OK} when counting works in at least one attach mode, ${EXIT.EBPF_REQUIRED} when it works in none.
`;

async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseStrict(ctx.args, OPTIONS, false);
  if (values.help || ctx.globalValues.help) return process.stdout.write(HELP), EXIT.OK;
  const json = values.json === true || ctx.globalValues.json === true;
  const debug = values.debug === true || process.env.DENET_DEBUG === '1';
  const { runDiag, formatHuman, toJson } = await import('../../diag/index.js');
  const report = await runDiag();
  const code = report.ok ? EXIT.OK : EXIT.EBPF_REQUIRED;
  process.stdout.write(json ? JSON.stringify(toJson(report, { debug, exitCode: code }), null, 2) + '\n' : formatHuman(report, { debug }));
  return code;
}

export const command: Command = { run };
