// `stats FILE`: the summary of a JSON Lines file written by --out/--json. Corrupt lines are reported
// with their line numbers and skipped; on a complete file the result equals the run's summary record.
// --syscalls: every syscall's row of the strace -c style table; --by-process, --by-thread: the
// per-process and per-thread tables; --flamegraph/--stacks: the summary's stacks drawn or written again.
import { readFileSync } from 'node:fs';
import {
  hasSummary, parseJsonLines, recordsToCsv, summarizeRecords, formatSummaryTable, formatSyscallTable, formatProcessTable,
  formatThreadTable, sortRows, csvField, SYSCALL_SORTS, describeFilter,
  type MetadataRecord, type MonitorRecord, type SummaryRecord, type SyscallRow, type SyscallSort,
} from '../../monitor/index.js';
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
  syscalls: { type: 'boolean' },
  sort: { type: 'string' },
  'by-process': { type: 'boolean' },
  'by-thread': { type: 'boolean' },
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
  const views = (['syscalls', 'by-process', 'by-thread'] as const).filter((v) => values[v] === true);
  if (views.length > 1) throw new UsageError(`--${views[0]} and --${views[1]} are separate views; give one of them`);
  const view = views[0];
  if (drawing && view !== undefined) throw new UsageError(`--${view} prints a table of the summary, --flamegraph/--stacks write its stacks; give one or the other`);
  if (values.sort !== undefined && view !== 'syscalls') throw new UsageError('--sort orders the rows of --syscalls; give --syscalls too');
  const sort = (values.sort ?? 'calls') as SyscallSort;
  if (!SYSCALL_SORTS.includes(sort)) throw new UsageError(`invalid --sort '${values.sort}': expected ${SYSCALL_SORTS.join(', ')}`);
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
  if (format === 'csv' && view === undefined) {
    process.stdout.write(recordsToCsv(records));
    return EXIT.OK;
  }
  if (!hasSummary(records)) {
    const samples = records.filter((r) => r.kind === 'tree' || r.kind === 'sample').length;
    if (samples === 0) throw new CliError(`${file} holds no samples and no summary; nothing to summarize`);
    process.stderr.write(`denet-pure: ${file} has no summary record (the run was cut short?): rebuilt from its ${samples} samples\n`);
  }
  const summary = summarizeRecords(records);
  if (view !== undefined) return printView(view, summary, file, format, sort);
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

const color = () => useColor(process.stdout);

/** --syscalls, --by-process, --by-thread: one table of the summary, as a table, JSON or CSV. */
function printView(view: 'syscalls' | 'by-process' | 'by-thread', summary: SummaryRecord, file: string, format: string, sort: SyscallSort): number {
  const ebpf = summary.ebpf;
  if (!ebpf) throw new CliError(`${file} has no syscall counts (the run had no --enable-ebpf)`);
  const filtered = describeFilter(ebpf.filter);
  const note = (s: string) => { if (format === 'table') process.stdout.write(s); };
  if (view === 'syscalls') {
    let rows: SyscallRow[] | undefined = ebpf.syscalls.table;
    if (!rows) {
      const counts = ebpf.syscalls.by_syscall;
      if (!counts) throw new CliError(`${file} has no per-syscall counts (no summary record, and the samples carry none)`);
      // --count-only: calls alone.
      rows = Object.entries(counts).map(([name, calls]) => ({ name, calls, errors: 0, errnos: {}, total_us: 0, avg_us: 0, max_us: 0, hist_log2_us: [], unfinished: 0 }));
      note('calls only: this run was counted with --count-only (no errors, no times)\n');
    }
    if (filtered) note(`filtered: ${filtered}\n`);
    const sorted = sortRows(rows, sort);
    if (format === 'json') process.stdout.write(JSON.stringify(sorted) + '\n');
    else if (format === 'csv') {
      const cols = ['name', 'calls', 'errors', 'errnos', 'total_us', 'avg_us', 'max_us', 'unfinished', 'hist_log2_us'] as const;
      const line = (r: SyscallRow) => cols.map((c) => csvField(c === 'errnos' ? Object.entries(r.errnos).map(([e, n]) => `${e}:${n}`).join(' ') : c === 'hist_log2_us' ? r.hist_log2_us.join(' ') : r[c])).join(',');
      process.stdout.write([cols.join(','), ...sorted.map(line)].join('\r\n') + '\r\n');
    } else process.stdout.write(formatSyscallTable(sorted, { sort, color: color() }));
    return EXIT.OK;
  }
  const list = view === 'by-process' ? ebpf.by_process : ebpf.by_thread;
  if (!list) {
    throw new CliError(view === 'by-process'
      ? `${file} has no per-process table (written by an older version, or the run was cut short)`
      : `${file} has no per-thread table (run with --per-thread)`);
  }
  if (filtered) note(`filtered: ${filtered}\n`);
  if (format === 'json') process.stdout.write(JSON.stringify(list) + '\n');
  else if (format === 'csv') {
    const pairs = (by: Record<string, number>) => Object.entries(by).map(([n, c]) => `${n}:${c}`).join(' ');
    const head = view === 'by-process' ? ['pid', 'ppid', 'comm', 'total', 'errors', 'by_syscall'] : ['tid', 'pid', 'comm', 'total', 'by_syscall'];
    const cells: (string | number | undefined)[][] = view === 'by-process'
      ? ebpf.by_process!.map((p) => [p.pid, p.ppid, p.comm, p.total, p.errors, pairs(p.by_syscall)])
      : ebpf.by_thread!.map((t) => [t.tid, t.pid, t.comm, t.total, pairs(t.by_syscall)]);
    const rows = cells.map((r) => r.map(csvField).join(','));
    process.stdout.write([head.join(','), ...rows].join('\r\n') + '\r\n');
  } else if (view === 'by-process') process.stdout.write(formatProcessTable(ebpf.by_process!, { color: color() }));
  else process.stdout.write(formatThreadTable(ebpf.by_thread!, { color: color() }));
  return EXIT.OK;
}
