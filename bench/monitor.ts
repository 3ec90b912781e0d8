// The monitor's own cost: a 101-process tree (sh + 100 sleeping children) sampled every 100 ms by
// ProcessTreeMonitor in this process. Target: <= 2 % of one core.
//   node dist/bench/monitor.js [seconds=10] [children=100] [intervalMs=100]
// process.cpuUsage() counts every thread of this process, V8's compiler and GC threads included, so
// the first seconds (JIT warm-up) are reported apart from the steady state that a long run costs.
import { spawn } from 'node:child_process';
import { ProcessTreeMonitor } from '../src/monitor/index.js';

const SECONDS = Number(process.argv[2] ?? 10);
const CHILDREN = Number(process.argv[3] ?? 100);
const INTERVAL = Number(process.argv[4] ?? 100);
const WARMUP_SECONDS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const life = SECONDS + WARMUP_SECONDS + 30;
const script = CHILDREN > 0 ? `i=0; while [ $i -lt ${CHILDREN} ]; do sleep ${life} & i=$((i+1)); done; wait` : `sleep ${life}`;
const root = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });

interface Phase {
  samples: number;
  cpuPct: number;
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
  return { samples, cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100, msPerSample: sampleMs / samples, processes };
}

try {
  // Wait for the tree to form (not measured).
  for (let i = 0; i < 200; i++) {
    const probe = new ProcessTreeMonitor({ pid: root.pid! });
    const r = probe.sample();
    probe.close();
    if (r && r.kind === 'tree' && r.aggregated.process_count >= CHILDREN + 1) break;
    await sleep(50);
  }
  const monitor = new ProcessTreeMonitor({ pid: root.pid! });
  const warm = await phase(monitor, WARMUP_SECONDS);
  const steady = await phase(monitor, SECONDS);
  monitor.close();
  const line = (name: string, p: Phase) =>
    `  ${name.padEnd(22)} ${p.cpuPct.toFixed(2)} % of one core, ${p.msPerSample.toFixed(3)} ms per sample (${p.samples} samples)`;
  console.log(`monitor bench: ${steady.processes} processes sampled every ${INTERVAL} ms`);
  console.log(line(`first ${WARMUP_SECONDS} s (JIT warm-up)`, warm));
  console.log(line(`next ${SECONDS} s (steady)`, steady));
  console.log(`  RSS                    ${(process.memoryUsage().rss / 1048576).toFixed(1)} MiB`);
  console.log(`  target <= 2 % of one core (steady): ${steady.cpuPct <= 2 ? 'met' : 'NOT met'}`);
} finally {
  try {
    process.kill(-root.pid!, 'SIGKILL');
  } catch {
    // the tree is already gone
  }
}
