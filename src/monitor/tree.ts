// Samples a process and its whole descendant tree from /proc.
//
// Exited children are not lost: when a process is reaped, the kernel adds its CPU time to the
// reaper's cutime/cstime and its I/O to the reaper's /proc/PID/io. So for each counter the tree
// total is S - B + E, where
//   S = sum over tracked members (live or zombie) of their "subtree" value (own + reaped children),
//   B = the part of S that predates monitoring (0 with sinceProcessStart),
//   E = last seen values of members that were reaped by a process outside the tree.
// A member reaped by another member moves its value into that member's counters: S is unchanged.
// Members are read parents-first, so a reap between two reads can only hide a value for one sample
// (never count it twice); reported totals are clamped to be monotonic. See docs/metrics.md.
import { Discovery } from './discovery.js';
import {
  CPU,
  MAJFLT,
  MINFLT,
  NC,
  RBYTES,
  RCHAR,
  WBYTES,
  WCHAR,
  closeMember,
  ignoresSigchld,
  isDead,
  readRuntime,
  readStatFd,
  updateMember,
  type Member,
} from './member.js';
import { NetnsCounters } from './netns.js';
import { SCRATCH, closeProc, openProc, preadProc } from './procfs-fd.js';
import type { ProcStat } from './procfs-parse.js';
import { PROC_ROOT, readNetNs } from './procfs.js';
import { reapedTotals } from './reaper.js';
import { clockTicksPerSec, pageSize } from './sysconf.js';
import type { AggregatedMetrics, ChildEntry, Metrics, SampleRecord, TreeRecord } from './types.js';

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
   * start, and when it is reaped its final totals are read from this process's own counters (see
   * reaper.ts) instead of being cut off at the last sample; one last record (process_count 0) carries them.
   */
  reapedByThisProcess?: boolean;
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
  /** In insertion order, which is parents before children: the order members are read in. */
  private readonly members = new Map<number, Member>();
  /** B and E of the header comment, per counter slot. */
  private readonly B = new Float64Array(NC);
  private readonly E = new Float64Array(NC);
  /** The totals last reported: S - B + E, never decreasing. */
  private readonly reported = new Float64Array(NC);
  private prevReportedCpu = 0;
  private prevMs: number;
  private readonly net: NetnsCounters;
  private uptimeFd: number;
  private readonly fullRefreshMs: number;
  private lastFullMs = -Infinity;
  private forceFull = false;
  /** Reused for members' stat reads (updateMember() copies what it keeps). */
  private readonly statScratch = {} as ProcStat;
  private finished = false;
  /** reapedTotals() at start, when the root is our own child. */
  private readonly reaperBase: Float64Array | null;
  private readonly ownChild: boolean;

  constructor(opts: ProcessTreeMonitorOptions) {
    this.pid = opts.pid;
    this.includeChildren = opts.includeChildren ?? true;
    this.sinceStart = opts.sinceProcessStart ?? false;
    this.root = opts.procRoot ?? PROC_ROOT;
    this.discovery = new Discovery(this.root, opts.rescanMs ?? 2000);
    this.fullRefreshMs = opts.fullRefreshMs ?? 1000;
    this.ownChild = opts.reapedByThisProcess ?? false;
    this.reaperBase = opts.reapedByThisProcess && this.includeChildren ? reapedTotals(this.root) : null;
    this.t0Ms = Date.now();
    this.prevMs = this.t0Ms;
    this.uptimeFd = openProc(`${this.root}/uptime`);
    this.net = new NetnsCounters(this.root, this.sinceStart);
    const fd = openProc(`${this.root}/${this.pid}/stat`);
    const st = fd >= 0 ? readStatFd(fd) : null;
    // Our own child may already have exited (a zombie until Node reaps it): its counters still count.
    if (st && st !== 'gone' && (!isDead(st) || this.reaperBase)) {
      this.join(st, fd, true);
      if (this.includeChildren) this.discover(this.t0Ms, true);
    } else {
      closeProc(fd);
    }
    this.updateTotals();
    this.prevReportedCpu = this.reported[CPU]!;
    this.net.refresh(this.liveMembers());
  }

  /** One sample; null once the root is gone and no descendant remains (descriptors are then closed). */
  sample(nowMs?: number): TreeRecord | SampleRecord | null {
    if (this.finished) return null;
    const now = nowMs ?? Date.now();
    const dtSecs = (now - this.prevMs) / 1000;
    const uptime = this.uptimeSecs();

    // 1. Re-read members, parents first (insertion order). A single-threaded process whose run time
    //    (schedstat, ns) has not moved has not run: its counters cannot have changed, so its stat and io
    //    are skipped, except on a periodic full refresh (RSS can shrink under reclaim while it sleeps).
    const readAll = this.forceFull || now - this.lastFullMs >= this.fullRefreshMs;
    if (readAll) {
      this.lastFullMs = now;
      this.forceFull = false;
    }
    const vanished: Member[] = [];
    // New children appear only if some member ran (fork takes CPU); otherwise /proc need not be listed.
    let anyRan = false;
    for (const m of this.members.values()) {
      if (m.schedFd >= 0 && m.threads === 1 && !m.zombie) {
        const rt = readRuntime(m.schedFd);
        if (rt === 'gone') {
          vanished.push(m);
          continue;
        }
        const unchanged = rt === m.runtime;
        if (rt !== null) m.runtime = rt;
        if (!unchanged) anyRan = true;
        if (unchanged && !readAll) continue;
      } else if (!m.zombie) {
        // Multi-threaded (the main thread's run time does not cover the others) or no schedstat: assume it ran.
        anyRan = true;
      }
      const st = readStatFd(m.statFd, this.statScratch);
      if (st === 'gone') vanished.push(m);
      else if (st) updateMember(m, st, this.includeChildren, this.root);
    }
    if (vanished.length > 0) {
      this.settleVanished(vanished);
      // Orphans of vanished members get a new ppid without running: read everyone next time.
      this.forceFull = true;
    }
    // 2. New processes.
    if (this.includeChildren && this.members.size > 0 && anyRan) this.discover(now, false);

    let live = 0;
    for (const m of this.members.values()) if (!m.zombie) live++;
    // The tree is gone. With the root our child, wait until we have reaped it: then one last record
    // carries its final totals.
    const awaitingReap = this.reaperBase !== null && this.members.has(this.pid);
    const ending = live === 0 && !awaitingReap;
    if (ending && !(this.reaperBase && vanished.some((m) => m.pid === this.pid))) {
      this.close();
      return null;
    }
    this.updateTotals();
    const cpuDelta = this.reported[CPU]! - this.prevReportedCpu;
    this.prevReportedCpu = this.reported[CPU]!;
    this.prevMs = now;
    const net = this.net.refresh(this.liveMembers());

    if (!this.includeChildren) {
      const metrics = this.metricsOf(this.members.get(this.pid)!, now, dtSecs, uptime);
      return { kind: 'sample', ...metrics, cpu_time_secs: this.reported[CPU]! / this.hz };
    }

    let parent: Metrics | null = null;
    const children: ChildEntry[] = [];
    let rss = 0;
    let vms = 0;
    let threads = 0;
    let maxUptime = 0;
    for (const m of this.members.values()) {
      if (m.zombie) continue;
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
      cpu_usage: dtSecs > 0 ? round2((cpuDelta / this.hz / dtSecs) * 100) : 0,
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
      cpu_time_secs: r[CPU]! / this.hz,
    };
    if (ending) this.close();
    return { kind: 'tree', ts_ms: now, parent, children, aggregated };
  }

  /** Pids currently tracked (live and zombie members). */
  pids(): number[] {
    return [...this.members.keys()];
  }

  /** Releases the descriptors held open on /proc files. */
  close(): void {
    this.finished = true;
    for (const m of this.members.values()) closeMember(m);
    this.members.clear();
    closeProc(this.uptimeFd);
    this.uptimeFd = -1;
    this.net.close();
  }

  // ------------------------------------------------------------ internals

  private uptimeSecs(): number {
    if (this.uptimeFd < 0) return 0;
    const n = preadProc(this.uptimeFd);
    return n > 0 ? parseFloat(SCRATCH.toString('latin1', 0, n)) || 0 : 0;
  }

  /**
   * Accounts for members that have gone, and drops them. A vanished member's value moved to its
   * reaper. Follow its parents through the members that vanished too: ending at a member still
   * present, the value was absorbed (S keeps it); ending outside the tree, it left S: keep its last
   * seen value in E. A parent's last read predates this child's reap (the child was still present
   * then), so nothing is counted twice.
   */
  private settleVanished(vanished: Member[]): void {
    const gone = new Set(vanished.map((m) => m.pid));
    // Siblings that exited together share a reaper: read its SIGCHLD disposition once.
    const ignoring = new Map<number, boolean>();
    for (const m of vanished) {
      let p = m.ppid;
      for (let hops = 0; gone.has(p) && hops < 10_000; hops++) p = this.members.get(p)!.ppid;
      let lost = !this.members.has(p) || gone.has(p);
      if (!lost) {
        // A parent that ignores SIGCHLD has its children reaped by the kernel without taking their counters.
        let ign = ignoring.get(p);
        if (ign === undefined) ignoring.set(p, (ign = ignoresSigchld(p, this.root)));
        lost = ign;
      }
      if (!lost) continue;
      // Reaped by us: the kernel credited its final totals to our counters.
      const final = m.pid === this.pid && this.reaperBase ? reapedTotals(this.root) : null;
      for (let k = 0; k < NC; k++) {
        this.E[k]! += final ? Math.max(m.full[k]!, final[k]! - this.reaperBase![k]!) : m.full[k]!;
      }
    }
    for (const m of vanished) {
      closeMember(m);
      this.members.delete(m.pid);
    }
  }

  private join(st: ProcStat, statFd: number, initial: boolean): Member {
    const ioFd = openProc(`${this.root}/${st.pid}/io`);
    const schedFd = openProc(`${this.root}/${st.pid}/schedstat`);
    const parent = this.members.get(st.ppid);
    const m: Member = {
      pid: st.pid,
      starttime: st.starttime,
      statFd,
      ioFd: ioFd >= 0 ? ioFd : -1,
      schedFd: schedFd >= 0 ? schedFd : -1,
      runtime: -1,
      cmdlineRetries: 0,
      comm: '', // differs from any name: updateMember() below reads the command line
      command: st.comm,
      ppid: st.ppid,
      netns: readNetNs(st.pid, this.root) ?? parent?.netns ?? 'unknown',
      zombie: false,
      own: new Float64Array(NC),
      full: new Float64Array(NC),
      base: new Float64Array(NC),
      prevOwnCpu: 0,
      rssPages: 0,
      vsize: 0,
      threads: 0,
      processor: -1,
    };
    // Run time first, then stat again: the counters kept must be at least as new as the run time that
    // gates the next re-read (the discovery read may predate an exec).
    if (m.schedFd >= 0) {
      const rt = readRuntime(m.schedFd);
      m.runtime = typeof rt === 'number' ? rt : -1;
      const again = readStatFd(statFd);
      if (again && again !== 'gone') st = again;
    }
    updateMember(m, st, this.includeChildren, this.root);
    // History before monitoring start is excluded for the processes found at start. Anything found
    // later was forked after the initial listing (a process existing then would have been listed),
    // so all of its counters belong to the monitored period.
    // A root we started ourselves (`run`) has no history before monitoring: all of it counts.
    const excludeHistory = !this.sinceStart && initial && !(this.ownChild && st.pid === this.pid);
    if (excludeHistory) {
      m.base.set(m.own);
      for (let k = 0; k < NC; k++) this.B[k]! += m.full[k]!;
    }
    // CPU % of a process first seen now: since the previous sample if it is new, else unknown (0).
    m.prevOwnCpu = excludeHistory ? m.own[CPU]! : 0;
    this.members.set(m.pid, m);
    return m;
  }

  /** Joins the processes whose parent is a member, transitively; `initial` marks the constructor's pass. */
  private discover(now: number, initial: boolean): void {
    for (const c of this.discovery.find(this.members, now)) {
      const m = this.join(c.st, c.statFd, initial);
      if (!m.zombie) this.net.track(m.netns, m.pid);
    }
  }

  private *liveMembers(): Iterable<Member> {
    for (const m of this.members.values()) if (!m.zombie) yield m;
  }

  private updateTotals(): void {
    for (let k = 0; k < NC; k++) {
      let s = 0;
      for (const m of this.members.values()) s += m.full[k]!;
      const v = s - this.B[k]! + this.E[k]!;
      if (v > this.reported[k]!) this.reported[k] = v;
    }
  }

  private metricsOf(m: Member, now: number, dtSecs: number, uptime: number): Metrics {
    const cpuTicks = m.own[CPU]! - m.prevOwnCpu;
    m.prevOwnCpu = m.own[CPU]!;
    const n = this.net.of(m.netns);
    return {
      ts_ms: now,
      cpu_usage: dtSecs > 0 ? round2((Math.max(0, cpuTicks) / this.hz / dtSecs) * 100) : 0,
      mem_rss_kb: m.rssPages * this.pageKb,
      mem_vms_kb: Math.floor(m.vsize / 1024),
      disk_read_bytes: m.own[RBYTES]! - m.base[RBYTES]!,
      disk_write_bytes: m.own[WBYTES]! - m.base[WBYTES]!,
      syscall_read_bytes: m.own[RCHAR]! - m.base[RCHAR]!,
      syscall_write_bytes: m.own[WCHAR]! - m.base[WCHAR]!,
      page_faults_minor: m.own[MINFLT]! - m.base[MINFLT]!,
      page_faults_major: m.own[MAJFLT]! - m.base[MAJFLT]!,
      thread_count: m.threads,
      uptime_secs: Math.max(0, round2(uptime - m.starttime / this.hz)),
      cpu_core: m.processor,
      netns_rx_bytes: n.rx,
      netns_tx_bytes: n.tx,
    };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
