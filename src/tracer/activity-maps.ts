// The maps of the scheduler and socket programs (sched.ts, net.ts), and the blocks they share.
//
//   threads   tid -> ThreadValue     each thread of the tree: what it is doing since when, and its sums
//   procs     tgid -> ProcValue      each process of the tree: the sums of its exited threads, its socket
//                                    bytes, and its leader's start time (which names it across pid reuse)
//   xstats    index -> u64           what a full table kept from being recorded (XStat)
//   seen      per CPU: tgid % SEEN_SLOTS -> {tgid, verdict, epoch}   whether a process is in the tree,
//             as last looked up on this CPU, valid while `stats[EPOCH]` is unchanged (as sys_enter's
//             cache): a context switch of a task outside the tree then costs no hash lookup
//
// A process's off-CPU time = procs (its exited threads) + Σ threads of that tgid (+ the interval open
// now). A thread entry is folded into its process when the thread dies (its last sched_switch, with
// prev_state TASK_DEAD), so the sums never lose an exited thread; user space removes a procs entry
// once its process has left `tracked` for good (activity.ts).
import { R0, R1, R2, R3, R10, mov64, and64, ldx, st, stx, atomic, ja, jeq, jne, call, label } from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import { MapType } from '../asm/opcodes.js';
import type { MapSpec } from '../asm/spec.js';
import { BPF_NOEXIST, STATE_MASK, Stat, State } from './maps.js';
import { lookup, probeRead, uniqueLabel, updateElem } from './blocks.js';

/** What a thread of the tree is doing (ThreadValue.STATE). */
export const ThreadState = { RUNNING: 0, RUNNABLE: 1, BLOCKED: 2, BLOCKED_IO: 3 } as const;

/** Byte offsets in a `threads` value. */
export const ThreadValue = {
  /** u64: ktime (CLOCK_MONOTONIC ns) of the last transition */
  TS: 0,
  /** u32: ThreadState */
  STATE: 8,
  /** u32: the thread's process */
  TGID: 12,
  /** u64 sums, ns: blocked (sleeping, waiting for I/O or a lock), of which in I/O wait, runnable waiting for a CPU */
  OFF_NS: 16,
  IOWAIT_NS: 24,
  RUNQ_NS: 32,
  /**
   * u32, reserved for the stacks work: the id of the blocking stack taken when the thread blocked
   * (get_stackid at switch-out; the wake-up then weights it by the blocked time). 0 = none.
   */
  STACK: 40,
  SIZE: 48,
} as const;

/** Socket classes, in the order of ProcValue's tx and rx arrays. */
export const NET_CLASSES = ['tcp', 'udp', 'other_ip', 'unix', 'other'] as const;
export type NetClass = (typeof NET_CLASSES)[number];
export const NetClassIndex = { tcp: 0, udp: 1, other_ip: 2, unix: 3, other: 4 } as const;

/** Byte offsets in a `procs` value (all u64). */
export const ProcValue = {
  /** the group leader's start_boottime (ns since boot): with the tgid, names the process */
  START_NS: 0,
  /** sums over its exited threads */
  OFF_NS: 8,
  IOWAIT_NS: 16,
  RUNQ_NS: 24,
  /** bytes sent, one u64 per NET_CLASSES entry */
  TX: 32,
  /** bytes received, likewise */
  RX: 32 + 8 * NET_CLASSES.length,
  SIZE: 32 + 16 * NET_CLASSES.length,
} as const;

/** Slots of `xstats`. */
export const XStat = {
  /** scheduler events of threads that could not get an entry (threads table full) */
  THREADS_FULL: 0,
  /** exited threads whose time could not be kept (procs table full) */
  THREAD_TIME_LOST: 1,
  /** socket bytes not counted (procs table full) */
  NET_BYTES_LOST: 2,
} as const;
export const XSTAT_SLOTS = 3;

/** Slots of the per-CPU membership cache (`seen`), and the layout of one. */
export const SEEN_SLOTS = 1024;
export const Seen = { TGID: 0, VERDICT: 4, EPOCH: 8, SIZE: 16 } as const;

export interface ActivitySizes {
  maxProcesses: number;
  maxThreads: number;
}

export function activityMaps(sizes: ActivitySizes): MapSpec[] {
  return [
    { name: 'threads', type: MapType.HASH, keySize: 4, valueSize: ThreadValue.SIZE, maxEntries: sizes.maxThreads },
    { name: 'procs', type: MapType.HASH, keySize: 4, valueSize: ProcValue.SIZE, maxEntries: sizes.maxProcesses },
    { name: 'xstats', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: XSTAT_SLOTS },
    { name: 'seen', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: Seen.SIZE, maxEntries: SEEN_SLOTS },
  ];
}

/** Where the programs find a task's ids and its process's start time (byte offsets from kernel BTF). */
export interface TaskOffsets {
  /** task_struct.pid; tgid follows it (4 bytes on), so one 8-byte read gives both */
  pid: number;
  groupLeader: number;
  startBoottime: number;
}

/**
 * Jumps to `found` with r0 = the `procs` entry of the tgid (u32) at `keyOff`, created if missing (with
 * the start time of the current task's group leader: the current task must belong to that process),
 * or to `full` when the table has no room. Uses ProcValue.SIZE bytes of stack at `valueOff` and 8 at
 * `tmpOff`; clobbers r0-r5. (Both lookups jump to `found` themselves: a second null check of the
 * first one's result, where the paths meet, is a pointer comparison our verifier refuses.)
 */
export function procEntry(t: TaskOffsets, keyOff: number, valueOff: number, tmpOff: number, found: string, full: string): (Instruction | Label)[] {
  const items: (Instruction | Label)[] = [...lookup('procs', keyOff), jne.imm(R0, 0, found)];
  for (let off = 0; off < ProcValue.SIZE; off += 8) items.push(st.dw(R10, valueOff + off, 0));
  const leaderOk = uniqueLabel('proc_leader_ok');
  items.push(
    st.dw(R10, tmpOff, 0),
    call('get_current_task'),
    ...probeRead(tmpOff, 8, mov64.reg(R3, R0), t.groupLeader),
    ldx.dw(R3, R10, tmpOff),
    jne.imm(R0, 0, leaderOk), // unreadable: the start time stays 0 (unknown)
    // On failure probe_read_kernel zeroes the destination: the start time stays 0 (unknown).
    ...probeRead(valueOff + ProcValue.START_NS, 8, mov64.reg(R3, R3), t.startBoottime),
    label(leaderOk),
    // NOEXIST: another thread of the process may have created it meanwhile; then ours is not needed.
    ...updateElem('procs', keyOff, valueOff, BPF_NOEXIST),
    ...lookup('procs', keyOff),
    jne.imm(R0, 0, found),
    ja(full),
  );
  return items;
}

/** xstats[slot] += `reg` (r6-r9: it survives the lookup). Clobbers r0-r5. */
export function addXStat(slot: number, stackOff: number, reg: number): (Instruction | Label)[] {
  const done = uniqueLabel(`xstat_${slot}_done`);
  return [
    st.w(R10, stackOff, slot),
    ...lookup('xstats', stackOff),
    jeq.imm(R0, 0, done),
    atomic.add.dw(R0, 0, reg),
    label(done),
  ];
}

/** xstats[slot] += 1. Clobbers r0-r5. */
export function bumpXStat(slot: number, stackOff: number): (Instruction | Label)[] {
  const done = uniqueLabel(`xstat_${slot}_done`);
  return [
    st.w(R10, stackOff, slot),
    ...lookup('xstats', stackOff),
    jeq.imm(R0, 0, done),
    mov64.imm(R1, 1),
    atomic.add.dw(R0, 0, R1),
    label(done),
  ];
}

/**
 * Jumps to `skip` unless the tgid (u32) at `keyOff` is in the tree: in `tracked`, and not the monitor
 * itself (ARM, while it spawns the command). This CPU's `seen` slot answers while the epoch (u64 at
 * `epochOff`, read at entry) is unchanged; otherwise `tracked` does, and the slot is refilled. Only
 * programs that cannot be interrupted on their CPU (sched_switch, the wake-ups: both run with
 * interrupts off) may use this: a 16-byte slot written by a nested program could tear. Uses 4 bytes at
 * `idxOff` and 4 at `verdictOff`; clobbers r0-r5.
 */
export function inTreeCached(keyOff: number, epochOff: number, idxOff: number, verdictOff: number, skip: string): (Instruction | Label)[] {
  const [slow, fill, decide] = [uniqueLabel('seen_slow'), uniqueLabel('seen_fill'), uniqueLabel('seen_decide')];
  const no = uniqueLabel('seen_no');
  return [
    ldx.w(R1, R10, keyOff),
    and64.imm(R1, SEEN_SLOTS - 1),
    stx.w(R10, idxOff, R1),
    ...lookup('seen', idxOff),
    jeq.imm(R0, 0, slow),
    ldx.w(R1, R0, Seen.TGID),
    ldx.w(R2, R10, keyOff),
    jne.reg(R1, R2, slow),
    ldx.dw(R1, R0, Seen.EPOCH),
    ldx.dw(R2, R10, epochOff),
    jne.reg(R1, R2, slow),
    ldx.w(R1, R0, Seen.VERDICT),
    jeq.imm(R1, 0, skip),
    ja(decide),
    label(slow),
    st.w(R10, verdictOff, 0),
    ...lookup('tracked', keyOff),
    jeq.imm(R0, 0, fill),
    ldx.w(R1, R0, 0),
    and64.imm(R1, STATE_MASK),
    jeq.imm(R1, State.ARM, fill),
    st.w(R10, verdictOff, 1),
    label(fill),
    ...lookup('seen', idxOff),
    jeq.imm(R0, 0, no),
    ldx.w(R1, R10, keyOff),
    stx.w(R0, Seen.TGID, R1),
    ldx.w(R1, R10, verdictOff),
    stx.w(R0, Seen.VERDICT, R1),
    ldx.dw(R1, R10, epochOff),
    stx.dw(R0, Seen.EPOCH, R1),
    label(no),
    ldx.w(R1, R10, verdictOff),
    jeq.imm(R1, 0, skip),
    label(decide),
  ];
}

/** Reads stats[EPOCH] (the version of `tracked`) into the stack at `epochOff`; jumps to `fail` if it cannot. */
export function readEpoch(epochOff: number, idxOff: number, fail: string): (Instruction | Label)[] {
  return [st.w(R10, idxOff, Stat.EPOCH), ...lookup('stats', idxOff), jeq.imm(R0, 0, fail), ldx.dw(R1, R0, 0), stx.dw(R10, epochOff, R1)];
}

/**
 * r0 = the `tracked` value of the tgid (u32) at `keyOff`, or a jump to `skip`: untracked, or the monitor
 * itself (ARM, while it spawns the command). Clobbers r0-r5.
 */
export function trackedOr(keyOff: number, skip: string): (Instruction | Label)[] {
  return [
    ...lookup('tracked', keyOff),
    jeq.imm(R0, 0, skip),
    ldx.w(R1, R0, 0),
    and64.imm(R1, STATE_MASK),
    jeq.imm(R1, State.ARM, skip),
  ];
}
