// `run --report FILE` / `attach --report FILE`: at the end, the HTML report of the records just
// written. Kept apart from the session so it only wraps a command: the records go to --out (or, when
// there is none, to a temporary file removed afterwards) and are read back once the command is done.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileChunks, type ExitStatus } from '../report/index.js';
import { renderReport } from './commands/report.js';
import type { CommandContext } from './commands/types.js';
import { UsageError } from './errors.js';
import { parseMonitorArgs } from './options.js';
import { writeOutput } from './output.js';
import { checkWritable, type OutputTarget } from './resolve.js';

export async function withRunReport(
  ctx: CommandContext,
  inner: (ctx: CommandContext) => Promise<number>,
  /** The monitored command's exit status once known (undefined: not ours, or still running). */
  status: () => ExitStatus | undefined,
  warn: (msg: string) => void = (m) => process.stderr.write(`denet-pure: ${m}\n`),
): Promise<number> {
  const { opts } = parseMonitorArgs(ctx.globalValues, ctx.args);
  if (opts.report === undefined || opts.help) return inner(ctx);
  const report = checkWritable('report', opts.report);
  const out = opts.out !== undefined ? checkWritable('out', opts.out) : undefined;
  for (const [name, target] of [['out', out], ['stats', opts.stats !== undefined ? checkWritable('stats', opts.stats) : undefined]] as const) {
    if (report.kind === 'path' && target?.kind === 'path' && target.path === report.path) {
      throw new UsageError(`--report and --${name} name the same file; give them different names`);
    }
  }
  if (out !== undefined && (out.kind === 'stdout' || out.special)) {
    throw new UsageError('--report reads the records back at the end: give --out a regular file (or no --out), and --json for records on stdout');
  }
  if (report.kind === 'stdout' && opts.json) {
    throw new UsageError('--report - and the records (--json) would both go to standard output; send one of them to a file');
  }
  // The records are read back at the end: from --out, or without it from a temporary file.
  let tmp: string | undefined;
  let records: string;
  let globalValues = ctx.globalValues;
  if (out?.kind === 'path') {
    records = out.path;
  } else {
    tmp = mkdtempSync(join(tmpdir(), 'denet-pure-report-'));
    records = join(tmp, 'run.jsonl');
    globalValues = { ...ctx.globalValues, out: records };
  }
  const innerCtx = { ...ctx, globalValues };
  try {
    let code: number;
    try {
      code = await inner(innerCtx);
    } catch (err) {
      // Monitoring failed after the start: a report of what was recorded still helps; a failure
      // before the start left no records, and the error says why.
      if (existsSync(records)) {
        try { write(report, records, status()); } catch (e) { warn(`no report: ${(e as Error).message}`); }
      }
      throw err;
    }
    write(report, records, status());
    return code;
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

function write(report: OutputTarget, records: string, exit: ExitStatus | undefined): void {
  writeOutput('report', report, renderReport(fileChunks(records), records, { exit }));
}
