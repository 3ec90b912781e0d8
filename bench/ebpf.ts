// eBPF overhead, measured in one run (this machine is noisy: compare ratios, not absolute times).
//   1. A syscall storm (dd with 1-byte blocks: N reads of /dev/zero + N writes to /dev/null), timed by dd
//      itself, bare / under `denet-pure run` / under `denet-pure --enable-ebpf run` (raw and tracefs) /
//      under bpftrace's per-(pid, syscall) count / under strace -f -c (on a smaller N).
//   2. The wall time of `denet-pure --enable-ebpf run -- true`.
// Usage: node dist/bench/ebpf.js [N=2000000] [reps=3]
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist/src/cli/main.js');
const N = Number(process.argv[2] ?? 2_000_000);
const REPS = Number(process.argv[3] ?? 3);

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Runs argv; returns dd's own "copied, X s" figure. */
function ddSeconds(prefix: string[], count = N): number {
  const argv = [...prefix, 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${count}`];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  const m = /copied, ([\d.]+) s/.exec(r.stderr);
  if (!m) throw new Error(`no timing from: ${argv.join(' ')}\n${r.stderr}`);
  return Number(m[1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const variants: { name: string; prefix: string[]; count?: number }[] = [
  { name: 'bare dd', prefix: [] },
  { name: 'denet-pure run', prefix: [process.execPath, CLI, '--quiet', 'run', '--'] },
  { name: 'denet-pure --enable-ebpf (raw)', prefix: [process.execPath, CLI, '--quiet', '--enable-ebpf', '--ebpf-attach', 'raw', 'run', '--'] },
  { name: 'denet-pure --enable-ebpf (tracefs)', prefix: [process.execPath, CLI, '--quiet', '--enable-ebpf', '--ebpf-attach', 'tracefs', 'run', '--'] },
];
if (has('bpftrace')) {
  // The same job in bpftrace: count per (pid, syscall) of the traced command's tree... bpftrace can only
  // filter on the direct child (cpid), which is what it is fair to compare here.
  variants.push({
    name: 'bpftrace @[pid, args.id] = count()',
    prefix: ['bpftrace', '-q', '-e', 'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[pid, args.id] = count(); } END { clear(@); }', '-c'],
  });
}

const times = new Map<string, number[]>();
for (let rep = 0; rep < REPS; rep++) {
  for (const v of variants) {
    const prefix = v.name.startsWith('bpftrace') ? [...v.prefix] : v.prefix;
    let t: number;
    if (v.name.startsWith('bpftrace')) {
      // bpftrace -c takes the command as one string
      const r = spawnSync('bpftrace', [...prefix, `dd if=/dev/zero of=/dev/null bs=1 count=${N}`], { encoding: 'utf8' });
      const m = /copied, ([\d.]+) s/.exec(r.stderr + r.stdout);
      if (!m) { console.log(`bpftrace run failed: ${r.stderr.split('\n')[0]}`); times.set(v.name, [NaN]); continue; }
      t = Number(m[1]);
    } else {
      t = ddSeconds(prefix);
    }
    times.set(v.name, [...(times.get(v.name) ?? []), t]);
  }
}

console.log(`syscall storm: dd bs=1 count=${N} (${N} reads + ${N} writes), median of ${REPS}, time reported by dd`);
const base = median(times.get('denet-pure run')!);
for (const v of variants) {
  const t = median(times.get(v.name)!);
  console.log(`  ${v.name.padEnd(40)} ${t.toFixed(3)} s   ${(t / base).toFixed(2)}x vs denet-pure without eBPF`);
}
if (has('strace')) {
  const small = Math.max(1000, Math.floor(N / 100));
  const bare = ddSeconds([], small);
  const traced = ddSeconds(['strace', '-f', '-c', '-o', '/dev/null'], small);
  console.log(`  ${'strace -f -c (count=' + small + ')'.padEnd(40)} ${traced.toFixed(3)} s   ${(traced / bare).toFixed(1)}x vs bare dd of the same size`);
}

const startup: number[] = [];
for (let i = 0; i < Math.max(3, REPS); i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, '--quiet', '--enable-ebpf', 'run', '--', 'true']);
  if (r.status !== 0) throw new Error(`denet-pure --enable-ebpf run -- true failed: ${r.stderr}`);
  startup.push((performance.now() - t0) / 1000);
}
console.log(`wall time of 'denet-pure --enable-ebpf run -- true': median ${median(startup).toFixed(3)} s (target ≤ 0.25 s)`);
