// Reads the scheduler and socket programs' maps (activity-maps.ts) into per-process figures: off-CPU,
// I/O-wait and run-queue time (exited threads + live threads + the interval each live thread is in
// now) and socket bytes by class, plus the tree's totals, which keep what removed entries held.
import { NET_CLASSES, ProcValue, ThreadState, ThreadValue, XStat, XSTAT_SLOTS, type NetClass } from './activity-maps.js';

export type NetBytes = Record<NetClass, { tx: number; rx: number }>;

export interface ActivityFigures {
  /** Time blocked (sleeping, waiting for I/O, a lock, a child...), seconds, summed over threads. */
  offCpuSecs: number;
  /** The part of offCpuSecs spent in I/O wait (the task's in_iowait: block I/O, page-cache misses, fsync). */
  ioWaitSecs: number;
  /** Time runnable but waiting for a CPU, seconds, summed over threads. */
  runqWaitSecs: number;
  /** Socket bytes sent and received, by class. */
  net: NetBytes;
}

export type ThreadActivityState = 'running' | 'runnable' | 'blocked' | 'io_wait';

export interface ThreadActivity {
  tid: number;
  /** What it is doing at the read. */
  state: ThreadActivityState;
  offCpuSecs: number;
  ioWaitSecs: number;
  runqWaitSecs: number;
}

export interface ProcessActivity extends ActivityFigures {
  pid: number;
  /** Its leader's start (ns since boot, as exit accounting keys it); 0 when not known yet. */
  startBootNs: number;
  /** Live threads (exited ones are in the sums). */
  threads: ThreadActivity[];
  /** The process has left the tracked set for good and its entry is removed: no later read adds to it. */
  final: boolean;
}

export interface ActivityLosses {
  /** Scheduler events of threads the thread table had no room for (their time is not counted). */
  schedEventsLost: number;
  /** Exited threads whose time was lost (the process table was full). */
  threadTimeLost: number;
  /** Socket bytes not counted (the process table was full). */
  netBytesLost: number;
}

export interface ActivitySnapshot {
  /** Which programs run: scheduler (time) and socket (bytes). */
  sched: boolean;
  net: boolean;
  /** By pid (tgid). */
  processes: Map<number, ProcessActivity>;
  /** Over every process of the tree since monitoring began, removed ones included. */
  totals: ActivityFigures;
  losses: ActivityLosses;
}

const STATES: Record<number, ThreadActivityState> = {
  [ThreadState.RUNNING]: 'running', [ThreadState.RUNNABLE]: 'runnable', [ThreadState.BLOCKED]: 'blocked', [ThreadState.BLOCKED_IO]: 'io_wait',
};

export function emptyFigures(): ActivityFigures {
  return { offCpuSecs: 0, ioWaitSecs: 0, runqWaitSecs: 0, net: emptyNet() };
}

export function emptyNet(): NetBytes {
  return Object.fromEntries(NET_CLASSES.map((c) => [c, { tx: 0, rx: 0 }])) as NetBytes;
}

function addFigures(to: ActivityFigures, from: ActivityFigures): void {
  to.offCpuSecs += from.offCpuSecs;
  to.ioWaitSecs += from.ioWaitSecs;
  to.runqWaitSecs += from.runqWaitSecs;
  for (const c of NET_CLASSES) {
    to.net[c].tx += from.net[c].tx;
    to.net[c].rx += from.net[c].rx;
  }
}

const u64 = (b: Buffer, off: number) => Number(b.readBigUInt64LE(off));

/** The current CLOCK_MONOTONIC in ns: the programs' ktime_get_ns clock. */
const monotonicNs = (): number => Number(process.hrtime.bigint());

/** What the reader needs of a map (a BpfMap, or the simulator's). */
export interface ReadableMap {
  rawEntries(): Array<[Buffer, Buffer]>;
  remove(key: Buffer): boolean;
  /** Inserts key → value unless the key exists; false when it did (or there was no room). */
  insertNew?(key: Buffer, value: Buffer): boolean;
}

export class ActivityReader {
  /** tgids whose entries were outside `tracked` at the previous read. */
  private goneBefore = new Set<number>();
  /** What removed entries held. */
  private readonly removed = emptyFigures();

  constructor(
    private readonly maps: { threads: ReadableMap; procs: ReadableMap; xstats: ReadableMap },
    private readonly enabled: { sched: boolean; net: boolean },
    private readonly clock: () => number = monotonicNs,
  ) {}

  /**
   * One read. `tracked`: the tgids in the tracked set now. An entry of a process outside it at two
   * reads in a row (it exited: dp_exit removed it, and every thread has since had its last switch) is
   * reported `final` and removed. procs is read before threads: a thread folded in between is missed
   * by this read (the monitor keeps totals from decreasing), never counted twice.
   */
  read(tracked: ReadonlySet<number>): ActivitySnapshot {
    const processes = new Map<number, ProcessActivity>();
    const get = (pid: number): ProcessActivity => {
      let p = processes.get(pid);
      if (!p) processes.set(pid, (p = { pid, startBootNs: 0, threads: [], final: false, ...emptyFigures() }));
      return p;
    };
    for (const [key, v] of this.maps.procs.rawEntries()) {
      const p = get(key.readUInt32LE(0));
      p.startBootNs = u64(v, ProcValue.START_NS);
      p.offCpuSecs += u64(v, ProcValue.OFF_NS) / 1e9;
      p.ioWaitSecs += u64(v, ProcValue.IOWAIT_NS) / 1e9;
      p.runqWaitSecs += u64(v, ProcValue.RUNQ_NS) / 1e9;
      NET_CLASSES.forEach((c, i) => {
        p.net[c].tx += u64(v, ProcValue.TX + 8 * i);
        p.net[c].rx += u64(v, ProcValue.RX + 8 * i);
      });
    }
    const threads = this.maps.threads.rawEntries();
    // After the read: every entry's last transition is in the past.
    const now = this.clock();
    const staleThreads: Buffer[] = [];
    for (const [key, v] of threads) {
      const tgid = v.readUInt32LE(ThreadValue.TGID);
      const state = v.readUInt32LE(ThreadValue.STATE);
      const open = Math.max(0, now - u64(v, ThreadValue.TS)) / 1e9;
      const t: ThreadActivity = {
        tid: key.readUInt32LE(0),
        state: STATES[state] ?? 'running',
        offCpuSecs: u64(v, ThreadValue.OFF_NS) / 1e9 + (state === ThreadState.BLOCKED || state === ThreadState.BLOCKED_IO ? open : 0),
        ioWaitSecs: u64(v, ThreadValue.IOWAIT_NS) / 1e9 + (state === ThreadState.BLOCKED_IO ? open : 0),
        runqWaitSecs: u64(v, ThreadValue.RUNQ_NS) / 1e9 + (state === ThreadState.RUNNABLE ? open : 0),
      };
      const p = get(tgid);
      p.threads.push(t);
      p.offCpuSecs += t.offCpuSecs;
      p.ioWaitSecs += t.ioWaitSecs;
      p.runqWaitSecs += t.runqWaitSecs;
      if (!tracked.has(tgid) && this.goneBefore.has(tgid)) staleThreads.push(key);
    }
    const totals = emptyFigures();
    addFigures(totals, this.removed);
    const goneNow = new Set<number>();
    for (const p of processes.values()) {
      addFigures(totals, p);
      if (tracked.has(p.pid)) continue;
      if (!this.goneBefore.has(p.pid)) {
        goneNow.add(p.pid);
        continue;
      }
      // Out of the tree at two reads in a row: final. A thread entry left (its last switch was not
      // seen) is removed with it.
      p.final = true;
      addFigures(this.removed, p);
      this.maps.procs.remove(u32(p.pid));
    }
    for (const key of staleThreads) this.maps.threads.remove(key);
    this.goneBefore = goneNow;
    return { sched: this.enabled.sched, net: this.enabled.net, processes, totals, losses: this.losses() };
  }

  /**
   * `attach`: the threads of the processes just put in the tree that are asleep now (state S or D in
   * /proc) are entered as blocked from now on; otherwise a thread asleep since before the attach
   * (a server in accept()) would have its first wait, up to its first wake-up, uncounted. A thread the
   * programs already entered keeps its entry; a running or runnable one is left to them.
   */
  seedBlocked(threads: Iterable<{ tgid: number; tid: number }>): void {
    const insert = this.maps.threads.insertNew;
    if (!this.enabled.sched || !insert) return;
    for (const { tgid, tid } of threads) {
      const v = Buffer.alloc(ThreadValue.SIZE);
      v.writeBigUInt64LE(BigInt(Math.round(this.clock())), ThreadValue.TS);
      v.writeUInt32LE(ThreadState.BLOCKED, ThreadValue.STATE);
      v.writeUInt32LE(tgid, ThreadValue.TGID);
      insert.call(this.maps.threads, u32(tid), v);
    }
  }

  private losses(): ActivityLosses {
    const out = new Array<number>(XSTAT_SLOTS).fill(0);
    for (const [key, value] of this.maps.xstats.rawEntries()) out[key.readUInt32LE(0)] = u64(value, 0);
    return { schedEventsLost: out[XStat.THREADS_FULL]!, threadTimeLost: out[XStat.THREAD_TIME_LOST]!, netBytesLost: out[XStat.NET_BYTES_LOST]! };
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
