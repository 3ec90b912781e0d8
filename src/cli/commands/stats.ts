// `stats FILE`: the summary of a JSON Lines file written by --out/--json. Corrupt lines are reported
// with their line numbers and skipped; on a complete file the result equals the run's summary record.
import { readFileSync } from 'node:fs';
import { hasSummary, parseJsonLines, recordsToCsv, summarizeRecords, formatSummaryTable, type MetadataRecord, type MonitorRecord, type SummaryRecord } from '../../monitor/index.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { parseStrict } from '../options.js';
import { useColor, writeOutput } from '../output.js';
import { checkWritable, type OutputTarget } from '../resolve.js';
import { flameGraphSvg, foldedText } from '../stacks-output.js';
import type { Command, CommandContext } from './types.js';

const OPTIONS = {
  json: { type: 'boolean' },
  format: { type: 'string', short: 'f' },
  flamegraph: { type: 'string' },
  stacks: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseStrict(ctx.args, OPTIONS, true);
  if (values.help || ctx.globalValues.help) return ctx.printHelp(), EXIT.OK;
  const json = values.json === true || ctx.globalValues.json === true;
  const format = values.format ?? (json ? 'json' : 'table');
  if (format !== 'table' && format !== 'json' && format !== 'csv') {
    throw new UsageError(`invalid --format '${format}': expected table, json or csv`);
  }
  if (json && format !== 'json') throw new UsageError(`--json and --format ${format} disagree; give one of them`);
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'stats needs a file, e.g. denet-pure stats run.jsonl' : `stats takes one file, got ${positionals.length}`);
  }
  const file = positionals[0]!;
  const flame = values.flamegraph as string | undefined, folded = values.stacks as string | undefined;
  const drawing = flame !== undefined || folded !== undefined;
  if (drawing && values.format !== undefined) throw new UsageError('--format does not apply to --flamegraph/--stacks (they write the stacks, not the summary); give one or the other');
  const targets = drawing ? stackTargets(flame, folded) : undefined;

  let text: string;
  try {
    // '-' reads standard input, for pipes.
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const { records, errors } = parseJsonLines(text);
  for (const e of errors) process.stderr.write(`denet-pure: ${file}:${e.line}: skipped: ${e.message}\n`);
  if (records.length === 0) throw new CliError(`${file} holds no records; expected JSON Lines written by denet-pure --out`);

  if (targets) return drawStacks(file, records, targets);
  if (format === 'csv') {
    process.stdout.write(recordsToCsv(records));
    return EXIT.OK;
  }
  if (!hasSummary(records)) {
    const samples = records.filter((r) => r.kind === 'tree' || r.kind === 'sample').length;
    if (samples === 0) throw new CliError(`${file} holds no samples and no summary; nothing to summarize`);
    process.stderr.write(`denet-pure: ${file} has no summary record (the run was cut short?): rebuilt from its ${samples} samples\n`);
  }
  const summary = summarizeRecords(records);
  if (format === 'json') process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stdout.write(formatSummaryTable(summary, { color: useColor(process.stdout) }));
  return EXIT.OK;
}

/**
 * `stats FILE --flamegraph OUT.svg` / `--stacks OUT.folded`: the stacks of a saved run (its summary's
 * ebpf.stacks) drawn again / written out again.
 */
function stackTargets(flame: string | undefined, folded: string | undefined): { flame?: OutputTarget; folded?: OutputTarget } {
  for (const [name, v] of [['flamegraph', flame], ['stacks', folded]] as const) {
    if (v === '') throw new UsageError(`--${name} needs a file name, e.g. --${name} ${name === 'flamegraph' ? 'flame.svg' : 'stacks.folded'}`);
  }
  if (flame === '-' && folded === '-') throw new UsageError('--flamegraph - and --stacks - would both go to standard output; send one of them to a file');
  if (flame !== undefined && flame === folded) throw new UsageError('--flamegraph and --stacks name the same file; give them different names');
  return {
    flame: flame !== undefined ? checkWritable('flamegraph', flame) : undefined,
    folded: folded !== undefined ? checkWritable('stacks', folded) : undefined,
  };
}

function drawStacks(file: string, records: MonitorRecord[], targets: { flame?: OutputTarget; folded?: OutputTarget }): number {
  const summary = [...records].reverse().find((r): r is SummaryRecord => r.kind === 'summary');
  if (!summary) throw new CliError(`${file} has no summary record (the run was cut short?): the stacks are only in the summary`);
  const stacks = summary.ebpf?.stacks;
  if (!stacks || !Array.isArray(stacks.folded)) {
    throw new CliError(`${file} has no stacks: record them with --stacks FILE or --flamegraph FILE.svg (with eBPF)`);
  }
  const cmd = records.find((r): r is MetadataRecord => r.kind === 'metadata')?.cmd;
  if (targets.folded) writeOutput('stacks', targets.folded, foldedText(stacks));
  if (targets.flame) writeOutput('flamegraph', targets.flame, flameGraphSvg(stacks, cmd));
  return EXIT.OK;
}

export const command: Command = { run };
