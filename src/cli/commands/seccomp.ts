// `seccomp RUN... --format oci|systemd|bpf -o FILE`: the syscalls seen in the runs as an allow-list.
import { cbpf } from '../../asm/index.js';
import { learnAllowList, ociProfile, seccompProgram, systemdDropIn, type DenyAction } from '../../policy/index.js';
import { EXIT, UsageError } from '../errors.js';
import { parseStrict } from '../options.js';
import { writeOutput } from '../output.js';
import { checkWritable } from '../resolve.js';
import { asCliError, readRun, stderrWarn } from '../runs.js';
import type { Command, CommandContext } from './types.js';

export const SECCOMP_HELP = `usage: denet-pure seccomp RUN [RUN...] --format oci|systemd|bpf -o FILE [--deny errno|kill]
                          [--allow NAMES] [--arch x86_64|aarch64]

Writes a seccomp allow-list of every syscall the runs made (their union): record each run with
--enable-ebpf --out FILE, covering everything the program does (its error paths too). Any other
syscall is denied. 32-bit (compat) syscalls, named ia32:NAME / arm32:NAME in the runs, are kept
apart: bpf checks them on their own ABI, oci lists them in a second entry with that architecture,
systemd cannot express them and refuses.

  --format oci      the linux.seccomp object of an OCI runtime config (podman/docker
                    --security-opt seccomp=FILE): defaultAction, architectures, syscalls[].names
  --format systemd  a unit drop-in: SystemCallArchitectures=native and SystemCallFilter=
  --format bpf      a compiled classic-BPF filter, raw struct sock_filter bytes, as
                    bwrap --seccomp FD reads them (inspect it with denet-pure disasm --cbpf FILE)
  -o, --out FILE    where to write (atomically; '-' for stdout)
  --deny errno      a denied syscall fails with EPERM (the default)
  --deny kill       a denied syscall kills the process (SIGSYS)
  --allow NAMES     add syscalls (comma list, repeatable; ia32:NAME for a 32-bit one) that the
                    launcher needs after it installs the filter but the run did not count
  --arch ARCH       the architecture the runs were recorded on (default: the file's metadata)
  -h, --help        this text

What a launcher needs: counting starts at the command's execve, so the execve and everything the
dynamic loader does before main are in the run. bwrap installs the filter just before that execve
and needs nothing more, except with --unshare-pid (or --unshare-all): its pid-1 process then runs
under the filter too and needs wait4. systemd adds its own set (execve, exit_group, ...) itself.

Examples:
  denet-pure --enable-ebpf --out ls.jsonl run -- ls /
  denet-pure seccomp ls.jsonl --format bpf -o ls.bpf
  bwrap --ro-bind / / --seccomp 3 ls / 3< ls.bpf
  denet-pure seccomp ls.jsonl --format bpf --allow wait4 -o ls.bpf   # for bwrap --unshare-all
  denet-pure seccomp a.jsonl b.jsonl --format oci -o profile.json
  denet-pure seccomp ls.jsonl --format systemd --deny kill -o seccomp.conf`;

const OPTIONS = {
  format: { type: 'string', short: 'f' },
  out: { type: 'string', short: 'o' },
  deny: { type: 'string' },
  allow: { type: 'string', multiple: true },
  arch: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { format?: string; out?: string; deny?: string; allow?: string[]; arch?: string; help?: boolean };

async function run(ctx: CommandContext): Promise<number> {
  const parsed = parseStrict(ctx.args, OPTIONS, true);
  const values = parsed.values as Values;
  const files = parsed.positionals;
  if (values.help || ctx.globalValues.help) return process.stdout.write(SECCOMP_HELP + '\n'), EXIT.OK;
  // -o given before the subcommand is the monitor's --out; accept it here too.
  const out = values.out ?? (ctx.globalValues.out as string | undefined);
  const format = values.format;
  if (format === undefined) throw new UsageError('seccomp needs --format oci, systemd or bpf');
  if (format !== 'oci' && format !== 'systemd' && format !== 'bpf') throw new UsageError(`invalid --format '${format}': expected oci, systemd or bpf`);
  const deny = values.deny ?? 'errno';
  if (deny !== 'errno' && deny !== 'kill') throw new UsageError(`invalid --deny '${deny}': expected errno (EPERM) or kill`);
  if (out === undefined || out === '') throw new UsageError("seccomp needs -o FILE (or -o - for stdout)");
  if (files.length === 0) throw new UsageError('seccomp needs at least one run, e.g. denet-pure seccomp run.jsonl --format oci -o profile.json');
  if (values.arch !== undefined && !['x86_64', 'aarch64', 'x64', 'arm64', 'amd64'].includes(values.arch)) {
    throw new UsageError(`invalid --arch '${values.arch}': expected x86_64 or aarch64`);
  }
  if (files.filter((f) => f === '-').length > 1) throw new UsageError("only one run can be '-' (stdin)");
  if (out === '-' && format === 'bpf' && process.stdout.isTTY) throw new UsageError('not writing a binary filter to a terminal; give -o FILE or pipe it');

  // Checked before any work, so a bad -o fails at once and creates nothing.
  const target = checkWritable('out', out);
  const runs = files.map((f) => readRun(f, stderrWarn));
  const list = asCliError(() => learnAllowList(runs, { arch: values.arch, allow: values.allow }));
  const d = deny as DenyAction;
  const { data, what } = asCliError((): { data: string | Buffer; what: string } => {
    if (format === 'oci') return { data: JSON.stringify(ociProfile(list, d), null, 2) + '\n', what: 'OCI profile' };
    if (format === 'systemd') return { data: systemdDropIn(list, d), what: 'systemd drop-in' };
    const { filters } = cbpf.assembleCbpf(seccompProgram(list, d));
    return { data: cbpf.encodeCbpf(filters), what: `${filters.length} BPF instructions` };
  });
  writeOutput('out', target, data);
  const added = values.allow?.length ? ' (with --allow)' : '';
  const compat = list.compat.length ? `, ${list.compat.length} 32-bit (${list.compatPrefix})` : '';
  const n = list.native.length;
  stderrWarn(`seccomp: ${n} ${list.arch} syscall${n === 1 ? '' : 's'}${compat}${added} allowed, others ${deny === 'kill' ? 'kill the process' : 'fail with EPERM'}: ${out === '-' ? 'stdout' : out} (${what})`);
  return EXIT.OK;
}

export const command: Command = { run };
