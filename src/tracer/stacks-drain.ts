// Stack capture as monitoring goes: two generations of kernel tables, one written by dp_stacks, the
// other drained into cumulative totals here.
//
// The kernel's tables are bounded, and a long run brings new entries all the time: each process whose
// stacks have bare addresses (placed anew in each process) has entries and stacks of its own, and new
// programs bring new paths. Kept for the whole run, the tables would fill with the entries of processes
// long gone, and from then on new stacks would be lost. Drained as monitoring goes, they need room for
// one drain period only.
//
// Exactness: a generation is drained only once no program can still be writing it. dp_stacks reads
// `stack_gen` and then writes that generation's tables, in one run with preemption disabled (a few
// microseconds). A step drains the generation not being written, then flips `stack_gen` to it, so the
// other one stops being written; that one is drained at the next step, at least GRACE_MS later.
// Nothing is read from, or removed from, the generation being written.
import { performance } from 'node:perf_hooks';
import type { BpfMap } from '../loader/index.js';
import { nameOf, type SyscallTable } from '../syscalls/index.js';
import { GENERATIONS, StackStat } from './stacks-maps.js';
import { decodeBuildIdStack, decodeIps, takeGeneration, type StackEntry, type StackSnapshot, type TakenEntry } from './stacks-read.js';

/** The least time between a generation's last flip away and its drain. */
export const GRACE_MS = 10;

/** How full the tables got: the most any one drain period held. */
export interface StackTableUse {
  /** Drains so far. */
  drains: number;
  /** Most distinct stacks (user and kernel) one generation held. */
  peakStacks: number;
  /** Most (process, syscall, stacks) entries one generation held. */
  peakEntries: number;
}

/** Cumulative stacks: entries keyed by (process or 0, name, syscall, frame contents). */
class StackTotals {
  readonly entries = new Map<string, StackEntry>();
  add(e: StackEntry, userKey: string, kernelKey: string): void {
    const key = `${e.tgid}\0${e.comm}\0${e.nr}\0${userKey}\0${kernelKey}`;
    const had = this.entries.get(key);
    if (had) had.count += e.count;
    else this.entries.set(key, { ...e });
  }
}

interface Drained {
  /** The flip that ended the period these were counted in. */
  period: number;
  entries: { e: StackEntry; userKey: string; kernelKey: string }[];
}

export class StackCapture {
  /** The generation dp_stacks writes (its index in GENERATIONS). */
  private current = 0;
  private flips = 0;
  private flippedAt = -Infinity;
  /** The period whose stacks the other generation holds (undefined: it is empty). */
  private idleHolds: number | undefined;
  /** readStacks({ at: 'mark' }) reports the periods up to this one (-1: none marked yet). */
  private mark = -1;
  private countsFullAtMark = 0;
  private readonly committed = new StackTotals();
  /** Drained periods after the mark. */
  private pending: Drained[] = [];
  private failure: unknown;
  /** Decoded frames, by the kernel's hash of their contents (each stack decoded once per run). */
  private readonly users = new Map<string, ReturnType<typeof decodeBuildIdStack>>();
  private readonly kernels = new Map<string, bigint[]>();
  private readonly names = new Map<number, string>();
  readonly use: StackTableUse = { drains: 0, peakStacks: 0, peakEntries: 0 };

  constructor(private readonly maps: Map<string, BpfMap>, private readonly table: SyscallTable) {}

  /**
   * One step: drains the generation not being written (if it stopped being written at least GRACE_MS
   * ago, else does nothing, or waits with `wait`), then flips to it. Returns the entries drained, per
   * process, and the period that ends here: mark(period) makes read({ at: 'mark' }) report the stacks
   * counted until this step.
   */
  step(opts: { wait?: boolean } = {}): { entries: StackEntry[]; period: number } {
    const entries = this.prepare(opts);
    return { entries, period: this.flip() };
  }

  /** The first half of a step: drains the generation not being written, when it may be. */
  prepare(opts: { wait?: boolean } = {}): StackEntry[] {
    return this.guard(() => {
      if (this.idleHolds === undefined) return [];
      const left = GRACE_MS - (performance.now() - this.flippedAt);
      if (left > 0 && !opts.wait) return [];
      if (left > 0) sleep(left);
      return this.drainIdle();
    });
  }

  /**
   * The second half: makes the drained generation the one written (one map update), and returns the
   * period that ends here. Does nothing when the other generation is not drained yet.
   */
  flip(): number {
    return this.guard(() => {
      if (this.idleHolds !== undefined) return this.flips;
      const next = 1 - this.current;
      const key = Buffer.alloc(4), value = Buffer.alloc(4);
      value.writeUInt32LE(next);
      this.map('stack_gen').update(key, value);
      this.current = next;
      this.flips++;
      this.flippedAt = performance.now();
      this.idleHolds = this.flips;
      return this.flips;
    });
  }

  /** read({ at: 'mark' }) reports the stacks until the step that returned `period` (a sample's). */
  markAt(period: number): void {
    this.guard(() => this.setMark(Math.min(period, this.flips)));
  }

  /**
   * Every stack counted: until now (`at: 'now'`, the default: waits out up to twice GRACE_MS), or until
   * the last marked step (`at: 'mark'`; until now when no step was marked).
   */
  read(opts: { at?: 'now' | 'mark' } = {}): StackSnapshot {
    return this.guard(() => {
      if ((opts.at ?? 'now') === 'now' || this.mark < 0) this.setMark(this.step({ wait: true }).period);
      // The period that ended at the mark, when not drained yet.
      if (this.idleHolds !== undefined && this.idleHolds <= this.mark) {
        const left = GRACE_MS - (performance.now() - this.flippedAt);
        if (left > 0) sleep(left);
        this.drainIdle();
      }
      return { entries: [...this.committed.entries.values()].map((e) => ({ ...e })), countsFull: this.countsFullAtMark };
    });
  }

  /** A failed drain may have taken entries it could not count: from then on every call fails with its error. */
  private guard<T>(fn: () => T): T {
    if (this.failure !== undefined) throw this.failure;
    try {
      return fn();
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  private drainIdle(): StackEntry[] {
    const idle = 1 - this.current;
    const taken = takeGeneration((name) => this.maps.get(name), GENERATIONS[idle]!);
    this.use.drains++;
    this.use.peakStacks = Math.max(this.use.peakStacks, taken.stacks);
    this.use.peakEntries = Math.max(this.use.peakEntries, taken.entries.length);
    const d: Drained = { period: this.idleHolds!, entries: taken.entries.map((t) => this.decode(t)) };
    this.idleHolds = undefined;
    if (d.period <= this.mark) this.commit(d);
    else this.pending.push(d);
    return d.entries.map((x) => x.e);
  }

  private setMark(period: number): void {
    this.mark = period;
    this.countsFullAtMark = this.countsFull();
    const keep: Drained[] = [];
    for (const d of this.pending) {
      if (d.period <= period) this.commit(d);
      else keep.push(d);
    }
    this.pending = keep;
  }

  private commit(d: Drained): void {
    for (const { e, userKey, kernelKey } of d.entries) this.committed.add(e, userKey, kernelKey);
  }

  private decode(t: TakenEntry): Drained['entries'][number] {
    const e: StackEntry = { tgid: t.tgid, nr: t.nr, syscall: this.nameOf(t.nr), comm: t.comm, count: t.count };
    // Frames are interned by the kernel's hash of their contents: decoded once per run.
    let userKey = `!${t.userLoss}`, kernelKey = t.kernelLoss ? `!${t.kernelLoss}` : '';
    if (t.user && t.userHash) {
      userKey = t.userHash;
      let frames = this.users.get(userKey);
      if (!frames) this.users.set(userKey, (frames = decodeBuildIdStack(t.user)));
      e.user = frames;
    } else {
      e.userLoss = t.userLoss;
    }
    if (t.kernel && t.kernelHash) {
      kernelKey = t.kernelHash;
      let frames = this.kernels.get(kernelKey);
      if (!frames) this.kernels.set(kernelKey, (frames = decodeIps(t.kernel)));
      e.kernel = frames;
    } else if (t.kernelLoss) {
      e.kernelLoss = t.kernelLoss;
    }
    return { e, userKey, kernelKey };
  }

  private countsFull(): number {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(StackStat.COUNTS_FULL);
    const v = this.map('stack_stats').lookup(key);
    return v ? Number(v.readBigUInt64LE(0)) : 0;
  }

  private map(name: string): BpfMap {
    const m = this.maps.get(name);
    if (!m) throw new Error(`the tracer has no map '${name}'`);
    return m;
  }

  private nameOf(nr: number): string {
    let name = this.names.get(nr);
    if (name === undefined) this.names.set(nr, (name = nameOf(this.table, nr)));
    return name;
  }
}

/** Blocks this thread for `ms` (a grace period is a few milliseconds; the kernel needs nothing from us meanwhile). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.ceil(ms));
}
