// The tracer's programs, run in the BPF→WebAssembly engine on synthetic events: the counting
// logic (filter, fork inheritance, PENDING→COUNT at execve, compat naming, exit clean-up, drops) and,
// in detail mode, the pairing of returns with entries (errors, errnos, time, per-thread counts) can be
// exercised bit-exactly on machines where no BPF program may be loaded. Time is the simulator's own
// clock, moved on by advance().
import { BpfVm, type VmMap } from '../vm/index.js';
import type { ProgramSpec } from '../asm/spec.js';
import { tracerPrograms } from './engine.js';
import type { TracerLayout } from './layout.js';
import { COUNT_ONLY, ROW, ROW_COMPAT, STATE_MASK, Stat, type DetailSizes, type TracerFeatures } from './programs.js';
import { Cell, HIST_BUCKETS, ThreadValue } from './detail.js';
import { COMPAT_BIT } from '../syscalls/index.js';

/** One (process, syscall) cell as the kernel holds it (nr: the stored key, compat bit included). */
export interface SimCell { tgid: number; nr: number; errors: number; totalNs: number; maxNs: number; hist: number[] }

/** Fake kernel addresses of the synthetic pt_regs and task_structs the programs read. */
const REGS_ADDR = 0xffff_8880_0000_0000n;
const TASK_BASE = 0xffff_8880_1000_0000n;
const TASK_SIZE = 0x4000;

export class TracerSimulator {
  private readonly vms: { sysEnter: BpfVm; fork: BpfVm; exit: BpfVm; exec?: BpfVm; sysExit?: BpfVm };
  private readonly regs = new Uint8Array(512);
  private tasks = 0;
  private epochs = 0;
  /** The clock ktime_get_ns reads, ns. */
  private now = 1_000_000_000n;

  constructor(
    readonly layout: TracerLayout,
    sizes: DetailSizes = { maxProcesses: 64, maxCounts: 256, maxSlots: 8, maxDetails: 64 },
    readonly features: TracerFeatures = COUNT_ONLY,
  ) {
    const specs = tracerPrograms(layout, sizes, { features });
    const byName = (name: string): ProgramSpec | undefined => specs.find((p) => p.name === name);
    const vm = (spec: ProgramSpec) => new BpfVm(spec, { clock: () => this.now });
    const exec = byName('dp_exec');
    const sysExit = byName('dp_sys_exit');
    this.vms = {
      sysEnter: vm(byName('dp_sys_enter')!), fork: vm(byName('dp_fork')!), exit: vm(byName('dp_exit')!),
      ...(exec ? { exec: vm(exec) } : {}), ...(sysExit ? { sysExit: vm(sysExit) } : {}),
    };
    this.vms.sysEnter.addKernelMemory(REGS_ADDR, this.regs);
  }

  /** Moves the clock on. */
  advance(ns: number): void {
    this.now += BigInt(ns);
  }

  /** --trace: marks syscall keys (number, +512 for compat) as counted, as the engine does. */
  select(indexes: number[]): void {
    for (const i of indexes) this.map('trace_set').update(u32(i), u32(1));
    this.share(this.vms.sysEnter);
  }

  /** The return of thread `tid`'s syscall with value `ret` (detail mode; sys_exit's nr comes from the entry). */
  sysExit(tgid: number, tid: number, ret: number, nr = 0): void {
    if (!this.vms.sysExit) throw new Error('sysExit needs detail mode');
    if (this.layout.mode === 'raw') {
      this.run('sysExit', tgid, tid, [REGS_ADDR, BigInt.asUintN(64, BigInt(ret))]);
    } else {
      const e = this.layout.sysExit!;
      const rec = new Uint8Array(e.ctxSize);
      const view = new DataView(rec.buffer);
      view.setBigInt64(8, BigInt(nr), true);
      view.setBigInt64(e.retOffset, BigInt(ret), true);
      this.run('sysExit', tgid, tid, rec);
    }
  }

  /** A whole syscall: entry, `ns` of time, return with `ret`. */
  syscall(tgid: number, tid: number, nr: number, ret: number, ns: number, opts: { compat?: boolean } = {}): void {
    this.sysEnter(tgid, tid, nr, opts);
    this.advance(ns);
    this.sysExit(tgid, tid, ret, nr);
  }

  /** The cells handed out (detail mode), in order; empty ones (lost races) included. */
  cells(): SimCell[] {
    const out: SimCell[] = [];
    const n = Math.min(this.stat(Stat.NEXT_CELL), this.map('cells').spec.maxEntries);
    for (let i = 0; i < n; i++) {
      const v = this.map('cells').lookup(u32(i))!;
      const view = new DataView(v.buffer, v.byteOffset);
      const u64 = (off: number) => Number(view.getBigUint64(off, true));
      out.push({
        tgid: view.getUint32(Cell.TGID, true), nr: view.getUint32(Cell.NR, true), errors: u64(Cell.ERRORS),
        totalNs: u64(Cell.TOTAL_NS), maxNs: u64(Cell.MAX_NS), hist: Array.from({ length: HIST_BUCKETS }, (_, b) => u64(Cell.HIST + 8 * b)),
      });
    }
    return out;
  }

  /** Failed calls per "tgid/nr/errno". */
  errnos(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, v] of this.map('errnos').entries()) {
      const view = new DataView(k.buffer, k.byteOffset);
      out.set(`${view.getUint32(0, true)}/${view.getUint32(4, true)}/${view.getUint32(8, true)}`, Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)));
    }
    return out;
  }

  /** Per-thread counts: tid → {tgid, comm, nr → calls}. */
  threads(): Map<number, { tgid: number; comm: string; counts: Map<number, number> }> {
    const out = new Map<number, { tgid: number; comm: string; counts: Map<number, number> }>();
    const info = new Map<number, { tgid: number; comm: string }>();
    for (const [k, v] of this.map('thread_names').entries()) {
      const view = new DataView(v.buffer, v.byteOffset);
      const comm = Buffer.from(v.subarray(ThreadValue.COMM, ThreadValue.COMM + 16)).toString('latin1').replace(/\0.*$/s, '');
      info.set(new DataView(k.buffer, k.byteOffset).getUint32(0, true), { tgid: view.getUint32(ThreadValue.TGID, true), comm });
    }
    for (const [k, v] of this.map('thread_counts').entries()) {
      const view = new DataView(k.buffer, k.byteOffset);
      const tid = view.getUint32(0, true);
      if (!out.has(tid)) out.set(tid, { ...(info.get(tid) ?? { tgid: 0, comm: '' }), counts: new Map() });
      out.get(tid)!.counts.set(view.getUint32(4, true), Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)));
    }
    return out;
  }

  /** Threads with an entry waiting for its return: "tgid/tid" → nr key (array and overflow hash). */
  inFlight(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [, v] of this.map('inflight').entries()) {
      const view = new DataView(v.buffer, v.byteOffset);
      const id = view.getBigUint64(0, true);
      if (id !== 0n) out.set(`${id >> 32n}/${id & 0xffffffffn}`, view.getUint32(16, true));
    }
    for (const [k, v] of this.map('inflight_spill').entries()) {
      const id = new DataView(k.buffer, k.byteOffset).getBigUint64(0, true);
      out.set(`${id >> 32n}/${id & 0xffffffffn}`, new DataView(v.buffer, v.byteOffset).getUint32(8, true));
    }
    return out;
  }

  /** Sets the name get_current_comm gives every program. */
  setComm(comm: string): void {
    for (const vm of Object.values(this.vms)) vm.comm = comm;
  }

  /** Puts `tgid` in the tracked set with `state` (State plus flags), as the engine does from user space. */
  track(tgid: number, state: number): void {
    const key = u32(tgid);
    // As the engine does: a new epoch (top bit set) invalidates the programs' per-CPU cache.
    const epoch = new Uint8Array(8);
    new DataView(epoch.buffer).setBigUint64(0, (1n << 63n) | BigInt(++this.epochs), true);
    for (const vm of Object.values(this.vms)) {
      vm.maps.get('tracked')!.update(key, u32(state));
      vm.maps.get('stats')!.update(u32(Stat.EPOCH), epoch);
    }
  }

  /** A syscall entry by thread `tid` of process `tgid`; `compat`: made by a 32-bit task. */
  sysEnter(tgid: number, tid: number, nr: number, opts: { compat?: boolean } = {}): void {
    const compat = this.layout.sysEnter.compat;
    if (compat) {
      new DataView(this.regs.buffer).setBigUint64(compat.regsOffset, BigInt(opts.compat ? compat.compatValue : 0), true);
    }
    if (this.layout.mode === 'raw') {
      this.run('sysEnter', tgid, tid, [REGS_ADDR, BigInt.asUintN(64, BigInt(nr))]);
    } else {
      const rec = new Uint8Array(this.layout.sysEnter.ctxSize);
      new DataView(rec.buffer).setBigInt64(this.layout.sysEnter.idOffset, BigInt(nr), true);
      this.run('sysEnter', tgid, tid, rec);
    }
  }

  /** Thread `parentTid` of `parentTgid` forks: a new process `childPid`, or with `thread`, a thread of the parent. */
  fork(parentTgid: number, parentTid: number, childPid: number, opts: { thread?: boolean } = {}): void {
    const childTgid = opts.thread ? parentTgid : childPid;
    const f = this.layout.fork;
    if (f.type === 'raw') {
      const task = new Uint8Array(TASK_SIZE);
      const view = new DataView(task.buffer);
      view.setInt32(f.taskPidOffset, childPid, true);
      view.setInt32(f.taskTgidOffset, childTgid, true);
      const addr = TASK_BASE + BigInt(++this.tasks * TASK_SIZE);
      this.vms.fork.addKernelMemory(addr, task);
      this.run('fork', parentTgid, parentTid, [0n, addr]);
    } else {
      const rec = new Uint8Array(f.ctxSize);
      const view = new DataView(rec.buffer);
      view.setInt32(f.pidOffset, childPid, true);
      view.setBigUint64(f.cloneFlagsOffset, opts.thread ? 0x10000n : 0n, true);
      this.run('fork', parentTgid, parentTid, rec);
    }
  }

  /** Process `tgid` has exec'd a new image (sched_process_exec; raw mode only, where dp_exec exists). */
  exec(tgid: number, tid: number): void {
    if (this.vms.exec) this.run('exec', tgid, tid, [0n, 0n, 0n]);
  }

  /** Thread `tid` of `tgid` exits; `groupDead` when it was the last thread. */
  exit(tgid: number, tid: number, groupDead: boolean): void {
    const e = this.layout.exit;
    if (e.type === 'raw') {
      this.run('exit', tgid, tid, [0n, groupDead ? 1n : 0n]);
    } else {
      const rec = new Uint8Array(e.ctxSize);
      if (e.groupDeadOffset !== undefined) rec[e.groupDeadOffset] = groupDead ? 1 : 0;
      this.run('exit', tgid, tid, rec);
    }
  }

  /** Counts per process and syscall number (compat bit included): the rows and the hash, added up. */
  counts(): Map<number, Map<number, number>> {
    const out = new Map<number, Map<number, number>>();
    const add = (tgid: number, nr: number, n: number) => {
      if (n === 0) return;
      if (!out.has(tgid)) out.set(tgid, new Map());
      const row = out.get(tgid)!;
      row.set(nr, (row.get(nr) ?? 0) + n);
    };
    const u64 = (v: Uint8Array) => Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true));
    for (const [k, v] of this.map('counts').entries()) {
      const view = new DataView(k.buffer, k.byteOffset);
      add(view.getUint32(0, true), view.getUint32(4, true), u64(v));
    }
    const used = Math.min(this.stat(Stat.NEXT_SLOT), this.map('slots').spec.maxEntries);
    for (let slot = 0; slot < used; slot++) {
      const owner = this.map('slots').lookup(u32(slot))!;
      const tgid = new DataView(owner.buffer, owner.byteOffset).getUint32(0, true);
      for (let i = 0; i < ROW; i++) {
        const v = this.map('rows').lookup(u32(slot * ROW + i));
        if (v) add(tgid, i < ROW_COMPAT ? i : ((i - ROW_COMPAT) | COMPAT_BIT) >>> 0, u64(v));
      }
    }
    return out;
  }

  /** Row slots handed out so far. */
  slotsUsed(): number {
    return this.stat(Stat.NEXT_SLOT);
  }

  /** The tracked set: tgid → state (flags masked off). */
  tracked(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [k, v] of this.map('tracked').entries()) {
      out.set(new DataView(k.buffer, k.byteOffset).getUint32(0, true), new DataView(v.buffer, v.byteOffset).getUint32(0, true) & STATE_MASK);
    }
    return out;
  }

  /** stats[slot] (drops, forks, exits). */
  /**
   * Gives cells back for reuse as user space does for exited processes (retire-detail.ts): each is
   * zeroed and its id written at the next ring position, then FREE_GIVEN is raised past them.
   */
  giveBack(cells: number[]): void {
    const ring = this.map('cell_free');
    let given = this.stat(Stat.FREE_GIVEN);
    for (const c of cells) {
      this.map('cells').update(u32(c), new Uint8Array(Cell.SIZE));
      ring.update(u32(given % ring.spec.maxEntries), u32(c));
      given++;
    }
    const v = new Uint8Array(8);
    new DataView(v.buffer).setBigUint64(0, BigInt(given), true);
    this.map('stats').update(u32(Stat.FREE_GIVEN), v);
    this.share(this.vms.sysEnter);
  }

  stat(slot: number): number {
    const v = this.map('stats').lookup(u32(slot));
    return v ? Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)) : 0;
  }

  private map(name: string): VmMap {
    return this.vms.sysEnter.maps.get(name)!;
  }

  /** Runs one program as `tgid`/`tid`, then copies its maps to the others (the kernel shares them). */
  private run(which: keyof TracerSimulator['vms'], tgid: number, tid: number, ctx: bigint[] | Uint8Array): void {
    const vm = this.vms[which]!;
    vm.tgid = tgid;
    vm.pid = tid;
    vm.run({ ctx });
    this.share(vm);
  }

  private share(vm: BpfVm): void {
    for (const [name, map] of vm.maps) {
      // Arrays are copied as the bytes of their region (tens of thousands of entries, every run).
      const bytes = map.place.slots * map.place.slot;
      const from = map.isArray ? new Uint8Array(vm.memory.buffer, map.place.wasmBase, bytes) : undefined;
      const entries = map.isArray ? [] : map.entries();
      for (const other of Object.values(this.vms)) {
        if (other === vm) continue;
        const target = other.maps.get(name)!;
        if (from) {
          new Uint8Array(other.memory.buffer).set(from, target.place.wasmBase);
          continue;
        }
        target.clear();
        for (const [k, v] of entries) target.update(k, v);
      }
    }
  }
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
