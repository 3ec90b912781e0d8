// Detail mode's parts of the `ebpf` blocks: the strace -c style table, the per-process and per-thread
// tables, and a window's errors and time, from the tracer's cumulative snapshots.
import { readStat, type ProcessRecord, type ProcessSyscalls, type SyscallRow, type ThreadSyscalls } from '../monitor/index.js';
import type { SyscallSnapshot } from '../tracer/index.js';

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const byCount = (m: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries([...m].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
const sum = (m: ReadonlyMap<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** One row per syscall counted, most calls first (ties by name). */
export function buildTable(cur: SyscallSnapshot): SyscallRow[] {
  const rows: SyscallRow[] = [];
  for (const [name, calls] of cur.bySyscall) {
    if (calls <= 0) continue;
    const t = cur.timing?.get(name);
    const returned = t ? t.hist.reduce((a, b) => a + b, 0) : 0;
    const hist = t ? [...t.hist] : [];
    while (hist.length > 0 && hist[hist.length - 1] === 0) hist.pop();
    rows.push({
      name,
      calls,
      errors: t?.errors ?? 0,
      errnos: t ? byCount(t.errnos) : {},
      total_us: round3((t?.totalNs ?? 0) / 1000),
      avg_us: returned > 0 ? round3(t!.totalNs / 1000 / returned) : 0,
      max_us: round3((t?.maxNs ?? 0) / 1000),
      hist_log2_us: hist,
      unfinished: Math.max(0, calls - returned),
    });
  }
  return rows.sort((a, b) => b.calls - a.calls || (a.name < b.name ? -1 : 1));
}

/** The errors and time (µs) of the whole tree so far, for the windows. */
export function detailTotals(s: SyscallSnapshot | undefined): { errors: number; timeNs: number } | undefined {
  if (!s?.timing) return undefined;
  let errors = 0, timeNs = 0;
  for (const t of s.timing.values()) {
    errors += t.errors;
    timeNs += t.totalNs;
  }
  return { errors, timeNs };
}

/**
 * Who each process of the tree is: its parent and kernel name. The exit records name the processes
 * that exited (seen at each read: they are removed from the kernel once final); /proc names those
 * still running at the end; a process record's command is the last resort.
 */
export class ProcessNames {
  private readonly known = new Map<number, { ppid: number; comm: string; fromKernel: boolean }>();

  noteSnapshot(s: SyscallSnapshot): void {
    for (const e of s.exits) if (e.dead && e.comm) this.known.set(e.pid, { ppid: e.ppid, comm: e.comm, fromKernel: true });
  }

  noteRecord(p: ProcessRecord): void {
    const had = this.known.get(p.pid);
    if (had?.fromKernel) return;
    const first = p.command.trim().split(/\s+/)[0] ?? '';
    this.known.set(p.pid, { ppid: p.ppid, comm: (first.slice(first.lastIndexOf('/') + 1) || '?').slice(0, 15), fromKernel: false });
  }

  of(pid: number): { ppid: number; comm: string } {
    const k = this.known.get(pid);
    if (k?.fromKernel) return k;
    const st = readStat(pid);
    if (st) return { ppid: st.ppid, comm: st.comm };
    return k ?? { ppid: 0, comm: '?' };
  }
}

/** Every process with a counted syscall, most calls first. */
export function buildByProcess(cur: SyscallSnapshot, names: ProcessNames): ProcessSyscalls[] {
  const out: ProcessSyscalls[] = [];
  for (const [pid, counts] of cur.byProcess) {
    const total = sum(counts);
    if (total <= 0) continue;
    const { ppid, comm } = names.of(pid);
    out.push({
      pid, ppid, comm, total,
      ...(cur.errorsByProcess ? { errors: cur.errorsByProcess.get(pid) ?? 0 } : {}),
      by_syscall: byCount(counts),
    });
  }
  return out.sort((a, b) => b.total - a.total || a.pid - b.pid);
}

/** Every thread, most calls first. */
export function buildByThread(cur: SyscallSnapshot): ThreadSyscalls[] | undefined {
  if (!cur.byThread) return undefined;
  const out: ThreadSyscalls[] = [];
  for (const [tid, t] of cur.byThread) {
    out.push({ tid, pid: t.pid, comm: t.comm, total: sum(t.bySyscall), by_syscall: byCount(t.bySyscall) });
  }
  return out.sort((a, b) => b.total - a.total || a.tid - b.tid);
}
