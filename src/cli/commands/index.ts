// The subcommand table. Modules load lazily, so `--help` or `stats` never pay for the tracer.
import type { Command } from './types.js';

export interface CommandEntry {
  name: string;
  /** One line for the help text. */
  summary: string;
  /** Its synopsis lines for the help text (after "denet-pure "). */
  usage: string[];
  load: () => Promise<{ command: Command }>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'run', summary: 'run CMD and monitor it and its children until it exits', usage: ['[OPTIONS] run [--] CMD [ARGS...]'], load: () => import('./run.js') },
  { name: 'attach', summary: 'monitor an already running process (and its children) until it exits, or a cgroup', usage: ['[OPTIONS] attach PID', '[OPTIONS] attach --cgroup PATH'], load: () => import('./attach.js') },
  { name: 'stats', summary: 'summarize a JSON Lines file written by --out/--json', usage: ['stats FILE [--json | --format table|json|csv] [--syscalls [--sort calls|time|errors] | --by-process | --by-thread | --flamegraph OUT.svg | --stacks OUT]'], load: () => import('./stats.js') },
  { name: 'diff', summary: 'compare two runs; --max-increase fails (exit 1) when syscalls or other figures grew', usage: ['diff BASE HEAD [--max-increase LIMITS] [--json]'], load: () => import('./diff.js') },
  { name: 'seccomp', summary: 'write the syscalls seen in runs as a seccomp allow-list (OCI, systemd or BPF)', usage: ['seccomp RUN... --format oci|systemd|bpf -o FILE [--deny errno|kill] [--allow NAMES]'], load: () => import('./seccomp.js') },
  { name: 'report', summary: 'one self-contained HTML report (plots, processes, phases, syscalls) of a JSON Lines file', usage: ['report FILE [-o OUT.html]             (report --help for more)'], load: () => import('./report.js') },
  { name: 'vm', summary: 'run a BPF program (hex or assembly on stdin, or from a .o) in the WebAssembly engine', usage: ['vm [MEMHEX | --mem-file FILE] [--asm | --elf FILE.o [--section NAME]] [--steps N] [--isa ISA] [< PROGRAM]'], load: () => import('./vm.js') },
  { name: 'disasm', summary: 'print BPF bytecode (a clang-built .o, or hex on stdin) in the kernel verifier\'s syntax; --cbpf for classic BPF (seccomp filters)', usage: ['disasm [--section NAME] [--raw] FILE.o | disasm - < prog.hex', 'disasm --cbpf FILE | -          (classic BPF: a seccomp filter)'], load: () => import('./disasm.js') },
  { name: 'verify', summary: 'check the programs of a BPF object (FILE.o) with the static verifier; --kernel compares', usage: ['verify FILE.o|- [--section NAME] [--type TYPE] [--json] [--kernel]'], load: () => import('./verify.js') },
  { name: 'prog', summary: "inspect BPF programs: 'prog dump' prints the tracer's programs", usage: ['prog dump [--mode raw|tracefs] [--json] [--count-only] [--per-thread] [--failed-only] [--filtered]'], load: () => import('./prog.js') },
  { name: 'diag', summary: 'check whether eBPF counting can work here, and say what to fix', usage: ['diag [--json] [--debug]'], load: () => import('./diag.js') },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
