// `vm [MEMHEX] < prog.hex`: hands stdin to the WebAssembly engine's command runner.
import { CliError, EXIT } from '../errors.js';
import type { Command, CommandContext } from './types.js';

interface VmResult { code: number; stdout: string; stderr: string }

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function run(ctx: CommandContext): Promise<number> {
  // Loaded by a computed name until vm-command.ts lands, so the CLI builds without it.
  const modPath = '../../verify/wasm/vm-command.js';
  let mod: { runVmCommand: (argv: string[], stdin: string) => VmResult | Promise<VmResult> };
  try {
    mod = await import(modPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new CliError('the vm engine is not part of this build yet', EXIT.RUNTIME);
  }
  const res = await mod.runVmCommand(ctx.args, await readStdin());
  if (res.stdout) process.stdout.write(res.stdout);
  if (res.stderr) process.stderr.write(res.stderr);
  return res.code;
}

export const command: Command = { run };
