// `prog dump`: every program the tracer ships, as it would be loaded on this kernel — disassembly in the
// kernel verifier's syntax (diffable against `bpftool prog dump xlated`), our verifier's verdict,
// instruction count and the maps. Needs no privilege in raw mode (kernel BTF is world-readable).
import { disassemble } from '../../asm/index.js';
import { mapTypeName } from '../../asm/abi.js';
import { verifyProgram } from '../../verify/static/index.js';
import { findTracefs } from '../../loader/index.js';
import { featuresOf, rawLayout, tracefsLayout, tracerPrograms } from '../../tracer/index.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { STACKS_FAILED_ONLY, parseStrict } from '../options.js';
import type { Command, CommandContext } from './types.js';

const OPTIONS = {
  mode: { type: 'string' },
  stacks: { type: 'boolean' },
  'stacks-every': { type: 'string' },
  'stacks-kernel': { type: 'boolean' },
  json: { type: 'boolean' },
  'count-only': { type: 'boolean' },
  'per-thread': { type: 'boolean' },
  'failed-only': { type: 'boolean' },
  filtered: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: denet-pure prog dump [--mode raw|tracefs] [--json] [--count-only] [--per-thread] [--failed-only] [--filtered] [--stacks [--stacks-every N] [--stacks-kernel]]

Prints the tracer's BPF programs as they would be loaded on this kernel: the disassembly in the kernel
verifier's syntax (compare with 'bpftool prog dump xlated id N'), our static verifier's verdict, the
instruction count, and the maps they use.

  --mode raw       raw tracepoints; offsets from kernel BTF (default)
  --mode tracefs   tracefs tracepoints; offsets from the tracefs format files (needs tracefs access)
  --stacks         also the stack-capture program (dp_stacks), as --stacks/--flamegraph load it;
                   --stacks-every N and --stacks-kernel as in run
  --json           one JSON document instead of text

By default, the programs of --enable-ebpf: sys_enter counts and records each call's entry, sys_exit
its result and time. As the run options would load them:
  --count-only     sys_enter alone (no sys_exit program)
  --per-thread     with the per-thread counts
  --failed-only    counting at the return, of failed calls only
  --filtered       with the --trace check (which syscalls is in a map, filled at load)
`;


async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseStrict(ctx.args, OPTIONS, true);
  if (values.help || ctx.globalValues.help) return process.stdout.write(HELP), EXIT.OK;
  if (positionals[0] !== 'dump' || positionals.length !== 1) {
    throw new UsageError(`expected 'prog dump', got 'prog ${positionals.join(' ')}'; see denet-pure prog --help`);
  }
  const mode = values.mode ?? 'raw';
  if (mode !== 'raw' && mode !== 'tracefs') throw new UsageError(`invalid --mode '${mode}': expected raw or tracefs`);

  let layout;
  try {
    layout = mode === 'raw' ? rawLayout() : tracefsLayout(findTracefs({ mountIfMissing: false }).path);
  } catch (err) {
    throw new CliError(`cannot lay out the ${mode} programs on this kernel: ${(err as Error).message.split('\n')[0]}`);
  }
  if (values['count-only'] && values['failed-only']) throw new UsageError('--failed-only needs the sys_exit program, which --count-only leaves out; give one of them');
  if (values.stacks && values['failed-only']) throw new UsageError(STACKS_FAILED_ONLY);
  const every = values['stacks-every'] as string | undefined;
  if ((every !== undefined || values['stacks-kernel']) && !values.stacks) throw new UsageError('--stacks-every and --stacks-kernel shape the stack program: give --stacks too');
  if (every !== undefined && !/^[1-9]\d{0,9}$/.test(every)) throw new UsageError(`invalid --stacks-every '${every}': expected a whole number from 1`);
  const stacks = values.stacks ? { every: every === undefined ? 1 : Number(every), kernel: values['stacks-kernel'] === true } : undefined;
  const features = featuresOf({
    detail: values['count-only'] !== true, perThread: values['per-thread'] === true, failedOnly: values['failed-only'] === true, trace: values.filtered ? [] : undefined,
  });
  let specs;
  try {
    // With the optional scheduler and socket programs where this layout allows them.
    specs = tracerPrograms(layout, undefined, { activity: {}, features, stacks });
  } catch (err) {
    throw new CliError(`cannot build the ${mode} programs on this kernel: ${(err as Error).message.split('\n')[0]}`);
  }
  const dumps = specs.map((spec) => {
    const report = verifyProgram(spec);
    return {
      name: spec.name,
      type: spec.type,
      insn_count: spec.insns.length,
      verifier: { ok: report.ok, errors: report.errors.map((e) => `${e.index}: ${e.disasm}: ${e.message}`) },
      maps: spec.maps.map((m) => ({
        name: m.name, type: mapTypeName(m.type), key_size: m.keySize, value_size: m.valueSize, max_entries: m.maxEntries,
      })),
      disassembly: disassemble(spec.insns, { mapRefs: spec.mapRefs }),
    };
  });
  if (values.json || ctx.globalValues.json) {
    process.stdout.write(JSON.stringify({ mode, programs: dumps }, null, 2) + '\n');
  } else {
    for (const d of dumps) {
      process.stdout.write(`${d.name}  (${mode} tracepoint program, ${d.insn_count} instructions)\n`);
      process.stdout.write(`  verifier: ${d.verifier.ok ? 'accepted' : 'REJECTED'}\n`);
      for (const e of d.verifier.errors) process.stdout.write(`    ${e}\n`);
      process.stdout.write(`  maps: ${d.maps.map((m) => `${m.name} (${m.type}, key ${m.key_size} B, value ${m.value_size} B, max ${m.max_entries})`).join('; ')}\n`);
      d.disassembly.forEach((line, i) => process.stdout.write(`  ${String(i).padStart(4)}: ${line}\n`));
      process.stdout.write('\n');
    }
  }
  return dumps.every((d) => d.verifier.ok) ? EXIT.OK : EXIT.RUNTIME;
}

export const command: Command = { run };
