// The subcommand table. Modules load lazily, so `--help` or `stats` never pay for the tracer.
import type { Command } from './types.js';

export interface CommandEntry {
  name: string;
  /** One line for the help text. */
  summary: string;
  load: () => Promise<{ command: Command }>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'run', summary: 'run CMD and monitor it and its children until it exits', load: () => import('./run.js') },
  { name: 'attach', summary: 'monitor an already running process (and its children) until it exits', load: () => import('./attach.js') },
  { name: 'stats', summary: 'summarize a JSON Lines file written by --out/--json', load: () => import('./stats.js') },
  { name: 'report', summary: 'one self-contained HTML report (plots, processes, phases, syscalls) of a JSON Lines file', load: () => import('./report.js') },
  { name: 'vm', summary: 'run a BPF program (hex or assembly on stdin, or from a .o) in the WebAssembly engine', load: () => import('./vm.js') },
  { name: 'disasm', summary: 'print BPF bytecode (a clang-built .o, or hex on stdin) in the kernel verifier\'s syntax', load: () => import('./disasm.js') },
  { name: 'verify', summary: 'check the programs of a BPF object (FILE.o) with the static verifier; --kernel compares', load: () => import('./verify.js') },
  { name: 'prog', summary: "inspect BPF programs: 'prog dump' prints the tracer's programs", load: () => import('./prog.js') },
  { name: 'diag', summary: 'check whether eBPF counting can work here, and say what to fix', load: () => import('./diag.js') },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
