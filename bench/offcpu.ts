// The cost of the scheduler (off-CPU, run-queue) and socket programs, measured in one run with the
// variants interleaved (this machine is noisy: compare the paired ratios, not absolute times).
//   workloads, each timed by itself:
//     syscall storm   dd bs=1 (N reads + N writes): no context switches, no sockets
//     pipe ping-pong  two processes passing a byte over pipes: a context switch per pass
//     TCP ping-pong   the same over a loopback TCP connection: a switch and a socket call per pass
//   variants: under `denet-pure run` (no eBPF), with syscall counting alone (--no-off-cpu --no-net),
//   with everything (the default of --enable-ebpf); and the pipe ping-pong OUTSIDE the monitored tree
//   while a monitor watches `sleep` (sched_switch runs for every task of the machine).
// Usage: node dist/bench/offcpu.js [reps=5] [scale=1]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist/cli.mjs');
const REPS = Number(process.argv[2] ?? 5);
const SCALE = Number(process.argv[3] ?? 1);

const pingpong = join(mkdtempSync(join(tmpdir(), 'denet-bench-')), 'pingpong');
execFileSync('gcc', ['-O2', '-o', pingpong, join(ROOT, 'bench/pingpong.c')]);

const cli = (...opts: string[]) => [process.execPath, CLI, '--quiet', ...opts, 'run', '--'];
const PREFIX = {
  'no eBPF': cli(),
  'syscall counting only': cli('--enable-ebpf', '--no-off-cpu', '--no-net'),
  'all programs (default)': cli('--enable-ebpf'),
} as const;
type Variant = keyof typeof PREFIX;

function timed(argv: string[], re: RegExp): number {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  const m = re.exec(r.stdout + r.stderr);
  if (!m) throw new Error(`no timing from ${argv.join(' ')}:\n${(r.stdout + r.stderr).slice(0, 400)}`);
  return Number(m[1]);
}

const N_DD = Math.round(1_000_000 * SCALE), N_PIPE = Math.round(100_000 * SCALE), N_TCP = Math.round(40_000 * SCALE);
const WORKLOADS: { name: string; argv: string[]; re: RegExp }[] = [
  { name: `syscall storm (dd bs=1 count=${N_DD})`, argv: ['/usr/bin/dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${N_DD}`], re: /copied, ([\d.]+) s/ },
  { name: `pipe ping-pong (${N_PIPE} round trips)`, argv: [pingpong, 'pipe', String(N_PIPE)], re: /in ([\d.]+) s/ },
  { name: `TCP ping-pong (${N_TCP} round trips)`, argv: [pingpong, 'tcp', String(N_TCP)], re: /in ([\d.]+) s/ },
];

/** The pipe ping-pong run bare while a monitor with `opts` watches a `sleep` (the monitor is ready first). */
async function outsideTree(opts: string[]): Promise<number> {
  const mon = spawn(process.execPath, [CLI, '--quiet', ...opts, 'run', '--', 'sleep', '30'], { stdio: 'ignore' });
  // Give it time to load and attach (a fixed wait: it only has to be attached before the workload starts).
  await new Promise((r) => setTimeout(r, 1500));
  try {
    return timed([pingpong, 'pipe', String(N_PIPE)], /in ([\d.]+) s/);
  } finally {
    mon.kill('SIGINT');
    await new Promise((r) => mon.once('exit', r));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const times = new Map<string, number[]>();
const add = (k: string, t: number) => times.set(k, [...(times.get(k) ?? []), t]);

for (let rep = 0; rep < REPS; rep++) {
  for (const w of WORKLOADS) for (const v of Object.keys(PREFIX) as Variant[]) add(`${w.name}|${v}`, timed([...PREFIX[v], ...w.argv], w.re));
  add('outside|bare', timed([pingpong, 'pipe', String(N_PIPE)], /in ([\d.]+) s/));
  add('outside|syscall counting only', await outsideTree(['--enable-ebpf', '--no-off-cpu', '--no-net']));
  add('outside|all programs (default)', await outsideTree(['--enable-ebpf']));
}

const paired = (a: string, b: string) => median(times.get(a)!.map((t, i) => t / times.get(b)![i]!));
console.log(`median of ${REPS} interleaved repetitions; ratios are paired (each repetition against the run next to it)`);
for (const w of WORKLOADS) {
  console.log(w.name);
  for (const v of Object.keys(PREFIX) as Variant[]) {
    const k = `${w.name}|${v}`;
    console.log(`  ${v.padEnd(24)} ${median(times.get(k)!).toFixed(3)} s   ${paired(k, `${w.name}|no eBPF`).toFixed(2)}x vs no eBPF`);
  }
  console.log(`  => the scheduler and socket programs: ${paired(`${w.name}|all programs (default)`, `${w.name}|syscall counting only`).toFixed(2)}x vs syscall counting only`);
}
console.log(`pipe ping-pong outside the monitored tree (${N_PIPE} round trips; a monitor watches 'sleep')`);
for (const v of ['bare', 'syscall counting only', 'all programs (default)']) {
  console.log(`  ${v.padEnd(24)} ${median(times.get(`outside|${v}`)!).toFixed(3)} s   ${paired(`outside|${v}`, 'outside|bare').toFixed(2)}x vs no monitor`);
}
console.log(`  => the scheduler and socket programs: ${paired('outside|all programs (default)', 'outside|syscall counting only').toFixed(2)}x vs syscall counting only`);

// What each program costs per run, as the kernel measures it (kernel.bpf_stats_enabled=1; the figures
// include the stats' own overhead of some tens of ns per run). The workload runs in the tree.
const { SyscallTracer } = await import('../src/tracer/index.js');
const { readFileSync, writeFileSync } = await import('node:fs');
const STATS = '/proc/sys/kernel/bpf_stats_enabled';
const statsBefore = readFileSync(STATS, 'utf8').trim();
writeFileSync(STATS, '1');
try {
  const cases = [
    ['pipe ping-pong in the tree', [pingpong, 'pipe', String(N_PIPE)], true],
    ['TCP ping-pong in the tree', [pingpong, 'tcp', String(N_TCP)], true],
    ['pipe ping-pong outside the tree (the tree: sleep)', [pingpong, 'pipe', String(N_PIPE)], false],
  ] as const;
  for (const [name, argv, inTree] of cases) {
    const tracer = SyscallTracer.open();
    try {
      const sleeper = inTree ? undefined : tracer.spawnTracked(() => spawn('sleep', ['30'], { stdio: 'ignore' }));
      const before = new Map(tracer.programStats().map((p) => [p.name, p]));
      const child = inTree ? tracer.spawnTracked(() => spawn(argv[0], argv.slice(1), { stdio: 'ignore' })) : spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
      await new Promise((r) => child.once('exit', r));
      sleeper?.kill();
      const trips = Number(argv[2]);
      console.log(`${name}, per program (bpf_stats; every task of the machine counts): runs, ns per run, ns per round trip`);
      for (const p of tracer.programStats()) {
        const runs = p.runs - (before.get(p.name)?.runs ?? 0);
        const ns = p.ns - (before.get(p.name)?.ns ?? 0);
        if (runs > 0) console.log(`  ${p.name.padEnd(22)} ${String(runs).padStart(9)}  ${(ns / runs).toFixed(0).padStart(5)} ns  ${(ns / trips).toFixed(0).padStart(6)} ns/round trip`);
      }
    } finally {
      tracer.close();
    }
  }
} finally {
  writeFileSync(STATS, statsBefore);
}
