// The HTML file: the report's data as JSON and the view script (uPlot included, bundled at build time
// into dist/report-view.js), both inline. A Content-Security-Policy forbids every network fetch, so
// the file works offline and cannot leak anything when opened.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../monitor/index.js';
import { ReportAssetError } from './errors.js';
import type { ReportData } from './types.js';

let cachedView: string | undefined;

/** dist/report-view.js of this package, found from this module in dist/src/report/ or the dist/cli.mjs bundle. */
export function viewScript(): string {
  if (cachedView !== undefined) return cachedView;
  const root = packageRoot();
  const view = root && join(root.dir, 'dist', 'report-view.js');
  if (view && existsSync(view)) return (cachedView = readFileSync(view, 'utf8'));
  throw new ReportAssetError('the report viewer (dist/report-view.js) is missing from this installation; rebuild or reinstall denet-pure (npm run build)');
}

/** JSON that cannot end the <script> element it sits in, nor break a JS line. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function renderHtml(data: ReportData): string {
  const view = viewScript().replace(/<\/(script)/gi, '<\\/$1');
  const title = `denet-pure report: ${data.header.command}`.slice(0, 200);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="${escapeHtml(data.generator)}">
<title>${escapeHtml(title)}</title>
</head>
<body>
<noscript>This report draws its charts with JavaScript; please allow scripts for this file.</noscript>
<div id="app"></div>
<script id="report-data" type="application/json">${scriptSafeJson(data)}</script>
<script>${view}</script>
</body>
</html>
`;
}
