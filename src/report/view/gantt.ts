// The process timeline: one bar per process from start to exit (to the end of the run when it was
// still running), coloured by command, outlined in red when it failed; hover for its details. It
// follows the panels' cursor and zoom, and moves their cursor when hovered.
import type { ProcRow, ProcessView } from '../types.js';
import * as fmt from './format.js';

const LABEL_W = 210;
const AXIS_H = 22;

export class Gantt {
  private readonly canvas = document.createElement('canvas');
  private readonly tip = document.createElement('div');
  private min = 0;
  private max: number;
  private cursorT: number | null = null;
  private readonly rowH: number;
  private readonly byLane: ProcRow[][] = [];
  onHover: (t: number | null) => void = () => {};

  constructor(host: HTMLElement, private readonly view: ProcessView, private readonly colorOf: (cmd: string) => string) {
    this.max = Math.max(view.end, 1e-3);
    const lanes = Math.max(1, view.lanes);
    this.rowH = view.layout === 'rows' ? 18 : Math.max(4, Math.min(14, Math.floor(700 / lanes)));
    for (const r of view.rows) (this.byLane[r.lane] ??= []).push(r);
    this.canvas.className = 'gantt-canvas';
    this.tip.className = 'tip';
    host.append(this.canvas, this.tip);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => { this.tip.style.display = 'none'; this.onHover(null); });
    this.resize(host.clientWidth || 900);
  }

  get height(): number {
    return AXIS_H + Math.max(1, this.view.lanes) * this.rowH + 4;
  }

  resize(width: number): void {
    const dpr = window.devicePixelRatio || 1;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${this.height}px`;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.draw();
  }

  setRange(min: number, max: number): void {
    [this.min, this.max] = max > min ? [min, max] : [0, Math.max(this.view.end, 1e-3)];
    this.draw();
  }

  setCursor(t: number | null): void {
    this.cursorT = t;
    this.draw();
  }

  private get plotW(): number {
    return this.canvas.width / (window.devicePixelRatio || 1) - LABEL_W - 8;
  }

  private xOf(t: number): number {
    return LABEL_W + ((t - this.min) / (this.max - this.min)) * this.plotW;
  }

  private draw(): void {
    const dpr = window.devicePixelRatio || 1;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const w = this.canvas.width / dpr;
    ctx.clearRect(0, 0, w, this.height);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    // Time axis.
    ctx.fillStyle = '#555';
    ctx.strokeStyle = '#e4e4e4';
    const ticks = 8;
    for (let i = 0; i <= ticks; i++) {
      const t = this.min + ((this.max - this.min) * i) / ticks;
      const x = this.xOf(t);
      ctx.beginPath();
      ctx.moveTo(x + 0.5, AXIS_H - 4);
      ctx.lineTo(x + 0.5, this.height);
      ctx.stroke();
      ctx.textAlign = i === 0 ? 'left' : i === ticks ? 'right' : 'center';
      ctx.fillText(fmt.clock(t), x, 9);
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_W, AXIS_H, this.plotW, this.height - AXIS_H);
    ctx.clip();
    for (const r of this.view.rows) {
      const y = AXIS_H + r.lane * this.rowH;
      const x0 = Math.max(LABEL_W - 2, this.xOf(r.start));
      const x1 = Math.min(LABEL_W + this.plotW + 2, this.xOf(r.end ?? this.view.end));
      if (x1 < LABEL_W || x0 > LABEL_W + this.plotW) continue;
      const cmd = this.view.commands[r.cmd] ?? '';
      ctx.fillStyle = this.colorOf(cmd);
      const bw = Math.max(1.5, x1 - x0);
      ctx.fillRect(x0, y + 1, bw, this.rowH - 2);
      if ((r.exit_code !== null && r.exit_code !== 0) || r.signal) {
        ctx.strokeStyle = '#d62728';
        ctx.lineWidth = 1.5;
        ctx.strokeRect(x0 + 0.75, y + 1.75, Math.max(0.5, bw - 1.5), this.rowH - 3.5);
      }
      if (this.view.layout === 'packed' && bw > 40 && this.rowH >= 10) {
        ctx.fillStyle = '#fff';
        ctx.textAlign = 'left';
        ctx.fillText(fitText(ctx, shortName(cmd), bw - 6), x0 + 3, y + this.rowH / 2);
      }
    }
    ctx.restore();
    // Labels (rows layout): the command, indented by depth in the tree.
    if (this.view.layout === 'rows') {
      ctx.textAlign = 'left';
      for (const r of this.view.rows) {
        const y = AXIS_H + r.lane * this.rowH + this.rowH / 2;
        const indent = Math.min(6, r.depth) * 10;
        ctx.fillStyle = '#222';
        ctx.fillText(fitText(ctx, `${this.view.commands[r.cmd] ?? ''}`, LABEL_W - 12 - indent), 4 + indent, y);
      }
    } else {
      ctx.fillStyle = '#555';
      ctx.textAlign = 'left';
      ctx.fillText(`${this.view.rows.length} processes in ${this.view.lanes} lanes`, 4, AXIS_H + 8);
    }
    if (this.cursorT !== null && this.cursorT >= this.min && this.cursorT <= this.max) {
      const x = Math.round(this.xOf(this.cursorT)) + 0.5;
      ctx.strokeStyle = 'rgba(0,0,0,0.6)';
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x, AXIS_H);
      ctx.lineTo(x, this.height);
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  private hover(e: MouseEvent): void {
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const t = x >= LABEL_W ? this.min + ((x - LABEL_W) / this.plotW) * (this.max - this.min) : null;
    this.onHover(t);
    const lane = Math.floor((y - AXIS_H) / this.rowH);
    const slack = ((this.max - this.min) / this.plotW) * 3;
    const hit = t === null ? undefined : (this.byLane[lane] ?? []).find((r) => r.start - slack <= t && t <= (r.end ?? this.view.end) + slack);
    const row = hit ?? (this.view.layout === 'rows' && x < LABEL_W ? this.byLane[lane]?.[0] : undefined);
    if (!row) { this.tip.style.display = 'none'; return; }
    this.tip.innerHTML = describe(row, this.view);
    this.tip.style.display = 'block';
    this.tip.style.left = `${Math.min(x + 14, rect.width - 300)}px`;
    this.tip.style.top = `${y + 14}px`;
  }
}

function describe(r: ProcRow, v: ProcessView): string {
  const status = r.signal ? `killed by ${r.signal}` : r.exit_code !== null ? `exit ${r.exit_code}` : r.end === null ? 'still running at the end' : v.source === 'samples' ? 'exit status not recorded' : 'exit status unknown';
  const lines = [
    `<b>${fmt.esc(v.commands[r.cmd] ?? '')}</b>`,
    `pid ${r.pid}${r.ppid !== null ? `, parent ${r.ppid}` : ''}`,
    `${r.start_approx ? 'first seen' : 'started'} at ${fmt.clock(r.start)}; ${r.end === null ? 'running until the end' : `${v.source === 'samples' ? 'last seen' : 'exited'} at ${fmt.clock(r.end)}`}`,
    status,
  ];
  if (r.cpu_secs !== null) lines.push(`CPU ${r.cpu_secs.toFixed(3)} s`);
  if (r.peak_rss_kb !== null) lines.push(`peak RSS ${fmt.bytes(r.peak_rss_kb * 1024)}`);
  if (r.read_bytes !== null || r.write_bytes !== null) lines.push(`disk read ${fmt.bytes(r.read_bytes ?? 0)}, written ${fmt.bytes(r.write_bytes ?? 0)}`);
  if (r.figures === 'kernel') lines.push('<span class="path">figures taken by the kernel at its exit</span>');
  else if (r.figures === 'proc') lines.push('<span class="path">figures as last seen in /proc (its last interval is missing)</span>');
  return lines.join('<br>');
}

function shortName(cmd: string): string {
  const first = cmd.trim().split(/\s+/)[0] ?? '';
  return first.slice(first.lastIndexOf('/') + 1);
}

function fitText(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + '…').width <= width) lo = mid;
    else hi = mid - 1;
  }
  return lo > 0 ? text.slice(0, lo) + '…' : '';
}
