// The scheduler and socket programs, run in the BPF→WebAssembly engine on synthetic events (context
// switches, wake-ups, thread deaths, sends and receives) with a clock the caller moves: their
// accounting can be checked to the nanosecond on any machine, without BPF privilege.
import { BpfVm, type VmMap } from '../vm/index.js';
import type { ProgramSpec } from '../asm/spec.js';
import { Stat, State } from './maps.js';
import { activityPrograms } from './activity-setup.js';
import { ActivityReader, type ActivitySnapshot, type ReadableMap } from './activity.js';
import type { SchedLayout } from './sched.js';
import type { NetLayout } from './net.js';
import type { TracerLayout } from './layout.js';

const TASK_BASE = 0xffff_8880_2000_0000n;
const SOCK_BASE = 0xffff_8880_3000_0000n;
const OBJ_SIZE = 0x800;

/** Synthetic offsets (any will do: the programs read where the layout says). */
export const SIM_LAYOUT: { sched: SchedLayout; net: NetLayout } = {
  sched: { task: { pid: 0x100, groupLeader: 0x200, startBoottime: 0x300 }, prevStateArg: true, taskState: 0x10, inIowait: { byte: 0x400, mask: 0x2 } },
  net: { task: { pid: 0x100, groupLeader: 0x200, startBoottime: 0x300 }, skFamily: 0x10, skProtocol: 0x20 },
};

type Prog = 'switch' | 'wakeup' | 'wakeupNew' | 'send' | 'recv';
const NAMES: Record<Prog, string> = {
  switch: 'dp_sched_switch', wakeup: 'dp_sched_wakeup', wakeupNew: 'dp_sched_wakeup_new', send: 'dp_sock_send', recv: 'dp_sock_recv',
};

export interface SimTask {
  tgid: number;
  tid: number;
}

export class ActivitySimulator {
  /** The clock the programs read (ktime_get_ns), ns. */
  nowNs = 1_000_000_000n;
  private readonly vms = new Map<Prog, BpfVm>();
  private readonly tasks = new Map<number, { addr: bigint; bytes: Uint8Array }>();
  private readonly socks = new Map<string, bigint>();
  private objects = 0;
  private readonly reader: ActivityReader;

  constructor(sizes = { maxProcesses: 32, maxThreads: 64 }, layout = SIM_LAYOUT) {
    const full = { sched: { layout: layout.sched }, net: { layout: layout.net } } as unknown as TracerLayout;
    const { specs } = activityPrograms(full, { maxProcesses: sizes.maxProcesses, maxCounts: 64, maxSlots: 1 }, { maxThreads: sizes.maxThreads });
    for (const [prog, name] of Object.entries(NAMES) as [Prog, string][]) {
      const spec = specs.find((s) => s.name === name) as ProgramSpec;
      // The tracked set is sized apart, so a test can fill the process table with tracked processes.
      const maps = spec.maps.map((m) => (m.name === 'tracked' ? { ...m, maxEntries: 1024 } : m));
      this.vms.set(prog, new BpfVm(spec, { clock: () => this.nowNs, maps }));
    }
    const view = (name: string): ReadableMap => ({
      rawEntries: () => this.map(name).entries().map(([k, v]) => [Buffer.from(k), Buffer.from(v)]),
      remove: (key) => this.removeEverywhere(name, key),
    });
    this.reader = new ActivityReader({ threads: view('threads'), procs: view('procs'), xstats: view('xstats') }, { sched: true, net: true }, () => Number(this.nowNs));
  }

  advance(ms: number): void {
    this.nowNs += BigInt(Math.round(ms * 1e6));
  }

  private epochs = 0;

  /** Puts `tgid` in the tracked set (State.COUNT unless told), with a new epoch, as the engine does. */
  track(tgid: number, state: number = State.COUNT): void {
    for (const vm of this.vms.values()) vm.maps.get('tracked')!.update(u32(tgid), u32(state));
    this.bumpEpoch();
  }

  /** Removes `tgid` from the tracked set (as dp_exit does), with a new epoch. */
  untrack(tgid: number, opts: { keepEpoch?: boolean } = {}): void {
    for (const vm of this.vms.values()) vm.maps.get('tracked')!.delete(u32(tgid));
    if (!opts.keepEpoch) this.bumpEpoch();
  }

  private bumpEpoch(): void {
    const epoch = new Uint8Array(8);
    new DataView(epoch.buffer).setBigUint64(0, (1n << 63n) | BigInt(++this.epochs), true);
    for (const vm of this.vms.values()) vm.maps.get('stats')!.update(u32(Stat.EPOCH), epoch);
  }

  /** Thread `t`'s fake task_struct (made on first use; its process's leader is thread tgid, started at startNs). */
  task(t: SimTask, startNs = 5_000_000n): bigint {
    const known = this.tasks.get(t.tid);
    if (known) return known.addr;
    const bytes = new Uint8Array(OBJ_SIZE);
    const v = new DataView(bytes.buffer);
    const addr = TASK_BASE + BigInt(++this.objects * OBJ_SIZE);
    const l = SIM_LAYOUT.sched;
    v.setInt32(l.task.pid, t.tid, true);
    v.setInt32(l.task.pid + 4, t.tgid, true);
    v.setBigUint64(l.task.startBoottime, startNs, true);
    this.tasks.set(t.tid, { addr, bytes });
    const leader = t.tid === t.tgid ? addr : this.task({ tgid: t.tgid, tid: t.tgid }, startNs);
    v.setBigUint64(l.task.groupLeader, leader, true);
    for (const vm of this.vms.values()) vm.addKernelMemory(addr, bytes);
    return addr;
  }

  /**
   * A context switch on one CPU: `prev` (null: the idle task) leaves, `next` (null: idle) runs.
   * prevState: the kernel's task state (0 running, 1 interruptible, 2 uninterruptible, 0x80 dead).
   */
  switch(prev: SimTask | null, next: SimTask | null, o: { preempt?: boolean; prevState?: number; ioWait?: boolean } = {}): void {
    const prevAddr = prev ? this.task(prev) : this.idle();
    const nextAddr = next ? this.task(next) : this.idle();
    if (prev) {
      const p = this.tasks.get(prev.tid)!.bytes;
      const at = SIM_LAYOUT.sched.inIowait!;
      p[at.byte] = o.ioWait ? p[at.byte]! | at.mask : p[at.byte]! & ~at.mask;
    }
    this.run('switch', prev ?? { tgid: 0, tid: 0 }, prevAddr, [o.preempt ? 1n : 0n, prevAddr, nextAddr, BigInt(o.prevState ?? 0)]);
  }

  /** `t` is woken (sched_wakeup; `fresh`: sched_wakeup_new, a new task's first), by `by` (default: the idle task). */
  wakeup(t: SimTask, o: { fresh?: boolean; by?: SimTask } = {}): void {
    const addr = this.task(t);
    const by = o.by ?? { tgid: 0, tid: 0 };
    this.run(o.fresh ? 'wakeupNew' : 'wakeup', by, by.tid ? this.task(by) : this.idle(), [addr]);
  }

  /** `t` sends (or receives) on a socket: ret is what the kernel returns (bytes, or -errno). */
  sock(dir: 'send' | 'recv', t: SimTask, ret: number, s: { family: number; protocol: number }, flags = 0): void {
    const key = `${s.family}:${s.protocol}`;
    let addr = this.socks.get(key);
    if (addr === undefined) {
      const bytes = new Uint8Array(OBJ_SIZE);
      const v = new DataView(bytes.buffer);
      v.setUint16(SIM_LAYOUT.net.skFamily, s.family, true);
      v.setUint16(SIM_LAYOUT.net.skProtocol, s.protocol, true);
      addr = SOCK_BASE + BigInt(++this.objects * OBJ_SIZE);
      this.socks.set(key, addr);
      for (const vm of this.vms.values()) vm.addKernelMemory(addr, bytes);
    }
    // int ret is zero-extended into its u64 slot, as the kernel's raw tracepoints pass it.
    this.run(dir, t, this.task(t), [addr, BigInt(ret >>> 0), BigInt(flags)]);
  }

  /** A read as the engine does it (tracked: the set now). */
  read(tracked: Iterable<number>): ActivitySnapshot {
    return this.reader.read(new Set(tracked));
  }

  private idleAddr = 0n;
  private idle(): bigint {
    if (!this.idleAddr) this.idleAddr = this.task({ tgid: 0, tid: 0 });
    return this.idleAddr;
  }

  private map(name: string): VmMap {
    return this.vms.get('switch')!.maps.get(name)!;
  }

  private removeEverywhere(name: string, key: Buffer): boolean {
    let found = false;
    for (const vm of this.vms.values()) found = vm.maps.get(name)!.delete(new Uint8Array(key)) === 0 || found;
    return found;
  }

  /** Runs one program as `cur`, then copies its maps to the others (the kernel shares them). */
  private run(which: Prog, cur: SimTask, task: bigint, ctx: bigint[]): void {
    const vm = this.vms.get(which)!;
    vm.tgid = cur.tgid;
    vm.pid = cur.tid;
    vm.task = task;
    vm.run({ ctx });
    for (const [name, map] of vm.maps) {
      for (const other of this.vms.values()) {
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
