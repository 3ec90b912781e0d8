// The time-series panels, drawn with uPlot: one shared time axis, a cursor synchronised across all of
// them (and the process timeline), hover values in each legend, drag to zoom every panel at once,
// double-click to zoom out. Stacked series are summed here; their legends show their own values.
import uPlot from 'uplot';
import type { Panel, Phase } from '../types.js';
import * as fmt from './format.js';

export interface TimeLink {
  /** Called with the time under the cursor (null when it leaves). */
  cursor(t: number | null): void;
  /** Called when the visible time range changes. */
  range(min: number, max: number): void;
}

const SYNC_KEY = 'denet-report';
const PHASE_TINT = ['rgba(78,121,167,0.07)', 'rgba(242,142,43,0.07)'];

function alpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

export class Charts {
  readonly plots: uPlot[] = [];
  private syncing = false;

  constructor(private readonly links: TimeLink[]) {}

  add(host: HTMLElement, panel: Panel, phases: Phase[]): uPlot {
    const stackIdx = panel.series.map((s, i) => (s.stack ? i : -1)).filter((i) => i >= 0);
    // Cumulative sums for stacked series, in order; the legend reads the raw values.
    const data: (number | null)[][] = panel.ys.map((y) => y.slice());
    let prev: (number | null)[] | null = null;
    for (const i of stackIdx) {
      const cur = data[i]!;
      if (prev) for (let k = 0; k < cur.length; k++) cur[k] = (cur[k] ?? 0) + (prev[k] ?? 0);
      prev = cur;
    }
    const bands: uPlot.Band[] = [];
    for (let k = 1; k < stackIdx.length; k++) bands.push({ series: [stackIdx[k]! + 1, stackIdx[k - 1]! + 1], fill: alpha(panel.series[stackIdx[k]!]!.color, 0.55) });

    const series: uPlot.Series[] = [
      { label: 'time', value: (_u, v) => (v === null || v === undefined ? '–' : fmt.clock(v)) },
      ...panel.series.map((s, i): uPlot.Series => ({
        label: s.label,
        stroke: s.color,
        width: s.stack ? 1 : 1.5,
        dash: s.dash ? [5, 4] : undefined,
        fill: s.stack && i === stackIdx[0] ? alpha(s.color, 0.55) : undefined,
        // Lines only, but a value with no neighbour (a run of two samples, a lone rate between
        // gaps) has no segment to draw: it gets a dot, so no drawn panel is blank.
        points: { show: false, size: 11, fill: s.color, filter: isolated },
        value: (_u, _v, _si, idx) => fmt.value(panel.unit, idx === null || idx === undefined ? null : panel.ys[i]![idx]),
      })),
    ];
    const width = Math.max(320, host.clientWidth || 900);
    const opts: uPlot.Options = {
      width,
      height: 190,
      series,
      bands,
      scales: {
        x: { time: false },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
      },
      axes: [
        { values: (_u, splits) => splits.map((v) => fmt.clock(v)), size: 30, space: 70 },
        { values: (_u, splits) => splits.map((v) => fmt.axis(panel.unit, v)), size: 74, space: 36 },
      ],
      cursor: { sync: { key: SYNC_KEY, setSeries: false }, drag: { x: true, y: false }, points: { show: false } },
      legend: { live: true },
      hooks: {
        drawClear: [(u) => drawPhases(u, phases)],
        setCursor: [(u) => {
          const left = u.cursor.left;
          const t = left === undefined || left < 0 ? null : u.posToVal(left, 'x');
          for (const l of this.links) l.cursor(t);
        }],
        setScale: [(u, key) => { if (key === 'x') this.zoomed(u); }],
      },
    };
    const plot = new uPlot(opts, [panel.x, ...data] as uPlot.AlignedData, host);
    this.plots.push(plot);
    return plot;
  }

  /** One panel zoomed: the others and the linked views follow. */
  private zoomed(src: uPlot): void {
    if (this.syncing) return;
    const { min, max } = src.scales.x ?? {};
    if (min === undefined || max === undefined || min === null || max === null) return;
    this.syncing = true;
    try {
      for (const p of this.plots) if (p !== src) p.setScale('x', { min, max });
      for (const l of this.links) l.range(min, max);
    } finally {
      this.syncing = false;
    }
  }

  /** Moves every panel's cursor to time t (from the process timeline). */
  moveCursor(t: number | null): void {
    for (const p of this.plots) {
      if (t === null) { p.setCursor({ left: -10, top: -10 }); continue; }
      const left = p.valToPos(t, 'x');
      p.setCursor({ left, top: p.bbox.height / devicePixelRatio / 2 });
    }
  }

  resize(width: number): void {
    for (const p of this.plots) p.setSize({ width: Math.max(320, width), height: 190 });
  }
}

/** Phases as alternating tints behind the series, with a line at each boundary. */
function drawPhases(u: uPlot, phases: Phase[]): void {
  if (phases.length < 2) return;
  const ctx = u.ctx;
  const { top, height, left, width } = u.bbox;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  phases.forEach((p, i) => {
    const x0 = u.valToPos(p.start, 'x', true);
    const x1 = u.valToPos(p.end, 'x', true);
    ctx.fillStyle = PHASE_TINT[i % 2]!;
    ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
    if (i > 0) {
      ctx.strokeStyle = 'rgba(0,0,0,0.25)';
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(Math.round(x0) + 0.5, top);
      ctx.lineTo(Math.round(x0) + 0.5, top + height);
      ctx.stroke();
    }
  });
  ctx.restore();
}

/** Indices of the values of series `si` with no value on either side (null when there are none). */
function isolated(u: uPlot, si: number): number[] | null {
  const ys = u.data[si]!;
  const at = (k: number) => k >= 0 && k < ys.length && ys[k] !== null && ys[k] !== undefined;
  const out: number[] = [];
  for (let k = 0; k < ys.length; k++) if (at(k) && !at(k - 1) && !at(k + 1)) out.push(k);
  return out.length > 0 ? out : null;
}
