// The report viewer: reads the embedded data and lays out the header, the panels, the process
// timeline, the phases and the syscall picture. Everything it needs is in the file.
import uplotCss from 'uplot/dist/uPlot.min.css';
import { CATEGORY_COLORS, PALETTE } from '../palette.js';
import type { ReportData } from '../types.js';
import { Charts } from './charts.js';
import { Flame } from './flame.js';
import * as fmt from './format.js';
import { Gantt } from './gantt.js';
import { byProcessHtml, headerHtml, makeSortable, phasesHtml, syscallSummaryHtml, tableHtml } from './sections.js';
import css from './style.css';

/** What a reader (or a test) can ask the page after it rendered. */
interface ReportState {
  ready: boolean;
  error: string | null;
  panels: { id: string; points: number; series: number }[];
  charts?: Charts;
  gantt?: Gantt;
  flame?: Flame;
}

declare global {
  interface Window { __report: ReportState }
}

const state: ReportState = { ready: false, error: null, panels: [] };
window.__report = state;

function section(app: HTMLElement, id: string, title: string, intro: string): HTMLElement {
  const s = document.createElement('section');
  s.id = id;
  s.innerHTML = `<h2>${fmt.esc(title)}</h2>${intro ? `<p class="muted small">${intro}</p>` : ''}`;
  app.append(s);
  return s;
}

function commandKey(cmd: string): string {
  const first = cmd.trim().split(/\s+/)[0] ?? '';
  return first.slice(first.lastIndexOf('/') + 1);
}

function render(data: ReportData): void {
  const style = document.createElement('style');
  style.textContent = uplotCss + '\n' + css;
  document.head.append(style);
  const app = document.getElementById('app')!;
  app.innerHTML = headerHtml(data.header);
  const width = () => Math.min(app.clientWidth, 1400) - 2;

  // Colours of commands follow the CPU panel; others get a stable colour from their name.
  const cmdColors = new Map<string, string>();
  for (const s of data.panels.find((p) => p.id === 'cpu')?.series ?? []) if (s.stack) cmdColors.set(s.label, s.color);
  const colorOf = (cmd: string) => {
    const key = commandKey(cmd);
    let c = cmdColors.get(key);
    if (!c) {
      let h = 0;
      for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
      c = PALETTE[h % PALETTE.length]!;
      cmdColors.set(key, c);
    }
    return c;
  };

  let gantt: Gantt | undefined;
  const charts = new Charts([{ cursor: (t) => gantt?.setCursor(t), range: (a, b) => gantt?.setRange(a, b) }]);
  state.charts = charts;
  const over = section(app, 'panels', 'Over time', 'Hover for the values at that instant; drag across a panel to zoom all of them, double-click to zoom out. Shaded bands are the phases below.');
  for (const p of data.panels) {
    const card = document.createElement('div');
    card.className = 'panel';
    card.dataset.panel = p.id;
    card.innerHTML = `<h3>${fmt.esc(p.title)}</h3><p class="muted small">${fmt.esc(p.note)}${p.downsampled ? ` · ${fmt.int(p.downsampled.to)} of ${fmt.int(p.downsampled.from)} samples drawn (each bucket's extremes kept)` : ''}</p>`;
    const host = document.createElement('div');
    card.append(host);
    over.append(card);
    charts.add(host, p, data.phases);
    state.panels.push({ id: p.id, points: p.x.length, series: p.series.length });
  }

  const procs = data.processes;
  const tl = section(app, 'processes', 'Processes', fmt.esc(procs.note));
  if (procs.rows.length > 0) {
    const host = document.createElement('div');
    host.className = 'gantt';
    tl.append(host);
    gantt = new Gantt(host, procs, colorOf);
    gantt.onHover = (t) => charts.moveCursor(t);
    // The same time range as the panels (their first to last sample).
    const x = charts.plots[0]?.scales.x;
    if (x && x.min != null && x.max != null) gantt.setRange(x.min, x.max);
    state.gantt = gantt;
  } else {
    tl.insertAdjacentHTML('beforeend', '<p class="muted">No process was listed in any sample.</p>');
  }
  const extra: string[] = [];
  if (procs.hidden.count > 0) extra.push(`${fmt.int(procs.hidden.count)} lighter processes not drawn (${procs.hidden.cpu_secs.toFixed(2)} s CPU in all).`);
  if (procs.kernelOnly.count > 0) extra.push(`${fmt.int(procs.kernelOnly.count)} processes were counted by eBPF but lived between samples (no times): ${procs.kernelOnly.comms.map((c) => `${fmt.esc(c.comm)} ×${c.count}`).join(', ')}.`);
  if (extra.length) tl.insertAdjacentHTML('beforeend', `<p class="small">${extra.join(' ')}</p>`);

  const ph = section(app, 'phases', 'Phases', '');
  ph.insertAdjacentHTML('beforeend', phasesHtml(data.phases, data.phaseNote, procs.end, CATEGORY_COLORS));

  const sc = section(app, 'syscalls', 'Syscalls', data.syscalls ? `${fmt.int(data.syscalls.total)} syscalls counted in the kernel over the whole run.` : '');
  if (data.syscalls) {
    const s = data.syscalls;
    sc.insertAdjacentHTML('beforeend', syscallSummaryHtml(s, CATEGORY_COLORS));
    sc.insertAdjacentHTML('beforeend', `<h3>${s.tableHasTimes ? 'Calls, errors and time per syscall' : 'Calls per syscall'}</h3>${s.tableHasTimes ? '' : '<p class="muted small">This run counted calls only; errors and time columns need a run that timed syscalls.</p>'}${tableHtml(s.table, s.tableHasTimes, 60)}`);
    if (s.byProcess) sc.insertAdjacentHTML('beforeend', `<h3>Per process</h3>${byProcessHtml(s.byProcess)}`);
    sc.querySelectorAll<HTMLTableElement>('table.sortable').forEach(makeSortable);
  } else {
    sc.insertAdjacentHTML('beforeend', '<p class="muted">No syscalls were counted in this run (see the header for why).</p>');
  }
  if (data.flame) {
    const f = data.flame;
    sc.insertAdjacentHTML('beforeend', `<h3>Where the syscalls come from</h3><p class="muted small">${fmt.int(f.unique)} unique stacks, ${fmt.int(f.total)} syscalls${f.lost ? `, ${fmt.int(f.lost)} stacks lost` : ''}${f.hidden.stacks ? `; the ${fmt.int(f.hidden.stacks)} lightest stacks (${fmt.int(f.hidden.count)} syscalls) are left out` : ''}. Click a frame to zoom in.</p>`);
    const host = document.createElement('div');
    host.className = 'flame';
    sc.append(host);
    state.flame = new Flame(host, f);
  }

  app.insertAdjacentHTML('beforeend', `<footer class="muted small">${fmt.esc(data.generator)} · charts: uPlot (MIT) · this file fetches nothing</footer>`);
  let pending = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      charts.resize(width());
      gantt?.resize(width());
      state.flame?.resize(width());
    });
  });
}

try {
  const node = document.getElementById('report-data');
  if (!node?.textContent) throw new Error('the report data is missing from this file');
  render(JSON.parse(node.textContent) as ReportData);
  state.ready = true;
} catch (err) {
  state.error = err instanceof Error ? err.message : String(err);
  const app = document.getElementById('app');
  if (app) app.insertAdjacentHTML('afterbegin', `<p class="warning">The report could not be drawn: ${fmt.esc(state.error)}</p>`);
  console.error(err);
}
