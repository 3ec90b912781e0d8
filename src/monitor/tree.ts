// Samples a process and its whole descendant tree from /proc, and keeps the tree's cumulative totals
// (CPU, I/O, page faults) exact across exits. Two accounting models, one per source of exit figures
// (docs/metrics.md has the whole argument):
//
// - Exit accounting (the tracer's `exits`, with eBPF): every process contributes its OWN figures once:
//     total = Σ live members (own now − own at start) + Σ exited processes (final − own at start)
//   where "own" leaves out reaped children (they count for themselves) and a live process's exited
//   threads are added from the kernel's record. Nothing depends on who reaps whom, or when.
// - Without it, the kernel's own bookkeeping: a reaped child's CPU, faults and I/O move into its
//   reaper's cutime/cstime, cminflt/cmajflt and /proc/PID/io. So
//     total = Σ members' subtree values (own + reaped) − what predates monitoring
//             + what this process was credited for the processes it reaped (`run`, as subreaper)
//             + the last seen values of members whose value left the tree otherwise
//   Members are read parents first (in a cgroup, where a parent can join after its child, a child read
//   before a parent that then reaped is read again), and none after a reaper whose counters moved is
//   left unread as asleep: a reap between two reads can hide a value until its reaper is read again,
//   but never count it twice.
// Either way reported totals never decrease, and a sample's CPU use never exceeds the online CPUs.
import { availableParallelism } from 'node:os';
import { Discovery, readStat } from './discovery.js';
import {
  CPU, FdBudget, IO_SLOTS, MAJFLT, MINFLT, NC, RBYTES, RCHAR, WBYTES, WCHAR,
  closeMember, ignoresSigchld, isDead, newMember, readMemberStat, readMemberStatm, readRuntime, updateMember, type Member,
} from './member.js';
import { NetnsCounters } from './netns.js';
import { SCRATCH, closeProc, openProc, preadProc } from './procfs-fd.js';
import type { ProcStat } from './procfs-parse.js';
import { PROC_ROOT, readNetNs } from './procfs.js';
import { ReapedReader, reapedKeyOf } from './reaper.js';
import { bootTimeMs, clockTicksPerSec, pageSize } from './sysconf.js';
import type { AggregatedMetrics, Capability, ChildEntry, ExitFigures, KernelActivity, Metrics, ProcessRecord, SampleRecord, TreeRecord } from './types.js';
import { ActivityView } from './activity.js';
import { PsiReader } from './psi.js';

export interface ProcessTreeMonitorOptions {
  pid: number;
  /** Follow the descendants (default true). false: the root process alone, as SampleRecords. */
  includeChildren?: boolean;
  /** Counters from each process's start instead of from monitoring start (default false). */
  sinceProcessStart?: boolean;
  /**
   * Re-read the stat of processes known to be outside the tree this often, ms (default 2000). Between
   * rescans only new pids are read; a pid reused by a new child within that time is seen late.
   */
  rescanMs?: number;
  /** Read every member's stat and io at least this often, ms, even those that have not run (default 1000). */
  fullRefreshMs?: number;
  /** For tests: an alternative /proc. */
  procRoot?: string;
  /**
   * The root is a child of this process, started for monitoring (`run`): its counters count from its
   * start, and the figures the kernel credits to this process when it reaps the root (or, as child
   * subreaper, the tree's orphans) are the exact totals of what it reaped.
   */
  reapedByThisProcess?: boolean;
  /** This process adopts the tree's orphans (PR_SET_CHILD_SUBREAPER): its children join the tree. */
  adoptsOrphans?: boolean;
  /**
   * Exit accounting gives the final figures of exited processes: pass them to each sample() (the
   * tracer's exits, read just before the sample). Switches to the own-figures model above.
   */
  exitAccounting?: boolean;
  /** Pids never joined, nor their descendants (e.g. this process, when attached to its own shell). */
  exclude?: readonly number[];
  /** Descriptors members may hold open (default: a quarter of RLIMIT_NOFILE); beyond it, files are read by path. */
  fdBudget?: number;
  /**
   * Processes that join whatever their parent (`attach --cgroup`: the cgroup's processes), asked at every
   * sample; null once the source is gone. With it, `pid` may be 0 (no root process): the tree is never
   * over while the source exists, and ends when it is gone and no member is left.
   */
  joiners?: () => ReadonlySet<number> | null;
  /** Pressure stall information in each sample (default true). */
  psi?: boolean;
}

export interface SampleInput {
  nowMs?: number;
  /** With exitAccounting: the exit figures read (from the kernel) just before this sample. */
  exits?: readonly ExitFigures[];
  /**
   * How many processes of the tree the kernel still tracks (read with the exits): while any is alive
   * the tree has not ended, even if /proc has not shown it yet (a child forked just before its parent's
   * exit, an orphan on its way to its new parent).
   */
  kernelAlive?: number;
  /** Off-CPU time and socket bytes read (from the kernel) just before this sample. */
  activity?: KernelActivity;
}

/** A process that exited and is settled with its final figures; kept while late threads may still add. */
interface Settled {
  final: Float64Array;
  record: ProcessRecord;
  /** What the process had used before monitoring began (subtracted from its final figures). */
  base?: Float64Array;
}

export class ProcessTreeMonitor {
  readonly t0Ms: number;
  readonly pid: number;
  private readonly includeChildren: boolean;
  private readonly sinceStart: boolean;
  private readonly root: string;
  private readonly discovery: Discovery;
  private readonly hz = clockTicksPerSec();
  private readonly pageKb = pageSize() / 1024;
  private readonly maxCpuPercent = availableParallelism() * 100;
  private readonly budget: FdBudget;
  /** In insertion order, which is parents before children: the order members are read in. */
  private readonly members = new Map<number, Member>();
  /** Subtree model: B (what predates monitoring) and E (values that left the tree), per counter slot. */
  private readonly B = new Float64Array(NC);
  private readonly E = new Float64Array(NC);
  /** Exit model: the sum over settled processes of (final − own at start). */
  private readonly X = new Float64Array(NC);
  /** Exit model: the I/O of members' exited threads, from the kernel (pid -> io slots). */
  private readonly deadThreadIo = new Map<number, Float64Array>();
  /** Exit model: settled processes, by "pid:starttime". */
  private readonly settled = new Map<string, Settled>();
  /** Exit model: members gone from /proc whose exit record has not arrived: samples waited. */
  private readonly awaitingRecord = new Map<number, number>();
  /** The totals last reported: never decreasing. */
  private readonly reported = new Float64Array(NC);
  private prevReportedCpu = 0;
  private prevMs: number;
  private readonly net: NetnsCounters;
  private uptimeFd: number;
  private readonly fullRefreshMs: number;
  private lastFullMs = -Infinity;
  /** Samples taken. */
  private seq = 0;
  /** The last sample in which some member's reaped-children counters moved, or a member exited. */
  private reapSeen = -1;
  /** The member whose read last set reapSeen. */
  private lastReaper: Member | null = null;
  private readonly pageBytes = pageSize();
  private forceFull = false;
  /** Reused for members' stat reads (updateMember() copies what it keeps). */
  private readonly statScratch = {} as ProcStat;
  private finished = false;
  /** What the kernel credits us for reaping (subtree model, when the root is our own child), and its value at start. */
  private readonly reaper: ReapedReader | null;
  private readonly reaperBase: Float64Array | null;
  private readonly ownChild: boolean;
  private readonly exitModel: boolean;
  private readonly records: ProcessRecord[] = [];
  /** Every process seen in the tree (members joined, and processes known only from their exit). */
  private processesSeen = 0;
  private readonly bootMs = bootTimeMs();
  private readonly adopts: boolean;
  /** Processes of the tree settled as exited so far (any source). */
  private exitsSeen = 0;
  private readonly joiners?: () => ReadonlySet<number> | null;
  private readonly excluded: ReadonlySet<number>;
  /** What joiners() gave for this sample (null: the source is gone). */
  private joining: ReadonlySet<number> | null | undefined;
  /** Samples in a row with no live member while the kernel still tracked some. */
  private emptyButTracked = 0;
  /** Off-CPU time and socket bytes from the kernel (eBPF). */
  private readonly activity = new ActivityView();
  private readonly psi: PsiReader | undefined;

  constructor(opts: ProcessTreeMonitorOptions) {
    this.pid = opts.pid;
    this.includeChildren = opts.includeChildren ?? true;
    this.sinceStart = opts.sinceProcessStart ?? false;
    this.root = opts.procRoot ?? PROC_ROOT;
    this.exitModel = opts.exitAccounting ?? false;
    this.adopts = opts.adoptsOrphans ?? false;
    this.discovery = new Discovery(this.root, {
      rescanMs: opts.rescanMs ?? 2000,
      exclude: opts.exclude ? new Set(opts.exclude) : undefined,
      adopter: opts.adoptsOrphans ? process.pid : undefined,
    });
    this.budget = new FdBudget(opts.fdBudget);
    this.psi = opts.psi === false ? undefined : new PsiReader(opts.pid, this.root);
    this.fullRefreshMs = opts.fullRefreshMs ?? 1000;
    this.ownChild = opts.reapedByThisProcess ?? false;
    this.reaper = this.ownChild && this.includeChildren && !this.exitModel ? new ReapedReader(this.root, this.fullRefreshMs) : null;
    this.reaperBase = this.reaper ? Float64Array.from(this.reaper.read()) : null;
    this.t0Ms = Date.now();
    this.prevMs = this.t0Ms;
    this.joiners = opts.joiners;
    this.excluded = new Set(opts.exclude ?? []);
    this.joining = this.joiners?.();
    this.uptimeFd = openProc(`${this.root}/uptime`);
    this.net = new NetnsCounters(this.root, this.sinceStart);
    const st = readStat(`${this.root}/${this.pid}/stat`);
    // Our own child may already have exited (a zombie until Node reaps it): its counters still count.
    if (st && (!isDead(st) || this.ownChild)) {
      this.join(st, true, this.t0Ms);
      if (this.includeChildren) this.discover(this.t0Ms, true);
    } else if (this.joining && this.includeChildren) {
      this.discover(this.t0Ms, true);
    }
    this.updateTotals();
    this.prevReportedCpu = this.reported[CPU]!;
    this.net.refresh(this.liveMembers());
  }

  /** One sample; null once the root is gone and no descendant remains (descriptors are then closed). */
  sample(input?: SampleInput | number): TreeRecord | SampleRecord | null {
    if (this.finished) return null;
    const hadMembers = this.members.size > 0;
    const inp: SampleInput = typeof input === 'number' ? { nowMs: input } : input ?? {};
    const now = inp.nowMs ?? Date.now();
    const dtSecs = (now - this.prevMs) / 1000;
    this.activity.update(inp.activity);
    const uptime = this.uptimeSecs();
    // What the kernel credited to us comes first: a member reaped after this read is still in its reaper's
    // counters or ours at the next one, never in both.
    const reaped = this.reaper ? this.reaper.read(now) : null;

    // 1. Re-read members, parents first (insertion order); see refresh() for what each read skips.
    const readAll = this.forceFull || now - this.lastFullMs >= this.fullRefreshMs;
    // After an exit, orphans have a new ppid without running: their stat is read, not just statm.
    const statOfAll = this.forceFull;
    if (readAll) {
      this.lastFullMs = now;
      this.forceFull = false;
    }
    const seq = ++this.seq;
    const vanished: Member[] = [];
    // New children appear only if some member ran (fork takes CPU); otherwise /proc need not be listed.
    let anyRan = false;
    const idle = statOfAll ? 'stat' : readAll ? 'statm' : 'none';
    // Without exit accounting a process's final figures reach the sum through its reaper's counters.
    // A reaper comes before its descendants in insertion order (parents join first; an orphan goes to
    // an ancestor, or to us), so once one is seen to have moved in this pass, nothing after it is left
    // unread: a member it took in is never left in the sum beside it, whatever its ppid still says.
    // Nor is anything when we reaped (our credit was read first).
    let deferring = !readAll && (this.exitModel || !(this.reaper?.changed ?? false));
    // Read in this pass, up to the last member that reaped (cgroups only: see below).
    const readFirst: Member[] = [];
    let readBeforeReaper = 0;
    for (const m of this.members.values()) {
      if (this.awaitingRecord.has(m.pid)) continue;
      if (deferring && this.mayDefer(m, now)) continue;
      if (this.refresh(m, seq, now, idle, vanished)) anyRan = true;
      if (this.reapSeen === seq && !this.exitModel) deferring = false;
      if (this.joiners) {
        if (this.reapSeen === seq && this.lastReaper === m) readBeforeReaper = readFirst.length;
        readFirst.push(m);
      }
    }
    // In a cgroup a parent can join after its child (nothing is deferred there without eBPF, see
    // mayDefer): a child read before a parent that then reaped it is read again, after it.
    for (let i = 0; i < readBeforeReaper; i++) {
      const m = readFirst[i]!;
      if (!vanished.includes(m) && this.refresh(m, seq, now, 'none', vanished)) anyRan = true;
    }
    const exitsBefore = this.exitsSeen;
    if (this.exitModel) this.applyExits(inp.exits ?? [], vanished, now);
    else if (vanished.length > 0) this.settleVanished(vanished, now);
    // Orphans of vanished members get a new ppid without running: read everyone next time.
    if (vanished.length > 0) this.forceFull = true;

    // 2. New processes. A process of the tree exited (seen or not): its orphans may now have another
    //    parent (this process, when it adopts them), so pids known outside the tree are read again.
    const someExited = vanished.length > 0 || this.exitsSeen !== exitsBefore;
    if (this.joiners) this.joining = this.joiners();
    const newJoiner = this.joining ? this.hasNewJoiner(this.joining) : false;
    if (this.includeChildren && (anyRan || someExited || newJoiner || (this.adopts && this.liveCount() === 0)) && (hadMembers || this.adopts || newJoiner)) {
      this.discover(now, false, someExited);
    }

    // 3. The tree has ended when no member runs and none waits for its final figures: the root of `run`
    //    (subtree model) until we have reaped it, an exited member (exit model) until its record came.
    const liveMembers = this.liveMembers();
    const live = liveMembers.length;
    const awaitingReap = this.reaperBase !== null && this.members.has(this.pid);
    // The kernel's count is trusted for a few samples only: an entry it never removed (a missed exit)
    // must not keep monitoring open forever once /proc, rescanned, shows nothing.
    const kernelSays = (inp.kernelAlive ?? 0) > 0 && live === 0 && this.emptyButTracked++ < 3;
    if (live > 0) this.emptyButTracked = 0;
    const ending = live === 0 && !awaitingReap && this.awaitingRecord.size === 0 && !kernelSays && (!this.joiners || this.joining === null);
    // One last record when it carries final figures the previous one could not have (exit records,
    // or what the kernel credited us for the root); else the previous record stands as the last.
    const finalFigures = this.exitModel || (this.reaperBase !== null && vanished.some((m) => m.pid === this.pid));
    if (ending && (!hadMembers || !finalFigures)) {
      this.close();
      return null;
    }
    this.updateTotals(reaped);
    const cpuDelta = this.reported[CPU]! - this.prevReportedCpu;
    this.prevReportedCpu = this.reported[CPU]!;
    this.prevMs = now;
    const net = this.net.refresh(liveMembers);
    const cpuUsage = (secs: number) => (dtSecs > 0 ? round2(Math.min(this.maxCpuPercent, (Math.max(0, secs) / dtSecs) * 100)) : 0);

    if (!this.includeChildren) {
      const m = this.members.get(this.pid);
      // Gone: the kernel's figures of its whole life still stand (they are cumulative).
      const metrics = m ? this.metricsOf(m, now, dtSecs, uptime) : { ...this.emptyMetrics(now), ...this.activity.of(this.pid) };
      metrics.cpu_usage = cpuUsage(cpuDelta);
      const psi = this.psi?.read();
      if (ending) this.close();
      return { kind: 'sample', ...metrics, cpu_time_secs: this.reported[CPU]!, ...(psi ? { psi } : {}) };
    }

    let parent: Metrics | null = null;
    const children: ChildEntry[] = [];
    let rss = 0;
    let vms = 0;
    let threads = 0;
    let maxUptime = 0;
    for (const m of liveMembers) {
      const metrics = this.metricsOf(m, now, dtSecs, uptime);
      if (m.pid === this.pid) parent = metrics;
      else children.push({ pid: m.pid, command: m.command, metrics });
      rss += metrics.mem_rss_kb;
      vms += metrics.mem_vms_kb;
      threads += metrics.thread_count;
      if (metrics.uptime_secs > maxUptime) maxUptime = metrics.uptime_secs;
    }
    const r = this.reported;
    const aggregated: AggregatedMetrics = {
      ts_ms: now,
      cpu_usage: cpuUsage(cpuDelta),
      mem_rss_kb: rss,
      mem_vms_kb: vms,
      disk_read_bytes: r[RBYTES]!,
      disk_write_bytes: r[WBYTES]!,
      syscall_read_bytes: r[RCHAR]!,
      syscall_write_bytes: r[WCHAR]!,
      page_faults_minor: r[MINFLT]!,
      page_faults_major: r[MAJFLT]!,
      thread_count: threads,
      uptime_secs: maxUptime,
      netns_rx_bytes: net.rx,
      netns_tx_bytes: net.tx,
      process_count: live,
      cpu_time_secs: round6(r[CPU]!),
      ...this.activity.totals(),
    };
    const psi = this.psi?.read();
    if (psi) aggregated.psi = psi;
    if (ending) this.close();
    return { kind: 'tree', ts_ms: now, parent, children, aggregated };
  }

  /** Process records of the processes that exited since the last call (each process once). */
  takeProcessRecords(): ProcessRecord[] {
    const out = this.records.splice(0);
    // The kernel's time and socket figures, as of the latest read (they are final once it has exited).
    for (const r of out) this.activity.fill(r, this.bootMs);
    return out;
  }

  /** Whether pressure stall information is readable, and from where. */
  psiCapability(): Capability {
    return this.psi?.capability() ?? { available: false, reason: 'turned off' };
  }

  /** Every process seen in the tree so far, the short-lived ones known only from their exit included. */
  get processCount(): number {
    return this.processesSeen;
  }

  /** Pids currently tracked (live and zombie members). */
  pids(): number[] {
    return [...this.members.keys()];
  }

  /**
   * Releases the descriptors held open on /proc files. Processes still running get a record with
   * their figures so far ('running'); settled ones not yet final get theirs as they stand.
   */
  close(): void {
    if (this.finished) return;
    this.finished = true;
    for (const s of this.settled.values()) this.records.push(s.record);
    this.settled.clear();
    const now = Date.now();
    for (const m of this.members.values()) {
      this.records.push(this.recordOf(m, { figures: this.awaitingRecord.has(m.pid) || m.zombie ? 'proc' : 'running', exitMs: null, now }));
      closeMember(m, this.budget);
    }
    this.members.clear();
    closeProc(this.uptimeFd);
    this.uptimeFd = -1;
    this.net.close();
    this.psi?.close();
    this.reaper?.close();
  }

  // ------------------------------------------------------------ internals

  /**
   * Whether a member may go unread in this sample: single-threaded, not the root, and it has not run
   * for a while: one that has not run for S is read again within S/4 (and at every full refresh). A
   * sleeper then costs one read a second instead of ten, and a burst after a long sleep is seen at
   * most a quarter of that sleep late (never more than fullRefreshMs): its counters cannot have moved
   * while it slept, whether it woke is all we learn late.
   *
   * Without exit accounting (see sample() for when nothing is deferred): one whose parent is outside
   * the tree keeps its last read figures when it exits, so it is read at every sample; and in a cgroup,
   * where a parent may join after its child, the order that makes deferring safe does not hold.
   */
  private mayDefer(m: Member, now: number): boolean {
    if (m.threads !== 1 || m.zombie || m.pid === this.pid) return false;
    if (now - m.checkedMs >= (now - m.ranMs) / 4) return false;
    if (this.exitModel) return true;
    return !this.joiners && (this.members.has(m.ppid) || (m.ppid === process.pid && this.reaper !== null));
  }

  /**
   * Reads one member; true if it ran. A single-threaded process whose run time (schedstat, ns) has not
   * moved has not run: its stat and io cannot have changed. `idle` is what is read of such a one: on a
   * full refresh its statm (reclaim can shrink a sleeper's RSS) or, after an exit in the tree, its stat
   * (which has its new ppid).
   */
  private refresh(m: Member, seq: number, now: number, idle: 'none' | 'statm' | 'stat', vanished: Member[]): boolean {
    let ran = true;
    if (m.threads === 1 && !m.zombie) {
      const rt = readRuntime(m, this.root);
      if (rt === 'gone') {
        this.mayHaveReaped(m, seq);
        vanished.push(m);
        return false;
      }
      m.checkedMs = now;
      ran = rt !== m.runtime;
      if (rt !== null) m.runtime = rt;
      if (ran) {
        m.ranMs = now;
      } else if (idle === 'none') {
        return false;
      } else if (idle === 'statm' && readMemberStatm(m, this.root, this.pageBytes)) {
        return false;
      } // else stat (statm unreadable: stat tells whether it is gone)
    } else if (m.zombie) {
      ran = false;
    }
    // (Multi-threaded: the main thread's run time does not cover the others, so it is read each time.)
    const wasZombie = m.zombie;
    const st = readMemberStat(m, this.root, this.statScratch);
    if (st === 'gone') {
      this.mayHaveReaped(m, seq);
      vanished.push(m);
    } else if (st) {
      const key = reapedKeyOf(st);
      if (key !== m.reapedKey) {
        m.reapedKey = key;
        this.mayHaveReaped(m, seq);
      }
      updateMember(m, st, this.includeChildren, this.exitModel ? 'own' : 'whole', this.root, this.hz);
      // Exited: its children were re-parented without running; their stat (ppid) is read next time.
      if (m.zombie && !wasZombie) {
        this.mayHaveReaped(m, seq);
        this.forceFull = true;
      }
    } else {
      this.mayHaveReaped(m, seq); // unreadable: assume the worst
    }
    return ran;
  }

  /** Its children may have been reaped by it, or re-parented (it exited), in this sample. */
  private mayHaveReaped(m: Member, seq: number): void {
    this.reapSeen = seq;
    this.lastReaper = m;
  }

  private liveCount(): number {
    let live = 0;
    for (const m of this.members.values()) if (!m.zombie && !this.awaitingRecord.has(m.pid)) live++;
    return live;
  }

  private uptimeSecs(): number {
    if (this.uptimeFd < 0) return 0;
    const n = preadProc(this.uptimeFd);
    return n > 0 ? parseFloat(SCRATCH.toString('latin1', 0, n)) || 0 : 0;
  }

  /**
   * Exit model: settles the processes whose exit the kernel recorded, adds what late threads added
   * since, and takes live members' exited-thread I/O. A member gone from /proc without a record waits
   * one more sample for it (the record is taken before /proc is read, so it may lag by one), then
   * falls back to its last seen figures (the record was lost: the exit table was full).
   */
  private applyExits(exits: readonly ExitFigures[], vanished: Member[], now: number): void {
    for (const e of exits) {
      const ticks = this.ticksOf(e.startBootNs);
      const key = `${e.pid}:${ticks}`;
      const prior = this.settled.get(key);
      if (prior) {
        // Late threads: add what they brought; a final entry will not change again.
        const figures = finalOf(e);
        for (let k = 0; k < NC; k++) this.X[k]! += Math.max(0, figures[k]! - prior.final[k]!);
        prior.final = figures;
        updateRecordFigures(prior.record, e, this.pageKb, prior.base);
        if (e.final) {
          this.records.push(prior.record);
          this.settled.delete(key);
        }
        continue;
      }
      const m = this.members.get(e.pid);
      const member = m && m.starttime === ticks ? m : undefined;
      if (e.dead) this.settle(e, member, key, now);
      else if (member) this.deadThreadIo.set(member.pid, finalOf(e, true));
    }
    // Exited members whose record is not in this read (it is taken just before /proc): wait one
    // sample; a second without it means it was lost (the exit table was full): last seen figures.
    for (const m of vanished) if (this.members.has(m.pid)) this.awaitingRecord.set(m.pid, 0);
    for (const m of this.members.values()) if (m.zombie && !this.awaitingRecord.has(m.pid)) this.awaitingRecord.set(m.pid, 0);
    for (const [pid, waited] of this.awaitingRecord) {
      const m = this.members.get(pid);
      if (!m) this.awaitingRecord.delete(pid);
      else if (waited >= 2) this.fallBack(m, now);
      else this.awaitingRecord.set(pid, waited + 1);
    }
  }

  private settle(e: ExitFigures, m: Member | undefined, key: string, now: number): void {
    this.exitsSeen++;
    const final = finalOf(e);
    const base = m ? Float64Array.from(m.base) : undefined;
    for (let k = 0; k < NC; k++) this.X[k]! += Math.max(0, final[k]! - (base?.[k] ?? 0));
    const record = m
      ? this.recordOf(m, { figures: 'kernel', exitMs: this.bootMs + e.exitBootNs / 1e6, now })
      : this.unseenRecord(e);
    updateRecordFigures(record, e, this.pageKb, base);
    if (m) {
      // It exec'd after we last read it (seen between fork and exec, with its parent's command line):
      // the kernel's name is the program it ran.
      if (e.comm && e.comm !== m.comm.slice(0, 15)) record.command = e.comm;
      record.peak_mem_rss_kb = Math.max(record.peak_mem_rss_kb, m.peakRssPages * this.pageKb);
      this.drop(m);
    } else {
      this.processesSeen++;
    }
    if (e.final) this.records.push(record);
    else this.settled.set(key, { final, record, base });
  }

  /** A member whose exit figures never came: it counts as last seen, in X. */
  private fallBack(m: Member, now: number): void {
    this.exitsSeen++;
    const dead = this.deadThreadIo.get(m.pid);
    for (let k = 0; k < NC; k++) this.X[k]! += Math.max(0, m.own[k]! + (dead?.[k] ?? 0) - m.base[k]!);
    this.records.push(this.recordOf(m, { figures: 'proc', exitMs: now, now }));
    this.drop(m);
  }

  private drop(m: Member): void {
    closeMember(m, this.budget);
    this.members.delete(m.pid);
    this.deadThreadIo.delete(m.pid);
    this.awaitingRecord.delete(m.pid);
  }

  /**
   * Subtree model: accounts for members that have gone, and drops them. A vanished member's value moved
   * to its reaper. Follow its parents through the members that vanished too: ending at a member still
   * present, the value was absorbed (S keeps it); ending at this process (`run`: the root and, as
   * subreaper, every orphan) it is in what the kernel credited us; ending elsewhere, it left the tree:
   * keep its last seen value in E. A parent's last read predates this child's reap (the child was still
   * present then), so nothing is counted twice.
   */
  private settleVanished(vanished: Member[], now: number): void {
    const gone = new Set(vanished.map((m) => m.pid));
    // Siblings that exited together share a reaper: read its SIGCHLD disposition once.
    const ignoring = new Map<number, boolean>();
    for (const m of vanished) {
      let p = m.ppid;
      for (let hops = 0; gone.has(p) && hops < 10_000; hops++) p = this.members.get(p)!.ppid;
      let lost: boolean;
      // As child subreaper we adopt the orphans: one whose parent is no member any more (it exited
      // in an earlier sample, its ppid here is stale) was re-parented to us, or to a member subreaper.
      // (A zombie parent reaps nobody either: its children were re-parented when it exited.)
      const reaper = this.members.get(p);
      const adopted = this.adopts && (!reaper || reaper.zombie);
      if (this.reaperBase && (p === process.pid || m.pid === this.pid || adopted)) lost = false;
      else {
        lost = !reaper || gone.has(p);
        if (!lost || this.reaperBase) {
          // A parent that ignores SIGCHLD has its children reaped by the kernel without taking their counters.
          let ign = ignoring.get(p);
          if (ign === undefined) ignoring.set(p, (ign = ignoresSigchld(p, this.root)));
          lost = lost || ign;
        }
      }
      if (lost) for (let k = 0; k < NC; k++) this.E[k]! += m.full[k]!;
      this.exitsSeen++;
      this.records.push(this.recordOf(m, { figures: 'proc', exitMs: now, now }));
    }
    for (const m of vanished) {
      closeMember(m, this.budget);
      this.members.delete(m.pid);
    }
  }

  /** null: it exited since it was found (not the root), and it is left to its reaper's counters. */
  private join(st: ProcStat, initial: boolean, now: number): Member | null {
    const parent = this.members.get(st.ppid);
    const m = newMember(st, this.root, this.budget, now);
    m.netns = readNetNs(st.pid, this.root) ?? parent?.netns ?? 'unknown';
    // Run time first, then stat again: the counters kept must be at least as new as the run time that
    // gates the next re-read (the discovery read may predate an exec).
    const rt = readRuntime(m, this.root);
    m.runtime = typeof rt === 'number' ? rt : -1;
    const again = readMemberStat(m, this.root);
    if (again === 'gone' && !this.exitModel && st.pid !== this.pid) {
      // Reaped since discovery read it, perhaps by a parent that joined just before with its cutime
      // (the exit model counts it from its exit record instead).
      closeMember(m, this.budget);
      this.processesSeen++;
      return null;
    }
    if (again && again !== 'gone') st = again;
    updateMember(m, st, this.includeChildren, this.exitModel ? 'own' : 'whole', this.root, this.hz);
    m.reapedKey = reapedKeyOf(st);
    // History before monitoring start is excluded for the processes found at start. Anything found
    // later was forked after the initial listing (a process existing then would have been listed),
    // so all of its counters belong to the monitored period.
    // A root we started ourselves (`run`) has no history before monitoring: all of it counts.
    // In `run` the whole tree started under monitoring (its root is our child): nothing is history.
    const excludeHistory = !this.sinceStart && initial && !this.ownChild;
    if (excludeHistory) {
      m.base.set(m.own);
      for (let k = 0; k < NC; k++) this.B[k]! += m.full[k]!;
    }
    // CPU % of a process first seen now: since the previous sample if it is new, else unknown (0).
    m.prevOwnCpu = excludeHistory ? m.own[CPU]! : 0;
    this.members.set(m.pid, m);
    this.processesSeen++;
    return m;
  }

  private hasNewJoiner(joining: ReadonlySet<number>): boolean {
    for (const pid of joining) if (!this.members.has(pid) && !this.excluded.has(pid)) return true;
    return false;
  }

  /** Joins the processes whose parent is a member (or that are joiners), transitively; `initial` marks the constructor's pass. */
  private discover(now: number, initial: boolean, rescan = false): void {
    const joining = this.joining ?? undefined;
    for (const st of this.discovery.find(this.members, now, rescan, joining)) {
      // In the exit model, a process already settled from its exit record is not a member again.
      if (this.exitModel && this.settled.has(`${st.pid}:${st.starttime}`)) continue;
      // A process that joined (moved into the cgroup) after running elsewhere: what it did before
      // is not the target's. One started since the previous sample is all the target's.
      const history = initial || (joining?.has(st.pid) === true && this.bootMs + (st.starttime / this.hz) * 1000 < this.prevMs);
      const m = this.join(st, history, now);
      if (m && !m.zombie) this.net.track(m.netns, m.pid);
    }
  }

  private liveMembers(): Member[] {
    const out: Member[] = [];
    for (const m of this.members.values()) if (!m.zombie && !this.awaitingRecord.has(m.pid)) out.push(m);
    return out;
  }

  private updateTotals(reaped: Float64Array | null = null): void {
    for (let k = 0; k < NC; k++) {
      let v: number;
      if (this.exitModel) {
        v = this.X[k]!;
        for (const m of this.members.values()) v += m.own[k]! - m.base[k]!;
        if (IO_SLOTS.includes(k as 1)) for (const io of this.deadThreadIo.values()) v += io[k]!;
      } else {
        v = -this.B[k]! + this.E[k]!;
        for (const m of this.members.values()) v += m.full[k]!;
        if (reaped && this.reaperBase) v += reaped[k]! - this.reaperBase[k]!;
      }
      if (v > this.reported[k]!) this.reported[k] = v;
    }
  }

  private ticksOf(bootNs: number): number {
    return Math.floor(bootNs / (1e9 / this.hz));
  }

  private recordOf(m: Member, o: { figures: ProcessRecord['figures']; exitMs: number | null; now: number }): ProcessRecord {
    const dead = this.deadThreadIo.get(m.pid);
    const own = (k: number) => Math.max(0, m.own[k]! + (dead && IO_SLOTS.includes(k as 1) ? dead[k]! : 0) - m.base[k]!);
    return {
      kind: 'process',
      pid: m.pid,
      ppid: m.ppid,
      command: m.command,
      start_ms: Math.round(this.bootMs + (m.starttime / this.hz) * 1000),
      exit_ms: o.exitMs === null ? null : Math.round(o.exitMs),
      exit_code: null,
      signal: null,
      cpu_time_secs: round6(own(CPU)),
      peak_mem_rss_kb: m.peakRssPages * this.pageKb,
      disk_read_bytes: own(RBYTES),
      disk_write_bytes: own(WBYTES),
      syscall_read_bytes: own(RCHAR),
      syscall_write_bytes: own(WCHAR),
      page_faults_minor: own(MINFLT),
      page_faults_major: own(MAJFLT),
      figures: o.figures,
    };
  }

  private unseenRecord(e: ExitFigures): ProcessRecord {
    return {
      kind: 'process',
      pid: e.pid,
      ppid: e.ppid,
      command: e.comm,
      start_ms: Math.round(this.bootMs + e.startBootNs / 1e6),
      exit_ms: Math.round(this.bootMs + e.exitBootNs / 1e6),
      exit_code: null,
      signal: null,
      cpu_time_secs: 0,
      peak_mem_rss_kb: 0,
      disk_read_bytes: 0,
      disk_write_bytes: 0,
      syscall_read_bytes: 0,
      syscall_write_bytes: 0,
      page_faults_minor: 0,
      page_faults_major: 0,
      figures: 'kernel',
    };
  }

  private emptyMetrics(now: number): Metrics {
    return {
      ts_ms: now, cpu_usage: 0, mem_rss_kb: 0, mem_vms_kb: 0, disk_read_bytes: 0, disk_write_bytes: 0,
      syscall_read_bytes: 0, syscall_write_bytes: 0, page_faults_minor: 0, page_faults_major: 0,
      thread_count: 0, uptime_secs: 0, netns_rx_bytes: 0, netns_tx_bytes: 0,
    };
  }

  private metricsOf(m: Member, now: number, dtSecs: number, uptime: number): Metrics {
    const cpuSecs = m.own[CPU]! - m.prevOwnCpu;
    m.prevOwnCpu = m.own[CPU]!;
    const n = this.net.of(m.netns);
    const dead = this.deadThreadIo.get(m.pid);
    const io = (k: number) => m.own[k]! + (dead?.[k] ?? 0) - m.base[k]!;
    const metrics: Metrics = {
      ts_ms: now,
      cpu_usage: dtSecs > 0 ? round2(Math.min(this.maxCpuPercent, (Math.max(0, cpuSecs) / dtSecs) * 100)) : 0,
      mem_rss_kb: m.rssPages * this.pageKb,
      mem_vms_kb: Math.floor(m.vsize / 1024),
      disk_read_bytes: io(RBYTES),
      disk_write_bytes: io(WBYTES),
      syscall_read_bytes: io(RCHAR),
      syscall_write_bytes: io(WCHAR),
      page_faults_minor: m.own[MINFLT]! - m.base[MINFLT]!,
      page_faults_major: m.own[MAJFLT]! - m.base[MAJFLT]!,
      thread_count: m.threads,
      uptime_secs: Math.max(0, round2(uptime - m.starttime / this.hz)),
      cpu_core: m.processor,
      netns_rx_bytes: n.rx,
      netns_tx_bytes: n.tx,
    };
    // (Every member, every sample: the kernel's figures are merged only when its programs run.)
    if (this.activity.active) {
      Object.assign(metrics, this.activity.of(m.pid, (m.starttime / this.hz) * 1e9));
      const threads = this.activity.threadsOf(m.pid);
      if (threads) metrics.threads = threads;
    }
    return metrics;
  }
}

/** The counters of an exit record, by slot (ioOnly: its I/O alone, for a thread of a live process). */
function finalOf(e: ExitFigures, ioOnly = false): Float64Array {
  const f = new Float64Array(NC);
  f[RCHAR] = e.rchar;
  f[WCHAR] = e.wchar;
  f[RBYTES] = e.readBytes;
  f[WBYTES] = e.writeBytes;
  if (ioOnly) return f;
  f[CPU] = e.cpuSecs;
  f[MINFLT] = e.minflt;
  f[MAJFLT] = e.majflt;
  return f;
}

function updateRecordFigures(r: ProcessRecord, e: ExitFigures, pageKb: number, base?: Float64Array): void {
  const b = (k: number) => base?.[k] ?? 0;
  r.cpu_time_secs = round6(Math.max(0, e.cpuSecs - b(CPU)));
  r.disk_read_bytes = Math.max(0, e.readBytes - b(RBYTES));
  r.disk_write_bytes = Math.max(0, e.writeBytes - b(WBYTES));
  r.syscall_read_bytes = Math.max(0, e.rchar - b(RCHAR));
  r.syscall_write_bytes = Math.max(0, e.wchar - b(WCHAR));
  r.page_faults_minor = Math.max(0, e.minflt - b(MINFLT));
  r.page_faults_major = Math.max(0, e.majflt - b(MAJFLT));
  r.peak_mem_rss_kb = Math.max(r.peak_mem_rss_kb, e.maxRssPages * pageKb);
  r.exit_code = e.exitCode;
  r.signal = e.signal;
  if (e.comm && !r.command) r.command = e.comm;
  r.figures = 'kernel';
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
