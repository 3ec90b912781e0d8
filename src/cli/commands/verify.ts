// `verify FILE.o|- [--section NAME] [--type TYPE] [--json] [--kernel]`: our static verifier's verdict on
// every program of a BPF object (or hex bytecode on stdin), naming the instruction, its disassembly
// and the reason; --kernel also loads each program into the kernel (never attached) and shows its
// verdict beside ours. Exit 0 when we accept every program, 1 when we refuse one, 2 on usage errors.
import { readFileSync } from 'node:fs';
import { decodeRaw, parseHex } from '../../asm/encoding.js';
import { progTypeByName, progTypeName, type ProgTypeId } from '../../asm/abi.js';
import type { ProgramSpec } from '../../asm/spec.js';
import { SUPPORTED_PROG_TYPES, verifyProgram, type VerifyReport } from '../../verify/static/index.js';
import { ObjectError, parseObject, type BpfObject } from '../../object/index.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { parseStrict } from '../options.js';
import type { Command, CommandContext } from './types.js';

const OPTIONS = {
  section: { type: 'string' },
  type: { type: 'string' },
  json: { type: 'boolean' },
  kernel: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: denet-pure verify FILE.o|- [--section NAME] [--type TYPE] [--json] [--kernel]

Checks every program of a clang-built BPF object with denet-pure's static verifier, which never
accepts what the kernel (Linux 6.18, as root) refuses: for each refusal it names the instruction,
its disassembly in the kernel verifier's syntax, and the reason in plain words.

  FILE.o           a BPF object (clang -target bpf -c); '-' reads hex bytecode from stdin instead
                   (8-byte slots, e.g. "b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00"; needs --type)
  --section NAME   only the program(s) of this ELF section (e.g. xdp, kprobe/do_sys_open)
  --type TYPE      check as this program type, by the kernel's name without BPF_PROG_TYPE_:
                   ${[...SUPPORTED_PROG_TYPES].map(progTypeName).join(', ')}
                   (default: from the section name, as libbpf names them)
  --json           {"programs":[{"section","type","instructions","accepted","errors":[{"insn","message"}]}]}
  --kernel         also load each program into the running kernel (never attached; needs root or
                   CAP_BPF) and show the kernel's verdict and the end of its log beside ours

Exit status: 0 when every program is accepted, 1 when one is refused, 2 on usage errors.

  denet-pure verify prog.o
  denet-pure verify prog.o --section xdp --kernel
  echo 'b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00' | denet-pure verify - --type socket_filter
`;

interface KernelSide { accepted: boolean; excerpt: string; processed?: number }

interface Checked {
  section: string;
  name: string;
  type: string;
  instructions: number;
  report?: VerifyReport;
  /** the object loader could not build the program */
  failure?: string;
  kernel?: KernelSide;
}

/** Loads one program into the kernel, never attached, with fresh maps; everything is closed after. */
async function kernelVerdict(spec: ProgramSpec): Promise<KernelSide> {
  const loader = await import('../../loader/index.js');
  let maps: Map<string, import('../../loader/index.js').BpfMap> | undefined;
  try {
    maps = loader.createObjectMaps(spec.maps);
    const prog = loader.loadObjectProgram(spec, maps, { verify: false });
    let processed: number | undefined;
    try {
      processed = prog.info().verifiedInsns;
    } finally {
      prog.close();
    }
    return { accepted: true, excerpt: '', ...(processed ? { processed } : {}) };
  } catch (e) {
    if (e instanceof loader.VerifierRejectedError) return { accepted: false, excerpt: excerptOf(e.excerpt) };
    if (e instanceof loader.BpfError || e instanceof loader.ObjectLoadError) return { accepted: false, excerpt: (e as Error).message.split('\n')[0]!.slice(0, 300) };
    throw e;
  } finally {
    for (const m of maps?.values() ?? []) m.close();
  }
}

/** The last few log lines, each cut short: enough to see the kernel's reason. */
function excerptOf(log: string): string {
  return log.split('\n').filter((l) => l.trim()).slice(-4).map((l) => (l.length > 160 ? `${l.slice(0, 157)}...` : l)).join('\n');
}

function programsOf(file: string, type: ProgTypeId | undefined, stdin: () => string): { programs: Array<{ spec?: ProgramSpec; section: string; name: string; failure?: string }> } {
  if (file === '-') {
    if (type === undefined) throw new UsageError('hex input on stdin needs --type (e.g. --type socket_filter)');
    let insns;
    try {
      insns = decodeRaw(parseHex(stdin()));
    } catch (e) {
      throw new UsageError(`stdin: ${(e as Error).message}`);
    }
    if (!insns.length) throw new UsageError('no program on stdin');
    const spec: ProgramSpec = { name: 'stdin', type, insns, mapRefs: [], maps: [], license: 'GPL' };
    return { programs: [{ spec, section: '-', name: 'stdin' }] };
  }
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let obj: BpfObject;
  try {
    obj = parseWithCore(data, file, type);
  } catch (e) {
    if (e instanceof ObjectError) throw new UsageError(`${file}: ${e.message.split('\n')[0]!.slice(0, 300)}`);
    throw e;
  }
  return {
    programs: [
      ...obj.programs.map((p) => ({ spec: p.spec, section: p.spec.section ?? '', name: p.spec.name })),
      ...obj.failures.map((f) => ({ section: f.section, name: f.name, failure: f.error.message.split('\n')[0]! })),
    ],
  };
}

/** CO-RE relocations are applied for the running kernel when its BTF is readable, else refused per program. */
function parseWithCore(data: Buffer, file: string, type: ProgTypeId | undefined): BpfObject {
  const opts = { source: file, ...(type !== undefined ? { type } : {}) };
  try {
    return parseObject(data, { ...opts, core: 'apply' });
  } catch (e) {
    if (e instanceof ObjectError) throw e;
    return parseObject(data, opts);
  }
}

async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseStrict(ctx.args, OPTIONS, true);
  if (values.help || ctx.globalValues.help) return process.stdout.write(HELP), EXIT.OK;
  if (positionals.length !== 1) throw new UsageError(`expected one FILE.o (or - for hex on stdin), got ${positionals.length}; see denet-pure verify --help`);
  const typeName = values.type as string | undefined;
  const section = values.section as string | undefined;
  let type: ProgTypeId | undefined;
  if (typeName !== undefined) {
    type = progTypeByName(typeName);
    if (type === undefined) throw new UsageError(`unknown program type '${typeName.slice(0, 40)}': use the kernel's name without BPF_PROG_TYPE_, e.g. xdp, sched_cls, kprobe, socket_filter`);
  }
  const { programs } = programsOf(positionals[0]!, type, () => readFileSync(0, 'utf8'));
  const chosen = section === undefined ? programs : programs.filter((p) => p.section === section);
  if (!chosen.length) {
    const have = [...new Set(programs.map((p) => p.section))].join(', ') || 'none';
    throw new UsageError(section === undefined ? `${positionals[0]}: no BPF programs in this object` : `no program in section '${section.slice(0, 80)}' (sections with programs: ${have.slice(0, 300)})`);
  }

  const checked: Checked[] = [];
  for (const p of chosen) {
    const c: Checked = { section: p.section, name: p.name, type: p.spec ? progTypeName(p.spec.type) : type !== undefined ? progTypeName(type) : '?', instructions: p.spec?.insns.length ?? 0 };
    if (p.failure || !p.spec) c.failure = p.failure ?? 'not built';
    else {
      c.report = verifyProgram(p.spec);
      if (values.kernel) {
        try {
          c.kernel = await kernelVerdict(p.spec);
        } catch (e) {
          throw new CliError(`--kernel: cannot load programs here: ${(e as Error).message.split('\n')[0]!.slice(0, 200)}`);
        }
      }
    }
    checked.push(c);
  }
  const accepted = (c: Checked) => !c.failure && c.report!.ok;

  if (values.json || ctx.globalValues.json) {
    const doc = {
      programs: checked.map((c) => ({
        section: c.section,
        type: c.type,
        instructions: c.instructions,
        accepted: accepted(c),
        errors: c.failure ? [{ insn: -1, message: c.failure }] : c.report!.errors.map((e) => ({ insn: e.index, message: e.message })),
        ...(c.kernel ? { kernel: { accepted: c.kernel.accepted, log: c.kernel.excerpt, ...(c.kernel.processed ? { processed: c.kernel.processed } : {}) } } : {}),
      })),
    };
    process.stdout.write(`${JSON.stringify(doc)}\n`);
  } else {
    for (const c of checked) {
      const head = `${c.section} (${c.name}, ${c.type}, ${c.instructions} insns)`;
      if (c.failure) process.stdout.write(`${head}: refused: cannot be built from the object: ${c.failure}\n`);
      else {
        process.stdout.write(`${head}: ${c.report!.ok ? 'accepted' : 'refused'}\n`);
        if (!c.report!.ok) process.stdout.write(`${c.report!.format()}\n`);
      }
      if (c.kernel) {
        process.stdout.write(`  kernel: ${c.kernel.accepted ? `accepted${c.kernel.processed ? ` (${c.kernel.processed} instructions processed)` : ''}` : 'refused'}\n`);
        if (c.kernel.excerpt) process.stdout.write(`${c.kernel.excerpt.split('\n').map((l) => `    | ${l}`).join('\n')}\n`);
      }
    }
  }
  return checked.every(accepted) ? EXIT.OK : EXIT.RUNTIME;
}

export const command: Command = { run };
