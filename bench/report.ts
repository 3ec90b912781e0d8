// The report of a 1-hour run: a synthetic JSON Lines file of 36 000 samples (every field of newer
// versions: windows with errors and time, PSI, off-CPU, process records, stacks) reported by the CLI
// as users run it (process start included). Target: under 3 s, and the HTML under 5 MiB.
// For scale, the same run also times reading the file and JSON.parse of every line (the floor any
// reader pays), so the ratio says what the report adds on this machine at this moment.
//   node dist/bench/report.js [samples=36000] [repeats=3]
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthRun } from '../test/_lib/synth.js';
import { CLI, scratchDir } from '../test/_lib/workloads.js';

const SAMPLES = Number(process.argv[2] ?? 36_000);
const REPEATS = Number(process.argv[3] ?? 3);
const dir = scratchDir();
const input = join(dir, 'bench-report.jsonl');
const output = join(dir, 'bench-report.html');
writeFileSync(input, synthRun({ samples: SAMPLES }));
const mib = (b: number) => (b / 1048576).toFixed(1);
console.log(`input: ${SAMPLES} samples, ${mib(statSync(input).size)} MiB`);

/** CPU seconds of this process's reaped children so far (cutime + cstime of /proc/self/stat). */
function childCpuSecs(): number {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const parse: number[] = [];
const report: number[] = [];
const cpu: number[] = [];
for (let i = 0; i < REPEATS; i++) {
  let t = performance.now();
  for (const line of readFileSync(input, 'utf8').split('\n')) if (line) JSON.parse(line);
  parse.push(performance.now() - t);
  t = performance.now();
  const c0 = childCpuSecs();
  const r = spawnSync(process.execPath, [CLI, 'report', input, '-o', output], { encoding: 'utf8' });
  report.push(performance.now() - t);
  cpu.push((childCpuSecs() - c0) * 1000);
  if (r.status !== 0) throw new Error(`report failed: ${r.stderr}`);
}
const size = statSync(output).size;
const rep = median(report);
console.log(`read + JSON.parse:  ${median(parse).toFixed(0)} ms (median of ${REPEATS})`);
console.log(`denet-pure report:  ${rep.toFixed(0)} ms (median of ${REPEATS}; runs ${report.map((x) => x.toFixed(0)).join(', ')} ms), ${(rep / median(parse)).toFixed(1)}x the parse`);
console.log(`  its CPU time:      ${median(cpu).toFixed(0)} ms (user + system; on a busy machine the wall time is longer)`);
console.log(`HTML:               ${mib(size)} MiB`);
console.log(`targets:            < 3000 ms wall ${rep < 3000 ? 'met' : 'MISSED'} (CPU ${median(cpu) < 3000 ? 'met' : 'MISSED'}), < 5 MiB ${size < 5 * 1048576 ? 'met' : 'MISSED'}`);
console.log(`load average now:   ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} on ${(await import('node:os')).availableParallelism()} CPUs`);
