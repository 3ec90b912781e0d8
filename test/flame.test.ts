// Folded stacks and the SVG renderer, without a browser (test/flame-browser.test.ts opens the SVG for real).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FlameError, foldFrame, formatFolded, mergeFolded, parseFolded, renderFlameGraph } from '../src/flame/index.js';

const test = suite('flame');

test('folded text: round trip, merge and order, frames made safe', () => {
  const text = 'a;b;read 3\na;c;write 1\n\na;b;read 2\r\nx y;z w 7\n';
  const parsed = parseFolded(text);
  assert.equal(parsed[3], { stack: 'x y;z w', count: 7 }, 'spaces inside frames: the count is after the last one');
  const merged = mergeFolded(parsed);
  assert.equal(merged, [{ stack: 'x y;z w', count: 7 }, { stack: 'a;b;read', count: 5 }, { stack: 'a;c;write', count: 1 }]);
  assert.equal(parseFolded(formatFolded(merged)), merged);
  assert.is(foldFrame('ns::f<a;b>\nx'), 'ns::f<a:b> x');
  assert.is(foldFrame('  '), '[unnamed]');
});

test('folded text: a line without a count is refused with its number', () => {
  for (const bad of ['a;b', 'a;b -1', 'a;b 1.5', ' 3', 'a;b 1e3']) {
    try {
      parseFolded(`ok 1\n${bad}\n`, 'f.folded');
      assert.unreachable(bad);
    } catch (e) {
      assert.instance(e, FlameError);
      assert.match((e as Error).message, /f\.folded: line 2/);
    }
  }
});

/** The frames the SVG draws: name, depth, width in counts. */
function frames(svg: string): { n: string; d: number; x: number; w: number }[] {
  return [...svg.matchAll(/<g class="f" data-n="([^"]*)" data-x="(\d+)" data-w="(\d+)" data-d="(\d+)">/g)].map((m) => ({ n: m[1]!, x: Number(m[2]), w: Number(m[3]), d: Number(m[4]) }));
}

test('SVG: one frame per distinct prefix, widths are counts, root at the bottom, names escaped', () => {
  const svg = renderFlameGraph([
    { stack: 'app;main;path_one;getppid', count: 300 },
    { stack: 'app;main;path_two;path_three;getppid', count: 700 },
    { stack: 'app;<script>&"x";read', count: 5 },
  ], { title: 'T & <t>', unit: 'syscalls', leafIsEvent: true });
  const f = frames(svg);
  assert.is(f.length, 1 + 1 + 1 + 2 + 1 + 2 + 1 + 1);
  assert.equal(f[0], { n: 'all', d: 0, x: 0, w: 1005 });
  const byName = new Map(f.map((x) => [x.n, x]));
  assert.is(byName.get('main')!.w, 1000);
  assert.is(byName.get('path_three')!.d, 4);
  assert.is(byName.get('path_two')!.x, byName.get('path_one')!.x + 300, 'siblings side by side, in name order');
  assert.ok(byName.has('&lt;script&gt;&amp;&quot;x&quot;'), 'name escaped in attributes');
  assert.not.match(svg, /<script>&/);
  assert.match(svg, /<title>T &amp; &lt;t&gt;<\/title>|>T &amp; &lt;t&gt;</);
  assert.match(svg, /<title>main \(1,000 syscalls, 99\.50%\)<\/title>/);
  // Rows: the deepest frame is drawn highest (smallest y).
  const ys = [...svg.matchAll(/<\/title><rect x="[\d.]+" y="(\d+)" width/g)].map((m) => Number(m[1]));
  assert.is(ys.length, f.length);
  assert.ok(ys[0]! > Math.min(...ys), 'the root is the lowest row');
  assert.not.match(svg, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'nothing to fetch');
});

test('SVG: frames too narrow to see are left out and counted; an empty input says so', () => {
  const stacks = [{ stack: 'a;big', count: 1_000_000 }, ...Array.from({ length: 500 }, (_, i) => ({ stack: `a;tiny${i}`, count: 1 }))];
  const svg = renderFlameGraph(stacks);
  assert.is(frames(svg).length, 3);
  assert.match(svg, /500 frames narrower than 0\.1 px left out/);
  assert.match(renderFlameGraph([]), /no stacks were recorded/);
  const flameError = (e: unknown) => e instanceof FlameError;
  assert.throws(() => renderFlameGraph([{ stack: 'a', count: -1 }]), flameError);
  assert.throws(() => renderFlameGraph([{ stack: 3 as unknown as string, count: 1 }]), flameError);
  assert.throws(() => renderFlameGraph([], { width: 10 }), flameError);
});

test('SVG: 20,000 stacks 40 frames deep render in one piece', () => {
  const stacks = Array.from({ length: 20_000 }, (_, i) => ({ stack: Array.from({ length: 40 }, (_, d) => `f${d}_${i % (d + 2)}`).join(';'), count: 1 + (i % 7) }));
  const svg = renderFlameGraph(stacks);
  assert.ok(svg.endsWith('</svg>\n'));
  const f = frames(svg);
  assert.is(f[0]!.w, stacks.reduce((s, x) => s + x.count, 0));
  for (const x of f) assert.ok(x.w * 1180 / f[0]!.w >= 0.1 || x.d === 0);
});

test.run();
