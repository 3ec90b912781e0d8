// `vm [MEMHEX] < prog.hex`: hands stdin to the WebAssembly engine's command runner.
import type { Command, CommandContext } from './types.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function run(ctx: CommandContext): Promise<number> {
  const { runVmCommand } = await import('../../verify/wasm/vm-command.js');
  // `--help` needs no program: do not wait for stdin (it may be a terminal).
  const wantsHelp = ctx.args.includes('--help') || ctx.args.includes('-h');
  const res = runVmCommand(ctx.args, wantsHelp ? '' : await readStdin());
  if (res.stdout) process.stdout.write(res.stdout);
  if (res.stderr) process.stderr.write(res.stderr);
  return res.code;
}

export const command: Command = { run };
