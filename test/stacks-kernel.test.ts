// Syscall stacks against the real kernel: known numbers of getppid along known call paths, in the root
// process and in a child that lives about a millisecond, named after both are gone; sampling; losses
// under tiny tables, exact; kernel stacks; JIT frames of node; tracefs mode; the CLI's outputs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { SyscallTracer } from '../src/tracer/index.js';
import { BuildIdLocator, Symbolizer } from '../src/symbols/index.js';
import { foldStacks } from '../src/session/stacks.js';
import { parseFolded, type FoldedStack } from '../src/flame/index.js';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { readRecords, runCli } from './_lib/cli.js';
import { ROOT, compileFixture, exited, hasCommand, scratchDir } from './_lib/workloads.js';

const test = suite('stacks (kernel)');
const needGcc = () => bpfUnavailableReason() ?? (hasCommand('gcc') ? null : 'gcc is not installed');
const fixture = () => compileFixture('stacks', ['-O0', '-fno-omit-frame-pointer']);

const ROOT_PATHS = { ';main;path_one;raw_getppid;getppid': 300, ';main;path_two;path_three;raw_getppid;getppid': 700 };
const CHILD_PATHS = { ';main;child_main;path_one;raw_getppid;getppid': 111, ';main;child_main;path_two;path_three;raw_getppid;getppid': 222 };

/**
 * The getppid stacks of process name `comm` add up to exactly `paths` (stack suffix → count): every
 * such stack ends with one of the paths (what lies above main is libc's start code, named or not).
 */
function assertPaths(folded: FoldedStack[], comm: string, paths: Record<string, number>): void {
  const got = new Map<string, number>();
  for (const { stack, count } of folded) {
    if (!stack.startsWith(`${comm};`) || !stack.endsWith(';getppid')) continue;
    const suffix = Object.keys(paths).find((p) => stack.endsWith(p));
    assert.ok(suffix, `${comm}: unexpected getppid stack ${stack}`);
    assert.ok(stack.split(';').length <= suffix.split(';').length + 3, `${comm}: at most libc's start frames above main: ${stack}`);
    got.set(suffix, (got.get(suffix) ?? 0) + count);
  }
  assert.equal(Object.fromEntries(got), paths, `${comm}'s paths and counts`);
}

/** bpftool's list of loaded programs named dp_stacks, once the kernel has freed closed ones (it does so a moment later). */
async function stackProgramsLoaded(): Promise<number> {
  let n = 0;
  for (let i = 0; i < 100; i++) {
    const out = spawnSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
    if (out.status !== 0) return 0;
    n = (JSON.parse(out.stdout || '[]') as { name?: string }[]).filter((p) => p.name === 'dp_stacks').length;
    if (n === 0) return 0;
    await new Promise((r) => setTimeout(r, 100));
  }
  return n;
}

kernelTest(test, 'exact counts on the known paths, root and short-lived child, named after both exited (no maps ever read)', async () => {
  const bin = fixture();
  const tracer = SyscallTracer.open({ stacks: {} });
  try {
    const child = tracer.spawnTracked(() => spawn(bin, [], { stdio: 'ignore' }));
    assert.is(await exited(child), 0);
    const snap = tracer.readStacks()!;
    const counted = tracer.read().total;
    // Every process is gone; the symboliser never saw one of them. Only the executable's path is known.
    const sym = new Symbolizer({ locator: new BuildIdLocator() });
    sym.locator.addPath(bin);
    const stacks = foldStacks(snap, sym, 1);
    assertPaths(stacks.folded, 'stacks', ROOT_PATHS);
    assertPaths(stacks.folded, 'stacks-child', CHILD_PATHS);
    // Every syscall dp_sys_enter counted has its stack, but the execve that started the command (made by
    // our own spawning code, PENDING until then).
    assert.is(stacks.total, counted - 1);
    assert.is(stacks.lost, 0);
    assert.is(stacks.folded.reduce((s, f) => s + f.count, 0), stacks.total);
    assert.not.ok(stacks.folded.some((f) => f.stack.endsWith(';execve')), 'the spawning execve has no stack here');
    assert.ok(stacks.frames.symtab >= 6, 'the fixture\'s functions named from .symtab');
  } finally {
    tracer.close();
  }
  assert.is(await stackProgramsLoaded(), 0, 'nothing left loaded');
}, needGcc);

kernelTest(test, 'a binary rebuilt after the run is not used to name the old one\'s frames: unknown, never a wrong name', async () => {
  const bin = compileFixture('stacks', ['-O0', '-fno-omit-frame-pointer'], 'stacks-rebuilt');
  const tracer = SyscallTracer.open({ stacks: {} });
  let snap;
  try {
    const child = tracer.spawnTracked(() => spawn(bin, [], { stdio: 'ignore' }));
    assert.is(await exited(child), 0);
    snap = tracer.readStacks()!;
  } finally {
    tracer.close();
  }
  // Same path, other code (and so another build id): what the old frames pointed at is gone.
  execFileSync('gcc', ['-O2', '-fno-omit-frame-pointer', '-DREBUILT=1', '-o', bin, join(ROOT, 'test/fixtures/stacks.c')]);
  const sym = new Symbolizer({ locator: new BuildIdLocator({ scan: false, debugDirs: [] }) });
  sym.locator.addPath(bin);
  const stacks = foldStacks(snap, sym, 1);
  const getppid = stacks.folded.filter((f) => f.stack.endsWith(';getppid'));
  assert.is(getppid.reduce((s, f) => s + f.count, 0), 300 + 700 + 111 + 222, 'still counted');
  for (const { stack } of getppid) assert.not.match(stack, /path_|child_main|raw_getppid|;main;/, stack);
  assert.ok(getppid.every((f) => f.stack.includes('[unknown]')));
}, needGcc);

kernelTest(test, 'CLI: --stacks and --flamegraph files, the summary\'s ebpf.stacks, and stats --flamegraph draws the same graph again', () => {
  const bin = fixture();
  const dir = scratchDir();
  const [folded, svg, out, svg2, folded2] = ['cli.folded', 'cli.svg', 'cli.jsonl', 'again.svg', 'again.folded'].map((f) => join(dir, f));
  const r = runCli(['-q', '--stacks', folded!, '--flamegraph', svg!, '--out', out!, 'run', '--', bin], { timeout: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const lines = parseFolded(readFileSync(folded!, 'utf8'));
  assertPaths(lines, 'stacks', ROOT_PATHS);
  assertPaths(lines, 'stacks-child', CHILD_PATHS);
  const summary = readRecords(out!).at(-1)!;
  assert.is(summary.kind, 'summary');
  const st = summary.ebpf.stacks;
  assert.equal(st.folded, lines, 'the summary holds the same stacks as the file');
  assert.is(st.unique, lines.length);
  assert.is(st.every, 1);
  assert.is(st.total, summary.ebpf.syscalls.total - 1);
  assert.is(st.lost, 0);
  const image = readFileSync(svg!, 'utf8');
  assert.match(image, /<title>path_two \((922|700) syscalls/);
  assert.match(image, /Syscalls of /);
  const again = runCli(['stats', out!, '--flamegraph', svg2!, '--stacks', folded2!]);
  assert.is(again.code, 0, again.stderr);
  assert.is(readFileSync(svg2!, 'utf8'), image, 'redrawn from the saved run: the same SVG');
  assert.is(readFileSync(folded2!, 'utf8'), readFileSync(folded!, 'utf8'));
}, needGcc);

kernelTest(test, '--stacks-every 100: one syscall in 100 per CPU is sampled', () => {
  const bin = fixture();
  const out = join(scratchDir(), 'every.jsonl');
  const r = runCli(['-q', '--stacks', join(scratchDir(), 'every.folded'), '--stacks-every', '100', '--out', out, 'run', '--', bin, '3000', '7000', '1110', '2220'], { timeout: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const summary = readRecords(out).at(-1)!;
  const st = summary.ebpf.stacks;
  assert.is(st.every, 100);
  // Each CPU takes every 100th of the syscalls it sees: floor(n_cpu / 100) each, so within the CPU count of n/100.
  const n = summary.ebpf.syscalls.total - 1;
  assert.ok(st.total <= Math.ceil(n / 100) && st.total >= Math.floor(n / 100) - cpus().length, `${st.total} samples of ${n}`);
  assert.ok(st.total >= 100, 'most of them getppid');
  assert.is(st.lost, 0);
}, needGcc);

kernelTest(test, 'tiny tables, one drain period: the stacks that do not fit are lost, every loss counted, exactly', async () => {
  const bin = fixture();
  const tracer = SyscallTracer.open({ stacks: { maxStacks: 256, maxEntries: 4096 } });
  let snap, counted;
  try {
    // 2^11 distinct walks of 3 getppid each, no drain while it runs: all into one table of 256 stacks.
    const child = tracer.spawnTracked(() => spawn(bin, ['tree', '11', '3'], { stdio: 'ignore' }));
    assert.is(await exited(child), 0);
    snap = tracer.readStacks()!;
    counted = tracer.read().total;
    assert.is(tracer.stackTableUse()!.peakStacks, 256, 'the stack table was filled, to the last entry');
  } finally {
    tracer.close();
  }
  const sym = new Symbolizer({ locator: new BuildIdLocator() });
  sym.locator.addPath(bin);
  const st = foldStacks(snap, sym, 1);
  const l = st.losses;
  assert.ok(l.stack_table_full > 0, 'some stacks did not fit');
  assert.equal([l.stack_collisions, l.no_user_stack, l.other, l.counts_table_full], [0, 0, 0, 0], 'a stack is refused only by a full table');
  assert.is(st.lost, l.stack_table_full);
  // Nothing is missing: stored stacks and lost ones add up to every sampled syscall.
  assert.is(st.total, counted - 1);
  assert.is(st.folded.reduce((s, f) => s + f.count, 0), st.total);
  const lostLines = st.folded.filter((f) => f.stack.includes('[stack lost'));
  assert.is(lostLines.reduce((s, f) => s + f.count, 0), l.stack_table_full);
  // Exactly the table's 256 stacks were kept (the walks and the start-up's), each with all its calls:
  // once stored, a stack's later calls find their entry.
  assert.is(new Set(snap.entries.filter((e) => e.user).map((e) => e.user)).size, 256);
  const walks = st.folded.filter((f) => f.stack.endsWith(';getppid') && /;f[ab];/.test(f.stack));
  assert.ok(walks.length > 100 && walks.length < 256, `${walks.length} walks stored`);
  for (const w of walks) assert.is(w.count, 3, w.stack);
  assert.is(new Set(walks.map((w) => w.stack)).size, walks.length);
  const getppid = st.folded.filter((f) => f.stack.endsWith(';getppid')).reduce((s, f) => s + f.count, 0);
  assert.is(getppid, 2048 * 3, 'kept and lost getppid calls are all 2^11 * 3 of them');
}, needGcc);

kernelTest(test, 'CLI, tiny tables: the loss is reported, and counted exactly', () => {
  const bin = fixture();
  const out = join(scratchDir(), 'tiny.jsonl');
  const r = runCli(['-q', '--stacks', join(scratchDir(), 'tiny.folded'), '--stacks-max', '256', '--out', out, 'run', '--', bin, 'tree', '11', '3'], { timeout: 60_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /sampled syscalls have no stack \([\d,]+ found the stack table full\)/);
  const summary = readRecords(out).at(-1)!;
  const st = summary.ebpf.stacks;
  const l = st.losses;
  assert.is(st.lost, l.stack_collisions + l.stack_table_full + l.no_user_stack + l.other + l.counts_table_full);
  assert.is(st.total, summary.ebpf.syscalls.total - 1);
  assert.is(st.folded.reduce((s: number, f: FoldedStack) => s + f.count, 0) + l.counts_table_full, st.total);
  const walks = st.folded.filter((f: FoldedStack) => f.stack.endsWith(';getppid') && /;f[ab];/.test(f.stack));
  for (const w of walks) assert.ok(w.count >= 1 && w.count <= 3, w.stack);
  const getppid = st.folded.filter((f: FoldedStack) => f.stack.endsWith(';getppid')).reduce((s: number, f: FoldedStack) => s + f.count, 0);
  assert.is(getppid, 2048 * 3);
}, needGcc);

const needJit = () => needGcc() ?? (['x64', 'arm64'].includes(process.arch) ? null : 'the fixture\'s anonymous-memory code is written for x86-64 and arm64');

kernelTest(test, '400 short-lived processes, each with a stack of its own, through tables of 256 stacks: drained as they go, every call kept, exactly', () => {
  const bin = fixture();
  const out = join(scratchDir(), 'many.jsonl');
  // Each run makes 7 getppid from code in anonymous memory (a bare-address frame, at another address in
  // each process, so a stack of its own), then pauses 10 ms; 400 of them in a row from one shell.
  const loop = `i=0; while [ $i -lt 400 ]; do ${bin} jit 7 10 || exit 1; i=$((i+1)); done`;
  const r = runCli(['-q', '-i', '100', '--stacks', join(scratchDir(), 'many.folded'), '--stacks-max', '256', '--out', out, 'run', '--', '/bin/sh', '-c', loop], { timeout: 180_000 });
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, /no stack/);
  const summary = readRecords(out).at(-1)!;
  const st = summary.ebpf.stacks;
  assert.equal(st.losses, { stack_collisions: 0, stack_table_full: 0, no_user_stack: 0, other: 0, kernel_stacks_lost: 0, counts_table_full: 0 });
  assert.is(st.lost, 0);
  assert.is(st.total, summary.ebpf.syscalls.total - 1);
  assert.is((st.folded as FoldedStack[]).reduce((s, f) => s + f.count, 0), st.total);
  // The 400 processes' calls, summed on their one path.
  assertPaths(st.folded, 'stacks', { ';main;jit_path;[unknown];getppid': 400 * 7 });
  // Every process's code address was a frame of its own: more stacks than a table holds went through.
  assert.ok(st.frames.unknown >= 400, `${st.frames.unknown} distinct unnamed frames`);
}, needJit);

kernelTest(test, 'drained over and over while the tree makes syscalls at full speed: no call lost, none counted twice', async () => {
  const bin = fixture();
  const tracer = SyscallTracer.open({ stacks: { maxStacks: 256, maxEntries: 1024 } });
  let snap, drains = 0, marks = 0;
  try {
    const child = tracer.spawnTracked(() => spawn(bin, ['60000', '90000', '7000', '11000'], { stdio: 'ignore' }));
    let done = false;
    void exited(child).then(() => { done = true; });
    // Steps back to back (most find the other generation still in its grace period and wait for the
    // next), and marks now and then, as samples do.
    while (!done) {
      const { period } = tracer.drainStacks();
      if (++drains % 7 === 0) { tracer.markStacks(period); marks++; }
      await new Promise((res) => setTimeout(res, drains % 3));
    }
    assert.is(child.exitCode, 0);
    snap = tracer.readStacks()!;
    assert.ok(tracer.stackTableUse()!.drains >= 10, `${tracer.stackTableUse()!.drains} drains while it ran`);
  } finally {
    tracer.close();
  }
  const sym = new Symbolizer({ locator: new BuildIdLocator() });
  sym.locator.addPath(bin);
  const stacks = foldStacks(snap, sym, 1);
  assertPaths(stacks.folded, 'stacks', { ';main;path_one;raw_getppid;getppid': 60000, ';main;path_two;path_three;raw_getppid;getppid': 90000 });
  assertPaths(stacks.folded, 'stacks-child', { ';main;child_main;path_one;raw_getppid;getppid': 7000, ';main;child_main;path_two;path_three;raw_getppid;getppid': 11000 });
  assert.is(stacks.lost, 0);
  assert.ok(marks > 0);
}, needGcc);

kernelTest(test, 'a tree that exits while a sample reads the kernel: the summary has its final counts, and the stacks of exactly those', () => {
  const bin = fixture();
  // Sampled every 10 ms, a run of some 6000 syscalls in a few ms often ends during a sample's reads. The
  // exits are read before the counts and the stack tables switched just before them: an exit seen
  // means every count (and stack) is in.
  for (let i = 0; i < 12; i++) {
    const out = join(scratchDir(), 'exit-race.jsonl');
    const r = runCli(['-q', '-i', '10', '--stacks', join(scratchDir(), 'exit-race.folded'), '--out', out, 'run', '--', bin, 'tree', '11', '3'], { timeout: 60_000 });
    assert.is(r.code, 0, r.stderr);
    const ebpf = readRecords(out).at(-1)!.ebpf;
    assert.is(ebpf.syscalls.by_syscall.getppid, 2048 * 3, `run ${i}: the run's getppid calls, all of them`);
    assert.is(ebpf.stacks.total, ebpf.syscalls.total - 1, `run ${i}: the stacks of those syscalls`);
  }
}, needGcc);

kernelTest(test, '--trace narrows stacks to the chosen syscalls; --count-only composes with --stacks', () => {
  const bin = fixture();
  for (const extra of [['--trace', 'getppid'], ['--trace', 'getppid', '--count-only'], ['--trace', 'getppid', '--stacks-every', '10']]) {
    const out = join(scratchDir(), 'traced.jsonl');
    const r = runCli(['-q', '--stacks', join(scratchDir(), 'traced.folded'), '--out', out, ...extra, 'run', '--', bin], { timeout: 60_000 });
    assert.is(r.code, 0, r.stderr);
    const st = readRecords(out).at(-1)!.ebpf.stacks;
    const every = extra.includes('--stacks-every') ? 10 : 1;
    assert.ok(st.folded.length > 0, extra.join(' '));
    for (const f of st.folded as FoldedStack[]) assert.ok(f.stack.endsWith(';getppid'), `${extra.join(' ')}: only getppid stacks, got ${f.stack}`);
    // root 1000 + child 333 getppid calls, sampled per CPU: with N=10 at most one short per CPU per process.
    const total = (st.folded as FoldedStack[]).reduce((s, f) => s + f.count, 0);
    if (every === 1) assert.is(total, 1333, extra.join(' '));
    else assert.ok(total >= Math.floor(1333 / 10) - 2 * cpus().length && total <= Math.ceil(1333 / 10) + 2 * cpus().length, `${total} samples of every 10th getppid`);
    assert.is(st.lost, 0);
  }
}, needGcc);

kernelTest(test, '--stacks-kernel: the kernel frames under the syscall, the tracing machinery cut off', () => {
  const bin = fixture();
  const folded = join(scratchDir(), 'kernel.folded');
  const r = runCli(['-q', '--stacks', folded, '--stacks-kernel', 'run', '--', bin], { timeout: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const lines = parseFolded(readFileSync(folded, 'utf8'));
  const path = lines.filter((l) => l.stack.includes(';path_one;raw_getppid;'));
  assert.is(path.reduce((s, l) => s + l.count, 0), 300 + 111);
  for (const { stack } of path) {
    const frames = stack.split(';');
    const k = frames.slice(frames.indexOf('raw_getppid') + 1, -1);
    assert.ok(k.length >= 1 && k.every((f) => f.endsWith('_[k]')), `kernel frames between the user leaf and the syscall: ${stack}`);
    assert.not.ok(k.some((f) => /bpf_prog_|bpf_trace_run|__bpf_trace_|__traceiter_/.test(f)), stack);
    if (process.arch === 'x64') assert.ok(k.includes('do_syscall_64_[k]'), stack);
  }
}, needGcc);

kernelTest(test, 'tracefs mode: the same exact paths', () => {
  const bin = fixture();
  const folded = join(scratchDir(), 'tracefs.folded');
  const r = runCli(['-q', '--ebpf-attach', 'tracefs', '--stacks', folded, 'run', '--', bin], { timeout: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const lines = parseFolded(readFileSync(folded, 'utf8'));
  assertPaths(lines, 'stacks', ROOT_PATHS);
  assertPaths(lines, 'stacks-child', CHILD_PATHS);
}, needGcc);

kernelTest(test, 'JIT frames: node --perf-basic-prof, a JS function named from /tmp/perf-PID.map', () => {
  const script = join(scratchDir(), 'jit.js');
  writeFileSync(script, "const fs = require('fs');\nfunction hotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s += fs.fstatSync(0).size; return s; }\nhotLoop(20000);\n");
  const folded = join(scratchDir(), 'jit.folded');
  const out = join(scratchDir(), 'jit.jsonl');
  const r = runCli(['-q', '--stacks', folded, '--out', out, 'run', '--', process.execPath, '--perf-basic-prof', script], { timeout: 120_000 });
  // node leaves its perf map behind in /tmp: remove it.
  for (const rec of existsSync(out) ? readRecords(out) : []) if (rec.kind === 'process') rmSync(`/tmp/perf-${rec.pid}.map`, { force: true });
  assert.is(r.code, 0, r.stderr);
  const lines = parseFolded(readFileSync(folded, 'utf8'));
  const jit = lines.filter((l) => /;[^;]*hotLoop[^;]*_\[j\];/.test(l.stack));
  assert.ok(jit.length > 0, 'a hotLoop frame from the perf map');
  // The loop's fstat calls: most of the 20000 go through the JIT frame.
  assert.ok(jit.reduce((s, l) => s + l.count, 0) >= 15_000, `${jit.reduce((s, l) => s + l.count, 0)} syscalls under hotLoop`);
}, () => bpfUnavailableReason() ?? (existsSync('/tmp') ? null : 'no /tmp'));

const compat32Bin = join(scratchDir(), 'stacks-compat32');
/** Builds the 32-bit fixture once; why not, when it cannot be built here. */
function needCompat32(): string | null {
  const why = needGcc();
  if (why) return why;
  if (process.arch !== 'x64') return 'the 32-bit fixture is x86 code';
  const cc = spawnSync('gcc', ['-m32', '-O1', '-nostdlib', '-static', '-fno-pie', '-no-pie', '-o', compat32Bin, join(ROOT, 'test/fixtures/compat32.c')]);
  return cc.status === 0 ? null : 'gcc -m32 cannot build (apt-get install gcc-multilib)';
}

kernelTest(test, 'a 32-bit process: its syscalls under their ia32 names, as counted (its frames are unknown: ELF32 is not read)', () => {
  const bin = compat32Bin;
  const out = join(scratchDir(), 'compat32.jsonl');
  const r = runCli(['-q', '--stacks', join(scratchDir(), 'compat32.folded'), '--out', out, 'run', '--', bin], { timeout: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const ebpf = readRecords(out).at(-1)!.ebpf;
  const bySyscall = new Map<string, number>();
  for (const f of ebpf.stacks.folded as FoldedStack[]) {
    const name = f.stack.split(';').at(-1)!;
    bySyscall.set(name, (bySyscall.get(name) ?? 0) + f.count);
  }
  const { execve, ...counted } = ebpf.syscalls.by_syscall;
  assert.is(execve, 1);
  assert.equal(Object.fromEntries(bySyscall), counted);
  assert.is(bySyscall.get('ia32:getpid'), 5);
}, needCompat32);

kernelTest(test, 'no dp_stacks program is left loaded after the runs', async () => {
  assert.is(await stackProgramsLoaded(), 0);
});

test.run();
