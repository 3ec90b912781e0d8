// --prometheus in the CLI: the exporter is started before anything else (a port in use starts nothing),
// and gets every record of the session next to the CLI's own outputs.
import type { PrometheusExporter } from '../export/server.js';
import type { RecordInfo, SessionObserver } from '../session/index.js';
import type { MonitorRecord, SyscallRow } from '../monitor/index.js';
import { firstLine } from '../session/errors.js';
import type { CliOutputs } from './monitoring.js';
import type { GlobalOptions } from './options.js';

/** Starts serving /metrics when --prometheus was given; `target` is the default of the `target` label. */
export async function startExporter(opts: GlobalOptions, target: string, out: CliOutputs): Promise<PrometheusExporter | undefined> {
  if (!opts.prometheus) return undefined;
  const { PrometheusExporter } = await import('../export/server.js');
  const exporter = await PrometheusExporter.create(opts.prometheusTarget ?? target);
  const bound = await exporter.listen(opts.prometheus);
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  out.warn(`serving metrics of ${exporter.target} at http://${host}:${bound.port}/metrics`);
  return exporter;
}

/** The observer of the session: the exporter (when there is one) and the CLI's outputs, each record to both. */
export function observerOf(out: CliOutputs, exporter: PrometheusExporter | undefined): SessionObserver {
  if (!exporter) return out;
  let failed = false;
  // The export is a view: if it breaks, the records and the summary go on without it.
  const guarded = (feed: () => void) => {
    if (failed) return;
    try {
      feed();
    } catch (err) {
      failed = true;
      out.warn(`--prometheus: the exporter failed (${firstLine(err)}); its metrics stop at this point`);
    }
  };
  return {
    record(rec: MonitorRecord, info: RecordInfo) {
      guarded(() => exporter.record(rec));
      out.record(rec, info);
    },
    // Detail mode: errors, time and latency per syscall, cumulative, after each sample.
    syscallTable(rows: readonly SyscallRow[]) {
      guarded(() => exporter.syscallTable(rows));
    },
    warn: (message: string) => out.warn(message),
  };
}
