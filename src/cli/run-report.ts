// `run --report FILE` / `attach --report FILE`: at the end, the HTML report of the records just
// written. Kept apart from the session so it only wraps a command: the records go to --out (or, when
// there is none, to a temporary file removed afterwards) and are read back once the command is done.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExitStatus } from '../report/index.js';
import { renderReport } from './commands/report.js';
import type { CommandContext } from './commands/types.js';
import { UsageError } from './errors.js';
import { parseMonitorArgs } from './options.js';
import { writeFileAtomic } from './output.js';
import { checkWritable } from './resolve.js';

export async function withRunReport(
  ctx: CommandContext,
  inner: (ctx: CommandContext) => Promise<number>,
  /** The monitored command's exit status once known (undefined: not ours, or still running). */
  status: () => ExitStatus | undefined,
  warn: (msg: string) => void = (m) => process.stderr.write(`denet-pure: ${m}\n`),
): Promise<number> {
  const { opts } = parseMonitorArgs(ctx.globalValues, ctx.args);
  if (opts.report === undefined || opts.help) return inner(ctx);
  const reportPath = checkWritable('report', opts.report);
  for (const [name, path] of [['out', opts.out], ['stats', opts.stats]] as const) {
    if (path !== undefined && checkWritable(name, path) === reportPath) throw new UsageError(`--report and --${name} name the same file; give them different names`);
  }
  let tmp: string | undefined;
  let records = opts.out;
  if (records === undefined) {
    tmp = mkdtempSync(join(tmpdir(), 'denet-pure-report-'));
    records = join(tmp, 'run.jsonl');
  }
  try {
    let code: number;
    try {
      code = await inner(tmp ? { ...ctx, globalValues: { ...ctx.globalValues, out: records } } : ctx);
    } catch (err) {
      // Monitoring failed after the start: a report of what was recorded still helps; a failure
      // before the start left no records, and the error says why.
      if (existsSync(records)) {
        try { write(reportPath, records, status()); } catch (e) { warn(`no report: ${(e as Error).message}`); }
      }
      throw err;
    }
    write(reportPath, records, status());
    return code;
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

function write(reportPath: string, records: string, exit: ExitStatus | undefined): void {
  const html = renderReport(readFileSync(records, 'utf8'), records, { exit });
  writeFileAtomic('report', reportPath, html);
}
