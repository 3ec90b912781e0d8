// Screenshot of a report in headless Chromium, for docs/: the top of the page (header, panels,
// timeline) at 1280 px wide. Needs a build (npm run build) and chromium.
//   node scripts/report-screenshot.mjs report.html docs/report.png [height=1800]
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Browser } from '../dist/test/_lib/browser.js';

const [html, png, height = '1800'] = process.argv.slice(2);
if (!html || !png) throw new Error('usage: node scripts/report-screenshot.mjs REPORT.html OUT.png [HEIGHT]');
const browser = await Browser.launch();
try {
  const page = await browser.newPage(1280, Number(height));
  await page.goto(`file://${resolve(html)}`);
  if (!(await page.eval('window.__report.ready'))) throw new Error('the report did not render');
  writeFileSync(png, await page.screenshot(false));
} finally {
  await browser.close();
}
