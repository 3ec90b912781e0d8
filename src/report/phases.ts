// Phases of a run: change points of CPU, disk, network and syscall rate (segment.ts), then per phase
// its dominant resource and its syscall mix.
import { CATEGORIES, classify } from '../syscalls/index.js';
import { isObj, num, syscallsOf, type Obj, type Run } from './read.js';
import { changePoints } from './segment.js';
import type { Col, Series } from './series.js';
import type { Phase } from './types.js';

/**
 * Below these a resource is not "used" at all, whatever its share of the run's peak: 10 % of a core,
 * 1 MiB/s of disk, 100 KiB/s of network, 1000 syscalls/s. They are also the detector's scales, so a
 * run that barely touches a resource is not cut into phases by its noise.
 */
export const FLOORS = { cpu: 10, disk: 1 << 20, network: 100 << 10, syscalls: 1000 } as const;
type Resource = keyof typeof FLOORS;

/** Nulls replaced by the previous value (leading ones by the first value), for the detector. */
function filled(c: Col): number[] {
  const first = c.find((v) => v !== null) ?? 0;
  let last = first;
  return c.map((v) => (v === null ? last : (last = v)));
}

function p99(x: number[]): number {
  const s = Float64Array.from(x).sort();
  return s[Math.floor(0.99 * (s.length - 1))] ?? 0;
}

const sum = (a: Col, b: Col): Col => a.map((v, i) => (v === null && b[i] === null ? null : (v ?? 0) + (b[i] ?? 0)));

export function buildPhases(run: Run, s: Series): { phases: Phase[]; note: string } {
  const n = s.t.length;
  const feats: Record<Resource, number[]> = {
    cpu: filled(s.cpu),
    disk: filled(sum(s.disk_read, s.disk_write)),
    network: filled(sum(s.net_tx, s.net_rx)),
    syscalls: filled(s.sys_rate),
  };
  const used = (Object.keys(FLOORS) as Resource[]).filter((r) => feats[r].some((v) => v > 0));
  const scales = Object.fromEntries(used.map((r) => [r, Math.max(p99(feats[r]), FLOORS[r])])) as Record<Resource, number>;
  // The detector's scale of each resource is its floor: levels below it are all "not used".
  const cps = used.length > 0 && n >= 6 ? changePoints(used.map((r) => feats[r]), { scales: used.map((r) => FLOORS[r]) }) : [];
  const bounds = [0, ...cps, n];
  const note = `${bounds.length - 1} phase${bounds.length === 2 ? '' : 's'} found by binary segmentation (BIC stop rule) of ${used.length ? used.join(', ') : 'no active resource'} over ${n} samples`;

  // Duration each sample stands for: the interval that ends at it (the first: the one after it).
  const dt = s.t.map((t, i) => (i > 0 ? t - s.t[i - 1]! : n > 1 ? s.t[1]! - t : 0));
  const phases: Phase[] = [];
  for (let p = 0; p + 1 < bounds.length; p++) {
    const from = bounds[p]!;
    const to = bounds[p + 1]!;
    const mean = (c: Col): number => {
      let w = 0;
      let acc = 0;
      for (let i = from; i < to; i++) {
        const v = c[i];
        if (v === null || v === undefined) continue;
        acc += v * dt[i]!;
        w += dt[i]!;
      }
      return w > 0 ? acc / w : 0;
    };
    const means: Record<Resource, number> = {
      cpu: mean(s.cpu), disk: mean(sum(s.disk_read, s.disk_write)), network: mean(sum(s.net_tx, s.net_rx)), syscalls: mean(s.sys_rate),
    };
    const mix = syscallMix(run, from, to);
    // The dominant resource: the largest share of its own peak in this run, among those in use;
    // shares within 0.1 of each other (resources busy together) go to the one furthest above its floor.
    const ranked = used
      .filter((r) => means[r] >= FLOORS[r])
      .map((r) => ({ r, share: means[r] / scales[r], above: means[r] / FLOORS[r] }))
      .sort((a, b) => (Math.abs(b.share - a.share) >= 0.1 ? b.share - a.share : b.above - a.above));
    let dominant: string = ranked[0]?.r ?? 'idle';
    let why = ranked.length
      ? ranked.map((x) => `${x.r} ${Math.round(x.share * 100)} %`).join(', ') + ' of its peak in the run'
      : 'no resource above its floor (10 % CPU, 1 MiB/s disk, 100 KiB/s network, 1000 syscalls/s)';
    if (dominant === 'syscalls' && mix) {
      const cat = Object.entries(mix.by_category).sort((a, b) => b[1] - a[1])[0]?.[0];
      if (cat) dominant = `syscalls (${cat})`;
    }
    // Rates describe the interval that ends at their sample, so a phase that starts at sample i
    // starts at the previous sample's time.
    const start = from === 0 ? Math.min(0, s.t[0]!) : s.t[from - 1]!;
    const end = s.t[to - 1]!;
    const elapsed = Math.max(0, end - start);
    let behavior: string | null = null;
    if (mix) {
      const share = (c: string) => (mix.total > 0 ? Math.round((mix.by_category[c]! / mix.total) * 100) / 100 : 0);
      behavior = classify(mix.total, elapsed, {
        syscall_rate_per_sec: elapsed > 0 ? Math.round((mix.total / elapsed) * 100) / 100 : 0,
        io_intensity: share('file_io'), memory_intensity: share('memory'), network_intensity: share('network'),
        cpu_intensity: Math.round(Math.min(1, Math.max(0, means.cpu / 100)) * 100) / 100,
      }, true);
      if (mix.total === 0) why += '; no syscalls in this phase';
    }
    phases.push({
      start, end, from, to, dominant, why,
      means: {
        cpu_percent: round(means.cpu), disk_bytes_per_sec: Math.round(means.disk), net_bytes_per_sec: Math.round(means.network),
        syscalls_per_sec: s.sys_rate.some((v) => v !== null) ? Math.round(means.syscalls) : null, rss_kb: Math.round(mean(s.rss_kb)),
      },
      behavior,
      by_category: mix?.by_category ?? null,
      top: mix?.top ?? [],
    });
  }
  return { phases, note };
}

const round = (x: number) => Math.round(x * 10) / 10;

/** Syscalls made in samples [from, to): from the windows when recorded, else cumulative differences. */
function syscallMix(run: Run, from: number, to: number): { total: number; by_category: Record<string, number>; top: { name: string; count: number }[] } | null {
  const fr = run.frames;
  const cats = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<string, number>;
  const top = new Map<string, number>();
  let any = false;
  const cum = (i: number, c: string): number | null => {
    const sc = syscallsOf(fr[i]?.ebpf);
    return sc && isObj(sc.by_category) ? num(sc.by_category[c]) : null;
  };
  for (let i = from; i < to; i++) {
    const sc = syscallsOf(fr[i]!.ebpf);
    if (!sc) continue;
    any = true;
    const w = isObj(sc.window) ? (sc.window as Obj) : undefined;
    for (const c of CATEGORIES) {
      const v = w && isObj(w.by_category) ? num(w.by_category[c]) : i > 0 ? diff(cum(i, c), cum(i - 1, c)) : cum(i, c);
      cats[c]! += v ?? 0;
    }
    for (const e of Array.isArray(w?.top_syscalls) ? (w.top_syscalls as unknown[]) : []) {
      if (isObj(e) && typeof e.name === 'string' && num(e.count) !== null) top.set(e.name, (top.get(e.name) ?? 0) + (e.count as number));
    }
  }
  if (!any) return null;
  const total = Object.values(cats).reduce((a, b) => a + b, 0);
  return { total, by_category: cats, top: [...top].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name, count]) => ({ name, count })) };
}

function diff(b: number | null, a: number | null): number | null {
  return b === null || a === null ? null : Math.max(0, b - a);
}
