// A long attach as a service runs it: denet-pure --enable-ebpf --prometheus attaches to a process
// that forks 10 short-lived children a second, Prometheus-style scrapes come every second, and the
// monitor's resident memory is read every 5 s. Target: RSS growth under 5 MiB from the end of the
// warm-up to the end (the mean of the last 30 s against the mean of the first 30 s after warm-up).
//   node dist/bench/long-attach.js [seconds=600] [forks-per-second=10] [pid|cgroup] [young=cli|v8|fixed16]
// cgroup: the churn runs in a cgroup the bench creates (needs root and cgroup v2), attached with
// --cgroup. Needs the privilege for eBPF (root, or CAP_BPF+CAP_PERFMON).
// young: cli (the default) runs the CLI as users do: attach re-executes itself with a fixed young
// generation (src/cli/heap.ts). v8 keeps V8's growing young generation (DENET_PURE_FIXED_YOUNG=0): V8
// grows it step by step during the first minutes of any steady allocation, a bounded rise of some
// 10-30 MiB of RSS that says nothing about what is retained. fixed16 fixes it at V8's own ceiling.
// Besides the growth: the slope of RSS over the second half (a least-squares fit, MiB per hour), and
// how RSS changed by kind of mapping (BPF maps, malloc heap, anonymous, files).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Mounts } from '../src/monitor/cgroup.js';

const SECONDS = Number(process.argv[2] ?? 600);
const FORKS = Number(process.argv[3] ?? 10);
const MODE = process.argv[4] === 'cgroup' ? 'cgroup' : 'pid';
const YOUNG = process.argv[5] === 'v8' || process.argv[5] === 'fixed16' ? process.argv[5] : 'cli';
const NODE_FLAGS = YOUNG === 'fixed16' ? ['--min-semi-space-size=16', '--max-semi-space-size=16'] : [];
const CLI = new URL('../cli.mjs', import.meta.url).pathname;
const WARMUP_S = Math.min(60, Math.max(20, SECONDS / 6));
const TARGET_MIB = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKib(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** RSS by kind of mapping (KiB): where a change of RSS comes from. */
function rssByKind(pid: number): Record<string, number> {
  const out: Record<string, number> = { 'bpf maps': 0, 'brk heap': 0, anonymous: 0, files: 0 };
  let kind = 'anonymous';
  try {
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) {
        const name = head[1]!;
        kind = name.includes('bpf-map') ? 'bpf maps' : name === '[heap]' ? 'brk heap' : name.startsWith('/') ? 'files' : 'anonymous';
      } else if (line.startsWith('Rss:')) out[kind]! += Number(/(\d+)/.exec(line)![1]);
    }
  } catch {
    // exited meanwhile
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function main(): Promise<void> {
  let cg: string | undefined;
  if (MODE === 'cgroup') {
    const mount = cgroup2Mounts()[0];
    if (!mount) throw new Error('no cgroup2 mount: run in pid mode');
    cg = join(mount, `denet-bench-${process.pid}`);
    mkdirSync(cg);
  }
  // FORKS children run /bin/true, then one sleep paces the second (FORKS + 1 forks a little over 1 s).
  const loop = `while :; do i=0; while [ $i -lt ${FORKS} ]; do /bin/true; i=$((i+1)); done; sleep 1; done`;
  const churn = spawn('sh', ['-c', cg ? `echo $$ > ${cg}/cgroup.procs; ${loop}` : loop], { stdio: 'ignore' });
  await sleep(200);
  const target = cg ? ['--cgroup', cg] : [String(churn.pid)];
  const denet = spawn(process.execPath, [...NODE_FLAGS, CLI, '--enable-ebpf', '--require-ebpf', '-q', '--prometheus', '127.0.0.1:0', '-d', String(SECONDS), 'attach', ...target], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: YOUNG === 'v8' ? { ...process.env, DENET_PURE_FIXED_YOUNG: '0' } : process.env,
  });
  let stderr = '';
  denet.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((r) => denet.once('exit', (code) => r(code)));
  const t0 = Date.now();
  while (!/127\.0\.0\.1:\d+\/metrics/.test(stderr)) {
    if (Date.now() - t0 > 30_000 || denet.exitCode !== null) throw new Error(`denet-pure did not start: ${stderr}`);
    await sleep(50);
  }
  const port = Number(/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr)![1]);
  const url = `http://127.0.0.1:${port}/metrics`;

  let scrapes = 0;
  let failed = 0;
  let last = '';
  let scrapeMs = 0;
  let stop = false;
  const scraper = (async () => {
    while (!stop) {
      const s0 = performance.now();
      try {
        last = await (await fetch(url)).text();
        scrapes++;
        scrapeMs = Math.max(scrapeMs, performance.now() - s0);
      } catch {
        if (!stop) failed++;
      }
      await sleep(Math.max(0, 1000 - (performance.now() - s0)));
    }
  })();

  const readings: Array<{ s: number; kib: number }> = [];
  let kindsAtWarmup: Record<string, number> | undefined;
  let kindsAtEnd: Record<string, number> | undefined;
  let done = false;
  void exited.then(() => { done = true; });
  while (!done) {
    const s = (Date.now() - t0) / 1000;
    const kib = rssKib(denet.pid!);
    if (!Number.isNaN(kib)) readings.push({ s, kib });
    if (!kindsAtWarmup && s >= WARMUP_S) kindsAtWarmup = rssByKind(denet.pid!);
    if (s < SECONDS - 2) kindsAtEnd = rssByKind(denet.pid!);
    if (readings.length % 12 === 0) process.stdout.write(`  ${s.toFixed(0).padStart(5)} s  RSS ${(kib / 1024).toFixed(1)} MiB\n`);
    await Promise.race([sleep(5000), exited]);
  }
  stop = true;
  await scraper;
  const code = await exited;
  churn.kill('SIGKILL');
  if (cg) {
    for (let i = 0; i < 20; i++) {
      try { rmdirSync(cg); break; } catch { spawnSync('sleep', ['0.1']); }
    }
  }

  const after = readings.filter((r) => r.s >= WARMUP_S);
  const first = after.slice(0, 6).map((r) => r.kib);
  const lastR = after.slice(-6).map((r) => r.kib);
  const growthMib = (mean(lastR) - mean(first)) / 1024;
  const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(last)?.[1] ?? NaN);
  const syscalls = [...last.matchAll(/^denet_syscalls_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  const exits = metric('denet_process_exits_total');
  // Least-squares slope of RSS over the second half of the readings after the warm-up, MiB per hour:
  // whether it still grows at the end (a step early on says nothing about that).
  const tail = after.slice(Math.floor(after.length / 2));
  const mx = mean(tail.map((r) => r.s)), my = mean(tail.map((r) => r.kib));
  const slope = tail.reduce((a, r) => a + (r.s - mx) * (r.kib - my), 0) / Math.max(1e-9, tail.reduce((a, r) => a + (r.s - mx) ** 2, 0));
  console.log(`long attach (${MODE}, young generation ${YOUNG}), ${SECONDS} s, ${FORKS} forks/s: exit ${code}`);
  console.log(`  processes exited ${exits} (${(exits / SECONDS).toFixed(1)}/s), syscalls ${syscalls}, scrapes ${scrapes} (${failed} failed, slowest ${scrapeMs.toFixed(0)} ms)`);
  console.log(`  losses: uncounted ${metric('denet_ebpf_syscalls_uncounted_total')}, untracked ${metric('denet_ebpf_processes_untracked_total')}, exits unrecorded ${metric('denet_ebpf_exits_unrecorded_total')}, untimed ${metric('denet_ebpf_syscalls_untimed_total')}`);
  console.log(`  RSS after ${WARMUP_S.toFixed(0)} s warm-up: ${(mean(first) / 1024).toFixed(1)} MiB; at the end: ${(mean(lastR) / 1024).toFixed(1)} MiB; min ${(Math.min(...after.map((r) => r.kib)) / 1024).toFixed(1)}, max ${(Math.max(...after.map((r) => r.kib)) / 1024).toFixed(1)} MiB`);
  if (kindsAtWarmup && kindsAtEnd) {
    const parts = Object.keys(kindsAtEnd).map((k) => `${k} ${((kindsAtEnd![k]! - (kindsAtWarmup![k] ?? 0)) / 1024).toFixed(2)}`);
    console.log(`  RSS change by mapping kind, warm-up to end (MiB): ${parts.join(', ')}`);
  }
  console.log(`  growth ${growthMib.toFixed(2)} MiB (target < ${TARGET_MIB} MiB): ${growthMib < TARGET_MIB ? 'ok' : 'OVER'}; slope over the last ${((tail.at(-1)?.s ?? 0) - (tail[0]?.s ?? 0)).toFixed(0)} s ${((slope * 3600) / 1024).toFixed(1)} MiB/h`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
