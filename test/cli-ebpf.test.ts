// The eBPF path of the CLI, both ways round, whatever machine the tests run on:
// - unavailable (forced by dropping CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN when we are root): --enable-ebpf
//   degrades with one warning line; --require-ebpf fails with exit 5 before starting anything;
// - available (needs the privilege): samples carry ebpf.syscalls, the summary the whole run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, CLI_ENV, readRecords, runCli } from './_lib/cli.js';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { hasCommand } from './_lib/workloads.js';

const dir = mkdtempSync(join(tmpdir(), 'denet-ebpf-'));
const ENV = CLI_ENV;

const hasSetpriv = hasCommand('setpriv');

/** Runs the CLI without BPF privilege: as we are when unprivileged, or root minus the capabilities. */
function cliUnprivileged(args: string[]) {
  const prefix = bpfUnavailableReason() === null ? ['setpriv', '--bounding-set=-bpf,-perfmon,-sys_admin', '--'] : [];
  return runCli(args, { prefix, timeout: 60_000 });
}

function cli(args: string[]) {
  return runCli(args, { timeout: 60_000 });
}

const records = readRecords;

const WORK = ['sh', '-c', 'for i in 1 2 3 4 5; do cat /proc/self/stat >/dev/null; done; sleep 0.3'];

const Off = suite('cli eBPF: unavailable');
const canDrop = () => (bpfUnavailableReason() !== null || hasSetpriv ? null : 'root without setpriv: cannot drop BPF privilege');

kernelTest(Off, '--enable-ebpf degrades: one warning line, metadata says why, no ebpf blocks', () => {
  const out = join(dir, 'degraded.jsonl');
  const r = cliUnprivileged(['--enable-ebpf', '--out', out, '-q', '-i', '50', 'run', '--', ...WORK]);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^denet-pure: eBPF unavailable: .+; .+; continuing without syscall counts$/);
  const recs = records(out);
  assert.is(recs[0]!.kind, 'metadata');
  assert.is(recs[0]!.capabilities.ebpf.available, false);
  assert.type(recs[0]!.capabilities.ebpf.reason, 'string');
  assert.ok(recs.some((x) => x.kind === 'tree'), 'monitoring went on');
  for (const x of recs) if (x.kind === 'tree') assert.is(x.aggregated.ebpf, undefined);
  assert.is(recs.at(-1)!.kind, 'summary');
  assert.is(recs.at(-1)!.ebpf, undefined);
}, canDrop);

kernelTest(Off, '--require-ebpf: exit 5 and one line before the command starts; no output file', () => {
  const marker = join(dir, 'started');
  const out = join(dir, 'required.jsonl');
  const r = cliUnprivileged(['--require-ebpf', '--out', out, 'run', '--', 'sh', '-c', `touch '${marker}'`]);
  assert.is(r.code, 5);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /eBPF unavailable: .*--require-ebpf/);
  assert.not.ok(existsSync(marker), 'the command was not started');
  assert.not.ok(existsSync(out), 'no output file');
}, canDrop);

Off.run();

const On = suite('cli eBPF: available');

kernelTest(On, 'samples carry ebpf.syscalls with a window; the summary has the whole run and by_syscall', () => {
  const out = join(dir, 'counted.jsonl');
  const r = cli(['--require-ebpf', '--out', out, '-q', '-i', '50', 'run', '--', ...WORK]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  const recs = records(out);
  assert.is(recs[0]!.capabilities.ebpf.available, true);
  assert.type(recs[0]!.capabilities.ebpf.mode, 'string');
  const trees = recs.filter((x) => x.kind === 'tree');
  assert.ok(trees.length > 0);
  let prevTotal = 0;
  for (const t of trees) {
    const s = t.aggregated.ebpf.syscalls;
    assert.ok(s.total >= prevTotal, 'cumulative totals never decrease');
    assert.is(s.window.total, s.total - prevTotal, 'the window is the difference of successive totals');
    prevTotal = s.total;
  }
  const summary = recs.at(-1)!;
  assert.ok(summary.ebpf.syscalls.total >= prevTotal);
  const bySyscall = summary.ebpf.syscalls.by_syscall as Record<string, number>;
  assert.is(Object.values(bySyscall).reduce((a, b) => a + b, 0), summary.ebpf.syscalls.total);
  assert.ok(bySyscall.execve! >= 1, 'the exec of the command is counted');

  const stats = cli(['stats', out, '--json']);
  assert.is(stats.code, 0, stats.stderr);
  assert.equal(JSON.parse(stats.stdout), summary);
});

kernelTest(On, '--ebpf-attach tracefs is honoured and recorded', () => {
  const out = join(dir, 'tracefs.jsonl');
  const r = cli(['--ebpf-attach', 'tracefs', '--out', out, '-q', 'run', '--', ...WORK]);
  assert.is(r.code, 0, r.stderr);
  const recs = records(out);
  assert.equal(recs[0]!.capabilities.ebpf, { available: true, mode: 'tracefs', detail: true });
  assert.ok(recs.at(-1)!.ebpf.syscalls.total > 0);
});

kernelTest(On, 'attach counts the syscalls of a running tree from the moment it attaches', async () => {
  const out = join(dir, 'attach.jsonl');
  // The tree starts its work once the monitor has written its first record (it has attached by then).
  const target = spawn('sh', ['-c', 'until [ -s "$0" ]; do sleep 0.05; done; for i in 1 2 3 4 5 6 7 8; do ls / >/dev/null; sleep 0.05; done', out], { stdio: 'ignore' });
  const mon = spawn(process.execPath, [CLI, '--require-ebpf', '--out', out, '-q', '-i', '50', 'attach', String(target.pid)], { env: ENV, stdio: 'ignore' });
  const code = await new Promise<number | null>((r) => mon.on('exit', (c) => r(c)));
  assert.is(code, 0);
  const recs = records(out);
  assert.is(recs[0]!.pid, target.pid);
  const s = recs.at(-1)!.ebpf.syscalls;
  // Eight `ls` children were forked after attaching: their execs are in the tree's counts.
  assert.ok(s.by_syscall.execve >= 8, JSON.stringify(s.by_syscall));
});

On.run();
