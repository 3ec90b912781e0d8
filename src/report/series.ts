// Full-resolution time series of a run, one value per sample: what the panels draw (after
// downsampling) and what the phase detector segments. Cumulative counters become rates over the
// interval that ends at each sample; a value the sample does not carry is null, not 0.
import { CATEGORIES } from '../syscalls/index.js';
import { commandName, isObj, num, syscallsOf, type Frame, type Obj, type Run } from './read.js';

export type Col = (number | null)[];

export interface Series {
  t: number[];
  cpu: Col;
  rss_kb: Col;
  disk_read: Col;
  disk_write: Col;
  rchar: Col;
  wchar: Col;
  /** Network bytes/s; `netScope` says whether they are the tree's own or the namespace's. */
  net_tx: Col;
  net_rx: Col;
  netScope: 'tree' | 'namespace' | null;
  threads: Col;
  procs: Col;
  /** Syscalls per second, total and per category (null without eBPF). */
  sys_rate: Col;
  sys_by_cat: Record<string, Col>;
  sys_errors: Col;
  /** Seconds spent in syscalls per second of wall time. */
  sys_time: Col;
  off_cpu: Col;
  runq: Col;
  /** Pressure: % of the interval stalled, keyed "cpu some", "io full", ... */
  psi: Record<string, Col>;
  psiSource: string | null;
  /** CPU % per command name (top ones), plus what the listed processes do not account for. */
  cpuByCommand: { name: string; values: Col }[];
  cpuUnattributed: Col;
}

const TOP_COMMANDS = 7;

/** Per-second rate of a cumulative counter; null where either end is missing or no time passed. */
function rate(t: number[], cum: Col): Col {
  const out: Col = new Array(t.length).fill(null);
  for (let i = 1; i < t.length; i++) {
    const a = cum[i - 1];
    const b = cum[i];
    const dt = t[i]! - t[i - 1]!;
    if (a === null || a === undefined || b === null || b === undefined || !(dt > 0)) continue;
    out[i] = Math.max(0, b - a) / dt;
  }
  return out;
}

const col = (frames: Frame[], f: (fr: Frame) => unknown): Col => frames.map((fr) => num(f(fr)));
const hasAny = (c: Col): boolean => c.some((v) => v !== null);

export function buildSeries(run: Run): Series {
  const fr = run.frames;
  const t = fr.map((f) => f.t);
  const m = (k: string) => col(fr, (f) => f.m[k]);

  const treeNet = hasAny(m('net_tx_bytes')) || hasAny(m('net_rx_bytes'));
  const nsNet = hasAny(m('netns_tx_bytes')) || hasAny(m('netns_rx_bytes'));
  const netKey = treeNet ? 'net' : 'netns';

  // Syscalls: the window of each sample when recorded (exact interval), else the difference of the
  // cumulative counts (older files).
  const sys = fr.map((f) => syscallsOf(f.ebpf));
  const win = sys.map((s) => (isObj(s?.window) ? (s.window as Obj) : undefined));
  const winSecs = win.map((w) => { const d = num(w?.duration_ms); return d !== null && d > 0 ? d / 1000 : null; });
  const hasSys = sys.some((s) => s !== undefined);
  const cumRate = (get: (s: Obj) => unknown) => rate(t, sys.map((s) => (s ? num(get(s)) : null)));
  const winRate = (get: (w: Obj) => unknown, fallback: Col | null): Col => fr.map((_, i) => {
    const w = win[i];
    const secs = winSecs[i] ?? null;
    if (w && secs !== null) { const v = num(get(w)); if (v !== null) return v / secs; }
    return fallback ? fallback[i] ?? null : null;
  });
  const sys_rate = hasSys ? winRate((w) => w.total, cumRate((s) => s.total)) : t.map(() => null);
  const sys_by_cat: Record<string, Col> = {};
  if (hasSys) {
    for (const c of CATEGORIES) {
      sys_by_cat[c] = winRate((w) => (isObj(w.by_category) ? w.by_category[c] : null), cumRate((s) => (isObj(s.by_category) ? s.by_category[c] : null)));
    }
  }
  const sys_errors = winRate((w) => w.errors, null);
  const sys_time = winRate((w) => { const us = num(w.time_us); return us === null ? null : us / 1e6; }, null);

  // PSI: the stall time of the interval as a share of it when recorded, else the kernel's avg10.
  const psi: Record<string, Col> = {};
  let psiSource: string | null = null;
  for (const res of ['cpu', 'memory', 'io']) {
    for (const kind of ['some', 'full']) {
      const c = fr.map((f, i) => {
        const p = isObj(f.m.psi) ? f.m.psi : undefined;
        if (!p) return null;
        psiSource ??= typeof p.source === 'string' ? p.source : 'unknown';
        const e = isObj(p[res]) && isObj((p[res] as Obj)[kind]) ? ((p[res] as Obj)[kind] as Obj) : undefined;
        const delta = num(e?.total_us_delta);
        const dt = i > 0 ? t[i]! - t[i - 1]! : 0;
        if (delta !== null && dt > 0) return Math.min(100, (delta / 1e6 / dt) * 100);
        return num(e?.avg10);
      });
      if (hasAny(c)) psi[`${res} ${kind}`] = c;
    }
  }

  const cpu = m('cpu_usage');
  const { byCommand, unattributed } = cpuByCommand(fr, cpu);
  return {
    t,
    cpu,
    rss_kb: m('mem_rss_kb'),
    disk_read: rate(t, m('disk_read_bytes')),
    disk_write: rate(t, m('disk_write_bytes')),
    rchar: rate(t, m('syscall_read_bytes')),
    wchar: rate(t, m('syscall_write_bytes')),
    net_tx: rate(t, m(`${netKey}_tx_bytes`)),
    net_rx: rate(t, m(`${netKey}_rx_bytes`)),
    netScope: treeNet ? 'tree' : nsNet ? 'namespace' : null,
    threads: m('thread_count'),
    procs: run.tree ? m('process_count') : t.map(() => null),
    sys_rate,
    sys_by_cat,
    sys_errors,
    sys_time,
    off_cpu: rate(t, m('off_cpu_secs')),
    runq: rate(t, m('runq_wait_secs')),
    psi,
    psiSource,
    cpuByCommand: byCommand,
    cpuUnattributed: unattributed,
  };
}

/**
 * CPU of the listed processes grouped by command name: the heaviest names get their own band, the
 * rest one "other" band. The tree's figure also holds CPU of processes that exited between samples
 * (credited to their parent's counters), which no listed process shows: that is `unattributed`.
 */
function cpuByCommand(fr: Frame[], tree: Col): { byCommand: { name: string; values: Col }[]; unattributed: Col } {
  const per = new Map<string, Float64Array>();
  const weight = new Map<string, number>();
  const names = new Map<string, string>();
  fr.forEach((f, i) => {
    for (const p of f.procs) {
      const v = num(p.metrics.cpu_usage);
      if (v === null || v <= 0) continue;
      let name = names.get(p.command);
      if (name === undefined) names.set(p.command, (name = commandName(p.command)));
      let arr = per.get(name);
      if (!arr) per.set(name, (arr = new Float64Array(fr.length)));
      arr[i]! += v;
      weight.set(name, (weight.get(name) ?? 0) + v);
    }
  });
  const ranked = [...weight.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([n]) => n);
  const top = ranked.slice(0, TOP_COMMANDS);
  const rest = ranked.slice(TOP_COMMANDS);
  const byCommand = top.map((name) => ({ name, values: Array.from(per.get(name)!) as Col }));
  if (rest.length > 0) {
    const other = new Array<number>(fr.length).fill(0);
    for (const n of rest) per.get(n)!.forEach((v, i) => { other[i]! += v; });
    byCommand.push({ name: `other (${rest.length} commands)`, values: other });
  }
  const unattributed: Col = fr.map((_, i) => {
    const total = tree[i];
    if (total === null || total === undefined) return null;
    let listed = 0;
    for (const b of byCommand) listed += b.values[i] ?? 0;
    // Sampling jitter can make the parts exceed the whole by a little: never negative.
    return Math.max(0, Math.round((total - listed) * 100) / 100);
  });
  return { byCommand, unattributed };
}

export { hasAny };
