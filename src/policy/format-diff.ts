// The `diff` report for people (a table per section) and for programs (--json).
import { formatAbs, formatDelta, formatValue, type Change, type DiffResult } from './diff.js';
import type { Limit } from './limits.js';
import { describeOrigin, type RunData } from './run.js';

export interface DiffReportOptions {
  /** list unchanged syscalls too */
  all?: boolean;
}

function table(title: string, rows: Change[], flagged: Set<string>): string[] {
  const cells = rows.map((c) => [
    c.label,
    c.base === undefined ? '-' : formatValue(c.base, c.unit),
    c.head === undefined ? '-' : formatValue(c.head, c.unit),
    formatAbs(c),
    c.status === 'unknown' ? `? (${c.why})` : c.status === 'same' ? '' : formatDelta(c),
    flagged.has(c.key) ? '<- limit passed' : '',
  ]);
  const head = [title, 'base', 'head', 'change', '%', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : i === 5 ? v : v.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...cells.map(line)];
}

const origin = (r: RunData): string => `${r.source} (${describeOrigin(r)})`;

export function formatDiff(base: RunData, head: RunData, d: DiffResult, opts: DiffReportOptions = {}): string {
  const flagged = new Set(d.breaches.map((b) => b.key));
  const out = [`base  ${origin(base)}`, `head  ${origin(head)}`, ''];
  out.push(...table('metric', d.metrics.filter((c) => !(c.status === 'unknown' && c.base === undefined && c.head === undefined)), flagged), '');
  if (d.categories.length) out.push(...table('category', d.categories, flagged), '');
  if (d.syscalls.length) {
    const shown = opts.all ? d.syscalls : d.syscalls.filter((c) => c.status !== 'same');
    const hidden = d.syscalls.length - shown.length;
    if (shown.length) out.push(...table('syscall', shown, flagged));
    out.push(hidden ? `(${hidden} syscall${hidden === 1 ? '' : 's'} with the same count not shown; --all lists them)` : '', '');
  }
  for (const n of d.notes) out.push(`note: ${n}`);
  if (d.breaches.length) {
    out.push(`${d.breaches.length} limit${d.breaches.length === 1 ? '' : 's'} passed:`);
    for (const b of d.breaches) out.push(`  ${b.text}`);
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

function runJson(r: RunData) {
  return { file: r.source, origin: r.origin, samples: r.summary.sample_count, syscalls_partial: r.syscallsPartial, ...(r.arch ? { arch: r.arch } : {}) };
}

const changeJson = (c: Change) => ({
  key: c.key, unit: c.unit, base: c.base ?? null, head: c.head ?? null, delta: c.delta ?? null,
  pct: c.pct === undefined ? null : c.pct === null ? null : Math.round(c.pct * 100) / 100, status: c.status,
  ...(c.why ? { why: c.why } : {}),
});

/** The machine-readable report: everything the table shows, unchanged syscalls included. */
export function diffJson(base: RunData, head: RunData, d: DiffResult, limits: readonly Limit[]) {
  return {
    base: runJson(base),
    head: runJson(head),
    metrics: d.metrics.map(changeJson),
    categories: d.categories.map(changeJson),
    syscalls: d.syscalls.map(changeJson),
    limits: limits.map((l) => ({ key: l.key, ...(l.pct !== undefined ? { pct: l.pct } : { abs: l.abs }) })),
    breaches: d.breaches,
    notes: d.notes,
    ok: d.breaches.length === 0,
  };
}
