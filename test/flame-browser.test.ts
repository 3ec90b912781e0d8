// The flame graph SVG in real headless Chromium: the frames are drawn, a click zooms, the reset and the
// search (through its prompt) work, hovering shows a tooltip with count and share, nothing is fetched.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderFlameGraph } from '../src/flame/index.js';
import { Browser, browserUnavailableReason, type Page } from './_lib/browser.js';
import { kernelTest } from './_lib/privilege.js';
import { scratchDir } from './_lib/workloads.js';

const test = suite('flame graph in Chromium');

const STACKS = [
  { stack: 'stacks;__libc_start_call_main;main;path_one;raw_getppid;getppid', count: 300 },
  { stack: 'stacks;__libc_start_call_main;main;path_two;path_three;raw_getppid;getppid', count: 700 },
  { stack: 'stacks-child;__libc_start_call_main;main;child_main;path_one;raw_getppid;getppid', count: 111 },
  { stack: 'stacks-child;__libc_start_call_main;main;child_main;path_two;path_three;raw_getppid;getppid', count: 222 },
];
const TOTAL = 1333;

interface Box { x: number; y: number; width: number; height: number; hidden: boolean; parent: boolean; label: string; fill: string }

/** Every drawn frame named `name` (in DOM order), with its box on the page. */
function boxes(page: Page, name: string): Promise<Box[]> {
  return page.eval<Box[]>(`[...document.querySelectorAll('g.f')].filter((g) => g.getAttribute('data-n') === ${JSON.stringify(name)}).map((g) => {
    const r = g.querySelector('rect').getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height, hidden: g.classList.contains('hide') || getComputedStyle(g).display === 'none',
      parent: g.classList.contains('parent'), label: g.querySelector('text').textContent, fill: g.querySelector('rect').getAttribute('fill') };
  })`);
}

async function click(page: Page, x: number, y: number): Promise<void> {
  await page.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y });
  await page.send('Input.dispatchMouseEvent', { type: 'mousePressed', x, y, button: 'left', clickCount: 1 });
  await page.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x, y, button: 'left', clickCount: 1 });
}

kernelTest(test, 'renders every frame, zooms on click, resets, searches, shows tooltips; fetches nothing', async () => {
  const file = join(scratchDir(), 'flame-browser.svg');
  writeFileSync(file, renderFlameGraph(STACKS, { title: 'test graph', unit: 'syscalls', leafIsEvent: true }));
  const url = pathToFileURL(file).href;
  const browser = await Browser.launch();
  try {
    const page = await browser.newPage(1300, 900);
    await page.goto(url);
    assert.equal(page.events.exceptions, []);
    assert.equal(page.events.requests.filter((r) => r !== url), [], 'no request but the file itself');

    // Drawn: every distinct prefix is one frame, proportional to its count, labelled when it fits.
    const count = await page.eval<number>(`document.querySelectorAll('g.f').length`);
    // all; 2 comms; their __libc_start_call_main and main; path_one, path_two (root); child_main, path_one, path_two
    // (child); path_three x2; raw_getppid x4; getppid x4.
    assert.is(count, 1 + 2 + 2 + 2 + 2 + 3 + 2 + 4 + 4);
    const [root] = await boxes(page, 'all');
    assert.ok(Math.abs(root!.width - 1180) < 1, `root spans the chart (${root!.width})`);
    const [two] = await boxes(page, 'path_two');
    const ones = await boxes(page, 'path_one');
    assert.ok(two && Math.abs(two.width - (1180 * 700) / TOTAL) < 1, `path_two is 700/${TOTAL} wide`);
    assert.is(two.label, 'path_two');
    assert.ok(two.y < root!.y, 'deeper frames are drawn above');
    assert.ok(ones.every((b) => b.width > 0 && !b.hidden));

    // Hover: tooltip with the count and the share.
    await page.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: two.x + two.width / 2, y: two.y + two.height / 2 });
    const tip = await page.eval<{ visible: string; text: string; details: string }>(`({ visible: document.getElementById('tip').getAttribute('visibility'),
      text: document.querySelector('#tip text').textContent, details: document.getElementById('details').textContent })`);
    assert.is(tip.visible, 'visible');
    assert.is(tip.text, `path_two (700 syscalls, ${(70000 / TOTAL).toFixed(2)}%)`);
    assert.is(tip.details, tip.text);

    // Click: the root process's path_two fills the width; what is not under it is hidden, its ancestors dimmed.
    await click(page, two.x + two.width / 2, two.y + two.height / 2);
    const [zoomed] = await boxes(page, 'path_two');
    assert.ok(Math.abs(zoomed!.width - 1180) < 1, `zoomed frame spans the chart (${zoomed!.width})`);
    const [three] = await boxes(page, 'path_three');
    assert.ok(Math.abs(three!.width - 1180) < 1, 'its only child too');
    assert.ok((await boxes(page, 'path_one')).every((b) => b.hidden), 'siblings hidden');
    assert.ok((await boxes(page, 'child_main')).every((b) => b.hidden), 'the other process hidden');
    const mains = await boxes(page, 'main');
    assert.ok(mains[0]!.parent && !mains[0]!.hidden && mains[1]!.hidden, 'the ancestor shown dimmed, the other main hidden');
    assert.is(await page.eval(`document.getElementById('reset').getAttribute('visibility')`), 'visible');

    // Reset zoom.
    const reset = await page.eval<{ x: number; y: number; width: number; height: number }>(`(() => { const r = document.getElementById('reset').getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; })()`);
    await click(page, reset.x + reset.width / 2, reset.y + reset.height / 2);
    const [back] = await boxes(page, 'path_two');
    assert.ok(Math.abs(back!.width - two.width) < 0.5, 'back to full view');
    assert.ok((await boxes(page, 'path_one')).every((b) => !b.hidden));

    // Search through the button's prompt: matching frames turn magenta, the matched share counts nested matches once.
    const dialog = new Promise<void>((resolve) => {
      browser.on((msg) => {
        if (msg.method === 'Page.javascriptDialogOpening') {
          void page.send('Page.handleJavaScriptDialog', { accept: true, promptText: 'path_t' }).then(() => resolve());
        }
      });
    });
    const search = await page.eval<{ x: number; y: number; width: number; height: number }>(`(() => { const r = document.getElementById('search').getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; })()`);
    await click(page, search.x + search.width / 2, search.y + search.height / 2);
    await dialog;
    await page.eval('new Promise((r) => setTimeout(r, 50))');
    const hits = [...await boxes(page, 'path_two'), ...await boxes(page, 'path_three')];
    assert.ok(hits.every((b) => b.fill === 'rgb(230,0,230)'), 'matches highlighted');
    assert.ok((await boxes(page, 'path_one')).every((b) => b.fill !== 'rgb(230,0,230)'));
    assert.is(await page.eval(`document.getElementById('matched').textContent`), `Matched: 922 syscalls (${(92200 / TOTAL).toFixed(2)}%)`);
    assert.is(await page.eval(`document.documentElement.getAttribute('data-matched')`), '922');
    assert.equal(page.events.exceptions, []);
  } finally {
    await browser.close();
  }
}, browserUnavailableReason);

test.run();
