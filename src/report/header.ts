// The report's header: what ran, for how long, how it ended, where; what the run had (eBPF mode,
// losses, PSI, stacks) and, for every panel or table that is not there, why not and how to get it.
import { formatBytes, formatDuration } from '../monitor/index.js';
import { isObj, num, runEbpf, signalName, str, syscallsOf, type Obj, type Run } from './read.js';
import type { Series } from './series.js';
import type { FlameView, Header, ProcessView, SyscallView } from './types.js';

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

export interface HeaderInput {
  run: Run;
  series: Series;
  quiet: string[];
  processes: ProcessView;
  syscalls: SyscallView | null;
  flame: FlameView | null;
  /** The exit status when the caller knows it (run --report). */
  exit?: ExitStatus;
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

function exitStatus(inp: HeaderInput): ExitStatus | null {
  if (inp.exit) return inp.exit;
  const s = inp.run.summary;
  if (num(s.exit_code) !== null || signalName(s.exit_signal) !== null) return { code: num(s.exit_code), signal: signalName(s.exit_signal) };
  const root = num(inp.run.meta?.pid);
  const rec = inp.run.processes.find((p) => num(p.pid) === root);
  if (rec && (num(rec.exit_code) !== null || signalName(rec.signal) !== null)) return { code: num(rec.exit_code), signal: signalName(rec.signal) };
  return null;
}

export function buildHeader(inp: HeaderInput): Header {
  const { run, series } = inp;
  const meta = run.meta;
  const summary = run.summary;
  const cmd = Array.isArray(meta?.cmd) ? (meta.cmd as unknown[]).map(String) : [];
  const version = str(meta?.version);
  const lacks: Header['lacks'] = [];
  const facts: Header['facts'] = [];

  const env = run.env;
  if (env) {
    const cpu = isObj(env.cpu) ? env.cpu : {};
    facts.push({ label: 'host', value: [str(env.host), str(env.kernel) && `Linux ${env.kernel}`, num(cpu.threads) !== null && `${cpu.threads} CPUs`].filter(Boolean).join(', ') });
    if (str(cpu.model)) facts.push({ label: 'CPU', value: String(cpu.model) });
  } else {
    lacks.push({ what: 'host', why: 'not recorded; run with --write-env to record the machine (host, kernel, CPUs, governor, cgroup)' });
  }

  // eBPF: requested or not, its mode, and every loss counter it reported.
  const cap = isObj(meta?.capabilities) && isObj((meta.capabilities as Obj).ebpf) ? ((meta.capabilities as Obj).ebpf as Obj) : undefined;
  const ebpf = runEbpf(run);
  if (cap?.available === true || ebpf) {
    facts.push({ label: 'eBPF', value: `syscalls counted in the kernel${str(cap?.mode) ? ` (${cap!.mode} tracepoints)` : ''}`, tone: 'ok' });
    // ebpf.losses (this version), or the counters older versions put in ebpf itself.
    const where = isObj(ebpf?.losses) ? (ebpf.losses as Obj) : ebpf;
    const losses = ['dropped', 'syscalls_uncounted', 'processes_untracked', 'exits_unrecorded']
      .map((k) => [k, num(where?.[k]) ?? 0] as const)
      .filter(([, v]) => v > 0);
    facts.push(losses.length
      ? { label: 'losses', value: losses.map(([k, v]) => `${fmtInt(v)} ${k.replace(/_/g, ' ')}`).join(', ') + ' (counts are incomplete)', tone: 'warn' }
      : { label: 'losses', value: 'none reported', tone: 'ok' });
  } else {
    const reason = str(cap?.reason);
    facts.push({ label: 'eBPF', value: reason ? `off: ${reason}` : 'off', tone: 'warn' });
    lacks.push({ what: 'syscalls', why: reason && !/not requested/.test(reason)
      ? `eBPF was unavailable (${reason}): no syscall panels, phase syscall mix or syscall tables`
      : 'not counted: run with --enable-ebpf (root, or CAP_BPF+CAP_PERFMON) for syscall rates, the syscall mix of each phase and the syscall tables' });
  }

  const sc = syscallsOf(ebpf);
  if (sc) {
    const timed = series.sys_errors.some((v) => v !== null) || series.sys_time.some((v) => v !== null) || inp.syscalls?.tableHasTimes;
    if (!timed) lacks.push({ what: 'syscall errors and time', why: 'this run counted calls only (no errors, latencies or time in syscalls): the errors and time panels and the table\'s time columns need a version that times syscalls at exit' });
    if (inp.flame) facts.push({ label: 'stacks', value: `${fmtInt(inp.flame.unique)} unique stacks, ${fmtInt(inp.flame.total)} syscalls${inp.flame.lost ? `, ${fmtInt(inp.flame.lost)} lost` : ''}`, tone: inp.flame.lost ? 'warn' : 'ok' });
    else lacks.push({ what: 'flame graph', why: 'no stacks recorded: stack capture was not enabled for this run' });
    if (!inp.syscalls?.byProcess) lacks.push({ what: 'syscalls per process', why: 'not recorded by this version (the summary has no ebpf.by_process)' });
  }

  if (series.psiSource) facts.push({ label: 'PSI', value: `pressure from ${series.psiSource === 'cgroup' ? 'the process\'s cgroup' : series.psiSource === 'system' ? 'the whole system (/proc/pressure)' : series.psiSource}`, tone: 'ok' });
  else lacks.push({ what: 'pressure (PSI)', why: 'not recorded by this version: CPU, memory and I/O stall times need a version that samples /proc/pressure or the cgroup\'s pressure files' });
  if (!series.off_cpu.some((v) => v !== null)) lacks.push({ what: 'off-CPU and run-queue time', why: 'not recorded by this version (needs the scheduler tracepoints of a newer version)' });
  if (series.netScope === 'namespace') lacks.push({ what: 'network of the tree alone', why: 'the network panel shows the whole network namespace (every process in it): per-process socket bytes need a version that counts them' });
  else if (series.netScope === null) lacks.push({ what: 'network', why: 'no network counters in the samples' });
  if (!run.tree) lacks.push({ what: 'children', why: 'monitored with --exclude-children: the process alone, no tree or per-command CPU' });
  if (inp.processes.source !== 'process records') {
    lacks.push({ what: 'exact process timeline', why: 'no per-process exit records: the timeline is what the samples saw (times within one interval, no exit codes, no process that lived between two samples)' });
  }
  if (inp.processes.kernelOnly.count > 0) facts.push({ label: 'kernel-only processes', value: `${fmtInt(inp.processes.kernelOnly.count)} processes counted by eBPF but never sampled`, tone: 'warn' });

  const exit = exitStatus(inp);
  if (!exit) lacks.push({ what: 'exit status', why: 'the file does not record how the command ended (run --report FILE writes it into the report)' });

  const samples = run.frames.length;
  const intervals = run.frames.slice(1).map((f, i) => f.t - run.frames[i]!.t).filter((d) => d > 0).sort((a, b) => a - b);
  facts.push({ label: 'samples', value: `${fmtInt(samples)}${intervals.length ? `, every ${ms(intervals[0]!)}–${ms(intervals[intervals.length - 1]!)}` : ''}` });
  for (const q of inp.quiet) facts.push({ label: 'quiet', value: q });

  const f = (k: string) => num(summary[k]);
  const totals: Header['totals'] = [];
  const push = (label: string, v: number | null, fmt: (x: number) => string) => { if (v !== null) totals.push({ label, value: fmt(v) }); };
  push('CPU time', f('total_cpu_time_secs'), (v) => `${v.toFixed(2)} s`);
  push('peak CPU', f('peak_cpu_usage'), (v) => `${v.toFixed(0)} %`);
  push('mean CPU', f('avg_cpu_usage'), (v) => `${v.toFixed(0)} %`);
  push('peak RSS', f('peak_mem_rss_kb'), (v) => formatBytes(v * 1024));
  push('disk read', f('total_disk_read_bytes'), formatBytes);
  push('disk written', f('total_disk_write_bytes'), formatBytes);
  push('processes (max)', f('max_processes'), fmtInt);
  if (sc) push('syscalls', num(sc.total), fmtInt);
  if (inp.processes.source === 'process records') push('processes (all)', f('total_processes') ?? inp.processes.rows.length + inp.processes.hidden.count, fmtInt);

  const warnings = [...run.warnings];
  const duration = f('total_time_secs') ?? run.frames[samples - 1]!.t - run.frames[0]!.t;
  return {
    command: cmd.length ? clip(cmd.map(quote).join(' '), 2000) : '(command not recorded)',
    producer: version ? `denet-pure ${version}` : meta ? 'denet or an older denet-pure (no version recorded)' : 'unknown (no metadata record)',
    started_ms: num(meta?.t0_ms),
    duration_secs: duration,
    exit: exit ? (exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`) : null,
    exitTone: exit ? (exit.code === 0 && !exit.signal ? 'ok' : 'bad') : null,
    facts,
    totals: [{ label: 'duration', value: formatDuration(duration) }, ...totals],
    lacks,
    warnings,
  };
}

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) + '…' : s);

function ms(secs: number): string {
  return secs < 1 ? `${Math.round(secs * 1000)} ms` : `${secs.toFixed(1)} s`;
}
