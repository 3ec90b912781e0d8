// `disasm FILE.o | -`: BPF bytecode in the kernel verifier's syntax — every program of a clang-built
// object as it would be loaded (subprograms linked, maps named), each section as in the file with
// --raw, or hex slots from stdin. `--cbpf`: classic BPF (struct sock_filter, e.g. a seccomp filter)
// in the syntax of the kernel's tools/bpf, raw or hex.
import { readFileSync } from 'node:fs';
import { cbpf } from '../../asm/index.js';
import { decodeRaw, parseHex, type RawInsn } from '../../asm/encoding.js';
import { disassemble, type DisasmOptions } from '../../asm/disasm.js';
import type { MapRef } from '../../asm/spec.js';
import { ObjectError, parseObject, progTypeName, type BpfObject } from '../../object/index.js';
import { looksLikeSeccomp, seccompNotes } from '../../policy/index.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { parseStrict } from '../options.js';
import type { Command, CommandContext } from './types.js';

// Options by name, so more input kinds (e.g. classic BPF) are one entry and one branch in run().
const OPTIONS = {
  section: { type: 'string' },
  raw: { type: 'boolean' },
  opcodes: { type: 'boolean' },
  cbpf: { type: 'boolean' },
  'no-notes': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const DISASM_HELP = `Usage: denet-pure disasm [--section NAME] [--raw] [--opcodes] FILE.o
       denet-pure disasm [--opcodes] - < PROGRAM_HEX
       denet-pure disasm --cbpf [--no-notes] FILE | -

Prints BPF bytecode in the kernel verifier's syntax (as 'bpftool prog dump xlated' and verifier logs
print it), one instruction per line with its index.

  FILE.o         a BPF object built by clang (-target bpf): each program as it would be loaded, its
                 .text subprograms linked after it, map references named (map[NAME], global data
                 as map[.rodata][0]+OFFSET); sections that are no program are listed as such
  -              hex on stdin instead (also when FILE is a text file of hex): the 8-byte slots,
                 e.g. "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00"
  --section NAME only the programs of section NAME (e.g. xdp, kprobe/do_unlinkat)
  --raw          each code section exactly as in the file (.text included, before relocation)
  --opcodes      prefix each instruction with its opcode byte, "(b7) r0 = 42", as verifier logs do
  --cbpf         classic BPF instead: struct sock_filter entries {u16 code, u8 jt, u8 jf, u32 k},
                 raw bytes or hex (e.g. the filter 'denet-pure seccomp --format bpf' writes),
                 printed in the syntax of the kernel's tools/bpf (bpf_dbg's listing, which
                 bpf_asm reads): "l1:\tjeq #0xc000003e, l3, l2". A seccomp filter (one that
                 checks seccomp_data.arch) gets notes: the fields loaded, architectures, syscall
                 names on the ABI each path has checked, the actions returned
  --no-notes     --cbpf without the notes

Exit status: 0 on success, 1 when the input cannot be read, 2 on usage errors.`;

export interface DisasmRequest {
  section?: string;
  raw?: boolean;
  opcodes?: boolean;
}

const lines = (insns: readonly RawInsn[], o: DisasmRequest, mapRefs?: readonly MapRef[]): string[] => {
  const opts: DisasmOptions = { indices: true, opcodes: o.opcodes, mapRefs };
  return disassemble(insns, opts);
};

/** The text for one object: programs (linked) or, with `raw`, sections as stored. */
export function disasmObject(obj: BpfObject, o: DisasmRequest = {}): string {
  const out: string[] = [];
  const want = (section: string) => o.section === undefined || o.section === section;
  if (o.raw) {
    for (const s of obj.codeSections.filter((x) => want(x.name))) {
      out.push(`section ${s.name} (${s.insns.length} slots, as stored):`, ...lines(s.insns, o), '');
    }
  } else {
    for (const p of obj.programs.filter((x) => want(x.spec.section ?? ''))) {
      const { spec } = p;
      out.push(`${spec.name}: section ${spec.section}, type ${progTypeName(spec.type)}, ${spec.insns.length} slots` +
        (spec.maps.length ? `, maps ${spec.maps.map((m) => m.name).join(' ')}` : '') + (p.core.length ? `, ${p.core.length} CO-RE relocations (as compiled)` : ''));
      // Subprograms start where the layout says: mark them as the kernel's log names them.
      const marks = new Map(p.layout.slice(1).map((l) => [l.base, `; subprogram ${l.name} (${l.section})`]));
      const body = lines(spec.insns, o, spec.mapRefs);
      const indexOf = (line: string) => Number(/^\s*(\d+):/.exec(line)?.[1]);
      for (const l of body) {
        const mark = marks.get(indexOf(l));
        if (mark) out.push(mark);
        out.push(l);
      }
      out.push('');
    }
    for (const f of obj.failures.filter((x) => want(x.section))) {
      out.push(`${f.name}: section ${f.section}: not linked (${f.error.message}); as stored:`);
      const s = obj.codeSections.find((x) => x.name === f.section);
      if (s) out.push(...lines(s.insns, o));
      out.push('');
    }
  }
  if (out.length === 0) {
    const names = [...new Set(obj.codeSections.map((s) => s.name))].join(', ') || 'none';
    throw new CliError(o.section !== undefined ? `no code section "${o.section}" in ${obj.source} (code sections: ${names})` : `${obj.source} has no code sections`, EXIT.RUNTIME);
  }
  return out.join('\n');
}

/** Hex slots → one line per instruction. */
export function disasmHex(text: string, o: DisasmRequest = {}): string {
  let bytes: Buffer;
  try {
    bytes = parseHex(text);
  } catch (e) {
    throw new CliError(`input is not hex: ${(e as Error).message}`, EXIT.RUNTIME);
  }
  if (bytes.length === 0) throw new CliError('no instructions in the input (expected hex bytes)', EXIT.RUNTIME);
  if (bytes.length % 8 !== 0) throw new CliError(`${bytes.length} bytes of hex: not a whole number of 8-byte instructions`, EXIT.RUNTIME);
  return lines(decodeRaw(bytes), o).join('\n');
}

/** Classic BPF, raw bytes or hex text (told apart by content), with seccomp notes when it is a seccomp filter. */
export function disasmCbpf(data: Buffer, source: string, notes = true): string {
  let bytes = data;
  const text = data.toString('latin1');
  if (text.trim() !== '' && /^[\s,0-9a-fA-Fx]*$/.test(text)) {
    try {
      bytes = parseHex(text);
    } catch (e) {
      throw new CliError(`${source} looks like hex text but is not: ${(e as Error).message}`, EXIT.RUNTIME);
    }
  }
  if (bytes.length === 0) throw new CliError(`${source} is empty; expected classic BPF (struct sock_filter entries)`, EXIT.RUNTIME);
  if (bytes.length % cbpf.SOCK_FILTER_SIZE !== 0) {
    throw new CliError(`${source}: ${bytes.length} bytes is not a whole number of 8-byte struct sock_filter entries`, EXIT.RUNTIME);
  }
  const filters = cbpf.decodeCbpf(bytes);
  const list = notes && looksLikeSeccomp(filters) ? seccompNotes(filters) : undefined;
  return cbpf.disassembleCbpf(filters, { comment: list && ((i) => list[i]) });
}

const isElf = (b: Uint8Array) => b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function run(ctx: CommandContext): Promise<number> {
  const parsed = parseStrict(ctx.args, OPTIONS, true);
  const { positionals } = parsed;
  const values = parsed.values as { section?: string; raw?: boolean; opcodes?: boolean; cbpf?: boolean; 'no-notes'?: boolean; help?: boolean };
  if (values.help || ctx.globalValues.help) return process.stdout.write(DISASM_HELP + '\n'), EXIT.OK;
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing FILE.o (or - for hex on stdin); see denet-pure disasm --help' : `expected one FILE, got ${positionals.length}`);
  }
  const req: DisasmRequest = { section: values.section as string | undefined, raw: values.raw === true, opcodes: values.opcodes === true };
  const file = positionals[0]!;
  let data: Buffer;
  if (file === '-') data = await readStdin();
  else {
    try {
      data = readFileSync(file);
    } catch (e) {
      throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.RUNTIME);
    }
  }
  let text: string;
  if (values.cbpf) {
    if (req.section !== undefined || req.raw || req.opcodes) throw new UsageError('--section, --raw and --opcodes are for eBPF, not --cbpf');
    text = disasmCbpf(data, file === '-' ? 'stdin' : file, values['no-notes'] !== true);
  } else if (isElf(data)) {
    let obj: BpfObject;
    try {
      obj = parseObject(data, { source: file === '-' ? 'stdin' : file, core: 'keep' });
    } catch (e) {
      if (e instanceof ObjectError) throw new CliError(e.message.split('\n')[0]!, EXIT.RUNTIME);
      throw e;
    }
    text = disasmObject(obj, req);
  } else {
    if (req.section !== undefined || req.raw) throw new UsageError('--section and --raw need an ELF object, not hex');
    text = disasmHex(data.toString('latin1'), req);
  }
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  return EXIT.OK;
}

export const command: Command = { run };
