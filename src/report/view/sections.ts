// The report's non-chart parts, as HTML: the header, the phase table, the syscall picture.
import type { Header, Phase, SyscallView, TableRow } from '../types.js';
import * as fmt from './format.js';

const esc = fmt.esc;

export function headerHtml(h: Header): string {
  const started = h.started_ms !== null ? new Date(h.started_ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : 'start not recorded';
  const exit = h.exit !== null
    ? `<span class="pill ${h.exitTone}">${esc(h.exit)}</span>`
    : '<span class="pill none">exit status not recorded</span>';
  const facts = h.facts.map((f) => `<li class="${f.tone ?? ''}"><span class="k">${esc(f.label)}</span> ${esc(f.value)}</li>`).join('');
  const totals = h.totals.map((f) => `<div class="total"><div class="v">${esc(f.value)}</div><div class="k">${esc(f.label)}</div></div>`).join('');
  const lacks = h.lacks.length
    ? `<details class="lacks" open><summary>This run did not record ${h.lacks.length} thing${h.lacks.length === 1 ? '' : 's'}</summary><ul>${h.lacks.map((l) => `<li><b>${esc(l.what)}</b>: ${esc(l.why)}</li>`).join('')}</ul></details>`
    : '<p class="lacks none">This run recorded everything the report can show.</p>';
  const warnings = h.warnings.map((w) => `<p class="warning">⚠ ${esc(w)}</p>`).join('');
  return `<header id="header">
  <div class="title"><h1><code>${esc(h.command)}</code></h1>${exit}</div>
  <p class="sub">${esc(started)} · recorded by ${esc(h.producer)}</p>
  ${warnings}
  <div class="totals">${totals}</div>
  <ul class="facts">${facts}</ul>
  ${lacks}
</header>`;
}

const DOMINANT_COLORS: Record<string, string> = { cpu: '#f28e2b', disk: '#4e79a7', network: '#e15759', idle: '#bab0ac' };
export const dominantColor = (d: string) => DOMINANT_COLORS[d] ?? (d.startsWith('syscalls') ? '#76b7b2' : '#9c755f');

function mixBar(mix: Record<string, number> | null, colors: Record<string, string>): string {
  if (!mix) return '<span class="muted">not counted</span>';
  const total = Object.values(mix).reduce((a, b) => a + b, 0);
  if (total === 0) return '<span class="muted">none</span>';
  const parts = Object.entries(mix).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const bar = parts.map(([c, n]) => `<span style="width:${((n / total) * 100).toFixed(2)}%;background:${colors[c] ?? '#999'}" title="${esc(c)}: ${fmt.int(n)}"></span>`).join('');
  const legend = parts.slice(0, 3).map(([c, n]) => `${esc(c)} ${Math.round((n / total) * 100)} %`).join(', ');
  return `<div class="mix">${bar}</div><div class="muted small">${legend}</div>`;
}

export function phasesHtml(phases: Phase[], note: string, end: number, colors: Record<string, string>): string {
  const strip = phases.map((p, i) => {
    const w = end > 0 ? ((p.end - p.start) / end) * 100 : 100 / phases.length;
    return `<span style="width:${Math.max(0.3, w).toFixed(2)}%;background:${dominantColor(p.dominant)}" title="phase ${i + 1}: ${esc(p.dominant)}">${w > 6 ? `${i + 1} ${esc(p.dominant)}` : ''}</span>`;
  }).join('');
  const rows = phases.map((p, i) => `<tr>
    <td>${i + 1}</td><td>${fmt.clock(p.start)} – ${fmt.clock(p.end)}<div class="muted small">${fmt.clock(p.end - p.start)}</div></td>
    <td><span class="dot" style="background:${dominantColor(p.dominant)}"></span><b>${esc(p.dominant)}</b><div class="muted small">${esc(p.why)}</div></td>
    <td class="num">${p.means.cpu_percent.toFixed(0)} %</td><td class="num">${fmt.bytes(p.means.disk_bytes_per_sec)}/s</td>
    <td class="num">${p.means.syscalls_per_sec === null ? '–' : `${fmt.count(p.means.syscalls_per_sec)}/s`}</td>
    <td>${p.behavior ? esc(p.behavior) : '<span class="muted">–</span>'}</td>
    <td class="mixcell">${mixBar(p.by_category, colors)}</td>
    <td class="small">${p.top.map((t) => `${esc(t.name)} ${fmt.count(t.count)}`).join(', ') || '<span class="muted">–</span>'}</td></tr>`).join('');
  return `<div class="phase-strip">${strip}</div>
<p class="muted small">${esc(note)}. Dominant = the resource furthest up its own peak in this run; syscall behaviour by the rules of the syscall analysis.</p>
<table class="grid phases"><thead><tr><th>#</th><th>when</th><th>dominant</th><th>CPU</th><th>disk</th><th>syscalls</th><th>behaviour</th><th>syscall mix</th><th>top syscalls</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function bars(items: { name: string; value: number; color?: string }[], total: number): string {
  const max = Math.max(1, ...items.map((i) => i.value));
  return `<div class="bars">${items.map((i) => `<div class="bar-row"><span class="name">${esc(i.name)}</span><span class="bar"><span style="width:${((i.value / max) * 100).toFixed(1)}%;background:${i.color ?? '#4e79a7'}"></span></span><span class="num">${fmt.int(i.value)}</span><span class="num muted">${total > 0 ? ((i.value / total) * 100).toFixed(1) : '0'} %</span></div>`).join('')}</div>`;
}

export function syscallSummaryHtml(s: SyscallView, colors: Record<string, string>): string {
  const a = s.analysis;
  let analysis = '<p class="muted">no behaviour analysis in this file</p>';
  if (a) {
    const gauge = (label: string, key: string) => {
      const v = typeof a[key] === 'number' ? (a[key] as number) : 0;
      return `<div class="gauge"><span class="name">${label}</span><span class="track"><span style="width:${Math.min(100, v * 100).toFixed(0)}%"></span><i style="left:50%"></i></span><span class="num">${v.toFixed(2)}</span></div>`;
    };
    analysis = `<div class="classification">${esc(String(a.behavior_classification ?? 'unknown'))}</div>
      ${gauge('I/O', 'io_intensity')}${gauge('memory', 'memory_intensity')}${gauge('network', 'network_intensity')}${gauge('CPU', 'cpu_intensity')}
      <p class="small">rate ${fmt.int(Number(a.syscall_rate_per_sec ?? 0))} syscalls/s; the mark is the 0.5 share that dominates</p>
      ${s.reasons.map((r) => `<p class="small">→ ${esc(r)}</p>`).join('')}`;
  }
  const cats = Object.entries(s.by_category).filter(([, n]) => n > 0).sort((x, y) => y[1] - x[1]).map(([name, value]) => ({ name, value, color: colors[name] }));
  return `<div class="cols3">
  <div class="card"><h3>Behaviour</h3>${analysis}</div>
  <div class="card"><h3>Categories</h3>${bars(cats, s.total)}</div>
  <div class="card"><h3>Top syscalls</h3>${bars(s.top.map((t) => ({ name: t.name, value: t.count })), s.total)}</div>
</div>`;
}

function hist(h: number[] | null): string {
  if (!h || h.length === 0) return '';
  const max = Math.max(1, ...h);
  const bins = h.map((v, i) => `<span style="height:${v > 0 ? Math.max(8, (v / max) * 100) : 0}%" title="${i === 0 ? '< 1' : `${2 ** (i - 1)}–${2 ** i}`} µs: ${fmt.int(v)}"></span>`).join('');
  return `<span class="hist">${bins}</span>`;
}

/** Rows shown before "show all". */
const FOLD = 20;

/** The strace -c style table; sortable by clicking a column header. */
export function tableHtml(rows: TableRow[], hasTimes: boolean, limit: number): string {
  const totalCalls = rows.reduce((s, r) => s + r.calls, 0);
  const totalUs = rows.reduce((s, r) => s + (r.total_us ?? 0), 0);
  const hasErrors = rows.some((r) => r.errors !== null);
  const head = [
    ['name', 'syscall'], ['calls', 'calls'], ['pct_calls', '% calls'],
    ...(hasErrors ? [['errors', 'errors'], ['errnos', 'errnos']] : []),
    ...(hasTimes ? [['pct_time', '% time'], ['total_us', 'total'], ['avg_us', 'avg'], ['max_us', 'max'], ['hist', 'latency (log2 µs)']] : []),
  ];
  const body = rows.slice(0, limit).map((r, i) => {
    const cells = [`<td>${esc(r.name)}</td>`, `<td class="num">${fmt.int(r.calls)}</td>`, `<td class="num">${totalCalls ? ((r.calls / totalCalls) * 100).toFixed(2) : '0'}</td>`];
    if (hasErrors) {
      cells.push(`<td class="num${r.errors ? ' bad' : ''}">${r.errors === null ? '–' : fmt.int(r.errors)}</td>`);
      cells.push(`<td class="small">${r.errnos ? Object.entries(r.errnos).sort((x, y) => y[1] - x[1]).map(([e, n]) => `${esc(e)} ${fmt.int(n)}`).join(', ') : ''}</td>`);
    }
    if (hasTimes) {
      cells.push(`<td class="num">${r.total_us !== null && totalUs > 0 ? ((r.total_us / totalUs) * 100).toFixed(2) : '–'}</td>`);
      for (const k of ['total_us', 'avg_us', 'max_us'] as const) cells.push(`<td class="num">${r[k] === null ? '–' : fmt.micros(r[k])}</td>`);
      cells.push(`<td>${hist(r.hist_log2_us)}</td>`);
    }
    return `<tr data-name="${esc(r.name)}"${i >= FOLD ? ' class="folded"' : ''}>${cells.join('')}</tr>`;
  }).join('');
  const unfold = Math.min(rows.length, limit) > FOLD ? `<button class="unfold" type="button">show all ${Math.min(rows.length, limit)} rows</button>` : '';
  const more = rows.length > limit ? `<p class="muted small">${rows.length - limit} more syscalls (${fmt.int(rows.slice(limit).reduce((s, r) => s + r.calls, 0))} calls) not listed.</p>` : '';
  return `<table class="grid syscalls sortable"><thead><tr>${head.map(([k, l]) => `<th data-key="${k}">${l}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>${unfold}${more}`;
}

export function byProcessHtml(rows: NonNullable<SyscallView['byProcess']>): string {
  const hasErrors = rows.some((r) => r.errors !== null);
  return `<table class="grid"><thead><tr><th>pid</th><th>command</th><th>syscalls</th>${hasErrors ? '<th>errors</th>' : ''}<th>most frequent</th></tr></thead><tbody>${rows.slice(0, 50).map((r) =>
    `<tr><td class="num">${r.pid}</td><td>${esc(r.comm)}</td><td class="num">${fmt.int(r.total)}</td>${hasErrors ? `<td class="num">${r.errors === null ? '–' : fmt.int(r.errors)}</td>` : ''}<td class="small">${esc(r.top)}</td></tr>`).join('')}</tbody></table>${rows.length > 50 ? `<p class="muted small">${rows.length - 50} more processes not listed.</p>` : ''}`;
}

/** Click a header to sort by it (again to reverse): numbers numerically, names alphabetically. */
export function makeSortable(table: HTMLTableElement): void {
  const tbody = table.tBodies[0]!;
  const unfold = table.nextElementSibling;
  if (unfold instanceof HTMLButtonElement && unfold.classList.contains('unfold')) {
    unfold.addEventListener('click', () => { table.classList.add('unfolded'); unfold.remove(); });
  }
  table.querySelectorAll('th').forEach((th, col) => {
    th.addEventListener('click', () => {
      // A sorted table shows all its rows: the folded ones would otherwise be an arbitrary subset.
      table.classList.add('unfolded');
      if (unfold?.classList.contains('unfold')) unfold.remove();
      const desc = th.dataset.sort !== 'desc';
      table.querySelectorAll('th').forEach((o) => delete o.dataset.sort);
      th.dataset.sort = desc ? 'desc' : 'asc';
      const key = (tr: HTMLTableRowElement) => {
        const text = tr.cells[col]?.textContent ?? '';
        const n = parseFloat(text.replace(/,/g, ''));
        const unit = /([µm]?s)$/.exec(text.trim())?.[1];
        return Number.isNaN(n) ? text : n * (unit === 's' ? 1e6 : unit === 'ms' ? 1e3 : 1);
      };
      const rows = [...tbody.rows].sort((x, y) => {
        const a = key(x);
        const b = key(y);
        const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
        return desc ? -c : c;
      });
      tbody.append(...rows);
    });
  });
}
