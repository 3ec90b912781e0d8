// `vm [MEMHEX] < prog.hex`: run BPF bytecode given as hex on stdin, with optional memory, in the WASM engine.
import { decodeRaw, parseHex } from '../../asm/encoding.js';
import { BpfVm } from '../../vm/runtime.js';
import { BpfFault } from '../../vm/fault.js';
import { CompileError } from '../../vm/cfg.js';
import type { Command, CommandContext } from './types.js';

export const VM_HELP = `usage: denet-pure vm [MEMORY_HEX] [--steps N] < PROGRAM_HEX

Runs BPF bytecode in the WebAssembly engine (no BPF privilege needed) and prints r0.

  PROGRAM_HEX  the program's 8-byte instruction slots as hex on stdin, e.g. "b7 00 00 00 2a 00 00 00
               95 00 00 00 00 00 00 00" (whitespace, commas and 0x prefixes are ignored)
  MEMORY_HEX   optional bytes, same format: the program gets r1 = pointer to them, r2 = their length
  --steps N    instruction budget (default 16000000); a runaway loop stops with an error
  --callx      run callx (0x8d, call the helper id held in a register), which Linux refuses
  --help       this text

Output: r0 as hex ("0x2a"). A fault (out-of-bounds access, budget exhausted, bad bytecode) is
reported on stderr with the instruction index and address, and the exit code is 1.`;

export interface VmCommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runVmCommand(argv: string[], stdin: string): VmCommandResult {
  if (argv.includes('--help') || argv.includes('-h')) return { code: 0, stdout: VM_HELP + '\n', stderr: '' };
  let memoryHex: string | undefined;
  let steps: number | undefined;
  let callx = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--steps') {
      steps = Number(argv[++i]);
      if (!Number.isInteger(steps) || steps <= 0 || steps > 0x7fffffff) return usage(`--steps needs a positive integer, got ${argv[i]}`);
    } else if (a === '--callx') {
      callx = true;
    } else if (a.startsWith('--')) {
      return usage(`unknown option ${a}`);
    } else if (memoryHex === undefined) {
      memoryHex = a;
    } else {
      return usage('at most one MEMORY_HEX argument');
    }
  }
  try {
    const code = parseHex(stdin);
    if (code.length === 0) return usage('no program on stdin');
    const memory = memoryHex === undefined ? undefined : parseHex(memoryHex);
    const vm = new BpfVm(decodeRaw(code), { maxSteps: steps, callx, dataSize: Math.max(65536, memory?.length ?? 0) });
    const { r0 } = vm.run(memory ? { data: memory } : {});
    const printk = vm.printk.map((l) => `trace_printk: ${l}\n`).join('');
    return { code: 0, stdout: `0x${r0.toString(16)}\n`, stderr: printk };
  } catch (e) {
    if (e instanceof BpfFault || e instanceof CompileError) return { code: 1, stdout: '', stderr: `vm: ${e.message}\n` };
    if (e instanceof Error) return { code: 1, stdout: '', stderr: `vm: ${e.message}\n` };
    throw e;
  }
}

function usage(msg: string): VmCommandResult {
  return { code: 2, stdout: '', stderr: `vm: ${msg}\n${VM_HELP}\n` };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function run(ctx: CommandContext): Promise<number> {
  // `--help` needs no program: do not wait for stdin (it may be a terminal).
  const wantsHelp = ctx.args.includes('--help') || ctx.args.includes('-h');
  const res = runVmCommand(ctx.args, wantsHelp ? '' : await readStdin());
  if (res.stdout) process.stdout.write(res.stdout);
  if (res.stderr) process.stderr.write(res.stderr);
  return res.code;
}

export const command: Command = { run };
