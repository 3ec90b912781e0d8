// Bundles the report's browser code (src/report/view/, uPlot included) into one script,
// dist/report-view.js, which `report` inlines into every HTML file: nothing is fetched at view time.
// uPlot's licence travels with it as a comment (MIT asks for the notice in every copy).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkgPath = require.resolve('uplot/package.json');
const { version } = JSON.parse(readFileSync(pkgPath, 'utf8'));
const licence = readFileSync(pkgPath.replace(/package\.json$/, 'LICENSE'), 'utf8').trim();

await build({
  entryPoints: ['src/report/view/main.ts'],
  bundle: true,
  format: 'iife',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  loader: { '.css': 'text' },
  banner: { js: `/* uPlot ${version}, bundled unmodified.\n${licence}\n*/` },
  outfile: 'dist/report-view.js',
  logLevel: 'warning',
});
