// Detail mode's parts of the `ebpf` blocks: the strace -c style table, the per-process and per-thread
// tables, and a window's errors and time, from the tracer's cumulative snapshots.
import { readStat, type ProcessRecord, type ProcessSyscalls, type ProcessesRest, type SyscallRow, type ThreadSyscalls } from '../monitor/index.js';
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

/** Names kept for exited processes until their by_process entry is made (a few samples): the oldest go first beyond it. */
const MAX_NAMES = 4096;

/**
 * Who each process of the tree is: its parent and kernel name. The exit records name the processes
 * that exited (seen at each read: they are removed from the kernel once final); /proc names those
 * still running at the end; a process record's command is the last resort.
 */
export class ProcessNames {
  private readonly known = new Map<number, { ppid: number; comm: string; fromKernel: boolean }>();

  noteSnapshot(s: SyscallSnapshot): void {
    for (const e of s.exits) if (e.dead && e.comm) this.set(e.pid, { ppid: e.ppid, comm: e.comm, fromKernel: true });
  }

  noteRecord(p: ProcessRecord): void {
    const had = this.known.get(p.pid);
    if (had?.fromKernel) return;
    const first = p.command.trim().split(/\s+/)[0] ?? '';
    this.set(p.pid, { ppid: p.ppid, comm: (first.slice(first.lastIndexOf('/') + 1) || '?').slice(0, 15), fromKernel: false });
  }

  /** The process's entry is made: its name is no longer needed. */
  forget(pid: number): void {
    this.known.delete(pid);
  }

  private set(pid: number, v: { ppid: number; comm: string; fromKernel: boolean }): void {
    this.known.delete(pid);
    this.known.set(pid, v);
    if (this.known.size > MAX_NAMES) this.known.delete(this.known.keys().next().value!);
  }

  of(pid: number): { ppid: number; comm: string } {
    const k = this.known.get(pid);
    if (k?.fromKernel) return k;
    const st = readStat(pid);
    if (st) return { ppid: st.ppid, comm: st.comm };
    return k ?? { ppid: 0, comm: '?' };
  }
}

/** Exited processes listed one by one in by_process at most (those with the most calls); the others are summed. */
export const MAX_EXITED_LISTED = 1000;

/**
 * The exited processes of the run. The tracer takes an exited process's counts out of the kernel's
 * tables (a long attach with churn neither fills them nor reads more each time), so a snapshot lists
 * only the processes still there: each one is kept here, as the last snapshot that had it showed it,
 * when it leaves. Bounded: beyond MAX_EXITED_LISTED the ones with the fewest calls are summed.
 */
export class ExitedProcesses {
  /** By pid; the counts as a plain record (a third of a Map's memory: up to 1250 of them stay for the run). */
  private readonly listed = new Map<number, { ppid: number; comm: string; total: number; errors: number; bySyscall: Record<string, number> }>();
  private readonly rest = { processes: 0, total: 0, errors: 0, bySyscall: new Map<string, number>() };
  /** The most failed calls seen per process: its cells may leave the kernel before its counts do. */
  private readonly errorsSeen = new Map<number, number>();

  /** From one sampled snapshot to the next: the processes of `prev` that `cur` no longer has. */
  note(prev: SyscallSnapshot | undefined, cur: SyscallSnapshot, names: ProcessNames): void {
    if (cur.errorsByProcess) for (const [pid, n] of cur.errorsByProcess) if (n > (this.errorsSeen.get(pid) ?? 0)) this.errorsSeen.set(pid, n);
    if (!prev) return;
    for (const [pid, counts] of prev.byProcess) {
      const now = cur.byProcess.get(pid);
      // Still there; fewer calls under the same pid: a new process has it.
      if (now && sum(now) >= sum(counts)) continue;
      this.keep(pid, counts, names);
    }
  }

  private keep(pid: number, counts: ReadonlyMap<string, number>, names: ProcessNames): void {
    const total = sum(counts);
    const errors = this.errorsSeen.get(pid) ?? 0;
    this.errorsSeen.delete(pid);
    if (total <= 0) return;
    let e = this.listed.get(pid);
    if (!e) {
      const { ppid, comm } = names.of(pid);
      this.listed.set(pid, (e = { ppid, comm, total: 0, errors: 0, bySyscall: {} }));
    }
    names.forget(pid);
    // A pid reused within the run adds to the same entry.
    e.total += total;
    e.errors += errors;
    for (const [name, n] of counts) e.bySyscall[name] = (e.bySyscall[name] ?? 0) + n;
    if (this.listed.size > MAX_EXITED_LISTED * 1.25) this.fold();
  }

  /** Sums the entries with the fewest calls into the rest, down to MAX_EXITED_LISTED. */
  private fold(): void {
    const order = [...this.listed].sort((a, b) => b[1].total - a[1].total || a[0] - b[0]);
    for (const [pid, e] of order.slice(MAX_EXITED_LISTED)) {
      this.listed.delete(pid);
      this.rest.processes++;
      this.rest.total += e.total;
      this.rest.errors += e.errors;
      addInto(this.rest.bySyscall, Object.entries(e.bySyscall));
    }
  }

  /**
   * by_process for the summary: the processes of `cur` merged with the exited ones kept, most calls
   * first, and the rest when processes were summed.
   */
  byProcess(cur: SyscallSnapshot, names: ProcessNames): { list: ProcessSyscalls[]; rest?: ProcessesRest } {
    // Folding keeps the most calls of all seen: the ones listed are the run's top MAX_EXITED_LISTED.
    if (this.listed.size > MAX_EXITED_LISTED) this.fold();
    const detail = cur.errorsByProcess !== undefined;
    const merged = new Map<number, ProcessSyscalls>();
    for (const [pid, counts] of cur.byProcess) {
      const total = sum(counts);
      if (total <= 0) continue;
      const { ppid, comm } = names.of(pid);
      const errors = Math.max(cur.errorsByProcess?.get(pid) ?? 0, this.errorsSeen.get(pid) ?? 0);
      merged.set(pid, { pid, ppid, comm, total, ...(detail ? { errors } : {}), by_syscall: byCount(counts) });
    }
    for (const [pid, e] of this.listed) {
      const live = merged.get(pid);
      if (live) {
        const by = new Map(Object.entries(live.by_syscall));
        addInto(by, Object.entries(e.bySyscall));
        merged.set(pid, { ...live, total: live.total + e.total, ...(detail ? { errors: (live.errors ?? 0) + e.errors } : {}), by_syscall: byCount(by) });
      } else {
        merged.set(pid, { pid, ppid: e.ppid, comm: e.comm, total: e.total, ...(detail ? { errors: e.errors } : {}), by_syscall: byCount(new Map(Object.entries(e.bySyscall))) });
      }
    }
    const list = [...merged.values()].sort((a, b) => b.total - a.total || a.pid - b.pid);
    if (this.rest.processes === 0) return { list };
    const r = this.rest;
    return { list, rest: { processes: r.processes, total: r.total, ...(detail ? { errors: r.errors } : {}), by_syscall: byCount(r.bySyscall) } };
  }
}

function addInto(into: Map<string, number>, add: Iterable<[string, number]>): void {
  for (const [name, n] of add) into.set(name, (into.get(name) ?? 0) + n);
}

/** Every process of the snapshot with a counted syscall, most calls first. */
export function buildByProcess(cur: SyscallSnapshot, names: ProcessNames): ProcessSyscalls[] {
  return new ExitedProcesses().byProcess(cur, names).list;
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
