// Synthetic run files for the policy tests: JSON Lines as a run writes them (metadata, tree
// records with cumulative ebpf blocks, summary), with the counts the test chooses.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBySyscall, buildSyscallsBlock } from '../../src/syscalls/index.js';
import { metrics } from './records.js';
import { scratchDir } from './workloads.js';

export interface FakeRun {
  counts: Record<string, number>;
  /** seconds between first and last sample */
  wall?: number;
  cpu?: number;
  rssKb?: number;
  samples?: number;
  /** leave the summary line out (a run cut short) */
  noSummary?: boolean;
  /** extra fields merged into the summary's ebpf.syscalls (table, errors) */
  extraSyscalls?: Record<string, unknown>;
  /** extra fields merged into the summary's ebpf (losses) */
  extraEbpf?: Record<string, unknown>;
  arch?: string;
  /** summary.total_processes */
  processes?: number;
  /** no eBPF at all */
  noEbpf?: boolean;
}

export function runLines(r: FakeRun): string[] {
  const n = r.samples ?? 3;
  const wall = r.wall ?? 1;
  const t0 = 1_700_000_000_000;
  const lines: unknown[] = [{ kind: 'metadata', pid: 1234, cmd: ['./bench'], executable: '/bin/bench', t0_ms: t0, version: '0.1.0', ...(r.arch ? { arch: r.arch } : {}), capabilities: { ebpf: { available: !r.noEbpf, mode: 'raw' } } }];
  for (let i = 0; i < n; i++) {
    const share = (i + 1) / n;
    const partial = Object.fromEntries(Object.entries(r.counts).map(([k, v]) => [k, Math.round(v * share)]));
    const ts = t0 + Math.round((wall * 1000 * i) / Math.max(1, n - 1));
    const aggregated: Record<string, unknown> = {
      ...metrics({ ts_ms: ts, cpu_usage: 50, mem_rss_kb: r.rssKb ?? 4096, thread_count: 1 }),
      process_count: 1,
      cpu_time_secs: (r.cpu ?? 0.5) * share,
    };
    if (!r.noEbpf) aggregated.ebpf = { syscalls: buildSyscallsBlock(partial, wall * share), losses: { syscalls_uncounted: 0, processes_untracked: 0, exits_unrecorded: 0 } };
    lines.push({ kind: 'tree', ts_ms: ts, parent: null, children: [], aggregated });
  }
  if (!r.noSummary) {
    const summary: Record<string, unknown> = {
      kind: 'summary', total_time_secs: wall, sample_count: n, max_processes: 1, max_threads: 1, peak_mem_rss_kb: r.rssKb ?? 4096,
      avg_cpu_usage: 50, peak_cpu_usage: 50, total_cpu_time_secs: r.cpu ?? 0.5, total_disk_read_bytes: 0, total_disk_write_bytes: 0,
      total_syscall_read_bytes: 0, total_syscall_write_bytes: 0, ...(r.processes !== undefined ? { total_processes: r.processes } : {}),
    };
    if (!r.noEbpf) {
      summary.ebpf = {
        syscalls: { ...buildSyscallsBlock(r.counts, wall), by_syscall: buildBySyscall(new Map(Object.entries(r.counts))), ...r.extraSyscalls },
        losses: { syscalls_uncounted: 0, processes_untracked: 0, exits_unrecorded: 0 },
        ...r.extraEbpf,
      };
    }
    lines.push(summary);
  }
  return lines.map((l) => JSON.stringify(l));
}

let serial = 0;
/** Writes `text` (or the run's JSON Lines) to a fresh scratch file; returns its path. */
export function writeRun(r: FakeRun | string, name = `run${serial++}.jsonl`): string {
  const path = join(scratchDir(), name);
  writeFileSync(path, typeof r === 'string' ? r : runLines(r).join('\n') + '\n');
  return path;
}
