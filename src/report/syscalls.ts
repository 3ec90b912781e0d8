// The syscall picture of the whole run: categories, top syscalls, the strace -c style table (calls,
// errors, time) when the run timed syscalls or by_syscall counts when it only counted them, the
// behaviour classification with the figures behind it, the per-process table, and the stacks.
import { DOMINANT_SHARE, LOW_RATE_PER_SEC, MIN_ELAPSED_SEC, MIN_TOTAL } from '../syscalls/index.js';
import { isObj, num, runEbpf, str, syscallsOf, type Obj, type Run } from './read.js';
import type { FlameView, SyscallView, TableRow } from './types.js';

/** Stacks kept in the file (heaviest first); the rest are summed into one figure. */
export const MAX_STACKS = 4000;
/** Characters of folded stacks kept in the file (about 1.5 MB). */
export const MAX_STACK_CHARS = 1_500_000;
const MAX_BY_PROCESS = 200;

const counts = (v: unknown): Record<string, number> => {
  const out: Record<string, number> = {};
  if (isObj(v)) for (const [k, n] of Object.entries(v)) if (num(n) !== null) out[k] = n as number;
  return out;
};

export function buildSyscalls(run: Run): SyscallView | null {
  const sc = syscallsOf(runEbpf(run));
  if (!sc) return null;
  const by_category = counts(sc.by_category);
  const top = (Array.isArray(sc.top_syscalls) ? sc.top_syscalls : [])
    .filter((e): e is Obj => isObj(e) && typeof e.name === 'string' && num(e.count) !== null)
    .map((e) => ({ name: e.name as string, count: e.count as number }));

  let table: TableRow[];
  let tableHasTimes = false;
  if (Array.isArray(sc.table) && sc.table.length > 0) {
    table = sc.table.filter(isObj).filter((r) => typeof r.name === 'string').map((r) => ({
      name: r.name as string,
      calls: num(r.calls) ?? 0,
      errors: num(r.errors),
      errnos: isObj(r.errnos) ? counts(r.errnos) : null,
      total_us: num(r.total_us),
      avg_us: num(r.avg_us),
      max_us: num(r.max_us),
      hist_log2_us: Array.isArray(r.hist_log2_us) ? r.hist_log2_us.map((v) => num(v) ?? 0) : null,
    }));
    tableHasTimes = table.some((r) => r.total_us !== null);
  } else {
    const calls = Object.keys(counts(sc.by_syscall)).length > 0 ? counts(sc.by_syscall) : Object.fromEntries(top.map((e) => [e.name, e.count]));
    table = Object.entries(calls).map(([name, n]) => ({ name, calls: n, errors: null, errnos: null, total_us: null, avg_us: null, max_us: null, hist_log2_us: null }));
  }
  table.sort((a, b) => b.calls - a.calls || (a.name < b.name ? -1 : 1));

  const analysis = isObj(sc.analysis) ? (Object.fromEntries(Object.entries(sc.analysis).filter(([, v]) => typeof v === 'number' || typeof v === 'string')) as Record<string, number | string>) : null;
  const total = num(sc.total) ?? Object.values(by_category).reduce((a, b) => a + b, 0);
  return {
    total, by_category, top, analysis, reasons: analysis ? explain(analysis, total, num(run.summary?.total_time_secs)) : [],
    table, tableHasTimes, byProcess: byProcess(runEbpf(run)?.by_process),
  };
}

/** The rules of docs/syscall-analysis.md that decided the classification, in words. */
function explain(a: Record<string, number | string>, total: number, elapsed: number | null): string[] {
  const f = (k: string) => (typeof a[k] === 'number' ? (a[k] as number) : 0);
  const cls = String(a.behavior_classification ?? 'unknown');
  const out: string[] = [];
  const rate = f('syscall_rate_per_sec');
  const shares: [string, number][] = [['io', f('io_intensity')], ['memory', f('memory_intensity')], ['network', f('network_intensity')]];
  if (cls === 'unknown') {
    if (elapsed !== null && elapsed < MIN_ELAPSED_SEC) out.push(`the run lasted under ${MIN_ELAPSED_SEC} s`);
    else if (total < MIN_TOTAL) out.push(`fewer than ${MIN_TOTAL} syscalls: category shares would be noise`);
  } else if (cls === 'cpu_bound') {
    out.push(`cpu_intensity ${f('cpu_intensity')} ≥ ${DOMINANT_SHARE} with ${Math.round(rate)} syscalls/s < ${LOW_RATE_PER_SEC}: the CPU computes in user space`);
  } else if (cls.endsWith('_bound')) {
    const [name, share] = shares.find(([n]) => cls.startsWith(n)) ?? ['?', 0];
    out.push(`${name}_intensity ${share} ≥ ${DOMINANT_SHARE}: that category makes most of the syscalls`);
  } else if (cls === 'mixed') {
    out.push(`no category reaches a share of ${DOMINANT_SHARE}${f('cpu_intensity') >= DOMINANT_SHARE ? `, and the syscall rate (${Math.round(rate)}/s) is too high for compute-bound` : ' and the CPU is not busy'}`);
  }
  return out;
}

function byProcess(v: unknown): SyscallView['byProcess'] {
  if (!Array.isArray(v)) return null;
  return v.filter(isObj)
    .map((e) => {
      const bySys = counts(e.by_syscall);
      const top = Object.entries(bySys).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([n, c]) => `${n} ${c}`).join(', ');
      return { pid: num(e.pid) ?? 0, comm: str(e.comm) ?? '?', total: num(e.total) ?? 0, errors: num(e.errors), top };
    })
    .sort((a, b) => b.total - a.total)
    .slice(0, MAX_BY_PROCESS);
}

export function buildFlame(run: Run): FlameView | null {
  const stacks = runEbpf(run)?.stacks;
  if (!isObj(stacks) || !Array.isArray(stacks.folded)) return null;
  const all = stacks.folded
    .filter(isObj)
    .filter((e) => typeof e.stack === 'string' && num(e.count) !== null && (e.count as number) > 0)
    .map((e) => [e.stack as string, e.count as number] as [string, number])
    .sort((a, b) => b[1] - a[1]);
  if (all.length === 0) return null;
  // At most MAX_STACKS stacks and MAX_STACK_CHARS of text (deep stacks are long), heaviest first.
  let chars = 0;
  let n = 0;
  while (n < all.length && n < MAX_STACKS && chars + all[n]![0].length <= MAX_STACK_CHARS) chars += all[n++]![0].length;
  const kept = all.slice(0, Math.max(1, n)).map(([st, c]) => [st.slice(0, MAX_STACK_CHARS), c] as [string, number]);
  const rest = all.slice(kept.length);
  return {
    stacks: kept,
    total: all.reduce((s, e) => s + e[1], 0),
    unique: num(stacks.unique) ?? all.length,
    lost: num(stacks.lost) ?? 0,
    hidden: { stacks: rest.length, count: rest.reduce((s, e) => s + e[1], 0) },
  };
}
