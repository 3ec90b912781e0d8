// The syscall-counting engine: creates the maps, loads and attaches the programs, seeds the
// tracked set, and reads the counts back. The CLI and embedders use only this class.
import { performance } from 'node:perf_hooks';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  BpfMap, LoadedProgram, attachRawTracepoint, attachTracepoint, findTracefs, unmountTracefs, BpfError, codec, UpdateFlag,
  type Link, type TypedMap,
} from '../loader/index.js';
import type { ProgramSpec } from '../asm/spec.js';
import { syscallTable, nameOf, COMPAT_BIT } from '../syscalls/index.js';
import {
  CHECK_ABI, CHILDREN_ALONE, NO_CHILDREN, DEFAULT_SLOTS, execProgram, exitProgram, forkProgram, NO_SLOT, ROW, ROW_COMPAT, State, Stat, STAT_SLOTS, sysEnterProgram, tracerMaps,
  COUNT_ONLY, DEFAULT_DETAILS, featureMaps, sysExitProgram, type DetailSizes, type TracerFeatures,
} from './programs.js';
import { readThreads, readTiming } from './read-detail.js';
import { rawLayout, tracefsLayout, type TracerLayout } from './layout.js';
import { decodeExit, type ProcessExit } from './exits.js';
import { DEFAULT_MAX_COUNTS, DEFAULT_MAX_PROCESSES } from './limits.js';
import { describeFailure, EbpfUnavailableError } from './errors.js';
import { cgroupJoinProgram } from './cgroup.js';
import { Retired } from './retire.js';
import { RetiredDetail } from './retire-detail.js';
import type { AttachMode, SyscallSnapshot, TracerOptions } from './types.js';
import { stacksProgram } from './stacks.js';
import type { StackOptions } from './stacks-maps.js';
import type { StackEntry, StackSnapshot } from './stacks-read.js';
import { StackCapture, type StackTableUse } from './stacks-drain.js';
import { activityPrograms, groupOf, type ActivityChoice, type ActivityGroup, type GroupAvailability } from './activity-setup.js';
import { ActivityPart } from './activity-engine.js';

// Entries per batch read: the batch buffers are allocated at every read (several a second for days),
// and small ones are reused by the allocator where large ones (a 4096-entry exits batch is 550 KiB)
// fragment native memory; a large table just takes a few more calls.
const READ_BATCH = 1024;
const EXITS_BATCH = 128;

// 256 rows of ROW u64 counters: 2 MiB of kernel memory; processes beyond them count in the hash.
const DEFAULTS = { maxProcesses: DEFAULT_MAX_PROCESSES, maxCounts: DEFAULT_MAX_COUNTS, maxSlots: DEFAULT_SLOTS, maxDetails: DEFAULT_DETAILS };
/** What `--enable-ebpf` loads: counts, errors and time per (process, syscall). */
export const DEFAULT_FEATURES: TracerFeatures = Object.freeze({ ...COUNT_ONLY, detail: true });

/** The features the options ask for (failed-only counts at the return, so it implies detail). */
export function featuresOf(opts: Pick<TracerOptions, 'detail' | 'perThread' | 'trace' | 'failedOnly'>): TracerFeatures {
  const failedOnly = opts.failedOnly ?? false;
  return { detail: (opts.detail ?? true) || failedOnly, perThread: opts.perThread ?? false, failedOnly, filter: opts.trace !== undefined };
}

/**
 * Where each program attaches, by program name: the raw tracepoint, the tracefs event (absent: the
 * program exists in raw mode only), and the phase (lower attaches first: the programs that keep the
 * tracked set right go in before anything that counts, so no child slips between attachments).
 */
export const ATTACH_POINTS: Record<string, { raw: string; tracefs?: [string, string]; phase: number }> = {
  dp_fork: { raw: 'sched_process_fork', tracefs: ['task', 'task_newtask'], phase: 0 },
  dp_exit: { raw: 'sched_process_exit', tracefs: ['sched', 'sched_process_exit'], phase: 0 },
  dp_exec: { raw: 'sched_process_exec', phase: 1 },
  dp_cgroup_join: { raw: 'cgroup_attach_task', tracefs: ['cgroup', 'cgroup_attach_task'], phase: 1 },
  // Before sys_enter: an exit whose entry was not seen is ignored, an entry whose exit was not, is not timed.
  dp_sys_exit: { raw: 'sys_exit', tracefs: ['raw_syscalls', 'sys_exit'], phase: 8 },
  // Just before sys_enter (programs on one tracepoint run in attach order): a PENDING process's
  // activating execve is still PENDING here, so its stack, the spawner's, is left out (stacks.ts).
  dp_stacks: { raw: 'sys_enter', tracefs: ['raw_syscalls', 'sys_enter'], phase: 8.5 },
  dp_sys_enter: { raw: 'sys_enter', tracefs: ['raw_syscalls', 'sys_enter'], phase: 9 },
  // Off-CPU and run-queue time, socket bytes (activity-setup.ts): raw mode only, optional, attached
  // after the rest (ActivityPart), each group whole or not at all.
  dp_sched_wakeup: { raw: 'sched_wakeup', phase: 10 },
  dp_sched_wakeup_new: { raw: 'sched_wakeup_new', phase: 10 },
  dp_sched_switch: { raw: 'sched_switch', phase: 10 },
  dp_sock_send: { raw: 'sock_send_length', phase: 10 },
  dp_sock_recv: { raw: 'sock_recv_length', phase: 10 },
};

/** What the programs are built with besides the core counting set (all optional). */
export interface ProgramChoice {
  /** What the syscall programs do beyond counting (default: counts only). */
  features?: TracerFeatures;
  /** The optional scheduler and socket programs (absent: none). */
  activity?: ActivityChoice;
  /** Stack capture, the dp_stacks program (absent: none). */
  stacks?: StackOptions;
}

/**
 * Builds the program specs for a layout (exported for `prog dump` and the WASM tests): sys_enter, fork
 * and exit, plus exec where the task's ABI can be read (raw mode), plus sys_exit with the detail
 * `features`, plus dp_stacks (`stacks`), plus (`activity`) the optional scheduler and socket programs.
 */
export function tracerPrograms(layout: TracerLayout, sizes: DetailSizes = DEFAULTS, choice: ProgramChoice = {}): ProgramSpec[] {
  const core = corePrograms(layout, sizes, choice.features ?? COUNT_ONLY, choice.stacks);
  return [...core, ...(choice.activity ? activityPrograms(layout, sizes, choice.activity).specs : [])];
}

function corePrograms(layout: TracerLayout, sizes: DetailSizes, f: TracerFeatures, stacks?: StackOptions): ProgramSpec[] {
  const maps = [...tracerMaps(sizes), ...featureMaps(sizes, f)];
  const specs = [sysEnterProgram(layout.sysEnter, maps, f), forkProgram(layout.fork, maps), exitProgram(layout.exit, maps, f)];
  if (layout.sysEnter.compat) specs.push(execProgram(maps));
  if (f.detail) {
    if (!layout.sysExit) {
      throw new EbpfUnavailableError(`this kernel's tracefs has no readable raw_syscalls/sys_exit event (errors and time need it)`, 'use --count-only, or --ebpf-attach raw');
    }
    specs.push(sysExitProgram(layout.sysExit, maps, f));
  }
  // Stack capture is a program of its own, loaded only when asked for; it samples what sys_enter
  // counts, so it reads the same --trace filter.
  if (stacks) specs.push(stacksProgram(layout.sysEnter, maps, stacks, { filter: f.filter }));
  if (sizes.cgroup) specs.push(cgroupJoinProgram(layout.sysEnter.type, maps));
  return specs;
}

export class SyscallTracer {
  private readonly maps = new Map<string, BpfMap>();
  private tracked!: TypedMap<number, number>;
  private counts!: TypedMap<{ tgid: number; nr: number }, number>;
  private readonly programs: LoadedProgram[] = [];
  private readonly links: Link[] = [];
  private tracefsMountedByUs: string | null = null;
  private closed = false;
  private readonly table = syscallTable();
  /** Exit accounting is on (the kernel's BTF gave the task's field offsets). */
  private accounting = false;
  /** exits keys (hex) seen dead at the previous read. */
  private deadBefore = new Set<string>();
  private readonly names = new Map<number, string>();
  /** With retireExited: the counts taken out of the kernel for exited processes. */
  private retired: Retired | undefined;
  /** With retireExited in detail mode: exited processes' cells and errno counters, folded in and given back. */
  private retiredDetail: RetiredDetail | undefined;
  /** The optional scheduler and socket programs. */
  private readonly activity = new ActivityPart();
  private stackCapture: StackCapture | undefined;
  /** What the syscall programs do beyond counting (detail, per thread, filters). */
  features: TracerFeatures = COUNT_ONLY;
  /** --trace: the syscall names the kernel counts (undefined: all). */
  traced?: string[];

  private constructor(readonly mode: AttachMode) {}

  /** Loads maps and programs and attaches them; throws EbpfUnavailableError (reason + fix) when it cannot. */
  static open(opts: TracerOptions = {}): SyscallTracer {
    const wanted = opts.attach ?? 'auto';
    const order: AttachMode[] = wanted === 'auto' ? ['raw', 'tracefs'] : [wanted];
    let firstError: unknown;
    for (const mode of order) {
      const tracer = new SyscallTracer(mode);
      try {
        tracer.loadAll(opts);
        tracer.attach();
        return tracer;
      } catch (err) {
        tracer.close();
        firstError ??= err;
      }
    }
    throw firstError instanceof EbpfUnavailableError ? firstError : describeFailure(firstError);
  }

  /**
   * Creates the maps and loads the programs of one mode without attaching them (so a refusal by a
   * verifier is told apart from one at attach time, as `diag` does). Throws the loader's own errors;
   * call attach() next, or close().
   */
  static load(mode: AttachMode, opts: Omit<TracerOptions, 'attach'> = {}): SyscallTracer {
    const tracer = new SyscallTracer(mode);
    try {
      tracer.loadAll(opts);
      return tracer;
    } catch (err) {
      tracer.close();
      throw err;
    }
  }

  /** What is loaded: programs, their instructions, maps. */
  loadedSizes(): { programs: number; instructions: number; maps: number } {
    return { programs: this.programs.length, instructions: this.programs.reduce((n, p) => n + p.spec.insns.length, 0), maps: this.maps.size };
  }

  private tracefsPath = '';

  private loadAll(opts: Omit<TracerOptions, 'attach'>): void {
    let layout: TracerLayout;
    if (this.mode === 'raw') {
      layout = rawLayout();
    } else {
      const found = findTracefs({ mountIfMissing: true });
      this.tracefsPath = found.path;
      if (found.mountedByUs) this.tracefsMountedByUs = found.path;
      layout = tracefsLayout(found.path);
    }
    const sizes = {
      maxProcesses: opts.maxProcesses ?? DEFAULTS.maxProcesses,
      maxCounts: opts.maxCounts ?? DEFAULTS.maxCounts,
      maxSlots: Math.max(1, Math.min(opts.maxRows ?? DEFAULTS.maxSlots, NO_SLOT - 1)),
      cgroup: opts.cgroup !== undefined,
      maxDetails: opts.maxDetails ?? DEFAULTS.maxDetails,
    };
    this.features = featuresOf(opts);
    const specs = corePrograms(layout, sizes, this.features, opts.stacks);
    const extra = this.activity.prepare(layout, sizes, { sched: opts.sched, net: opts.net, maxThreads: opts.maxThreads });
    this.accounting = layout.exit.accounting !== undefined;
    for (const spec of new Map([...specs, ...extra].flatMap((p) => p.maps).map((m) => [m.name, m])).values()) this.maps.set(spec.name, BpfMap.create(spec));
    if (opts.stacks) this.stackCapture = new StackCapture(this.maps, this.table);
    this.tracked = this.map('tracked').typed(codec.u32, codec.u32);
    this.counts = this.map('counts').typed(codec.structOfU32(['tgid', 'nr']), codec.u64n);
    if (opts.cgroup !== undefined) this.setCgroup(opts.cgroup);
    if (opts.retireExited) this.retired = new Retired();
    if (opts.retireExited && this.features.detail) {
      this.retiredDetail = new RetiredDetail({ cells: this.map('cells'), cellHash: this.map('cell_hash'), cellFree: this.map('cell_free'), errnos: this.map('errnos'), stats: this.map('stats') });
    }
    if (opts.trace) this.traced = this.fillTraceSet(opts.trace);
    for (const spec of specs) this.programs.push(LoadedProgram.load(spec, this.maps, { verify: !opts.skipVerifier }));
    this.programs.push(...this.activity.load((spec) => LoadedProgram.load(spec, this.maps, { verify: !opts.skipVerifier })));
  }

  /**
   * Marks the selected syscalls in `trace_set` (index: the number, +512 for the compat ABI); returns
   * the names selected. Numbers past the rows cannot be selected (ARM's private calls).
   */
  private fillTraceSet(names: readonly string[]): string[] {
    const set = this.map('trace_set');
    const key = Buffer.alloc(4);
    const one = Buffer.alloc(4);
    one.writeUInt32LE(1);
    const mark = (idx: number | undefined, half: number) => {
      if (idx === undefined || idx >= ROW_COMPAT) return;
      key.writeUInt32LE(idx + half);
      set.update(key, one);
    };
    const prefix = `${this.table.compat.prefix}:`;
    for (const name of names) {
      const native = name.startsWith(prefix) ? undefined : this.table.number(name);
      const compat = this.table.compat.number(name);
      if (native === undefined && compat === undefined) throw new Error(`--trace: no syscall '${name}' on ${this.table.arch}`);
      mark(native, 0);
      mark(compat, ROW_COMPAT);
    }
    return [...new Set(names)].sort();
  }

  /** Attaches the loaded programs in ATTACH_POINTS order (fork and exit first). */
  attach(): void {
    this.live();
    if (this.links.length > 0) return;
    const point = (p: LoadedProgram) => {
      const at = ATTACH_POINTS[p.name];
      if (!at) throw new Error(`the tracer has no attach point for program '${p.name}'`);
      return at;
    };
    for (const prog of this.programs.filter((p) => !groupOf(p.name)).sort((a, b) => point(a).phase - point(b).phase)) {
      const at = point(prog);
      if (this.mode === 'raw') this.links.push(attachRawTracepoint(prog, at.raw));
      else if (at.tracefs) this.links.push(attachTracepoint(prog, at.tracefs[0], at.tracefs[1], { tracefs: this.tracefsPath }));
    }
    this.links.push(...this.activity.attach((prog) => attachRawTracepoint(prog, point(prog).raw), (name) => this.map(name)));
  }

  /** The scheduler (off-CPU, run-queue wait) and socket (bytes) programs: whether each runs, or why not. */
  activityGroups(): Record<ActivityGroup, GroupAvailability> {
    return this.activity.availability();
  }

  /** Stores the cgroup whose processes are counted: the map holds a reference to it from the descriptor. */
  private setCgroup(dir: string): void {
    const fd = openSync(dir, 'r');
    try {
      const key = Buffer.alloc(4);
      const value = Buffer.alloc(4);
      value.writeUInt32LE(fd);
      this.map('cgroup').update(key, value);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * `attach --cgroup`: counts these processes (the cgroup's, listed by the caller) and their current
   * and future descendants, except `exclude` (this process, if it is in the cgroup: it is marked so
   * the kernel never adds it). Processes that join the cgroup later are added by the kernel.
   */
  trackProcesses(pids: Iterable<number>, opts: { exclude?: number } = {}): void {
    this.live();
    if (opts.exclude !== undefined) {
      // Marked as the monitor (ARM): found in `tracked`, so never added as a cgroup member; not counted.
      for (const pid of pids) if (pid === opts.exclude) this.tracked.set(pid, State.ARM);
    }
    for (const pid of pids) {
      if (pid === opts.exclude) continue;
      for (const p of [pid, ...descendants(pid, opts.exclude)]) this.trackFound(p);
    }
    this.bumpEpoch();
  }

  /** Tracks a process found by walking /proc, unless the kernel already added it (forked meanwhile). */
  private trackFound(pid: number): void {
    try {
      // NOEXIST: a child the kernel already added keeps its entry.
      this.tracked.set(pid, State.COUNT | CHECK_ABI, UpdateFlag.NOEXIST);
    } catch (err) {
      if (err instanceof BpfError && err.code === 'EEXIST') return;
      throw err;
    }
    // An exited one (a zombie, or one that died since the walk) will see no exit event any more:
    // left in the set, its pid, once reused, would make a stranger count.
    if (!isRunning(pid)) this.tracked.delete(pid);
  }

  private setState(pid: number, state: number): void {
    this.live();
    this.tracked.set(pid, state);
    this.bumpEpoch();
  }

  private untrack(pid: number): void {
    this.tracked.delete(pid);
    this.bumpEpoch();
  }

  /**
   * Invalidates every CPU's cached view of `tracked`. The programs bump the epoch with an atomic add;
   * from here we cannot, so we write a random value with the top bit set: it differs from any value
   * the kernel side has produced or will produce from it, even if an add races with our write.
   */
  private bumpEpoch(): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(Stat.EPOCH);
    const value = randomBytes(8);
    value[7]! |= 0x80;
    this.map('stats').update(key, value);
  }

  /**
   * `attach PID`: count PID and all its current and future descendants. `alone`: PID only (its
   * children are not tracked). `exclude`: a process never tracked, nor its descendants (this one).
   */
  trackTree(pid: number, opts: { alone?: boolean; exclude?: number } = {}): void {
    // The root first: from then on the kernel adds every new child, so the walk below cannot miss one.
    // CHECK_ABI: the kernel learns at each one's next syscall whether it is a 32-bit process.
    this.setState(pid, State.COUNT | CHECK_ABI | (opts.alone ? NO_CHILDREN : 0));
    if (opts.alone) return this.activity.seedSleeping([pid]);
    const children = descendants(pid, opts.exclude);
    for (const child of children) this.trackFound(child);
    this.bumpEpoch();
    this.activity.seedSleeping([pid, ...children]);
  }

  /**
   * Counts every process that `pid` forks from now on (and their descendants), each from its own execve,
   * but not `pid` itself: e.g. a shell or a tracer (strace) whose commands are to be counted.
   */
  trackChildrenOf(pid: number): void {
    this.setState(pid, State.ARM);
  }

  /**
   * `run`: calls `spawnFn`, which must spawn exactly one child (by absolute path, so that exactly one
   * execve happens). The child is added in the kernel at fork and counted from its own execve on.
   * `alone`: its own children are not tracked.
   */
  spawnTracked<T>(spawnFn: () => T, opts: { alone?: boolean } = {}): T {
    this.setState(process.pid, State.ARM | (opts.alone ? CHILDREN_ALONE : 0));
    try {
      return spawnFn();
    } finally {
      // Node's spawn returns after the child has exec'd (or failed to); later forks of ours are not tracked.
      this.untrack(process.pid);
    }
  }

  /** Entries of exited processes taken out of the `counts` table so far (retireExited). */
  get retiredEntries(): number {
    return this.retired?.entries ?? 0;
  }

  /** Cells of exited processes given back to the kernel for reuse (retireExited, detail mode). */
  get recycledCells(): number {
    return this.retiredDetail?.recycled ?? 0;
  }

  /** Row slots of exited processes folded into the totals and no longer read (retireExited). */
  get retiredRows(): number {
    return this.retired?.retiredRows ?? 0;
  }

  /** Whether exited processes' final figures are taken in the kernel (see exits.ts). */
  get accountsExits(): boolean {
    return this.accounting;
  }

  /** Each program's runs and time in it, as the kernel counts them while kernel.bpf_stats_enabled is 1 (else 0). */
  programStats(): { name: string; runs: number; ns: number }[] {
    return this.programs.map((p) => {
      const i = p.info();
      return { name: p.name, runs: Number(i.runCnt), ns: Number(i.runTimeNs) };
    });
  }

  /** The kernel's ids of the loaded programs (what `bpftool prog show` lists). */
  programIds(): { name: string; id: number }[] {
    return this.programs.map((p) => ({ name: p.name, id: p.info().id }));
  }

  /**
   * Cumulative counts since open, exited processes included. The tracked set and the exits are read
   * first: a process they show gone made all its syscalls before the counts are read. `drainStacks`:
   * drains the stack tables (waiting out a grace period if need be) before anything, and switches them
   * just before the counts (SyscallSnapshot.stacks).
   */
  read(opts: { drainStacks?: boolean } = {}): SyscallSnapshot {
    const bySyscall = new Map<string, number>();
    const byProcess = new Map<number, Map<string, number>>();
    let total = 0;
    this.live();
    // A failed drain must not cost the counts: the capture keeps its error for readStacks().
    const capture = opts.drainStacks ? this.stackCapture : undefined;
    const stackEntries = capture && tryOrUndefined(() => capture.prepare({ wait: true }));
    // Batch reads: one bpf() call per map and sample, whatever the number of processes.
    const trackedKeys = this.tracked.map.rawEntries({ batchSize: READ_BATCH }).map(([k]) => k.readUInt32LE(0));
    const exits = this.readExits();
    const period = stackEntries && tryOrUndefined(() => capture!.flip());
    const stacks = period === undefined ? undefined : { entries: stackEntries!, period };
    const add = (tgid: number, nr: number, count: number) => {
      const name = this.nameOf(nr);
      total += count;
      bySyscall.set(name, (bySyscall.get(name) ?? 0) + count);
      let perProc = byProcess.get(tgid);
      if (!perProc) byProcess.set(tgid, (perProc = new Map()));
      perProc.set(name, (perProc.get(name) ?? 0) + count);
    };
    const counted = this.counts.entries({ batchSize: READ_BATCH });
    for (const [{ tgid, nr }, count] of counted) add(tgid, nr, count);
    const stats = this.readStats();
    const used = Math.min(stats[Stat.NEXT_SLOT]!, this.map('slots').spec.maxEntries);
    this.readRows(used, add);
    const tracked = trackedKeys.length;
    const live = new Set(trackedKeys);
    if (this.retired) {
      // What earlier reads retired, then this read's exited processes (already added above).
      for (const [nr, n] of this.retired.byNr) {
        const name = this.nameOf(nr);
        total += n;
        bySyscall.set(name, (bySyscall.get(name) ?? 0) + n);
      }
      for (const { nr, extra } of this.retired.retire(this.map('counts'), counted, live)) {
        const name = this.nameOf(nr);
        total += extra;
        bySyscall.set(name, (bySyscall.get(name) ?? 0) + extra);
      }
      const owners = used > 0 ? this.map('slots').mmap() : undefined;
      this.retired.endRows(used, (slot) => owners!.readUInt32LE(slot * 8), live);
    }
    const activity = this.activity.read(live);
    const nameOf = (nr: number) => this.nameOf(nr);
    let detail: ReturnType<typeof readTiming> | undefined;
    if (this.features.detail) {
      const rd = this.retiredDetail;
      rd?.begin(live);
      detail = readTiming(this.map('cells'), Math.min(stats[Stat.NEXT_CELL]!, this.map('cells').spec.maxEntries), this.map('errnos'), nameOf, rd);
      rd?.finish(detail.timing, nameOf);
    }
    return {
      ...(detail ? { timing: detail.timing, errorsByProcess: detail.errorsByProcess } : {}),
      ...(this.features.perThread ? { byThread: readThreads(this.map('thread_counts'), this.map('thread_names'), nameOf) } : {}),
      atMs: performance.now(),
      bySyscall,
      byProcess,
      total,
      losses: {
        syscallsUncounted: stats[Stat.DROPPED_COUNTS]!,
        processesUntracked: stats[Stat.DROPPED_TRACKED]!,
        exitsUnrecorded: stats[Stat.DROPPED_EXITS]!,
        returnsUntimed: stats[Stat.DROPPED_DETAILS]! + stats[Stat.DROPPED_INFLIGHT]!,
        errnosUncounted: stats[Stat.DROPPED_ERRNOS]!,
        threadCallsUncounted: stats[Stat.DROPPED_THREADS]!,
      },
      tracked,
      exits,
      activity,
      ...(stacks ? { stacks } : {}),
    };
  }

  /**
   * Every exits entry. An entry seen dead at the previous read is removed after this one: a thread
   * that decremented the group's live count before the last one may reach its tracepoint a moment
   * after it, and its figures must land first. Removed entries are reported with `final`.
   */
  private readExits(): ProcessExit[] {
    if (!this.accounting) return [];
    const exits = this.map('exits');
    const out: ProcessExit[] = [];
    const deadNow = new Set<string>();
    for (const [key, value] of exits.rawEntries({ batchSize: EXITS_BATCH })) {
      const id = key.toString('hex');
      const e = decodeExit(key, value, this.deadBefore.has(id));
      if (e.final) exits.remove(key);
      else if (e.dead) deadNow.add(id);
      out.push(e);
    }
    this.deadBefore = deadNow;
    return out;
  }

  /** The rows of the first `used` slots, read in place through their mappings. */
  private readRows(used: number, add: (tgid: number, nr: number, count: number) => void): void {
    if (used <= 0) return;
    const owners = this.map('slots').mmap();
    const rows = this.map('rows').mmap();
    // Slots are 4-byte values in 8-byte elements; counters stay far below 2^53, so the two 32-bit halves
    // are read as numbers instead of BigInts.
    const words = new Uint32Array(rows.buffer, rows.byteOffset, used * ROW * 2);
    const retired = this.retired;
    for (let slot = 0; slot < used; slot++) {
      // A retired row (its process long gone) is in the retired totals already.
      if (retired?.skipsSlot(slot)) continue;
      const tgid = owners.readUInt32LE(slot * 8);
      for (let i = 0, w = slot * ROW * 2; i < ROW; i++, w += 2) {
        if (words[w] === 0 && words[w + 1] === 0) continue;
        // The kernel may carry into the high half between our two reads: read high, low, high again.
        let hi = words[w + 1]!, lo = words[w]!;
        if (words[w + 1] !== hi) [hi, lo] = [words[w + 1]!, words[w]!];
        const count = lo + hi * 0x1_0000_0000;
        const nr = i < ROW_COMPAT ? i : ((i - ROW_COMPAT) | COMPAT_BIT) >>> 0;
        add(tgid, nr, count);
        retired?.rowCount(slot, nr, count);
      }
    }
  }

  /** Whether stacks are captured (TracerOptions.stacks). */
  get capturesStacks(): boolean {
    return this.stackCapture !== undefined;
  }

  /**
   * Moves the stacks counted in the kernel into cumulative totals here, so that the kernel's tables
   * need room for the stacks of one period between calls only (stacks-drain.ts). Call it regularly
   * (each sample, and at least every second or so). Returns the entries it took, per process, and the
   * period that ends here (for markStacks). A drain soon after another finds the other generation
   * still in its grace period and does nothing (its period is the previous one's); with `wait` it
   * waits that out (a few milliseconds). After a failure every later call (and readStacks) throws the
   * same error.
   */
  drainStacks(opts: { wait?: boolean } = {}): { entries: StackEntry[]; period: number } {
    this.live();
    return this.stackCapture?.step(opts) ?? { entries: [], period: 0 };
  }

  /**
   * readStacks({ at: 'mark' }) reports the stacks until the drain that returned `period` (a sample's:
   * its read({ drainStacks: true }), or a drainStacks()).
   */
  markStacks(period: number): void {
    this.live();
    this.stackCapture?.markAt(period);
  }

  /**
   * The stacks counted, with their frames as the kernel gives them (build id + file offset, or ip):
   * until now (the default; blocks for up to twice a grace period of a few milliseconds), or until the
   * period given to markStacks (`at: 'mark'`; until now when none was). Undefined when stacks are not
   * captured.
   * Symbolising is the caller's (src/symbols).
   */
  readStacks(opts: { at?: 'now' | 'mark' } = {}): StackSnapshot | undefined {
    this.live();
    return this.stackCapture?.read(opts);
  }

  /** How full the stack tables got between two drains (undefined when stacks are not captured). */
  stackTableUse(): StackTableUse | undefined {
    return this.stackCapture && { ...this.stackCapture.use };
  }

  private readStats(): number[] {
    const out = new Array<number>(STAT_SLOTS).fill(0);
    // The epoch slot holds a random 64-bit value: read the counters only.
    for (const [key, value] of this.map('stats').rawEntries()) {
      const slot = key.readUInt32LE(0);
      if (slot !== Stat.EPOCH) out[slot] = Number(value.readBigUInt64LE(0));
    }
    return out;
  }

  private nameOf(nr: number): string {
    let name = this.names.get(nr);
    if (name === undefined) this.names.set(nr, (name = nameOf(this.table, nr)));
    return name;
  }

  private map(name: string): BpfMap {
    const m = this.maps.get(name);
    if (!m) throw new Error(`the tracer has no map '${name}'`);
    return m;
  }

  private live(): void {
    if (this.closed) throw new Error('the tracer is closed');
  }

  /** Detaches and closes every fd (links, then programs, then maps). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.links.splice(0)) safely(() => l.close());
    for (const p of this.programs.splice(0)) safely(() => p.close());
    for (const m of this.maps.values()) safely(() => m.close());
    this.maps.clear();
    if (this.tracefsMountedByUs) safely(() => unmountTracefs(this.tracefsMountedByUs!));
  }
}

function tryOrUndefined<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof BpfError)) throw err;
  }
}

/** Whether pid exists and has not exited (a zombie or a dead task has exited). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && state !== 'x';
  } catch {
    return false;
  }
}

/** All current descendants of pid, from the kernel's children lists (threads are not children), without `exclude`'s subtree. */
export function descendants(pid: number, exclude?: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tasks) {
      let text = '';
      try {
        text = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of text.split(' ')) {
        const child = Number(c);
        if (child > 0 && child !== exclude) {
          out.push(child);
          queue.push(child);
        }
      }
    }
  }
  return out;
}
