// Reports of real runs, opened in real headless Chromium: no script errors, every panel drawn with
// data (its series' colours found in its canvas pixels), the cursor and zoom shared by all panels,
// the process timeline and the flame graph interactive, a screenshot that is not blank, and no
// request but the file itself.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ReportData } from '../src/report/index.js';
import { Browser, browserUnavailableReason, type Page } from './_lib/browser.js';
import { runCli } from './_lib/cli.js';
import { decodePng, pixelStats } from './_lib/png.js';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { synthRun } from './_lib/synth.js';
import { scratchDir } from './_lib/workloads.js';

const test = suite('report in Chromium');
let browser: Browser | undefined;

test.before(async () => {
  if (browserUnavailableReason() === null) browser = await Browser.launch();
});
test.after(async () => {
  await browser?.close();
});

const needBrowser = browserUnavailableReason;
const needBrowserAndBpf = () => browserUnavailableReason() ?? bpfUnavailableReason();

/** A workload with phases: compute, write, many short-lived children, then sleep. */
function workload(dir: string, exitCode: number): string[] {
  return ['sh', '-c', [
    'i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done',
    `dd if=/dev/zero of=${dir}/report-dd bs=1M count=40 conv=fsync status=none`,
    'for j in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do /bin/true; done',
    `ls -R /usr/share/doc >/dev/null 2>&1; rm -f ${dir}/report-dd`,
    'sleep 0.6',
    `exit ${exitCode}`,
  ].join('; ')];
}

/** Per panel: how many opaque pixels inside its plot area (axes are outside) have a series' colour. */
const PANEL_PIXELS = `(() => {
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const plots = window.__report.charts.plots;
  const out = {};
  const rgb = (hex) => { const n = parseInt(hex.slice(1), 16); return [(n >> 16) & 255, (n >> 8) & 255, n & 255]; };
  data.panels.forEach((p, k) => {
    const canvas = document.querySelector('.panel[data-panel="' + p.id + '"] canvas');
    const u = plots[k];
    if (!canvas || !u) { out[p.id] = -1; return; }
    const b = u.bbox;
    const px = canvas.getContext('2d').getImageData(b.left, b.top, b.width, b.height).data;
    const cols = p.series.map((s) => rgb(s.color));
    let hits = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] < 200) continue;
      if (cols.some((c) => Math.abs(px[i] - c[0]) + Math.abs(px[i + 1] - c[1]) + Math.abs(px[i + 2] - c[2]) < 60)) hits++;
    }
    out[p.id] = hits;
  });
  return out;
})()`;

/** Opaque, saturated pixels of a canvas (bars, frames), not grey text or grid. */
const COLOURED = (selector: string) => `(() => {
  const c = document.querySelector(${JSON.stringify(selector)});
  if (!c) return -1;
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < px.length; i += 4) {
    const max = Math.max(px[i], px[i + 1], px[i + 2]), min = Math.min(px[i], px[i + 1], px[i + 2]);
    if (px[i + 3] > 200 && max - min > 40) n++;
  }
  return n;
})()`;

async function open(html: string): Promise<{ page: Page; data: ReportData }> {
  const file = join(scratchDir(), `report-${Math.random().toString(36).slice(2)}.html`);
  writeFileSync(file, html);
  const page = await browser!.newPage(1280, 900);
  await page.goto(`file://${file}`);
  const state = await page.eval<{ ready: boolean; error: string | null }>('({ ready: window.__report.ready, error: window.__report.error })');
  assert.equal(state, { ready: true, error: null });
  const data = JSON.parse(/<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1]!) as ReportData;
  return { page, data };
}

async function checkPage(page: Page, data: ReportData, file: string): Promise<void> {
  const pixels = await page.eval<Record<string, number>>(PANEL_PIXELS);
  for (const p of data.panels) assert.ok(pixels[p.id]! > 30, `panel ${p.id} is drawn with data (${pixels[p.id]} series pixels)`);
  const legendRows = await page.eval<number>(`document.querySelectorAll('.panel .u-legend .u-series').length`);
  assert.ok(legendRows >= data.panels.length * 2, 'each panel has a legend');
  if (data.processes.rows.length > 0) assert.ok((await page.eval<number>(COLOURED('.gantt-canvas'))) > 100, 'the process timeline is drawn');
  const png = await page.screenshot(true);
  writeFileSync(file, png);
  const stats = pixelStats(decodePng(png));
  assert.ok(stats.colors > 60 && stats.nonBackground > 0.05, `screenshot is not blank (${stats.colors} colours, ${(stats.nonBackground * 100).toFixed(1)} % not background)`);
  assert.equal(page.events.exceptions, [], 'no exceptions');
  assert.equal(page.events.console.filter((c) => c.type === 'error' || c.type === 'warning'), [], 'no console errors');
  assert.is(page.events.requests.length, 1, `only the file itself was requested: ${page.events.requests.join(', ')}`);
  assert.match(page.events.requests[0]!, /^file:\/\//);
}

/** Hovers the middle of the first panel; every panel's legend then shows values, the timeline its cursor. */
async function checkCursorAndZoom(page: Page, panels: number): Promise<void> {
  const box = await page.eval<{ x: number; y: number; w: number; h: number }>(`(() => {
    const o = document.querySelector('.panel .u-over'); o.scrollIntoView({ block: 'center' });
    const r = o.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; })()`);
  const mouse = (type: string, x: number, extra: Record<string, unknown> = {}) =>
    page.send('Input.dispatchMouseEvent', { type, x, y: box.y + box.h / 2, button: 'left', ...extra });
  await mouse('mouseMoved', box.x + box.w / 2);
  const legends = await page.eval<string[][]>(`[...document.querySelectorAll('.panel')].map((p) => [...p.querySelectorAll('.u-legend .u-series .u-value')].map((v) => v.textContent))`);
  assert.is(legends.length, panels);
  for (const [i, l] of legends.entries()) {
    assert.match(l[0]!, /\d/, `panel ${i}: the time under the cursor`);
    assert.ok(l.slice(1).some((v) => /\d/.test(v ?? '')), `panel ${i}: values at that instant (${l.join(' | ')})`);
  }
  const ganttT = await page.eval<number | null>('window.__report.gantt ? window.__report.gantt.cursorT : -1');
  assert.ok(ganttT === -1 || (typeof ganttT === 'number' && ganttT > 0), `the timeline follows the cursor (${ganttT})`);
  // Drag over the middle third: every panel zooms to the same range.
  await mouse('mousePressed', box.x + box.w / 3, { clickCount: 1 });
  await mouse('mouseMoved', box.x + box.w / 2, { buttons: 1 });
  await mouse('mouseMoved', box.x + (2 * box.w) / 3, { buttons: 1 });
  await mouse('mouseReleased', box.x + (2 * box.w) / 3, { clickCount: 1 });
  const ranges = await page.eval<[number, number][]>('window.__report.charts.plots.map((p) => [p.scales.x.min, p.scales.x.max])');
  const full = await page.eval<number>('window.__report.charts.plots[0].data[0].at(-1)');
  assert.ok(ranges[0]![1] - ranges[0]![0] < full * 0.6, `zoomed in (${ranges[0]} of ${full})`);
  for (const r of ranges) assert.equal(r.map((v) => v.toFixed(6)), ranges[0]!.map((v) => v.toFixed(6)), 'all panels share the range');
}

kernelTest(test, 'a real eBPF run (compute, disk, 20 short children, sleep, exit 3): every panel drawn, cursor and zoom shared', async () => {
  const dir = scratchDir();
  const out = join(dir, 'browser-ebpf.jsonl');
  const run = runCli(['--enable-ebpf', '--write-env', '-q', '--out', out, 'run', '--', ...workload(dir, 3)], { timeout: 120_000 });
  assert.is(run.code, 3, run.stderr);
  const html = join(dir, 'browser-ebpf.html');
  const r = runCli(['report', out, '-o', html]);
  assert.is(r.code, 0, r.stderr);
  const { page, data } = await open(readFileSync(html, 'utf8'));
  const ids = data.panels.map((p) => p.id);
  for (const id of ['cpu', 'memory', 'disk', 'syscalls', 'threads']) assert.ok(ids.includes(id), `panel ${id} (${ids})`);
  assert.ok(data.header.facts.some((f) => f.label === 'eBPF' && f.tone === 'ok'));
  assert.ok(data.header.facts.some((f) => f.label === 'host'));
  assert.ok(data.syscalls && data.syscalls.total > 1000 && data.syscalls.table.some((t) => t.name === 'execve'));
  // Every process, the 20 children that lived between samples included, on the samples' clock. Each
  // has the kernel's exit record; one /proc happened to see after its exec is named by its command
  // line (/bin/true), the others by the kernel's name (true).
  assert.is(data.processes.source, 'process records');
  const program = (cmd: string) => basename(cmd.split(' ')[0]!);
  const trues = data.processes.rows.filter((r) => program(data.processes.commands[r.cmd]!) === 'true');
  assert.is(trues.length, 20, `${trues.length} /bin/true children`);
  for (const r of data.processes.rows) {
    assert.ok(!r.start_approx, `pid ${r.pid} started under monitoring`);
    assert.ok(r.end !== null && r.end >= r.start && r.end <= data.processes.end + 0.5, `pid ${r.pid}: ${r.start}..${r.end} within the run (${data.processes.end})`);
  }
  assert.is(data.processes.rows.find((r) => r.depth === 0)?.exit_code, 3);
  assert.ok(data.phases.length >= 2, `${data.phases.length} phases`);
  await checkPage(page, data, join(dir, 'browser-ebpf.png'));
  await checkCursorAndZoom(page, data.panels.length);
  // The timeline: hovering the root's bar shows its pid.
  const tip = await page.eval<{ x: number; y: number }>(`(() => { const c = document.querySelector('.gantt-canvas'); c.scrollIntoView({ block: 'center' }); const r = c.getBoundingClientRect(); return { x: r.left + 260, y: r.top + 22 + 9 }; })()`);
  await page.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: tip.x, y: tip.y });
  const tipText = await page.eval<string>(`document.querySelector('.gantt .tip').style.display === 'block' ? document.querySelector('.gantt .tip').textContent : ''`);
  assert.match(tipText, new RegExp(`pid ${data.processes.rows[0]!.pid}`));
}, needBrowserAndBpf);

kernelTest(test, 'a real run without eBPF: the header says what it lacked, the panels it has are drawn', async () => {
  const dir = scratchDir();
  const out = join(dir, 'browser-plain.jsonl');
  const run = runCli(['-q', '--out', out, 'run', '--', 'sh', '-c', `dd if=/dev/zero of=${dir}/plain-dd bs=1M count=20 status=none; rm -f ${dir}/plain-dd; sleep 0.4`], { timeout: 60_000 });
  assert.is(run.code, 0, run.stderr);
  const r = runCli(['report', out, '-o', join(dir, 'browser-plain.html')]);
  assert.is(r.code, 0, r.stderr);
  const { page, data } = await open(readFileSync(join(dir, 'browser-plain.html'), 'utf8'));
  assert.ok(data.header.lacks.some((l) => l.what === 'syscalls'));
  assert.ok(!data.panels.some((p) => p.id === 'syscalls'));
  const lacksShown = await page.eval<string>(`document.querySelector('.lacks').textContent`);
  assert.match(lacksShown, /--enable-ebpf/);
  await checkPage(page, data, join(dir, 'browser-plain.png'));
}, needBrowser);

kernelTest(test, 'run --report: the report is written at the end with the exit status, no temporary file left', async () => {
  const dir = scratchDir();
  const html = join(dir, 'run-report.html');
  // Its own temporary directory (other runs on the machine do not come and go in it); the command
  // lists it while the records are being written there. A second of sleep: several samples.
  const tmp = mkdtempSync(join(dir, 'tmp-'));
  const listing = join(dir, 'run-report-tmp.txt');
  const cmd = `for i in 1 2 3 4 5; do /bin/true; done; ls "$TMPDIR" > '${listing}'; sleep 1; exit 7`;
  const run = runCli(['--enable-ebpf', '-q', '--report', html, 'run', '--', 'sh', '-c', cmd], { timeout: 60_000, env: { TMPDIR: tmp } });
  assert.is(run.code, 7, run.stderr);
  assert.ok(existsSync(html));
  assert.match(readFileSync(listing, 'utf8'), /^denet-pure-report-/, 'the records were kept in the temporary directory meanwhile');
  assert.equal(readdirSync(tmp), [], 'the temporary records are removed');
  const { page, data } = await open(readFileSync(html, 'utf8'));
  assert.is(data.header.exit, 'exit 7');
  assert.is(data.header.exitTone, 'bad');
  assert.ok(!data.header.lacks.some((l) => l.what === 'exit status'));
  await checkPage(page, data, join(dir, 'run-report.png'));
  // Same file for --report and --out: refused before anything starts.
  const clash = runCli(['--report', html, '--out', html, 'run', '--', 'true']);
  assert.is(clash.code, 2);
  assert.match(clash.stderr, /same file/);
}, needBrowserAndBpf);

kernelTest(test, 'a run of two samples (one value per rate, no segment to draw): every panel still shows it', async () => {
  const { page, data } = await open((await import('../src/report/index.js')).buildReport(synthRun({ samples: 2 })));
  assert.ok(data.panels.length >= 5, `${data.panels.length} panels`);
  for (const p of data.panels) assert.ok(p.x.length <= 2, `panel ${p.id}: ${p.x.length} points`);
  await checkPage(page, data, join(scratchDir(), 'browser-two-samples.png'));
}, needBrowser);

kernelTest(test, 'every field of newer versions (process records, errors, time, PSI, off-CPU, stacks): all ten panels, the table, the flame graph zooms on click', async () => {
  const { page, data } = await open((await import('../src/report/index.js')).buildReport(synthRun({ samples: 3000 })));
  assert.is(data.panels.length, 10);
  await checkPage(page, data, join(scratchDir(), 'browser-synth.png'));
  const cols = await page.eval<string[]>(`[...document.querySelectorAll('table.syscalls th')].map((t) => t.textContent)`);
  for (const c of ['calls', 'errors', 'errnos', '% time', 'avg', 'max']) assert.ok(cols.includes(c), `column ${c} (${cols})`);
  assert.ok((await page.eval<number>(`document.querySelectorAll('table.syscalls .hist span').length`)) > 0, 'latency histograms');
  assert.ok((await page.eval<number>(COLOURED('.flame-canvas'))) > 1000, 'the flame graph is drawn');
  const frame = await page.eval<{ x: number; y: number; name: string }>(`(() => {
    const f = window.__report.flame; const c = document.querySelector('.flame-canvas'); c.scrollIntoView({ block: 'center' });
    const r = c.getBoundingClientRect(); const b = f.boxes.find((b) => b.node.depth === 2 && b.w > 40);
    return { x: r.left + b.x + b.w / 2, y: r.top + b.y + 8, name: b.node.name }; })()`);
  await page.send('Input.dispatchMouseEvent', { type: 'mousePressed', x: frame.x, y: frame.y, button: 'left', clickCount: 1 });
  await page.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x: frame.x, y: frame.y, button: 'left', clickCount: 1 });
  assert.is(await page.eval<string>('window.__report.flame.focusName'), frame.name, 'a click zooms into the frame');
  // Sorting the table by errors puts the most failing syscall first.
  await page.eval(`[...document.querySelectorAll('table.syscalls th')].find((t) => t.textContent === 'errors').click()`);
  const first = await page.eval<string>(`document.querySelector('table.syscalls tbody tr').dataset.name`);
  const byErrors = [...data.syscalls!.table].sort((a, b) => (b.errors ?? 0) - (a.errors ?? 0))[0]!.name;
  assert.is(first, byErrors);
}, needBrowser);

test.run();
