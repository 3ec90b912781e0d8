// The tracer's programs, run in the BPF→WebAssembly engine on synthetic events: the counting
// logic (filter, fork inheritance, PENDING→COUNT at execve, compat naming, exit clean-up, drops) can be
// exercised bit-exactly on machines where no BPF program may be loaded.
import { BpfVm, type VmMap } from '../vm/index.js';
import type { ProgramSpec } from '../asm/spec.js';
import { tracerPrograms } from './engine.js';
import type { TracerLayout } from './layout.js';
import { ROW, ROW_COMPAT, STATE_MASK, Stat, type MapSizes } from './programs.js';
import { COMPAT_BIT } from '../syscalls/index.js';

/** Fake kernel addresses of the synthetic pt_regs and task_structs the programs read. */
const REGS_ADDR = 0xffff_8880_0000_0000n;
const TASK_BASE = 0xffff_8880_1000_0000n;
const TASK_SIZE = 0x4000;

export class TracerSimulator {
  private readonly vms: { sysEnter: BpfVm; fork: BpfVm; exit: BpfVm; exec?: BpfVm };
  private readonly regs = new Uint8Array(512);
  private tasks = 0;
  private epochs = 0;

  constructor(readonly layout: TracerLayout, sizes: MapSizes = { maxProcesses: 64, maxCounts: 256, maxSlots: 8 }) {
    const [sysEnter, fork, exit, exec] = tracerPrograms(layout, sizes) as [ProgramSpec, ProgramSpec, ProgramSpec, ProgramSpec?];
    this.vms = { sysEnter: new BpfVm(sysEnter), fork: new BpfVm(fork), exit: new BpfVm(exit), ...(exec ? { exec: new BpfVm(exec) } : {}) };
    this.vms.sysEnter.addKernelMemory(REGS_ADDR, this.regs);
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
  stat(slot: number): number {
    const v = this.map('stats').lookup(u32(slot));
    return v ? Number(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)) : 0;
  }

  private map(name: string): VmMap {
    return this.vms.sysEnter.maps.get(name)!;
  }

  /** Runs one program as `tgid`/`tid`, then copies its maps to the other two (the kernel shares them). */
  private run(which: keyof TracerSimulator['vms'], tgid: number, tid: number, ctx: bigint[] | Uint8Array): void {
    const vm = this.vms[which]!;
    vm.tgid = tgid;
    vm.pid = tid;
    vm.run({ ctx });
    for (const [name, map] of vm.maps) {
      for (const other of Object.values(this.vms)) {
        if (other === vm) continue;
        const target = other.maps.get(name)!;
        target.clear();
        for (const [k, v] of map.entries()) target.update(k, v);
      }
    }
  }
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
