// The strace -c style table of a run's syscalls, and the per-process and per-thread tables.
import type { EbpfFilter, ProcessSyscalls, SyscallRow, ThreadSyscalls } from './types.js';

export type SyscallSort = 'calls' | 'time' | 'errors';
export const SYSCALL_SORTS: readonly SyscallSort[] = ['calls', 'time', 'errors'];

const ESC = '\x1b[';
const paint = (on: boolean, code: string, s: string) => (on ? `${ESC}${code}m${s}${ESC}0m` : s);
const count = (n: number): string => String(Math.round(n));

/** Rows sorted by calls, total time or errors (descending; ties by calls, then name). */
export function sortRows(rows: readonly SyscallRow[], by: SyscallSort): SyscallRow[] {
  const key = (r: SyscallRow) => (by === 'time' ? r.total_us : by === 'errors' ? r.errors : r.calls);
  return [...rows].sort((a, b) => key(b) - key(a) || b.calls - a.calls || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** "ENOENT 115, EBADF 2": the errnos, most frequent first. */
export function errnoList(errnos: Record<string, number>, limit = 3): string {
  const all = Object.entries(errnos).sort((a, b) => b[1] - a[1]);
  const shown = all.slice(0, limit).map(([e, n]) => `${e} ${n}`).join(', ');
  return all.length > limit ? `${shown}, …` : shown;
}

/** Fixed-width columns: numbers right-aligned, the text columns (the last ones) left-aligned. */
function columns(header: string[], rows: string[][], textFrom: number, color: boolean): string[] {
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < textFrom ? c.padStart(width[i]!) : i === cells.length - 1 ? c : c.padEnd(width[i]!))).join('  ').trimEnd();
  const rule = width.map((w) => '-'.repeat(w)).join('  ');
  return [paint(color, '2', line(header)), paint(color, '2', rule), ...rows.map(line)];
}

export interface SyscallTableOptions {
  sort?: SyscallSort;
  /** Rows shown (default all); the rest are summed in a line that says how many. */
  limit?: number;
  color: boolean;
}

/**
 * strace -c's columns (% time, seconds, usecs/call, calls, errors, syscall) plus the longest call
 * and the errnos. Times are wall clock from entry to return, as strace -w measures them.
 */
export function formatSyscallTable(rows: readonly SyscallRow[], opts: SyscallTableOptions): string {
  const sorted = sortRows(rows, opts.sort ?? 'time');
  const shown = opts.limit !== undefined ? sorted.slice(0, opts.limit) : sorted;
  const totalUs = rows.reduce((a, r) => a + r.total_us, 0);
  const pct = (us: number) => (totalUs > 0 ? ((us / totalUs) * 100).toFixed(2) : '0.00');
  const cells = (r: { total_us: number; avg_us: number; max_us: number; calls: number; errors: number; name: string; errnos: string }) => [
    pct(r.total_us), (r.total_us / 1e6).toFixed(6), count(r.avg_us), count(r.max_us), count(r.calls), r.errors > 0 ? count(r.errors) : '', r.name, r.errnos,
  ];
  const body = shown.map((r) => cells({ ...r, errnos: errnoList(r.errnos) }));
  const rest = sorted.slice(shown.length);
  if (rest.length > 0) {
    const sum = (f: (r: SyscallRow) => number) => rest.reduce((a, r) => a + f(r), 0);
    const us = sum((r) => r.total_us);
    const returned = sum((r) => r.calls - r.unfinished);
    body.push(cells({ total_us: us, avg_us: returned > 0 ? us / returned : 0, max_us: Math.max(0, ...rest.map((r) => r.max_us)), calls: sum((r) => r.calls), errors: sum((r) => r.errors), name: `(${rest.length} more)`, errnos: '' }));
  }
  const returnedAll = rows.reduce((a, r) => a + r.calls - r.unfinished, 0);
  const total = cells({
    total_us: totalUs, avg_us: returnedAll > 0 ? totalUs / returnedAll : 0, max_us: Math.max(0, ...rows.map((r) => r.max_us)),
    calls: rows.reduce((a, r) => a + r.calls, 0), errors: rows.reduce((a, r) => a + r.errors, 0), name: 'total', errnos: '',
  });
  const header = ['% time', 'seconds', 'usecs/call', 'max usecs', 'calls', 'errors', 'syscall', 'errnos'];
  const lines = columns(header, [...body, total], 6, opts.color);
  // The total under its own rule, as strace prints it.
  lines.splice(lines.length - 1, 0, lines[1]!);
  return lines.join('\n') + '\n';
}

/** The per-process table: pid, parent, name, calls, errors, its busiest syscalls. */
export function formatProcessTable(procs: readonly ProcessSyscalls[], opts: { limit?: number; color: boolean }): string {
  const shown = opts.limit !== undefined ? procs.slice(0, opts.limit) : procs;
  const hasErrors = procs.some((p) => p.errors !== undefined);
  const top = (by: Record<string, number>) => Object.entries(by).slice(0, 3).map(([n, c]) => `${n} ${c}`).join(', ');
  const rows = shown.map((p) => [String(p.pid), String(p.ppid), count(p.total), ...(hasErrors ? [p.errors ? count(p.errors) : ''] : []), p.comm, top(p.by_syscall)]);
  const header = ['pid', 'ppid', 'calls', ...(hasErrors ? ['errors'] : []), 'comm', 'top syscalls'];
  const lines = columns(header, rows, header.length - 2, opts.color);
  if (shown.length < procs.length) lines.push(`(${procs.length - shown.length} more processes)`);
  return lines.join('\n') + '\n';
}

/** The per-thread table: tid, its process, name, calls, its busiest syscalls. */
export function formatThreadTable(threads: readonly ThreadSyscalls[], opts: { limit?: number; color: boolean }): string {
  const shown = opts.limit !== undefined ? threads.slice(0, opts.limit) : threads;
  const top = (by: Record<string, number>) => Object.entries(by).slice(0, 3).map(([n, c]) => `${n} ${c}`).join(', ');
  const rows = shown.map((t) => [String(t.tid), String(t.pid), count(t.total), t.comm, top(t.by_syscall)]);
  const lines = columns(['tid', 'pid', 'calls', 'comm', 'top syscalls'], rows, 3, opts.color);
  if (shown.length < threads.length) lines.push(`(${threads.length - shown.length} more threads)`);
  return lines.join('\n') + '\n';
}

/** "only file_io,read; failed calls only", or '' without a filter. */
export function describeFilter(f: EbpfFilter | undefined): string {
  if (!f) return '';
  const parts: string[] = [];
  if (f.trace) parts.push(`only ${f.trace.join(',')} (--trace)`);
  if (f.failed_only) parts.push('failed calls only (--failed-only)');
  return parts.join('; ');
}
