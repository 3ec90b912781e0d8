// A flame graph of the folded stacks ("comm;f1;f2;syscall" → count): the root at the bottom, each
// frame as wide as the syscalls made under it. Click a frame to zoom into it, click the root (or
// Reset) to zoom out, hover for counts and shares, type in the search box to highlight frames.
import type { FlameView } from '../types.js';
import * as fmt from './format.js';

interface Node {
  name: string;
  value: number;
  children: Map<string, Node>;
  parent: Node | null;
  depth: number;
}

const ROW = 17;

function build(stacks: [string, number][]): { root: Node; depth: number } {
  const root: Node = { name: 'all', value: 0, children: new Map(), parent: null, depth: 0 };
  let depth = 0;
  for (const [stack, count] of stacks) {
    root.value += count;
    let node = root;
    for (const frame of stack.split(';')) {
      let next = node.children.get(frame);
      if (!next) node.children.set(frame, (next = { name: frame, value: 0, children: new Map(), parent: node, depth: node.depth + 1 }));
      next.value += count;
      node = next;
      depth = Math.max(depth, node.depth);
    }
  }
  return { root, depth };
}

function hue(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `hsl(${10 + (h % 45)}, ${70 + (h % 20)}%, ${58 + ((h >> 8) % 14)}%)`;
}

export class Flame {
  private readonly canvas = document.createElement('canvas');
  private readonly tip = document.createElement('div');
  private readonly root: Node;
  private readonly depth: number;
  private focus: Node;
  private search = '';
  /** Frames as drawn, for hit tests. */
  private boxes: { x: number; y: number; w: number; node: Node }[] = [];

  constructor(host: HTMLElement, view: FlameView) {
    ({ root: this.root, depth: this.depth } = build(view.stacks));
    this.focus = this.root;
    const bar = document.createElement('div');
    bar.className = 'flame-bar';
    const input = document.createElement('input');
    input.type = 'search';
    input.placeholder = 'search frames';
    input.addEventListener('input', () => { this.search = input.value; this.draw(); });
    const reset = document.createElement('button');
    reset.textContent = 'Reset zoom';
    reset.addEventListener('click', () => { this.focus = this.root; this.draw(); });
    bar.append(input, reset);
    this.canvas.className = 'flame-canvas';
    this.tip.className = 'tip';
    host.append(bar, this.canvas, this.tip);
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hit(e);
      if (hit) { this.focus = hit; this.draw(); }
    });
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => { this.tip.style.display = 'none'; });
    this.resize(host.clientWidth || 900);
  }

  /** The frame zoomed into (for tests and the URL-less state). */
  get focusName(): string {
    return this.focus.name;
  }

  get frameCount(): number {
    return this.boxes.length;
  }

  resize(width: number): void {
    const dpr = window.devicePixelRatio || 1;
    const height = (this.depth + 1) * ROW + 2;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.draw();
  }

  /** Zooms into the first frame called `name` (tests drive the view with it). */
  zoomTo(name: string): boolean {
    const box = this.boxes.find((b) => b.node.name === name && b.node !== this.root);
    if (box) { this.focus = box.node; this.draw(); }
    return Boolean(box);
  }

  private draw(): void {
    const dpr = window.devicePixelRatio || 1;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const w = this.canvas.width / dpr;
    const h = this.canvas.height / dpr;
    ctx.clearRect(0, 0, w, h);
    ctx.font = '11px ui-monospace, monospace';
    ctx.textBaseline = 'middle';
    this.boxes = [];
    const needle = this.search.toLowerCase();
    const yOf = (depth: number) => h - (depth + 1) * ROW;
    // The focused frame's ancestors span the full width; its subtree is laid out under it.
    for (let a: Node | null = this.focus; a; a = a.parent) this.box(ctx, a, 0, w, yOf(a.depth), needle);
    const lay = (node: Node, x: number, width: number) => {
      let cx = x;
      const kids = [...node.children.values()].sort((p, q) => (p.name < q.name ? -1 : 1));
      for (const k of kids) {
        const kw = (k.value / node.value) * width;
        if (kw >= 0.5) {
          this.box(ctx, k, cx, kw, yOf(k.depth), needle);
          lay(k, cx, kw);
        }
        cx += kw;
      }
    };
    lay(this.focus, 0, w);
  }

  private box(ctx: CanvasRenderingContext2D, node: Node, x: number, w: number, y: number, needle: string): void {
    const match = needle !== '' && node.name.toLowerCase().includes(needle);
    ctx.fillStyle = node === this.root ? '#c9c9c9' : match ? '#c84fd6' : hue(node.name);
    ctx.fillRect(x + 0.5, y + 0.5, Math.max(0.5, w - 1), ROW - 1);
    if (w > 30) {
      ctx.fillStyle = '#111';
      ctx.textAlign = 'left';
      const label = node === this.root ? `all (${fmt.int(node.value)} syscalls)` : node.name;
      const max = Math.floor((w - 6) / 6.6);
      ctx.fillText(label.length > max ? label.slice(0, Math.max(0, max - 1)) + '…' : label, x + 3, y + ROW / 2);
    }
    this.boxes.push({ x, y, w, node });
  }

  private hit(e: MouseEvent): Node | undefined {
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    return this.boxes.find((b) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + ROW)?.node;
  }

  private hover(e: MouseEvent): void {
    const node = this.hit(e);
    if (!node) { this.tip.style.display = 'none'; return; }
    const path: string[] = [];
    for (let a: Node | null = node; a && a.parent; a = a.parent) path.unshift(a.name);
    const r = this.canvas.getBoundingClientRect();
    this.tip.innerHTML = `<b>${fmt.esc(node.name)}</b><br>${fmt.int(node.value)} syscalls, ${((node.value / this.root.value) * 100).toFixed(2)} % of all` +
      `${this.focus !== this.root ? `, ${((node.value / this.focus.value) * 100).toFixed(1)} % of ${fmt.esc(this.focus.name)}` : ''}` +
      `<br><span class="path">${fmt.esc(path.join(' › ').slice(0, 400))}</span>`;
    this.tip.style.display = 'block';
    this.tip.style.left = `${Math.min(e.clientX - r.left + 14, r.width - 320)}px`;
    this.tip.style.top = `${e.clientY - r.top + 14}px`;
  }
}
