// `stats FILE`: the summary of a JSON Lines file written by --out/--json. Corrupt lines are reported
// with their line numbers and skipped; on a complete file the result equals the run's summary record.
import { readFileSync } from 'node:fs';
import { hasSummary, parseJsonLines, recordsToCsv, summarizeRecords, formatSummaryTable } from '../../monitor/index.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { parseStrict } from '../options.js';
import { useColor } from '../output.js';
import type { Command, CommandContext } from './types.js';

const OPTIONS = {
  json: { type: 'boolean' },
  format: { type: 'string', short: 'f' },
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

export const command: Command = { run };
