// The monitor's own cost: a tree of sh + N sleeping children sampled every 100 ms by ProcessTreeMonitor
// in this process, for N = 100 and 1000, with descriptors kept open (the default budget) and with
// every file read by path (what members beyond the budget cost). Targets (steady state): <= 1 % of one
// core for 100 processes, <= 5 % for 1000.
//   node dist/bench/monitor.js [seconds=10] [intervalMs=100]
// process.cpuUsage() counts every thread of this process, V8's compiler and GC threads included.
// The steady state a long run costs comes after V8 has compiled the sampling code with its optimising
// tier, which at 10 samples a second takes minutes (sample() is called too rarely to look hot): so
// the first phase of the first tree is printed as it is ("first 10 s"), and the steady phases follow
// 2000 samples taken back to back (the code paths a long run takes, at once) and 3 s at the interval
// (a member that has slept for S is read every S/4, at most once a second, once it has slept that long).
// The children sleep throughout, as most of a big tree does.
import { spawn, type ChildProcess } from 'node:child_process';
import { ProcessTreeMonitor } from '../src/monitor/index.js';

const SECONDS = Number(process.argv[2] ?? 10);
const INTERVAL = Number(process.argv[3] ?? 100);
const WARMUP_SECONDS = 3;
const WARMUP_SAMPLES = 2000;
const TARGETS: Record<number, number> = { 100: 1, 1000: 5 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Phase {
  samples: number;
  cpuPct: number;
  userPct: number;
  msPerSample: number;
  processes: number;
}

async function phase(monitor: ProcessTreeMonitor, seconds: number): Promise<Phase> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let samples = 0;
  let sampleMs = 0;
  let processes = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const s0 = performance.now();
    const r = monitor.sample();
    sampleMs += performance.now() - s0;
    samples++;
    if (r && r.kind === 'tree') processes = r.aggregated.process_count;
    await sleep(Math.max(0, INTERVAL - (performance.now() - s0)));
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const pct = (us: number) => (us / 1000 / wallMs) * 100;
  return { samples, cpuPct: pct(cpu.user + cpu.system), userPct: pct(cpu.user), msPerSample: sampleMs / samples, processes };
}

async function tree(children: number): Promise<ChildProcess> {
  const life = 2 * (SECONDS + WARMUP_SECONDS) + 120;
  const root = spawn('sh', ['-c', `i=0; while [ $i -lt ${children} ]; do sleep ${life} & i=$((i+1)); done; wait`], { detached: true, stdio: 'ignore' });
  // Wait for the tree to form (not measured).
  for (let i = 0; i < 600; i++) {
    const probe = new ProcessTreeMonitor({ pid: root.pid! });
    const r = probe.sample();
    probe.close();
    if (r && r.kind === 'tree' && r.aggregated.process_count >= children + 1) break;
    await sleep(50);
  }
  return root;
}

console.log(`monitor bench: sampling every ${INTERVAL} ms, ${SECONDS} s steady after ${WARMUP_SAMPLES} samples back to back and ${WARMUP_SECONDS} s at the interval`);
let first = true;
for (const children of [100, 1000]) {
  const root = await tree(children);
  try {
    for (const [label, fdBudget] of [['descriptors kept', undefined], ['files by path', 0]] as const) {
      const monitor = new ProcessTreeMonitor({ pid: root.pid!, fdBudget });
      const target = TARGETS[children]!;
      const line = (name: string, p: Phase) =>
        console.log(`  ${String(p.processes).padStart(5)} processes, ${label.padEnd(16)} ${name.padEnd(11)} ${p.cpuPct.toFixed(2).padStart(5)} % of one core ` +
          `(user ${p.userPct.toFixed(2)} %), ${p.msPerSample.toFixed(3)} ms per sample; target <= ${target} %: ${p.cpuPct <= target ? 'met' : 'NOT met'}`);
      if (first) {
        // V8 has not compiled the code yet: what the first seconds of a run cost.
        line('first 10 s', await phase(monitor, 10));
        first = false;
      }
      for (let i = 0; i < WARMUP_SAMPLES; i++) monitor.sample();
      await phase(monitor, WARMUP_SECONDS);
      line('steady', await phase(monitor, SECONDS));
      monitor.close();
    }
  } finally {
    try { process.kill(-root.pid!, 'SIGKILL'); } catch { /* gone */ }
  }
}
console.log(`  RSS ${(process.memoryUsage().rss / 1048576).toFixed(1)} MiB`);
