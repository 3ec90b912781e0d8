// `report FILE [-o OUT.html]`: one self-contained HTML report of a JSON Lines file (plots, process
// timeline, phases, syscalls). Written whole and atomically: a reader sees the old file or the new one.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildReport, DEFAULT_MAX_POINTS, fileChunks } from '../../report/index.js';
import { packageVersion } from '../../session/index.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { parseStrict } from '../options.js';
import { writeOutput } from '../output.js';
import { checkWritable } from '../resolve.js';
import type { Command, CommandContext } from './types.js';

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  'max-points': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const REPORT_HELP = `Usage: denet-pure report FILE [-o OUT.html] [--max-points N]

Writes one self-contained HTML file from the JSON Lines of a run (--out FILE): panels over time with
a shared cursor (CPU per command, memory, disk, network, syscalls by category, errors and time in
syscalls, pressure, threads), the process timeline, the phases of the run with their dominant resource
and syscall mix, and the syscall picture (categories, top syscalls, the per-syscall table, the
behaviour classification, the flame graph when stacks were recorded). The header says what the run
had and what it did not record. The file fetches nothing: it opens offline in any browser.

  FILE                  a file written by denet-pure --out (any version) or by denet; '-' reads stdin
  -o, --output OUT      the HTML file (default: FILE with .html instead of .jsonl; '-' = stdout)
  --max-points N        most points per panel (default ${DEFAULT_MAX_POINTS}); longer runs are downsampled
                        keeping each bucket's minimum and maximum, so no peak is lost
  -h, --help            this text

Example:
  denet-pure --enable-ebpf --out run.jsonl run -- make -j2
  denet-pure report run.jsonl -o report.html
Or in one step: denet-pure --enable-ebpf --report report.html run -- make -j2
`;

function sameFile(a: string, b: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
}

function defaultOutput(file: string): string {
  if (file === '-') return 'report.html';
  return file.endsWith('.jsonl') ? file.slice(0, -'.jsonl'.length) + '.html' : `${file}.html`;
}

async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseStrict(ctx.args, OPTIONS, true);
  if (values.help || ctx.globalValues.help) return process.stdout.write(REPORT_HELP), EXIT.OK;
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'report needs a file, e.g. denet-pure report run.jsonl -o report.html' : `report takes one file, got ${positionals.length}`);
  }
  const file = positionals[0]!;
  const given = { output: values.output as string | undefined, maxPoints: values['max-points'] as string | undefined };
  // `denet-pure -o x.html report FILE`: the global -o is --out, but here it can only mean the report.
  const output = given.output ?? (ctx.globalValues.out as string | undefined) ?? defaultOutput(file);
  let maxPoints = DEFAULT_MAX_POINTS;
  if (given.maxPoints !== undefined) {
    maxPoints = /^\d+$/.test(given.maxPoints) ? Number(given.maxPoints) : NaN;
    if (!(maxPoints >= 100 && maxPoints <= 1_000_000)) {
      throw new UsageError(`invalid --max-points '${given.maxPoints}': expected a whole number from 100 to 1000000, e.g. --max-points 4000`);
    }
  }
  const target = checkWritable('output', output);
  if (target.kind === 'path' && file !== '-' && sameFile(file, target.path)) {
    throw new UsageError(`-o ${output} would overwrite the input file; give another name, e.g. -o ${defaultOutput(file)}`);
  }

  let input: string | Iterable<string>;
  try {
    // A file is read in chunks of lines (a long run's file is never one string); '-' reads stdin.
    if (file === '-') input = readFileSync(0, 'utf8');
    else {
      const chunks = fileChunks(file);
      const first = chunks.next();
      input = (function* () { if (!first.done) yield first.value; yield* chunks; })();
    }
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  writeOutput('output', target, renderReport(input, file, { maxPoints }));
  return EXIT.OK;
}

/** The report of a file's text, with this version as its generator. Also used by `run --report`. */
export function renderReport(input: string | Iterable<string>, file: string, opts: Parameters<typeof buildReport>[1] = {}): string {
  return buildReport(input, { generator: `denet-pure ${packageVersion()}`, source: file, ...opts });
}

export const command: Command = { run };
