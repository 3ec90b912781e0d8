// The session's stack capture: while the tree runs, drains the kernel's stack tables (at each sample,
// and between samples at least every drainMs) and records what symbolising will need from live
// processes (their mappings, their JIT maps); at the end, names every frame and folds the stacks into
// the summary's `ebpf.stacks`.
import type { EbpfStacks, StackLosses } from '../monitor/index.js';
import { performance } from 'node:perf_hooks';
import type { StackEntry, StackSnapshot, SyscallTracer } from '../tracer/index.js';
import { Symbolizer, demangle, type Resolution } from '../symbols/index.js';
import { foldFrame, mergeFolded, type FoldedStack } from '../flame/index.js';

/** Kernel frames of the tracing machinery itself, innermost, above the syscall entry: not shown. */
const TRACING_FRAME = /^(bpf_prog_|bpf_trace_run|__bpf_trace_|__traceiter_|bpf_dispatcher|__bpf_prog_run|trace_call_bpf)/;

/** The longest time between two drains of the kernel's stack tables, whatever the sampling interval. */
export const DRAIN_MS = 1000;

const LOSS_FRAME: Record<string, string> = {
  full: '[stack lost: stack table full]',
  empty: '[no user stack]',
  other: '[stack lost]',
};

export class StackCollector {
  readonly symbolizer: Symbolizer;
  /** Processes whose mappings have been read, or that were gone when we looked (once each). */
  private readonly observed = new Set<number>();
  /** Processes found gone: their last mappings stand (a later process with the pid is not them). */
  private readonly gone = new Set<number>();
  /** Processes with frames that have no build id (JIT code, anonymous memory): their maps are read at each sample. */
  private readonly withIps = new Set<number>();
  /** Drains between samples, so the kernel's tables hold at most drainMs of stacks. */
  private timer: NodeJS.Timeout | undefined;
  private lastDrain = performance.now();
  private failed = false;

  constructor(
    private readonly tracer: SyscallTracer,
    private readonly every: number,
    opts: { startedAtMs: number; executable?: string; drainMs?: number },
  ) {
    // A perf map older than the run belongs to an earlier process that had the same pid.
    this.symbolizer = new Symbolizer({ perfMapsSince: opts.startedAtMs - 1000 });
    if (opts.executable) this.symbolizer.locator.addPath(opts.executable);
    // Checked four times a period, so that no two drains are much more than drainMs apart.
    const drainMs = opts.drainMs ?? DRAIN_MS;
    this.timer = setInterval(() => {
      if (performance.now() - this.lastDrain >= drainMs) this.drain();
    }, Math.max(1, drainMs / 4));
    this.timer.unref();
  }

  /** Whether the tables are still drained (not after a failure: the tracer keeps its error for finish()). */
  get draining(): boolean {
    return !this.failed;
  }

  /** Between samples: moves what the kernel counted into the tracer's totals. */
  private drain(): void {
    if (this.failed) return;
    try {
      const { entries, period } = this.tracer.drainStacks();
      this.took(entries, period);
    } catch {
      // The tracer keeps the error: finish() reports it (the summary has no stacks then).
      this.failed = true;
      this.stop();
    }
  }

  /** A drain (a sample's, or ours) took `entries`: notes the processes with bare-address frames; returns `period`. */
  took(entries: readonly StackEntry[], period: number): number {
    this.lastDrain = performance.now();
    for (const e of entries) if (e.tgid !== 0 && e.user?.some((f) => 'ip' in f)) this.withIps.add(e.tgid);
    return period;
  }

  /** A sample was taken at the drain that returned `period`: the summary's stacks end there if it is the last. */
  mark(period: number | undefined): void {
    if (period === undefined || this.failed) return;
    try {
      this.tracer.markStacks(period);
    } catch {
      this.failed = true;
      this.stop();
    }
  }

  /**
   * Once per sample: the mappings of the live processes not seen yet (the files they map are where
   * build ids are looked for first), and, for processes with frames that have no build id (JIT code,
   * anonymous memory), their mappings and perf map as they are now.
   */
  poll(livePids: readonly number[]): void {
    const pids = new Set([...livePids, ...this.withIps]);
    for (const pid of pids) {
      const withIps = this.withIps.has(pid);
      if (this.gone.has(pid) || (this.observed.has(pid) && !withIps)) continue;
      // Gone already: its build-id frames do not need its maps.
      if (!this.symbolizer.observe(pid)) this.gone.add(pid);
      this.observed.add(pid);
      if (withIps) this.symbolizer.readPerfMap(pid);
    }
  }

  /** Stops the drains between samples (the tracer may close). Idempotent. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The summary block: every stack named and folded, with the losses. The stacks until the last
   * sample, as the summary's counts are (until now when no sample was taken).
   */
  finish(): EbpfStacks | undefined {
    this.stop();
    const snap = this.tracer.readStacks({ at: 'mark' });
    if (!snap) return undefined;
    return foldStacks(snap, this.symbolizer, this.every);
  }
}

/** Names every frame of a snapshot and folds the stacks: `comm;root;…;leaf;[kernel_[k];…];SYSCALL`. */
export function foldStacks(snap: StackSnapshot, sym: Symbolizer, every: number): EbpfStacks {
  const losses: StackLosses = { stack_collisions: 0, stack_table_full: 0, no_user_stack: 0, other: 0, kernel_stacks_lost: 0, counts_table_full: snap.countsFull };
  const frames: EbpfStacks['frames'] = { symtab: 0, dynsym: 0, perf_map: 0, kallsyms: 0, file_offset: 0, unknown: 0 };
  const seenFrames = new Set<string>();
  const tally = (key: string, how: Resolution) => {
    if (seenFrames.has(key)) return;
    seenFrames.add(key);
    frames[how === 'perf-map' ? 'perf_map' : how === 'file-offset' ? 'file_offset' : how]++;
  };
  const named: { frames: string[]; count: number }[] = [];
  let total = snap.countsFull;
  for (const e of snap.entries) {
    total += e.count;
    named.push({ frames: entryFrames(e, sym, losses, tally), count: e.count });
  }
  // C++ names readable, for all stacks at once.
  const readable = demangle(named.flatMap((n) => n.frames));
  const lines: FoldedStack[] = named.map(({ frames: f, count }) => ({
    stack: f.map((name) => foldFrame(demangled(name, readable))).join(';'),
    count,
  }));
  const folded = mergeFolded(lines);
  const lost = losses.stack_collisions + losses.stack_table_full + losses.no_user_stack + losses.other + losses.counts_table_full;
  return { folded, unique: folded.length, total, every, lost, losses, frames };
}

/** A demangled name, keeping the kernel/JIT suffix of the folded format. */
function demangled(name: string, readable: Map<string, string>): string {
  const m = /^(.*?)(_\[[kj]\])?$/.exec(name)!;
  const d = readable.get(m[1]!);
  return d === undefined ? name : d + (m[2] ?? '');
}

/** The frames of one entry, root first: comm, user frames, kernel frames, the syscall. */
function entryFrames(e: StackEntry, sym: Symbolizer, losses: StackLosses, tally: (key: string, how: Resolution) => void): string[] {
  const parts = [e.comm === '' ? `[pid ${e.tgid}]` : e.comm];
  if (e.user) {
    const names: string[] = [];
    e.user.forEach((f, i) => {
      const named = sym.user(f, e.tgid, i === 0);
      tally('buildId' in f ? `${f.buildId}:${f.offset}` : `${e.tgid}:${f.ip}`, named.how);
      names.push(named.how === 'perf-map' ? `${named.name}_[j]` : named.name);
    });
    parts.push(...names.reverse());
  } else {
    const loss = e.userLoss ?? 'other';
    if (loss === 'full') losses.stack_table_full += e.count;
    else if (loss === 'empty') losses.no_user_stack += e.count;
    else losses.other += e.count;
    parts.push(LOSS_FRAME[loss]!);
  }
  if (e.kernel) {
    const named = e.kernel.map((a) => ({ a, n: sym.kernel(a) }));
    // Innermost first: drop everything up to the last frame of the tracing machinery.
    let cut = 0;
    named.forEach((k, i) => { if (TRACING_FRAME.test(k.n.name)) cut = i + 1; });
    const kept = named.slice(cut);
    for (const k of kept) tally(`k:${k.a}`, k.n.how);
    parts.push(...kept.map((k) => `${k.n.name}_[k]`).reverse());
  } else if (e.kernelLoss) {
    losses.kernel_stacks_lost += e.count;
    parts.push('[kernel stack lost]_[k]');
  }
  parts.push(e.syscall);
  return parts;
}
