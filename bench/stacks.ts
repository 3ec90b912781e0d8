// The cost of stack capture, measured in one run (the machine is noisy: compare ratios, not times).
// A syscall storm (dd with 1-byte blocks: N reads of /dev/zero + N writes to /dev/null), timed by dd
// itself, under `denet-pure --enable-ebpf run` (the default counting) and with --stacks, --stacks
// --stacks-every 100 and --stacks --stacks-kernel; the variants interleaved, each repetition's time
// divided by the default mode's time of the same repetition (paired ratios), medians reported.
// Usage: node dist/bench/stacks.js [N=1000000] [reps=5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist/cli.mjs');
const N = Number(process.argv[2] ?? 1_000_000);
const REPS = Number(process.argv[3] ?? 5);
const DD = ['/usr/bin/dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${N}`];
const dir = mkdtempSync(join(tmpdir(), 'denet-pure-bench-stacks-'));

function ddSeconds(opts: string[]): number {
  const argv = [process.execPath, CLI, '--quiet', ...opts, 'run', '--', ...DD];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  const m = /copied, ([\d.]+) s/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`no timing from ${argv.join(' ')}:\n${r.stderr.slice(0, 500)}`);
  return Number(m[1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const folded = join(dir, 'stacks.folded');
const variants: { name: string; opts: string[] }[] = [
  { name: 'default (--enable-ebpf)', opts: ['--enable-ebpf'] },
  { name: '--stacks', opts: ['--stacks', folded] },
  { name: '--stacks --stacks-every 100', opts: ['--stacks', folded, '--stacks-every', '100'] },
  { name: '--stacks --stacks-kernel', opts: ['--stacks', folded, '--stacks-kernel'] },
];

try {
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const v of variants) times.get(v.name)!.push(ddSeconds(v.opts));
  }
  const base = times.get(variants[0]!.name)!;
  console.log(`syscall storm: dd bs=1 count=${N} (${2 * N} syscalls), ${REPS} interleaved repetitions, time reported by dd`);
  for (const v of variants) {
    const ts = times.get(v.name)!;
    const paired = median(ts.map((t, i) => t / base[i]!));
    const extraNs = ((median(ts.map((t, i) => t - base[i]!)) / (2 * N)) * 1e9);
    console.log(`  ${v.name.padEnd(30)} ${median(ts).toFixed(3)} s   slowdown vs default: ${paired.toFixed(2)}x (paired)${v === variants[0] ? '' : `, ${extraNs.toFixed(0)} ns more per syscall`}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
