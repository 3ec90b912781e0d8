// `disasm [--cbpf] [FILE|-]`: eBPF bytecode in the kernel verifier's syntax, or (--cbpf) a classic
// BPF program (struct sock_filter array, e.g. a seccomp filter) in the syntax of the kernel's
// tools/bpf. Input is raw bytes or hex text, told apart by content.
import { readFileSync } from 'node:fs';
import { cbpf, disassemble, parseHex } from '../../asm/index.js';
import { looksLikeSeccomp, seccompNotes } from '../../policy/index.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { parseStrict } from '../options.js';
import type { Command, CommandContext } from './types.js';

export const DISASM_HELP = `usage: denet-pure disasm [--cbpf] [--no-notes] [FILE | -]

Disassembles BPF bytecode from FILE (or stdin: '-' or no FILE). The input is the raw bytes, or the
same bytes as hex text ("b7 00 00 00 2a 00 00 00 ...", whitespace, commas and 0x ignored).

  (default)    eBPF: 8-byte slots, printed in the kernel verifier's syntax with slot indices
  --cbpf       classic BPF: struct sock_filter entries {u16 code, u8 jt, u8 jf, u32 k}, printed
               in the syntax of the kernel's tools/bpf (bpf_dbg's listing, which bpf_asm reads):
               "l3:\\tjeq #0xc000003e, l4, l9". A seccomp filter (one that checks
               seccomp_data.arch) gets notes: fields loaded, architectures, syscall names on the
               ABI each path has checked, and the actions returned
  --no-notes   no notes
  -h, --help   this text

Examples:
  denet-pure seccomp run.jsonl --format bpf -o run.bpf && denet-pure disasm --cbpf run.bpf
  echo 'b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00' | denet-pure disasm`;

const OPTIONS = {
  cbpf: { type: 'boolean' },
  'no-notes': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Hex text, when every byte is a hex digit, whitespace, a comma or part of "0x"; raw bytes otherwise. */
function bytesOf(input: Buffer): Buffer {
  const text = input.toString('latin1');
  if (text.trim() !== '' && /^[\s,0-9a-fA-Fx]*$/.test(text)) {
    try {
      return parseHex(text);
    } catch (err) {
      throw new CliError(`the input looks like hex text but is not: ${(err as Error).message}`);
    }
  }
  return input;
}

async function run(ctx: CommandContext): Promise<number> {
  const parsed = parseStrict(ctx.args, OPTIONS, true);
  const values = parsed.values as { cbpf?: boolean; 'no-notes'?: boolean; help?: boolean };
  if (values.help || ctx.globalValues.help) return process.stdout.write(DISASM_HELP + '\n'), EXIT.OK;
  if (parsed.positionals.length > 1) throw new UsageError(`disasm takes one file, got ${parsed.positionals.length}`);
  const file = parsed.positionals[0] ?? '-';
  let input: Buffer;
  try {
    input = readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`);
  }
  const bytes = bytesOf(input);
  if (bytes.length === 0) throw new CliError(`${file === '-' ? 'stdin' : file} is empty; expected BPF bytecode`);
  if (values.cbpf) {
    if (bytes.length % cbpf.SOCK_FILTER_SIZE !== 0) {
      throw new CliError(`${file === '-' ? 'stdin' : file}: ${bytes.length} bytes is not a whole number of 8-byte struct sock_filter entries`);
    }
    const filters = cbpf.decodeCbpf(bytes);
    const notes = !values['no-notes'] && looksLikeSeccomp(filters) ? seccompNotes(filters) : undefined;
    process.stdout.write(cbpf.disassembleCbpf(filters, { comment: notes && ((i) => notes[i]) }));
    return EXIT.OK;
  }
  if (bytes.length % 8 !== 0) throw new CliError(`${file === '-' ? 'stdin' : file}: ${bytes.length} bytes is not a whole number of 8-byte eBPF slots (classic BPF? use --cbpf)`);
  process.stdout.write(disassemble(bytes, { indices: true }).join('\n') + '\n');
  return EXIT.OK;
}

export const command: Command = { run };
