// `run`: what the command does after the last sample still counts — the monitor is its parent, and the
// kernel credits its final totals to us when we reap it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, scratchDir } from './_lib/workloads.js';
import type { SummaryRecord } from '../src/monitor/types.js';

const test = suite('cli run: final totals');

function runStats(args: string[], cmd: string[]): SummaryRecord {
  const stats = join(scratchDir(), `final-${process.hrtime.bigint()}.json`);
  const r = spawnSync(process.execPath, [CLI, '--quiet', '--stats', stats, ...args, 'run', '--', ...cmd], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(stats, 'utf8'));
}

test('I/O done between the last sample and the exit is in the summary', () => {
  const bytes = 64 * 1024 * 1024;
  // One sample at start, then none for 10 s: dd finishes long before the next. The command started
  // under monitoring, so all of its I/O counts.
  const s = runStats(['-i', '10000', '-m', '10000'], ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1M', 'count=64']);
  assert.ok(s.sample_count <= 2, `few samples (${s.sample_count})`);
  assert.ok(s.total_syscall_read_bytes >= bytes, `read ${s.total_syscall_read_bytes} ≥ ${bytes}`);
  assert.ok(s.total_syscall_read_bytes < bytes + 1024 * 1024, `read ${s.total_syscall_read_bytes} is dd's, not more`);
  assert.ok(s.total_syscall_write_bytes >= bytes);
});

test('CPU burnt between the last sample and the exit is in the summary', () => {
  // The command burns ~1 s of its own CPU (however long that takes on a busy machine) and reports
  // what it used: the truth the summary is held against.
  const truth = join(scratchDir(), `cpu-${process.hrtime.bigint()}.json`);
  const burn = `while (process.cpuUsage().user < 1e6); const u = process.cpuUsage(); require('fs').writeFileSync(${JSON.stringify(truth)}, String((u.user + u.system) / 1e6))`;
  const s = runStats(['-i', '3000', '-m', '3000'], [process.execPath, '-e', burn]);
  const used = Number(readFileSync(truth, 'utf8'));
  assert.ok(Math.abs(s.total_cpu_time_secs - used) <= 0.1 * used, `total CPU ${s.total_cpu_time_secs} s ≈ the command's own ${used} s`);
});

test('a reader of stderr that goes away does not end the monitoring', () => {
  const out = join(scratchDir(), `epipe-${process.hrtime.bigint()}.jsonl`);
  // head exits after the first live line; the following lines hit a closed pipe.
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" -n -i 50 --out "${out}" run -- sleep 1 2>&1 | head -1`], { encoding: 'utf8' });
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.is(lines.at(-1).kind, 'summary', 'the file ends with the summary');
  assert.ok(lines.length > 5, `sampling went on after the pipe closed (${lines.length} lines)`);
  assert.match(r.stdout, /proc/, "head saw the first live line");
});

test('when monitoring fails (the output disk is full) the command still runs to its end; exit 4 after it', () => {
  const marker = join(scratchDir(), `marker-${process.hrtime.bigint()}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, '--quiet', '--out', '/dev/full', 'run', '--', 'sh', '-c', `sleep 0.5; echo done > ${marker}`], { encoding: 'utf8' });
  assert.is(r.status, 4, r.stderr);
  assert.ok(Date.now() - t0 >= 500, 'denet-pure waited for the command');
  assert.is(readFileSync(marker, 'utf8'), 'done\n', 'the command was not cut short');
  assert.match(r.stderr, /cannot write --out \/dev\/full: .*waiting for sh to exit/);
});

test.run();
