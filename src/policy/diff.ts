// `diff BASE HEAD`: every headline figure, category and syscall of two runs side by side, and the
// limits the head passed. The noise rules (docs/policy.md) live here: a count passes a percentage
// limit only when it is large enough (head >= minCount) and grew enough (by >= minChange); a syscall
// absent from the base is "new" (an unbounded increase), one absent from the head "gone" (never fails).
import { CATEGORIES } from '../syscalls/index.js';
import { limitFor, METRICS, NOISE_FLOOR, type Limit, type MetricKey } from './limits.js';
import type { RunData } from './run.js';

export type ChangeStatus = 'same' | 'up' | 'down' | 'new' | 'gone' | 'unknown';

export interface Change {
  /** metric key, 'category:NAME' or 'syscall:NAME' */
  key: string;
  label: string;
  unit: string;
  /** undefined when that run did not record the figure */
  base?: number;
  head?: number;
  delta?: number;
  /** percent change; null when the base is 0 and the head is not (new) */
  pct?: number | null;
  status: ChangeStatus;
  /** why the figure could not be compared, when status is 'unknown' */
  why?: string;
}

export interface Breach {
  key: string;
  limit: string;
  /** one line: "syscall:getppid +100.0% > 10% (1000 → 2000)" */
  text: string;
}

export interface NoiseOptions {
  /** a count smaller than this in the head is never checked against a percentage (default 10) */
  minCount: number;
  /** a count must grow by at least this much to pass a percentage limit (default 5) */
  minChange: number;
}

export const DEFAULT_NOISE: NoiseOptions = { minCount: 10, minChange: 5 };

export interface DiffResult {
  metrics: Change[];
  categories: Change[];
  syscalls: Change[];
  /** limits passed, in report order */
  breaches: Breach[];
  /** figures a named limit could not check, and other caveats */
  notes: string[];
}

function change(key: string, label: string, unit: string, base: number | undefined, head: number | undefined, why?: () => string): Change {
  if (base === undefined || head === undefined) {
    return { key, label, unit, base, head, status: 'unknown', why: why?.() ?? 'not recorded' };
  }
  const delta = head - base;
  const pct = base === 0 ? (head === 0 ? 0 : null) : (delta / base) * 100;
  const status: ChangeStatus = delta === 0 ? 'same' : base === 0 ? 'new' : head === 0 ? 'gone' : delta > 0 ? 'up' : 'down';
  return { key, label, unit, base, head, delta, pct, status };
}

function metricValue(run: RunData, key: MetricKey): number | undefined {
  const s = run.summary;
  switch (key) {
    case 'wall': return s.total_time_secs;
    case 'cpu': return s.total_cpu_time_secs;
    case 'rss': return s.peak_mem_rss_kb;
    case 'read': return s.total_disk_read_bytes;
    case 'write': return s.total_disk_write_bytes;
    case 'processes': return s.total_processes;
    case 'syscalls': return run.syscallTotal;
    case 'errors': return run.errorsTotal;
    case 'syscall_time': return run.syscallTimeUs;
  }
}

const missing = (run: RunData, what: string): string => `${run.source} has no ${what}`;

const NOT_RECORDED: Partial<Record<MetricKey, string>> = {
  processes: 'no process count (recorded by an older version)',
  syscalls: 'no syscall counts (record with --enable-ebpf)',
  errors: 'no syscall errors recorded',
  syscall_time: 'no syscall times recorded',
};

/** Compares two runs and checks `limits`. */
export function diffRuns(base: RunData, head: RunData, limits: readonly Limit[] = [], noise: NoiseOptions = DEFAULT_NOISE): DiffResult {
  const notes: string[] = [];
  const metrics = (Object.keys(METRICS) as MetricKey[]).map((key) => {
    const lacking = () => [base, head].filter((r) => metricValue(r, key) === undefined).map((r) => r.source).join(' and ');
    return change(key, METRICS[key].label, METRICS[key].unit, metricValue(base, key), metricValue(head, key), () => `${lacking()}: ${NOT_RECORDED[key] ?? 'not recorded'}`);
  });

  const categories: Change[] = [];
  if (base.byCategory || head.byCategory) {
    for (const c of CATEGORIES) {
      const b = base.byCategory ? (base.byCategory[c] ?? 0) : undefined;
      const h = head.byCategory ? (head.byCategory[c] ?? 0) : undefined;
      if ((b ?? 0) === 0 && (h ?? 0) === 0) continue;
      categories.push(change(`category:${c}`, c, 'calls', b, h, () => `${(b === undefined ? base : head).source} has no syscall counts`));
    }
  }

  const syscalls: Change[] = [];
  if (base.syscalls || head.syscalls) {
    const names = new Set([...(base.syscalls?.keys() ?? []), ...(head.syscalls?.keys() ?? [])]);
    for (const name of names) {
      // In a run that lists only its most frequent syscalls, a syscall not listed is unknown, not 0.
      const side = (r: RunData): number | undefined => r.syscalls?.get(name)?.calls ?? (r.syscalls && !r.syscallsPartial ? 0 : undefined);
      syscalls.push(change(`syscall:${name}`, name, 'calls', side(base), side(head), () =>
        [base, head].filter((r) => side(r) === undefined).map((r) => r.syscalls ? `${r.source} lists only its most frequent syscalls` : missing(r, 'syscall counts')).join(' and ')));
    }
    syscalls.sort((a, b) => Math.abs(b.delta ?? 0) - Math.abs(a.delta ?? 0) || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  }
  for (const r of [base, head]) {
    if (r.syscallsPartial) notes.push(`${r.source}: the summary line is missing; per-syscall counts are only the last sample's most frequent syscalls`);
    if (r.incomplete) notes.push(`${r.source}: ${r.incomplete}; its counts are low`);
  }

  const breaches: Breach[] = [];
  const check = (c: Change, counted: boolean): void => {
    const found = limitFor(limits, c.key, counted);
    if (!found) return;
    const { limit, explicit } = found;
    if (c.status === 'unknown') {
      if (explicit) breaches.push({ key: c.key, limit: limit.text, text: `${c.key}: cannot check ${limit.text}: ${c.why}` });
      return;
    }
    if (!exceeds(c, limit, counted, noise)) return;
    breaches.push({ key: c.key, limit: limit.text, text: `${c.key} ${formatDelta(c)} > ${limit.text} (${formatValue(c.base!, c.unit)} → ${formatValue(c.head!, c.unit)})` });
  };
  for (const c of metrics) check(c, METRICS[c.key as MetricKey].counted);
  for (const c of categories) check(c, true);
  for (const c of syscalls) check(c, true);
  // A limit naming a syscall or category neither run made: say so, it may be a typo.
  for (const l of limits) {
    if (!l.key.includes(':') || l.key.endsWith(':*')) continue;
    const list = l.key.startsWith('syscall:') ? syscalls : categories;
    if (!list.some((c) => c.key === l.key)) notes.push(`--max-increase ${l.key}: neither run made it`);
  }
  return { metrics, categories, syscalls, breaches, notes };
}

function exceeds(c: Change, limit: Limit, counted: boolean, noise: NoiseOptions): boolean {
  const delta = c.delta!;
  if (delta <= 0) return false;
  if (limit.abs !== undefined) return delta > limit.abs;
  if (counted) {
    if (c.head! < noise.minCount || delta < noise.minChange) return false;
  } else if (delta < (NOISE_FLOOR[c.unit] ?? 0)) {
    return false;
  }
  return c.pct === null || c.pct! > limit.pct!;
}

// ---------------------------------------------------------------- formatting of figures

function group3(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${n < 0 ? '-' : ''}${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A figure in its unit, for people. */
export function formatValue(v: number, unit: string): string {
  switch (unit) {
    case 's': return `${v.toFixed(2)} s`;
    case 'kB': return bytes(v * 1024);
    case 'B': return bytes(v);
    case 'us': return v >= 1e6 ? `${(v / 1e6).toFixed(2)} s` : v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${Math.round(v)} µs`;
    default: return group3(v);
  }
}

/** "+100.0%", "new", "gone", or the signed absolute change when there is no percentage. */
export function formatDelta(c: Change): string {
  if (c.status === 'unknown') return '?';
  if (c.status === 'same') return '0';
  if (c.pct === null) return c.key.includes(':') ? 'new' : 'from 0';
  if (c.status === 'gone') return 'gone';
  const sign = c.delta! > 0 ? '+' : '';
  return `${sign}${c.pct!.toFixed(1)}%`;
}

/** The signed change in the figure's unit: "+1,000", "-0.20 s". */
export function formatAbs(c: Change): string {
  if (c.delta === undefined) return '';
  if (c.delta === 0) return '0';
  return (c.delta > 0 ? '+' : '-') + formatValue(Math.abs(c.delta), c.unit);
}
