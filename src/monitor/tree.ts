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
import {
  PROC_ROOT,
  READ_GONE,
  SCRATCH,
  clockTicksPerSec,
  closeProc,
  listPids,
  openProc,
  pageSize,
  parseIoBuf,
  parseStatBuf,
  preadProc,
  readCmdline,
  readNetNs,
  type ProcStat,
} from './procfs.js';
import { CPU, MAJFLT, MINFLT, NC, RBYTES, RCHAR, WBYTES, WCHAR, ignoresSigchld, isDead, readRuntime, type Member } from './member.js';
import { NetnsCounters } from './netns.js';
import { reapedTotals } from './reaper.js';
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
  private readonly rescanMs: number;
  private readonly hz = clockTicksPerSec();
  private readonly pageKb = pageSize() / 1024;
  private readonly members = new Map<number, Member>();
  /** Pids seen outside the tree (not re-read until the next rescan). */
  private outside = new Set<number>();
  private lastRescanMs = -Infinity;
  private readonly B = new Float64Array(NC);
  private readonly E = new Float64Array(NC);
  private readonly reported = new Float64Array(NC);
  private prevReportedCpu = 0;
  private prevMs: number;
  private readonly net: NetnsCounters;
  private uptimeFd: number;
  private readonly fullRefreshMs: number;
  private lastFullMs = -Infinity;
  private forceFull = false;
  /** Reused for members' stat reads (update() copies what it keeps). */
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
    this.rescanMs = opts.rescanMs ?? 2000;
    this.fullRefreshMs = opts.fullRefreshMs ?? 1000;
    this.ownChild = opts.reapedByThisProcess ?? false;
    this.reaperBase = opts.reapedByThisProcess && this.includeChildren ? reapedTotals(this.root) : null;
    this.t0Ms = Date.now();
    this.prevMs = this.t0Ms;
    this.uptimeFd = openProc(`${this.root}/uptime`);
    this.net = new NetnsCounters(this.root, this.sinceStart);
    const fd = openProc(`${this.root}/${this.pid}/stat`);
    const st = fd >= 0 ? this.readStatFd(fd) : null;
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
    const full = this.forceFull || now - this.lastFullMs >= this.fullRefreshMs;
    if (full) {
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
        if (unchanged && !full) continue;
      } else if (!m.zombie) {
        anyRan = true; // multi-threaded: the main thread's run time does not cover the others
      }
      const st = this.readStatFd(m.statFd, this.statScratch);
      if (st === 'gone') vanished.push(m);
      else if (st) this.update(m, st);
    }
    // Orphans of vanished members get a new ppid without running: read everyone next time.
    if (vanished.length > 0) this.forceFull = true;
    // 2. A vanished member's value moved to its reaper. Follow its parents through the members that
    //    vanished too: ending at a member still present, the value was absorbed (S keeps it); ending
    //    outside the tree, it left S: keep its last seen value in E. A parent's last read predates
    //    this child's reap (the child was still present then), so nothing is counted twice.
    const gone = new Set(vanished.map((m) => m.pid));
    for (const m of vanished) {
      let p = m.ppid;
      for (let hops = 0; gone.has(p) && hops < 10_000; hops++) p = this.members.get(p)!.ppid;
      // A parent that ignores SIGCHLD has its children reaped by the kernel without taking their counters.
      const lost = !this.members.has(p) || gone.has(p) || ignoresSigchld(p, this.root);
      if (!lost) continue;
      // Reaped by us: the kernel credited its final totals to our counters.
      const final = m.pid === this.pid && this.reaperBase ? reapedTotals(this.root) : null;
      for (let k = 0; k < NC; k++) {
        this.E[k]! += final ? Math.max(m.full[k]!, final[k]! - this.reaperBase![k]!) : m.full[k]!;
      }
    }
    for (const m of vanished) {
      closeProc(m.statFd);
      closeProc(m.ioFd);
      closeProc(m.schedFd);
      this.members.delete(m.pid);
    }
    // 3. New processes.
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

    const rootMember = this.members.get(this.pid);
    if (!this.includeChildren) {
      const m = rootMember!;
      const metrics = this.metricsOf(m, now, dtSecs, uptime);
      const rec: SampleRecord = { kind: 'sample', ...metrics, cpu_time_secs: this.reported[CPU]! / this.hz };
      return rec;
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
    for (const m of this.members.values()) {
      closeProc(m.statFd);
      closeProc(m.ioFd);
      closeProc(m.schedFd);
    }
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

  /** 'gone' when the process no longer exists; null when the read failed otherwise (keep old values). */
  private readStatFd(fd: number, out?: ProcStat): ProcStat | 'gone' | null {
    const n = preadProc(fd);
    if (n === READ_GONE) return 'gone';
    if (n <= 0) return null;
    return parseStatBuf(SCRATCH, n, out);
  }

  private update(m: Member, st: ProcStat): void {
    m.ppid = st.ppid;
    m.zombie = isDead(st);
    if (st.comm !== m.comm || (m.cmdlineRetries > 0 && !m.zombie)) {
      // exec changed the program: refresh the command line. Mid-exec the new argv may not be set up
      // yet (empty cmdline): then retry on the next few reads.
      m.comm = st.comm;
      const argv = readCmdline(m.pid, this.root);
      if (argv && argv.length > 0) {
        m.command = argv.join(' ');
        m.cmdlineRetries = 0;
      } else {
        m.command = st.comm;
        m.cmdlineRetries = m.cmdlineRetries > 0 ? m.cmdlineRetries - 1 : 5;
      }
    }
    m.rssPages = st.rss;
    m.vsize = st.vsize;
    m.threads = st.numThreads;
    m.processor = st.processor;
    m.own[CPU] = st.utime + st.stime;
    m.own[MINFLT] = st.minflt;
    m.own[MAJFLT] = st.majflt;
    if (this.includeChildren) {
      m.full[CPU] = st.utime + st.stime + st.cutime + st.cstime;
      m.full[MINFLT] = st.minflt + st.cminflt;
      m.full[MAJFLT] = st.majflt + st.cmajflt;
    } else {
      m.full[CPU] = m.own[CPU]!;
      m.full[MINFLT] = st.minflt;
      m.full[MAJFLT] = st.majflt;
    }
    if (m.ioFd >= 0) {
      const n = preadProc(m.ioFd);
      if (n > 0) {
        const io = parseIoBuf(SCRATCH, n);
        m.own[RCHAR] = m.full[RCHAR] = io.rchar;
        m.own[WCHAR] = m.full[WCHAR] = io.wchar;
        m.own[RBYTES] = m.full[RBYTES] = io.readBytes;
        m.own[WBYTES] = m.full[WBYTES] = io.writeBytes;
      }
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
      comm: '', // differs from any name: update() below reads the command line
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
      const again = this.readStatFd(statFd);
      if (again && again !== 'gone') st = again;
    }
    this.update(m, st);
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

  /** Finds processes whose parent is a member, transitively; `initial` marks the constructor's pass. */
  private discover(now: number, initial: boolean): void {
    const rescan = now - this.lastRescanMs >= this.rescanMs;
    if (rescan) this.lastRescanMs = now;
    let pids: number[];
    try {
      pids = listPids(this.root);
    } catch {
      return;
    }
    // Between rescans, pids that left /proc stay in the set until the next rescan rebuilds it.
    const outside = rescan ? new Set<number>() : this.outside;
    const candidates = new Map<number, { st: ProcStat; fd: number }>();
    for (const pid of pids) {
      if (this.members.has(pid)) continue;
      if (!rescan && outside.has(pid)) continue;
      const fd = openProc(`${this.root}/${pid}/stat`);
      if (fd < 0) continue;
      const st = this.readStatFd(fd);
      if (!st || st === 'gone') {
        closeProc(fd);
        continue;
      }
      candidates.set(pid, { st, fd });
    }
    // Breadth-first from the members: a candidate joins when its parent is (or just became) a member.
    const byParent = new Map<number, number[]>();
    for (const [pid, c] of candidates) {
      const list = byParent.get(c.st.ppid);
      if (list) list.push(pid);
      else byParent.set(c.st.ppid, [pid]);
    }
    const queue = [...this.members.keys()];
    while (queue.length > 0) {
      const parent = queue.shift()!;
      for (const pid of byParent.get(parent) ?? []) {
        // Zombies join too: an exited child carries its counters until its parent reaps it.
        const c = candidates.get(pid)!;
        const m = this.join(c.st, c.fd, initial);
        candidates.delete(pid);
        if (!m.zombie) this.net.track(m.netns, m.pid);
        queue.push(pid);
      }
    }
    for (const [pid, c] of candidates) {
      closeProc(c.fd);
      outside.add(pid);
    }
    this.outside = outside;
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
