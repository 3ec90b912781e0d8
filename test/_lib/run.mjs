// Runs the uvu suites in dist/test and ends with the one line CI reads: "N passed, N failed, N skipped".
// uvu's own summary ("Total/Passed/Skipped") is parsed, not trusted to be read by CI.
import { spawn } from 'node:child_process';

const args = ['node_modules/uvu/bin.js', 'dist/test', '\\.test\\.js$', ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { stdio: ['inherit', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (chunk) => {
  out += chunk;
  process.stdout.write(chunk);
});
child.on('close', (code) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => Number((plain.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? NaN);
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    console.log('0 passed, 1 failed (the test runner crashed before its summary)');
    process.exit(code || 1);
  }
  const failed = total - passed;
  console.log(`${passed} passed, ${failed} failed, ${skipped || 0} skipped`);
  process.exit(failed > 0 || code ? 1 : 0);
});
