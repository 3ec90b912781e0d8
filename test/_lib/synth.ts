// Synthetic JSON Lines runs for the report's tests and bench: any number of samples, three phases
// with known change points (CPU-bound → I/O-bound → idle), and, optionally, every field that newer
// versions record (process exit records, syscall errors and time, the strace -c table, per-process
// counts, stacks, off-CPU, PSI, the tree's own network bytes, loss counters).

export interface SynthOptions {
  samples: number;
  intervalMs?: number;
  /** Include the fields of newer versions (default true). */
  future?: boolean;
  /** Processes started over the run (short-lived compilers), default samples/100. */
  processes?: number;
  /** Folded stacks in the summary (default 1500). */
  stacks?: number;
  /** Extra frames per stack (default 0), and characters added to every child's command line (default 0). */
  stackDepth?: number;
  commandPad?: number;
  seed?: number;
}

export const SYNTH_T0 = 1_700_000_000_000;
const CATS = ['file_io', 'memory', 'process', 'network', 'time', 'ipc', 'security', 'signal', 'system', 'other'];

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

/** The phase of sample i: 0 CPU-bound, 1 I/O-bound, 2 idle (equal thirds). */
export const phaseOf = (i: number, n: number) => Math.min(2, Math.floor((i * 3) / n));

export function synthRun(o: SynthOptions): string {
  const n = o.samples;
  const dt = o.intervalMs ?? 100;
  const future = o.future ?? true;
  const rnd = prng(o.seed ?? 7);
  const noise = (x: number, rel = 0.05) => Math.max(0, x * (1 + (rnd() - 0.5) * 2 * rel));
  const lines: string[] = [];
  const rootPid = 1000;
  lines.push(JSON.stringify({ kind: 'env', host: 'synth-host', kernel: '6.18.0', cpu: { model: 'Synthetic CPU', sockets: 1, cores: 2, threads: 2 }, numa_nodes: 1, affinity: [0, 1], governor: null, thp: null, smt: null, cgroup: '/synth' }));
  lines.push(JSON.stringify({ kind: 'metadata', pid: rootPid, cmd: ['make', '-j2'], executable: '/usr/bin/make', t0_ms: SYNTH_T0, version: '9.9.9', capabilities: { ebpf: { available: true, mode: 'raw' } } }));

  const nProc = o.processes ?? Math.max(2, Math.floor(n / 100));
  const life = Math.max(2, Math.floor(n / nProc));
  const cum = { cpu: 0, dr: 0, dw: 0, rc: 0, wc: 0, tx: 0, rx: 0, off: 0, rq: 0, sys: 0, err: 0 };
  const cumCat: Record<string, number> = Object.fromEntries(CATS.map((c) => [c, 0]));
  const cumSys: Record<string, number> = { read: 0, write: 0, openat: 0, futex: 0, mmap: 0, clock_nanosleep: 0 };
  const procRecs: string[] = [];
  for (let i = 0; i < n; i++) {
    const ts = SYNTH_T0 + (i + 1) * dt;
    const ph = phaseOf(i, n);
    const cpu = ph === 0 ? noise(195) : ph === 1 ? noise(25) : noise(0.5, 1);
    const disk = ph === 1 ? noise(80e6) : 0;
    const rate = ph === 0 ? noise(300) : ph === 1 ? noise(20000) : noise(20);
    const secs = dt / 1000;
    const calls = Math.round(rate * secs);
    const win: Record<string, number> = Object.fromEntries(CATS.map((c) => [c, 0]));
    const sysWin: Record<string, number> = {};
    const put = (name: string, cat: string, k: number) => { win[cat]! += k; sysWin[name] = k; cumSys[name]! += k; cumCat[cat]! += k; };
    if (ph === 1) { put('read', 'file_io', Math.round(calls * 0.5)); put('write', 'file_io', Math.round(calls * 0.4)); put('openat', 'file_io', calls - Math.round(calls * 0.5) - Math.round(calls * 0.4)); }
    else if (ph === 0) { put('mmap', 'memory', Math.round(calls * 0.6)); put('futex', 'process', calls - Math.round(calls * 0.6)); }
    else put('clock_nanosleep', 'time', calls);
    const total = Object.values(win).reduce((a, b) => a + b, 0);
    const errors = future ? Math.round(total * 0.02) : 0;
    cum.cpu += (cpu / 100) * secs; cum.dr += disk * secs * 0.3; cum.dw += disk * secs * 0.7; cum.rc += disk * secs * 0.4; cum.wc += disk * secs * 0.8;
    cum.tx += ph === 1 ? 2e5 * secs : 0; cum.rx += ph === 1 ? 1e5 * secs : 0; cum.off += (ph === 2 ? 0.98 : ph === 1 ? 0.6 : 0.02) * secs; cum.rq += (ph === 0 ? 0.3 : 0.01) * secs;
    cum.sys += total; cum.err += errors;

    // Two compiler processes at a time, each living `life` samples, plus the root.
    const slot = Math.floor(i / life);
    const children = [0, 1].map((k) => {
      const pid = 2000 + slot * 2 + k;
      return { pid, command: `cc1 -O2 ${'-Dx '.repeat(Math.ceil((o.commandPad ?? 0) / 4))}file${slot * 2 + k}.c`, metrics: metrics(ts, cpu / 2, 50_000 + 1000 * (i % life), (i % life) * secs) };
    });
    if ((i + 1) % life === 0 || i === n - 1) {
      for (const c of children) {
        const alive = i === n - 1;
        procRecs.push(JSON.stringify({ kind: 'process', pid: c.pid, ppid: rootPid, command: c.command, start_ms: SYNTH_T0 + (slot * life + 1) * dt, exit_ms: alive ? null : ts, exit_code: alive || c.pid % 11 === 0 ? null : (c.pid % 7 === 0 ? 1 : 0), signal: !alive && c.pid % 11 === 0 ? 9 : null, cpu_time_secs: Math.round(life * secs * (cpu / 200) * 1000) / 1000, peak_mem_rss_kb: 50_000 + 1000 * life, disk_read_bytes: 1000, disk_write_bytes: 2000, syscall_read_bytes: 0, syscall_write_bytes: 0, page_faults_minor: 0, page_faults_major: 0, figures: alive ? 'running' : 'kernel' }));
      }
    }
    const top = Object.entries(sysWin).sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, count }));
    const agg: Record<string, unknown> = {
      ...metrics(ts, cpu, 150_000 + (ph === 1 ? 50_000 : 0), (i + 1) * secs),
      cpu_usage: Math.round(cpu * 100) / 100,
      disk_read_bytes: Math.round(cum.dr), disk_write_bytes: Math.round(cum.dw), syscall_read_bytes: Math.round(cum.rc), syscall_write_bytes: Math.round(cum.wc),
      thread_count: 5, process_count: 3, cpu_time_secs: Math.round(cum.cpu * 100) / 100,
      ebpf: {
        syscalls: {
          total: cum.sys,
          by_category: { ...cumCat },
          top_syscalls: Object.entries(cumSys).sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, count })),
          analysis: { behavior_classification: 'mixed', syscall_rate_per_sec: 100, io_intensity: 0.4, memory_intensity: 0.3, cpu_intensity: 0.5, network_intensity: 0 },
          window: { duration_ms: dt, total, rate_per_sec: total / secs, by_category: win, top_syscalls: top, ...(future ? { errors, time_us: Math.round(total * (ph === 1 ? 40 : 5)) } : {}) },
        },
      },
    };
    if (future) {
      Object.assign(agg, {
        off_cpu_secs: Math.round(cum.off * 1000) / 1000, runq_wait_secs: Math.round(cum.rq * 1000) / 1000,
        net_tx_bytes: Math.round(cum.tx), net_rx_bytes: Math.round(cum.rx),
        psi: { source: 'cgroup', cpu: { some: { avg10: ph === 0 ? 30 : 1, total_us_delta: Math.round((ph === 0 ? 0.3 : 0.01) * dt * 1000) } },
          memory: { some: { avg10: 0, total_us_delta: 0 }, full: { avg10: 0, total_us_delta: 0 } },
          io: { some: { avg10: ph === 1 ? 40 : 0, total_us_delta: Math.round((ph === 1 ? 0.4 : 0) * dt * 1000) }, full: { avg10: ph === 1 ? 20 : 0, total_us_delta: Math.round((ph === 1 ? 0.2 : 0) * dt * 1000) } } },
      });
    }
    lines.push(JSON.stringify({ kind: 'tree', ts_ms: ts, parent: metrics(ts, 1, 2000, (i + 1) * secs), children, aggregated: agg }));
  }
  if (future) lines.push(...procRecs);
  if (future) {
    lines.push(JSON.stringify({ kind: 'process', pid: rootPid, ppid: 1, command: 'make -j2', start_ms: SYNTH_T0, exit_ms: SYNTH_T0 + n * dt, exit_code: 2, signal: null, cpu_time_secs: 1, peak_mem_rss_kb: 2000, disk_read_bytes: 0, disk_write_bytes: 0, syscall_read_bytes: 0, syscall_write_bytes: 0, page_faults_minor: 0, page_faults_major: 0, figures: 'kernel' }));
  }

  const summary: Record<string, unknown> = {
    kind: 'summary', total_time_secs: ((n - 1) * dt) / 1000, sample_count: n, max_processes: 3, max_threads: 5, peak_mem_rss_kb: 200_000,
    avg_cpu_usage: 70, peak_cpu_usage: 205, total_cpu_time_secs: Math.round(cum.cpu * 100) / 100,
    total_disk_read_bytes: Math.round(cum.dr), total_disk_write_bytes: Math.round(cum.dw), total_syscall_read_bytes: Math.round(cum.rc), total_syscall_write_bytes: Math.round(cum.wc),
    ebpf: {
      syscalls: {
        total: cum.sys, by_category: cumCat,
        top_syscalls: Object.entries(cumSys).sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, count })),
        analysis: { behavior_classification: 'io_bound', syscall_rate_per_sec: 6767, io_intensity: 0.9, memory_intensity: 0.05, cpu_intensity: 0.7, network_intensity: 0 },
        by_syscall: cumSys,
        ...(future ? { table: Object.entries(cumSys).map(([name, calls]) => ({ name, calls, errors: Math.round(calls * 0.02), errnos: name === 'openat' ? { ENOENT: Math.round(calls * 0.02) } : { EAGAIN: Math.round(calls * 0.02) }, total_us: calls * 12, avg_us: 12, max_us: 900, hist_log2_us: [0, 1, 5, 20, 40, 20, 5, 1, 0, 1] })) } : {}),
      },
      ...(future ? {
        by_process: [{ pid: rootPid, ppid: 1, comm: 'make', total: 500, errors: 3, by_syscall: { read: 300, write: 200 } }, { pid: 99999, ppid: rootPid, comm: 'sh', total: 40, errors: 0, by_syscall: { execve: 1, exit_group: 1 } }],
        stacks: { folded: synthStacks(o.stacks ?? 1500, rnd, o.stackDepth ?? 0), unique: o.stacks ?? 1500, lost: 0 },
        losses: { syscalls_uncounted: 0, processes_untracked: 0, exits_unrecorded: 0 },
      } : {}),
    },
  };
  lines.push(JSON.stringify(summary));
  return lines.join('\n') + '\n';
}

function metrics(ts: number, cpu: number, rss: number, uptime: number) {
  return {
    ts_ms: ts, cpu_usage: Math.round(cpu * 100) / 100, mem_rss_kb: Math.round(rss), mem_vms_kb: Math.round(rss * 3), disk_read_bytes: 0, disk_write_bytes: 0,
    syscall_read_bytes: 0, syscall_write_bytes: 0, page_faults_minor: 0, page_faults_major: 0, thread_count: 1, uptime_secs: Math.round(uptime * 100) / 100,
    netns_rx_bytes: 0, netns_tx_bytes: 0,
  };
}

function synthStacks(count: number, rnd: () => number, extra: number): { stack: string; count: number }[] {
  const fns = ['main', 'run_job', 'compile', 'parse', 'lex', 'emit', 'write_out', 'read_src', 'alloc', 'hash'];
  const sys = ['read', 'write', 'openat', 'mmap', 'futex'];
  const out = new Map<string, number>();
  for (let i = 0; out.size < count && i < count * 20; i++) {
    const depth = 2 + Math.floor(rnd() * 6);
    const frames = ['cc1', 'main', ...Array.from({ length: extra }, (_, d) => `std::vector<std::string>::frame_${d}`)];
    for (let d = 0; d < depth; d++) frames.push(`${fns[Math.floor(rnd() * fns.length)]}${d > 3 ? `_${Math.floor(rnd() * 40)}` : ''}`);
    frames.push(sys[Math.floor(rnd() * sys.length)]!);
    const key = frames.join(';');
    out.set(key, (out.get(key) ?? 0) + 1 + Math.floor(rnd() * 500));
  }
  return [...out].map(([stack, c]) => ({ stack, count: c }));
}
