// The folded stack format (Brendan Gregg's stackcollapse output, read by flamegraph.pl, inferno and
// speedscope): one line per stack, frames root first separated by ';', then a space and the count.
import { FlameError } from './errors.js';

export interface FoldedStack {
  /** frames root first, joined by ';' */
  stack: string;
  count: number;
}

/** A frame as it can stand in a folded line: no ';' (the separator) and no line breaks. */
export function foldFrame(name: string): string {
  const clean = name.replace(/[\r\n]+/g, ' ').replace(/;/g, ':').trim();
  return clean === '' ? '[unnamed]' : clean;
}

/** Adds equal stacks up and sorts heaviest first (then by stack, so the output is stable). */
export function mergeFolded(stacks: Iterable<FoldedStack>): FoldedStack[] {
  const sums = new Map<string, number>();
  for (const s of stacks) sums.set(s.stack, (sums.get(s.stack) ?? 0) + s.count);
  return [...sums].map(([stack, count]) => ({ stack, count })).sort((a, b) => b.count - a.count || (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
}

export function formatFolded(stacks: readonly FoldedStack[]): string {
  return stacks.map((s) => `${s.stack} ${s.count}\n`).join('');
}

/**
 * Parses folded text. Blank lines are skipped; a line without a count (or with a negative or fractional
 * one) is a FlameError naming the line.
 */
export function parseFolded(text: string, source = 'folded stacks'): FoldedStack[] {
  const out: FoldedStack[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const sp = line.lastIndexOf(' ');
    const digits = sp > 0 ? line.slice(sp + 1) : '';
    const count = /^\d{1,15}$/.test(digits) ? Number(digits) : NaN;
    if (Number.isNaN(count) || line.slice(0, sp).trim() === '') {
      throw new FlameError(`${source}: line ${i + 1} is not "frame;frame;... COUNT": ${JSON.stringify(line.slice(0, 80))}`);
    }
    out.push({ stack: line.slice(0, sp), count });
  }
  return out;
}
