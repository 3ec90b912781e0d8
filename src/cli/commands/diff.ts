// `diff BASE HEAD`: two runs side by side; with --max-increase, exit 1 naming every limit passed.
import { DEFAULT_NOISE, diffJson, diffRuns, formatDiff, parseLimits } from '../../policy/index.js';
import { EXIT, UsageError } from '../errors.js';
import { parseStrict } from '../options.js';
import { asCliError, readRun, stderrWarn } from '../runs.js';
import type { Command, CommandContext } from './types.js';

export const DIFF_HELP = `usage: denet-pure diff BASE HEAD [--max-increase LIMITS] [--min-count N] [--min-change N] [--json] [--all]

Compares two runs, figure by figure: wall time, CPU time, peak RSS, disk read/write, processes,
syscalls in all, syscall errors and time (when recorded), each category and each syscall: base -> head, the change
and the change in %. BASE and HEAD are JSON Lines files (--out FILE) or summaries (--stats FILE);
'-' reads one of them from stdin. A file whose summary line is missing (the run was cut short) is
summarized again from its samples, and diff says so.

  --max-increase LIMITS  fail (exit 1) when a figure grew by more than its limit, naming each one.
                         LIMITS is a comma list; the option may be repeated:
                           10%                 every counted figure: processes, syscalls, each
                                               syscall, each category, errors (they repeat exactly
                                               run to run)
                           syscalls=5%         one figure: wall, cpu, rss, read, write, processes,
                                               syscalls, errors, syscall_time (times and sizes are
                                               checked only when named)
                           syscall:openat=20%  one syscall (syscall:ia32:read for a 32-bit one)
                           category:network=0  one category; syscall:* and category:* for all
                           syscall:futex=+50   an absolute increase instead of a percentage
                         The most specific limit applies to each figure.
  --min-count N          counts below N in HEAD never pass a percentage limit (default ${DEFAULT_NOISE.minCount})
  --min-change N         a count must grow by at least N to pass a percentage limit (default ${DEFAULT_NOISE.minChange})
  --json                 the report as one JSON object (figures, limits, breaches, notes, ok)
  --all                  list unchanged syscalls too
  -h, --help             this text

Noise: a syscall absent from BASE is "new" (an unbounded increase: any percentage limit catches it
once it passes --min-count and --min-change); one absent from HEAD is "gone" and never fails.
Times and sizes pass a percentage limit only when they grew by at least 0.1 s, 1 MiB of RSS or
64 KiB of disk I/O. A figure a named limit cannot compare (a run without --enable-ebpf) fails.

Examples:
  denet-pure --enable-ebpf --out base.jsonl run -- ./bench
  denet-pure --enable-ebpf --out head.jsonl run -- ./bench
  denet-pure diff base.jsonl head.jsonl
  denet-pure diff base.jsonl head.jsonl --max-increase 5%,syscall:futex=25%,rss=10%

Exit: 0 no limit passed, 1 a limit passed (or a file cannot be used), 2 usage error.`;

const OPTIONS = {
  'max-increase': { type: 'string', multiple: true },
  'min-count': { type: 'string' },
  'min-change': { type: 'string' },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function count(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`invalid --${name} '${raw}': expected a whole number of calls, e.g. --${name} ${fallback}`);
  return Number(raw);
}

async function run(ctx: CommandContext): Promise<number> {
  const parsed = parseStrict(ctx.args, OPTIONS, true);
  const positionals = parsed.positionals;
  const values = parsed.values as { 'max-increase'?: string[]; 'min-count'?: string; 'min-change'?: string; json?: boolean; all?: boolean; help?: boolean };
  if (values.help || ctx.globalValues.help) return process.stdout.write(DIFF_HELP + '\n'), EXIT.OK;
  if (positionals.length !== 2) {
    throw new UsageError(positionals.length < 2 ? 'diff needs two runs, e.g. denet-pure diff base.jsonl head.jsonl' : `diff takes two runs, got ${positionals.length}`);
  }
  if (positionals[0] === '-' && positionals[1] === '-') throw new UsageError("only one of BASE and HEAD can be '-' (stdin)");
  const limits = asCliError(() => parseLimits(values['max-increase'] ?? []));
  const noise = { minCount: count('min-count', values['min-count'], DEFAULT_NOISE.minCount), minChange: count('min-change', values['min-change'], DEFAULT_NOISE.minChange) };
  const base = readRun(positionals[0]!, stderrWarn);
  const head = readRun(positionals[1]!, stderrWarn);
  const d = diffRuns(base, head, limits, noise);
  if (values.json || ctx.globalValues.json) process.stdout.write(JSON.stringify(diffJson(base, head, d, limits)) + '\n');
  else process.stdout.write(formatDiff(base, head, d, { all: values.all === true }));
  if (d.breaches.length === 0) return EXIT.OK;
  stderrWarn(`diff: ${d.breaches.length} limit${d.breaches.length === 1 ? '' : 's'} passed: ${d.breaches.map((b) => b.text).join('; ')}`);
  return EXIT.RUNTIME;
}

export const command: Command = { run };
