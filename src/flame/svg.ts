// A flame graph as one self-contained SVG file: every frame is drawn in the file itself (it shows
// without scripts, e.g. as an <img>), and an embedded script adds zoom on click, search (Ctrl-F or the
// Search button) and tooltips with counts and shares. Nothing is fetched: no fonts, no scripts.
import type { FoldedStack } from './folded.js';
import { FlameError } from './errors.js';
import { FLAME_SCRIPT } from './svg-script.js';

export interface FlameOptions {
  title?: string;
  /** A line under the title (what was counted, losses). */
  subtitle?: string;
  /** What one count is ("syscalls", "samples"). */
  unit?: string;
  /** Image width in pixels (default 1200). */
  width?: number;
  /** Frames narrower than this many pixels at full view are left out (default 0.1), as flamegraph.pl does. */
  minWidth?: number;
  /** The last frame of each stack is the event itself (a syscall name): drawn in its own colour. */
  leafIsEvent?: boolean;
}

interface Node {
  name: string;
  value: number;
  children: Map<string, Node>;
}

const FRAME_H = 16, PAD = 10, TOP = 54, BOTTOM = 34, FONT = 12;
/** Average glyph width of the 12px sans-serif, as a share of the font size (for fitting labels). */
const CHAR_W = 0.59;

function build(stacks: readonly FoldedStack[]): { root: Node; depth: number } {
  const root: Node = { name: 'all', value: 0, children: new Map() };
  let depth = 0;
  stacks.forEach(({ stack, count }, i) => {
    if (typeof stack !== 'string' || typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
      throw new FlameError(`stack ${i + 1} is not {stack: "frame;...", count: N}: ${JSON.stringify({ stack, count }).slice(0, 120)}`);
    }
  });
  for (const { stack, count } of stacks) {
    if (count === 0) continue;
    const frames = stack.split(';');
    depth = Math.max(depth, frames.length);
    root.value += count;
    let node = root;
    for (const f of frames) {
      let next = node.children.get(f);
      if (!next) node.children.set(f, (next = { name: f, value: 0, children: new Map() }));
      next.value += count;
      node = next;
    }
  }
  return { root, depth };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A stable colour per name, by kind: kernel `_[k]`, JIT `_[j]`, the event leaf, unknown frames, code. */
function colour(name: string, depth: number, isLeaf: boolean, leafIsEvent: boolean): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  const v = (h % 1000) / 1000, w = ((h >>> 10) % 1000) / 1000;
  const rgb = (r: number, g: number, b: number) => `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
  if (depth === 0) return 'rgb(200,200,200)';
  if (depth === 1) return rgb(170 + 30 * v, 170 + 30 * v, 190 + 30 * w);
  if (isLeaf && leafIsEvent) return rgb(80 + 50 * v, 140 + 50 * w, 235);
  if (name.endsWith('_[k]')) return rgb(220 + 35 * v, 140 + 60 * w, 40);
  if (name.endsWith('_[j]')) return rgb(50 + 60 * v, 190 + 50 * w, 60);
  if (name.startsWith('[')) return rgb(190 + 20 * v, 190 + 20 * v, 190 + 20 * v);
  return rgb(205 + 50 * v, 230 * w, 55 * v);
}

/** Renders folded stacks as an interactive SVG flame graph (root at the bottom). */
export function renderFlameGraph(stacks: readonly FoldedStack[], opts: FlameOptions = {}): string {
  const width = opts.width ?? 1200;
  if (!Number.isFinite(width) || width < 200 || width > 100_000) throw new FlameError(`flame graph width ${width} must be from 200 to 100000 pixels`);
  const unit = opts.unit ?? 'samples';
  const { root, depth } = build(stacks);
  const total = root.value;
  const chartW = width - 2 * PAD;
  const height = TOP + (depth + 1) * FRAME_H + BOTTOM;
  const scale = total > 0 ? chartW / total : 0;
  const minCount = total > 0 ? (opts.minWidth ?? 0.1) / scale : 0;
  const parts: string[] = [];
  let omitted = 0;
  const pct = (n: number) => (total > 0 ? ((100 * n) / total).toFixed(2) : '0.00');
  const fmt = (n: number) => n.toLocaleString('en-US');

  // Depth-first, children in name order (equal prefixes side by side, the layout stable).
  const walk = (node: Node, x: number, d: number) => {
    if (node.value < minCount && d > 0) {
      omitted++;
      return;
    }
    const px = PAD + x * scale, pw = node.value * scale;
    const y = height - BOTTOM - (d + 1) * FRAME_H;
    const isLeaf = node.children.size === 0;
    const chars = Math.floor((pw - 6) / (FONT * CHAR_W));
    const label = chars < 3 ? '' : node.name.length <= chars ? node.name : `${node.name.slice(0, chars - 2)}..`;
    parts.push(
      `<g class="f" data-n="${esc(node.name)}" data-x="${x}" data-w="${node.value}" data-d="${d}">` +
      `<title>${esc(node.name)} (${fmt(node.value)} ${esc(unit)}, ${pct(node.value)}%)</title>` +
      `<rect x="${px.toFixed(2)}" y="${y}" width="${pw.toFixed(2)}" height="${FRAME_H - 1}" rx="2" fill="${colour(node.name, d, isLeaf, opts.leafIsEvent ?? false)}"/>` +
      `<text x="${(px + 3).toFixed(2)}" y="${y + FRAME_H - 4}">${esc(label)}</text></g>`,
    );
    let cx = x;
    for (const child of [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      walk(child, cx, d + 1);
      cx += child.value;
    }
  };
  if (total > 0) walk(root, 0, 0);

  const title = opts.title ?? 'Flame graph';
  const sub = [opts.subtitle, omitted > 0 ? `${fmt(omitted)} frames narrower than ${opts.minWidth ?? 0.1} px left out` : undefined].filter(Boolean).join('; ');
  const empty = total === 0 ? `<text x="${width / 2}" y="${TOP + 20}" text-anchor="middle" class="msg">no stacks were recorded</text>` : '';
  return [
    '<?xml version="1.0" standalone="no"?>',
    `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-total="${total}" data-unit="${esc(unit)}" data-pad="${PAD}" data-font="${FONT}" data-charw="${CHAR_W}">`,
    '<style>text{font-family:Verdana,Arial,sans-serif;font-size:12px;fill:#000}.f{cursor:pointer}.f:hover rect{stroke:#000;stroke-width:0.5}' +
    '.f.parent rect{opacity:0.5}.f.hide{display:none}.t{font-size:17px;text-anchor:middle}.s{fill:#444;text-anchor:middle}.msg{fill:#666}' +
    '.btn{cursor:pointer;fill:#333}.btn:hover{text-decoration:underline}#tip rect{fill:#fffbe6;stroke:#999}#tip{pointer-events:none}</style>',
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fdfdf6"/>`,
    `<text class="t" x="${width / 2}" y="22">${esc(title)}</text>`,
    `<text class="s" x="${width / 2}" y="40">${esc(sub || `${fmt(total)} ${unit}`)}</text>`,
    `<text id="reset" class="btn" x="${PAD}" y="22" visibility="hidden">Reset zoom</text>`,
    `<text id="search" class="btn" x="${width - PAD}" y="22" text-anchor="end">Search</text>`,
    `<text id="matched" x="${width - PAD}" y="${height - 10}" text-anchor="end"></text>`,
    `<text id="details" x="${PAD}" y="${height - 10}"></text>`,
    `<g id="frames">${parts.join('\n')}</g>`,
    empty,
    '<g id="tip" visibility="hidden"><rect rx="3" height="20"/><text y="14"></text></g>',
    `<script type="text/ecmascript"><![CDATA[${FLAME_SCRIPT}]]></script>`,
    '</svg>',
    '',
  ].join('\n');
}
