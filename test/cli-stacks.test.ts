// The stack options of the CLI without the kernel: usage errors (one line, nothing started, nothing
// created), eBPF required by a flame graph, and `stats --flamegraph` on saved files, good and bad.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './_lib/cli.js';
import { hasCommand, scratchDir } from './_lib/workloads.js';

const test = suite('cli: stacks');
const file = (name: string) => join(scratchDir(), `cli-stacks-${name}`);

function usage(args: string[], message: RegExp, code = 2): void {
  const r = runCli(args);
  assert.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.is(r.stderr.trim().split('\n').length, 1, 'one line');
}

test('usage errors name the option and what to do', () => {
  const marker = file('never-created');
  usage(['--stacks-every', '5', 'run', '--', 'touch', marker], /--stacks-every tunes stack capture: give --stacks FILE or --flamegraph FILE\.svg too/);
  usage(['--stacks-kernel', 'run', '--', 'touch', marker], /--stacks-kernel tunes stack capture/);
  usage(['--stacks-max', '1000', 'run', '--', 'touch', marker], /--stacks-max tunes stack capture/);
  usage(['--stacks', file('a'), '--stacks-every', '0', 'run', '--', 'touch', marker], /invalid --stacks-every '0': expected a whole number of syscalls from 1 to 1,000,000,000/);
  usage(['--stacks', file('a'), '--stacks-every', '1.5', 'run', '--', 'touch', marker], /invalid --stacks-every/);
  usage(['--stacks', file('a'), '--stacks-max', '10', 'run', '--', 'touch', marker], /invalid --stacks-max '10'/);
  usage(['--stacks', file('same'), '--flamegraph', file('same'), 'run', '--', 'touch', marker], /--stacks and --flamegraph name the same file/);
  usage(['--stacks', '', 'run', '--', 'touch', marker], /--stacks needs a file name/);
  usage(['--stacks', '-', '--json', 'run', '--', 'touch', marker], /two outputs would go to standard output/);
  usage(['--stacks', file('x'), '--out', file('x'), 'run', '--', 'touch', marker], /--stacks names the same file as --out or --stats/);
  usage(['--stacks', file('a'), '--failed-only', 'run', '--', 'touch', marker], /--failed-only .*stacks|stacks .*--failed-only/);
  usage(['--flamegraph', '/nonexistent-dir/f.svg', 'run', '--', 'touch', marker], /cannot write --flamegraph \/nonexistent-dir\/f\.svg: directory \/nonexistent-dir does not exist/, 4);
  assert.not.ok(existsSync(marker), 'nothing was started');
  assert.not.ok(existsSync(file('a')), 'nothing was created');
});

(hasCommand('setpriv') && process.getuid?.() === 0 ? test : test.skip)('without BPF privilege, --flamegraph fails before starting anything (exit 5)', () => {
  const marker = file('unprivileged-marker');
  const svg = file('unprivileged.svg');
  const r = runCli(['--flamegraph', svg, 'run', '--', 'touch', marker], { prefix: ['setpriv', '--bounding-set=-all', '--inh-caps=-all', '--'] });
  assert.is(r.code, 5, r.stderr);
  assert.match(r.stderr, /eBPF unavailable: .*\(--flamegraph given, nothing started\)/);
  assert.not.ok(existsSync(marker));
  assert.not.ok(existsSync(svg));
});

const SUMMARY = (stacks: unknown) => JSON.stringify({
  kind: 'summary', total_time_secs: 1, sample_count: 1, max_processes: 1, max_threads: 1, peak_mem_rss_kb: 1, avg_cpu_usage: 0, peak_cpu_usage: 0,
  total_cpu_time_secs: 0, total_disk_read_bytes: 0, total_disk_write_bytes: 0, total_syscall_read_bytes: 0, total_syscall_write_bytes: 0,
  ebpf: { syscalls: { total: 10 }, losses: { syscalls_uncounted: 0, processes_untracked: 0, exits_unrecorded: 0 }, ...(stacks ? { stacks } : {}) },
});
const META = JSON.stringify({ kind: 'metadata', pid: 1, cmd: ['./app', '--fast'], executable: '/app', t0_ms: 0, version: '0', capabilities: { ebpf: { available: true } } });

test('stats --flamegraph / --stacks redraw a saved run; a run without stacks, or with broken ones, is one clear error', () => {
  const good = file('good.jsonl');
  const stacks = { folded: [{ stack: 'app;main;work;read', count: 7 }, { stack: 'app;main;write', count: 3 }], unique: 2, total: 10, every: 1, lost: 0, losses: {}, frames: {} };
  writeFileSync(good, `${META}\n${SUMMARY(stacks)}\n`);
  const svg = file('good.svg'), folded = file('good.folded');
  const r = runCli(['stats', good, '--flamegraph', svg, '--stacks', folded]);
  assert.is(r.code, 0, r.stderr);
  assert.is(readFileSync(folded, 'utf8'), 'app;main;work;read 7\napp;main;write 3\n');
  const image = readFileSync(svg, 'utf8');
  assert.match(image, /Syscalls of \.\/app --fast/);
  assert.match(image, /<title>work \(7 syscalls, 70\.00%\)<\/title>/);
  const toStdout = runCli(['stats', good, '--stacks', '-']);
  assert.is(toStdout.stdout, 'app;main;work;read 7\napp;main;write 3\n');

  const none = file('none.jsonl');
  writeFileSync(none, `${META}\n${SUMMARY(undefined)}\n`);
  usage(['stats', none, '--flamegraph', file('none.svg')], /has no stacks: record them with --stacks FILE or --flamegraph FILE\.svg/, 1);
  assert.not.ok(existsSync(file('none.svg')));
  const cut = file('cut.jsonl');
  writeFileSync(cut, `${META}\n`);
  usage(['stats', cut, '--flamegraph', file('cut.svg')], /has no summary record/, 1);
  const broken = file('broken.jsonl');
  writeFileSync(broken, `${META}\n${SUMMARY({ ...stacks, folded: [{ stack: 'a;b', count: -4 }] })}\n`);
  usage(['stats', broken, '--flamegraph', file('broken.svg')], /stack 1 is not \{stack: "frame;\.\.\.", count: N\}/, 1);
  assert.not.ok(existsSync(file('broken.svg')), 'no half-written file');
  usage(['stats', good, '--flamegraph', file('f.svg'), '--format', 'json'], /--format does not apply to --flamegraph/);
  usage(['stats', good, '--flamegraph', '-', '--stacks', '-'], /would both go to standard output/);
});

(existsSync('/sys/kernel/btf/vmlinux') ? test : test.skip)('prog dump --stacks: dp_stacks as it would load, accepted by our verifier; not in the default dump', () => {
  const plain = runCli(['prog', 'dump', '--json']);
  assert.is(plain.code, 0, plain.stderr);
  assert.not.ok((JSON.parse(plain.stdout).programs as { name: string }[]).some((p) => p.name === 'dp_stacks'));
  for (const extra of [[], ['--stacks-every', '100'], ['--stacks-kernel']]) {
    const r = runCli(['prog', 'dump', '--json', '--stacks', ...extra]);
    assert.is(r.code, 0, r.stderr);
    const prog = (JSON.parse(r.stdout).programs as { name: string; verifier: { ok: boolean }; maps: { name: string }[] }[]).find((p) => p.name === 'dp_stacks');
    assert.ok(prog && prog.verifier.ok, `dp_stacks ${extra.join(' ')}`);
    const maps = prog.maps.map((m) => m.name);
    // Two generations of tables (one written, one drained), the generation switch, the per-CPU buffer.
    for (const g of ['a', 'b']) assert.ok(maps.includes(`stack_frames_${g}`) && maps.includes(`stack_counts_${g}`), `generation ${g}`);
    assert.ok(maps.includes('stack_gen') && maps.includes('stack_buf') && maps.includes('stack_stats'));
    assert.is(maps.includes('kstack_frames_a') && maps.includes('kstack_frames_b'), extra[0] === '--stacks-kernel');
    assert.is(maps.includes('stack_tick'), extra[0] === '--stacks-every');
  }
  usage(['prog', 'dump', '--stacks-kernel'], /give --stacks too/);
  usage(['prog', 'dump', '--stacks', '--stacks-every', '0'], /invalid --stacks-every '0'/);
});

test('--help teaches the stack options', () => {
  const r = runCli(['--help']);
  for (const opt of ['--stacks FILE', '--flamegraph FILE.svg', '--stacks-every N', '--stacks-kernel', '--stacks-max N', 'docs/stacks.md']) assert.ok(r.stdout.includes(opt), opt);
});

test.run();
