// `vm [MEMORY_HEX] [--mem-file F] [--asm | --elf FILE.o [--section S]] [--steps N] [--isa linux|rfc9669]`:
// run BPF bytecode (hex or assembly on stdin, or a program of a BPF object) in the WebAssembly engine
// and print r0. It also speaks the BPF conformance
// suite's plugin protocol (program hex on stdin, memory hex as the argument, r0 on stdout).
import { readFileSync } from 'node:fs';
import { decodeRaw, type RawInsn } from '../../asm/encoding.js';
import type { ProgramSpec } from '../../asm/spec.js';
import { ObjectError, parseObject } from '../../object/index.js';
import { assemble, AsmError } from '../../asm/assemble.js';
import { parseAnyAsm } from '../../asm/parse.js';
import { AsmSyntaxError, excerpt } from '../../asm/syntax-error.js';
import { BpfVm } from '../../vm/runtime.js';
import { BpfFault } from '../../vm/fault.js';
import { CompileError, type Isa } from '../../vm/cfg.js';
import { CliError, EXIT, UsageError, toUserError } from '../errors.js';
import type { Command, CommandContext } from './types.js';

const DEFAULT_STEPS = 16_000_000;

export const VM_HELP = `usage: denet-pure vm [MEMORY_HEX | --mem-file FILE] [--asm] [--steps N] [--isa ISA] < PROGRAM
       denet-pure vm [MEMORY_HEX | --mem-file FILE] --elf FILE.o [--section NAME] [--steps N]

Runs a BPF program in the WebAssembly engine (no BPF privilege needed) and prints r0.

  PROGRAM          on stdin: the program's 8-byte instruction slots as hex, e.g. "b7 00 00 00 2a 00 00 00
                   95 00 00 00 00 00 00 00" (whitespace, commas and 0x prefixes are ignored)
  --asm            PROGRAM is assembly instead: kernel syntax ("r0 = 42", "exit") or uBPF syntax
                   ("mov %r0, 42"), one instruction per line, "name:" labels
  --elf FILE.o     run a program of a clang-built BPF object instead (its maps and global data
                   too); stdin is not read
  --section NAME   which program: its ELF section (e.g. raw_tp/sys_enter) or function name;
                   needed when the object has more than one
  MEMORY_HEX       optional bytes, as hex: the program gets r1 = pointer to them, r2 = their length
  --mem-file FILE  the memory from FILE, raw bytes (for memory too large for an argument)
  --steps N        run at most N instructions (default ${DEFAULT_STEPS}); a program that needs more
                   stops with an error before running instruction N+1
  --isa ISA        which encodings run: linux (default) refuses all the Linux kernel refuses;
                   rfc9669 also runs what the ISA standard defines but Linux refuses: callx (call
                   the helper id held in a register), constant shifts out of range, constant x/0
  --help           this text

Output: r0 as hex ("0x2a"); on stderr, trace_printk lines and the records the program wrote to
ring buffers ("ringbuf NAME: HEX") and perf buffers ("perf NAME cpu N: HEX"). A fault (out-of-bounds access, budget
exhausted) or a program the kernel would refuse is reported on stderr with the instruction, exit 1.
Usage errors exit 2. Example: echo 'r0 = 42
exit' | denet-pure vm --asm`;

export interface VmCommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface VmArgs {
  memoryHex?: string;
  memFile?: string;
  steps?: number;
  isa: Isa;
  asm: boolean;
  elf?: string;
  section?: string;
}

function usage(msg: string): never {
  throw new UsageError(`vm: ${msg}; see denet-pure vm --help`);
}

function parseArgs(argv: string[]): VmArgs {
  const out: VmArgs = { isa: 'linux', asm: false };
  const value = (i: number, name: string): string => argv[i] ?? usage(`${name} needs a value`);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!; // i < argv.length
    if (a === '--steps') {
      const v = value(++i, '--steps');
      const n = /^\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isInteger(n) || n <= 0 || n > 0x7fffffff) usage(`--steps needs a positive integer up to ${0x7fffffff}, got '${excerpt(v, 20)}'`);
      out.steps = n;
    } else if (a === '--mem-file') {
      out.memFile = value(++i, '--mem-file');
    } else if (a === '--isa') {
      const v = value(++i, '--isa');
      if (v !== 'linux' && v !== 'rfc9669') usage(`--isa is linux or rfc9669, got '${excerpt(v, 20)}'`);
      out.isa = v;
    } else if (a === '--asm') {
      out.asm = true;
    } else if (a === '--elf') {
      out.elf = value(++i, '--elf');
    } else if (a === '--section') {
      out.section = value(++i, '--section');
    } else if (a.startsWith('-') && a !== '-') {
      usage(`unknown option '${excerpt(a, 30)}'`);
    } else if (out.memoryHex === undefined) {
      out.memoryHex = a;
    } else {
      usage('at most one MEMORY_HEX argument');
    }
  }
  if (out.memoryHex !== undefined && out.memFile !== undefined) usage('give the memory as MEMORY_HEX or --mem-file, not both');
  if (out.elf !== undefined && out.asm) usage('--elf and --asm exclude each other');
  if (out.section !== undefined && out.elf === undefined) usage('--section needs --elf');
  return out;
}

/** Hex bytes; on bad input, which byte is wrong (never the whole, possibly huge, text). */
function hexBytes(text: string, what: string): Buffer {
  const clean = text.replace(/0x/gi, '').replace(/[\s,]+/g, '');
  const bad = /[^0-9a-f]/i.exec(clean);
  if (bad) throw new CliError(`vm: ${what}: '${excerpt(clean.slice(bad.index, bad.index + 8), 8)}' at hex digit ${bad.index + 1} is not hex (expected pairs of 0-9a-f)`);
  if (clean.length % 2 !== 0) throw new CliError(`vm: ${what}: ${clean.length} hex digits, not whole bytes`);
  return Buffer.from(clean, 'hex');
}

function readMemory(a: VmArgs): Buffer | undefined {
  if (a.memFile !== undefined) {
    try {
      return readFileSync(a.memFile);
    } catch (e) {
      throw new CliError(`vm: cannot read --mem-file '${excerpt(a.memFile, 80)}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (a.memoryHex === undefined) return undefined;
  try {
    return hexBytes(a.memoryHex, 'MEMORY_HEX');
  } catch (e) {
    return usage((e as Error).message.replace(/^vm: /, ''));
  }
}

function program(stdin: string, a: VmArgs): RawInsn[] {
  if (stdin.trim() === '') usage('no program on stdin');
  if (a.asm) {
    try {
      return assemble(parseAnyAsm(stdin)).insns;
    } catch (e) {
      if (e instanceof AsmSyntaxError || e instanceof AsmError) throw new CliError(`vm: ${excerpt(e.message, 300)}`);
      throw e;
    }
  }
  const code = hexBytes(stdin, 'program on stdin');
  if (code.length % 8 !== 0) throw new CliError(`vm: the program is ${code.length} bytes, not a whole number of 8-byte instructions`);
  return decodeRaw(code);
}

/** The program of a BPF object that `--section` names (section or function), with its maps. */
function objectProgram(a: VmArgs): ProgramSpec {
  const file = a.elf!;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new CliError(`vm: cannot read --elf '${excerpt(file, 80)}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let obj;
  try {
    obj = parseObject(bytes, { source: file });
  } catch (e) {
    if (e instanceof ObjectError) throw new CliError(`vm: ${excerpt(e.message, 300)}`);
    throw e;
  }
  const named = (x: { section: string; name: string }) => a.section === undefined || x.section === a.section || x.name === a.section;
  const progs = obj.programs.filter((p) => named({ section: p.spec.section ?? '', name: p.spec.name }));
  const failed = obj.failures.filter(named);
  const all = [...obj.programs.map((p) => `${p.spec.section} (${p.spec.name})`), ...obj.failures.map((f) => `${f.section} (${f.name})`)];
  if (progs.length === 1) return progs[0]!.spec;
  if (progs.length === 0 && failed.length > 0) throw new CliError(`vm: ${file}: ${failed[0]!.section} (${failed[0]!.name}) cannot be loaded: ${excerpt(failed[0]!.error.message, 200)}`);
  if (progs.length === 0) throw new CliError(`vm: ${file}: no program ${a.section === undefined ? 'in it' : `in section or named '${excerpt(a.section, 60)}'`} (programs: ${all.join(', ') || 'none'})`);
  return usage(`${file} has ${progs.length} programs${a.section === undefined ? '' : ` matching '${excerpt(a.section, 60)}'`}: pick one with --section (${progs.map((p) => `${p.spec.section} (${p.spec.name})`).join(', ')})`);
}

/** What the program streamed: one line per ring buffer record and perf sample. */
function eventLines(vm: BpfVm): string {
  let out = '';
  for (const [name, rb] of vm.ringbufs) for (const r of rb.consume()) out += `ringbuf ${name}: ${Buffer.from(r).toString('hex')}\n`;
  for (const [name, pb] of vm.perfbufs) for (const s of pb.consume()) out += `perf ${name} cpu ${s.cpu}: ${Buffer.from(s.data).toString('hex')}\n`;
  return out;
}

/** Runs the command; throws CliError (exit 1) or UsageError (exit 2). */
export function runVm(argv: string[], stdin: string): { stdout: string; stderr: string } {
  const a = parseArgs(argv);
  const memory = readMemory(a);
  const prog: RawInsn[] | ProgramSpec = a.elf !== undefined ? objectProgram(a) : program(stdin, a);
  const steps = a.steps ?? DEFAULT_STEPS;
  try {
    const vm = new BpfVm(prog, { maxSteps: steps, isa: a.isa, dataSize: Math.max(65536, memory?.length ?? 0) });
    const { r0 } = vm.run(memory ? { data: memory } : {});
    return { stdout: `0x${r0.toString(16)}\n`, stderr: vm.printk.map((l) => `trace_printk: ${l}\n`).join('') + eventLines(vm) };
  } catch (e) {
    if (e instanceof BpfFault && e.kind === 'budget') {
      throw new CliError(`vm: the program needs more than ${steps} instructions (stopped in the subprogram at insn ${e.pc}); raise --steps if that is legitimate`);
    }
    if (e instanceof BpfFault || e instanceof CompileError) throw new CliError(`vm: ${e.message}`);
    throw e;
  }
}

/** In-process form for tests and the conformance runner: exit code and output as the CLI gives them. */
export function runVmCommand(argv: string[], stdin: string): VmCommandResult {
  if (argv.includes('--help') || argv.includes('-h')) return { code: 0, stdout: VM_HELP + '\n', stderr: '' };
  try {
    return { code: EXIT.OK, ...runVm(argv, stdin) };
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    const { line, exitCode } = toUserError(e); // the same line and exit code main() would give
    return { code: exitCode, stdout: '', stderr: `denet-pure: ${line}\n` };
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.includes('--help') || ctx.args.includes('-h')) {
    process.stdout.write(VM_HELP + '\n');
    return EXIT.OK;
  }
  // Arguments first: a usage error must not wait for stdin (it may be a terminal).
  const a = parseArgs(ctx.args);
  const res = runVm(ctx.args, a.elf !== undefined ? '' : await readStdin());
  process.stdout.write(res.stdout);
  process.stderr.write(res.stderr);
  return EXIT.OK;
}

export const command: Command = { run };
