// The syscall-counting BPF programs, written with our assembler DSL.
//
// Three programs share six maps:
//   tracked  tgid -> state   the processes we count (the filter lives in the kernel)
//   rows     slot*ROW + nr -> u64   the counters of the first `maxSlots` processes: an array, because an
//            array lookup costs a fraction of a hash lookup on the syscall hot path
//   slots    slot -> tgid    which process owns each row (slots are handed out in the kernel)
//   counts   {tgid, nr} -> u64   the counters of everything else (more processes, rare numbers)
//   stats    index -> u64    drop counters, so a full map is reported instead of silently miscounting;
//                            and the epoch, bumped after every change to `tracked`
//   cache    per CPU: the last {tgid, state, epoch} seen on this CPU, so the syscall hot path skips the
//            `tracked` hash lookup while the epoch is unchanged (array lookups are inlined by the JIT)
//
// State machine of a tracked process:
//   COUNT   its syscalls are counted; children it forks are COUNT.
//   ARM     the monitor itself while it spawns the `run` child: not counted; its children are PENDING.
//   PENDING not counted until it calls execve/execveat, which becomes COUNT (and is counted) — so `run`
//           counts from the child's own execve, like `strace -f CMD`.
import {
  R0, R1, R2, R3, R4, R6, R7, R8, R9, R10,
  add64, mov64, mov32, rsh64, lsh64, and64, or64, ldx, st, stx, atomic, ja, jeq, jne, jgt, jge, jslt, call, exit, label, ldMapFd, program,
} from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import { MapType, ProgType } from '../asm/opcodes.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
// Set in the stored syscall number when the syscall came from a 32-bit (compat) task.
import { COMPAT_BIT } from '../syscalls/index.js';

export const State = { COUNT: 1, ARM: 2, PENDING: 3 } as const;
/** Low byte of a `tracked` value: the State. */
export const STATE_MASK = 0xff;
/** Flag: re-read the task's ABI (64-bit or compat) at its next syscall; set after an execve. */
export const CHECK_ABI = 0x100;
/** Flag: the process runs a 32-bit (compat) image. */
export const COMPAT = 0x200;
/** Bits 16..31 of a state word: the process's row slot + 1; 0 = none yet; NO_SLOT = none left. */
export const SLOT_SHIFT = 16;
export const NO_SLOT = 0xffff;
/** Counters per row: native syscall numbers 0..511, then compat ones at +512. */
export const ROW = 1024;
export const ROW_COMPAT = 512;
const BPF_F_MMAPABLE = 0x400;

/** Slots of the `stats` array map. */
export const Stat = { DROPPED_COUNTS: 0, DROPPED_TRACKED: 1, FORKS: 2, EXITS: 3, EPOCH: 4, NEXT_SLOT: 5 } as const;
export const STAT_SLOTS = 6;

const BPF_ANY = 0;
const BPF_NOEXIST = 1;
const EEXIST = 17;
const CLONE_THREAD = 0x10000;

export interface MapSizes {
  maxProcesses: number;
  maxCounts: number;
  /** Processes that get an array row (ROW u64 counters each; default 256); the rest count in the hash. */
  maxSlots?: number;
}
export const DEFAULT_SLOTS = 256;

export function tracerMaps(sizes: MapSizes): MapSpec[] {
  return [
    { name: 'tracked', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: sizes.maxProcesses },
    { name: 'counts', type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: sizes.maxCounts },
    { name: 'stats', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: STAT_SLOTS },
    // Mmapable: user space reads the rows in place, with no syscall (a batch read of 2 MiB of array
    // takes tens of milliseconds: the kernel walks it element by element).
    { name: 'rows', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: (sizes.maxSlots ?? DEFAULT_SLOTS) * ROW, flags: BPF_F_MMAPABLE },
    { name: 'slots', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: sizes.maxSlots ?? DEFAULT_SLOTS, flags: BPF_F_MMAPABLE },
    // {u32 tgid, u32 state, u64 epoch}
    { name: 'cache', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 16, maxEntries: 1 },
  ];
}

/** How the syscall entry program finds the syscall number and the ABI of the task. */
export interface SysEnterLayout {
  /** Program type: raw tracepoint (ctx = u64 args) or tracefs tracepoint (ctx = the trace record). */
  type: 'raw' | 'tracefs';
  /** Byte offset of the syscall number in the context (raw: 8 = args[1]; tracefs: the `id` field). */
  idOffset: number;
  /**
   * Compat detection (raw only): ctx args[0] is the task's struct pt_regs *; the u64 at `regsOffset` in it is
   * masked with `mask` and compared with `compatValue` (x86_64: cs == __USER32_CS; arm64: pstate & PSR_MODE32).
   * It is read once after each execve, not on every syscall: a task's ABI changes only when it execs.
   */
  compat?: { regsOffset: number; mask: number; compatValue: number; execveNr: number; execveatNr: number };
  ctxSize: number;
  execveNr: number;
  execveatNr: number;
}

/** The common exit: every path returns 0 (the return value of tracepoint programs is ignored). */
const returnZero = (at: string): (Instruction | Label)[] => [label(at), mov64.imm(R0, 0), exit()];

function tracepointProgram(name: string, layout: { type: 'raw' | 'tracefs'; ctxSize: number }, items: (Instruction | Label)[], maps: MapSpec[]): ProgramSpec {
  const type = layout.type === 'raw' ? ProgType.RAW_TRACEPOINT : ProgType.TRACEPOINT;
  return program({ name, type, items, maps, ctxSize: layout.ctxSize });
}

let labelSeq = 0;

/** r0 = map_lookup_elem(map, r10 + keyOff); clobbers r1-r5. */
const lookup = (map: string, keyOff: number): Instruction[] => [
  ldMapFd(R1, map), mov64.reg(R2, R10), add64.imm(R2, keyOff), call('map_lookup_elem'),
];

/** *(u64 *)r0 += 1, atomically (other CPUs count into the same value). */
const increment = (): Instruction[] => [mov64.imm(R1, 1), atomic.add.dw(R0, 0, R1)];

/** Increments stats[slot] by one; clobbers r0-r5. */
function bumpStat(slot: number, stackOff: number): (Instruction | Label)[] {
  const done = `stat_${slot}_done_${++labelSeq}`;
  return [
    st.w(R10, stackOff, slot),
    ...lookup('stats', stackOff),
    jeq.imm(R0, 0, done),
    ...increment(),
    label(done),
  ];
}

/**
 * Looks up the current process in `tracked`; on a miss jumps to `out`.
 * Leaves tgid in r7 and the value pointer in r0 (stack -4 holds the tgid).
 */
function lookupCurrent(out: string): (Instruction | Label)[] {
  return [
    call('get_current_pid_tgid'),
    mov64.reg(R7, R0),
    rsh64.imm(R7, 32),
    stx.w(R10, -4, R7),
    ...lookup('tracked', -4),
    jeq.imm(R0, 0, out),
  ];
}

/** Jumps to `to` when r8 (the syscall number) is `nr` or `nr2`. */
const isExec = (nr: number, nr2: number, to: string) => [jeq.imm(R8, nr, to), jeq.imm(R8, nr2, to)];

// sys_enter's stack: -4 array index, -8 tgid (tracked key), -16 counts key {tgid, nr},
// -24 scratch u64, -28 stat index, -40 epoch read at entry, -48 state being cached, -52 slot.

/**
 * Gives the process (r9: its `tracked` value, r1: the value read) a row slot if it has none: a slot
 * number from an atomic counter, its owner recorded in `slots`. Leaves the updated value in r1.
 */
function allocateSlot(maxSlots: number): (Instruction | Label)[] {
  const n = ++labelSeq;
  const [done, none] = [`slot_done_${n}`, `slot_none_${n}`];
  return [
    mov64.reg(R2, R1),
    rsh64.imm(R2, SLOT_SHIFT),
    jne.imm(R2, 0, done),
    st.w(R10, -28, Stat.NEXT_SLOT),
    ...lookup('stats', -28),
    jeq.imm(R0, 0, none),
    mov64.imm(R2, 1),
    atomic.fetchAdd.dw(R0, 0, R2),
    jge.imm(R2, maxSlots, none),
    stx.w(R10, -52, R2),
    stx.w(R10, -8, R7),
    ldMapFd(R1, 'slots'),
    mov64.reg(R2, R10),
    add64.imm(R2, -52),
    mov64.reg(R3, R10),
    add64.imm(R3, -8),
    mov64.imm(R4, BPF_ANY),
    call('map_update_elem'),
    jne.imm(R0, 0, none),
    ldx.w(R2, R10, -52),
    add64.imm(R2, 1),
    lsh64.imm(R2, SLOT_SHIFT),
    ldx.w(R1, R9, 0),
    or64.reg(R1, R2),
    stx.w(R9, 0, R1),
    ja(done),
    label(none),
    // No row left: count in the hash from now on (and do not try again).
    ldx.w(R1, R9, 0),
    or64.imm(R1, NO_SLOT << SLOT_SHIFT),
    stx.w(R9, 0, R1),
    label(done),
  ];
}

/**
 * Stores {tgid, r1 (state), epoch read at entry} in this CPU's cache; r1 is kept. Only settled states are
 * cached (untracked, ARM, COUNT without CHECK_ABI): the others take the slow path every time.
 */
function fillCache(): (Instruction | Label)[] {
  const done = `cache_done_${++labelSeq}`;
  return [
    stx.w(R10, -48, R1),
    st.w(R10, -4, 0),
    ...lookup('cache', -4),
    jeq.imm(R0, 0, done),
    stx.w(R0, 0, R7),
    ldx.w(R1, R10, -48),
    stx.w(R0, 4, R1),
    ldx.dw(R1, R10, -40),
    stx.dw(R0, 8, R1),
    label(done),
    ldx.w(R1, R10, -48),
  ];
}

/**
 * Counts one syscall per (tgid, nr) for tracked processes. Registers: r6 ctx, r7 tgid, r8 syscall number,
 * r1 the process's state word; in the slow path r9 points at its `tracked` value.
 */
export function sysEnterProgram(layout: SysEnterLayout, maps: MapSpec[]): ProgramSpec {
  const c = layout.compat;
  const maxSlots = maps.find((m) => m.name === 'slots')?.maxEntries ?? 0;
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    call('get_current_pid_tgid'),
    mov64.reg(R7, R0),
    rsh64.imm(R7, 32),
    ldx.dw(R8, R6, layout.idOffset),
    jslt.imm(R8, 0, 'out'), // -1: no syscall (e.g. one cancelled by ptrace), nothing to count
    and64.imm(R8, 0x7fffffff),
    // The epoch first: anything read after it is at least as new.
    st.w(R10, -4, Stat.EPOCH),
    ...lookup('stats', -4),
    jeq.imm(R0, 0, 'out'),
    ldx.dw(R9, R0, 0),
    stx.dw(R10, -40, R9),
    // Fast path: this CPU saw this process last, and `tracked` has not changed since.
    st.w(R10, -4, 0),
    ...lookup('cache', -4),
    jeq.imm(R0, 0, 'slow'),
    ldx.dw(R2, R0, 8),
    jne.reg(R2, R9, 'slow'),
    ldx.w(R2, R0, 0),
    jne.reg(R2, R7, 'slow'),
    ldx.w(R1, R0, 4),
    mov64.reg(R2, R1),
    and64.imm(R2, STATE_MASK),
    jne.imm(R2, State.COUNT, 'out'), // untracked or ARM
  ];
  if (c) {
    // An execve must set CHECK_ABI in `tracked`: the slow path does that.
    items.push(
      mov64.reg(R2, R1),
      and64.imm(R2, COMPAT),
      jne.imm(R2, 0, 'fast_compat'),
      ...isExec(layout.execveNr, layout.execveatNr, 'slow'),
      ja('tag'),
      label('fast_compat'),
      ...isExec(c.execveNr, c.execveatNr, 'slow'),
    );
  }
  items.push(
    ja('tag'),

    // Slow path: the `tracked` hash.
    label('slow'),
    stx.w(R10, -8, R7),
    ...lookup('tracked', -8),
    jne.imm(R0, 0, 'tracked'),
    mov64.imm(R1, 0),
    ...fillCache(),
    ja('out'),
    label('tracked'),
    mov64.reg(R9, R0),
    ldx.w(R1, R9, 0),
    mov64.reg(R2, R1),
    and64.imm(R2, STATE_MASK),
    jeq.imm(R2, State.COUNT, 'count'),
    jne.imm(R2, State.PENDING, 'settled_out'),
    // PENDING: the first execve switches the process to COUNT and is itself counted.
    ...isExec(layout.execveNr, layout.execveatNr, 'activate'),
    ja('out'),
    label('activate'),
    and64.imm(R1, ~STATE_MASK),
    or64.imm(R1, State.COUNT),
    stx.w(R9, 0, R1),
    ...bumpStat(Stat.EPOCH, -28),
    ldx.w(R1, R9, 0),
    label('count'),
  );
  if (c) {
    items.push(
      mov64.reg(R2, R1),
      and64.imm(R2, CHECK_ABI),
      jeq.imm(R2, 0, 'abi_known'),
      // First syscall after an execve: probe_read_kernel(&tmp, 8, regs + regsOffset) tells the new ABI.
      mov64.reg(R1, R10),
      add64.imm(R1, -24),
      mov64.imm(R2, 8),
      ldx.dw(R3, R6, 0),
      add64.imm(R3, c.regsOffset),
      call('probe_read_kernel'),
      ldx.w(R1, R9, 0),
      and64.imm(R1, ~(CHECK_ABI | COMPAT)),
      jne.imm(R0, 0, 'abi_store'),
      ldx.dw(R2, R10, -24),
      and64.imm(R2, c.mask),
      jne.imm(R2, c.compatValue, 'abi_store'),
      or64.imm(R1, COMPAT),
      label('abi_store'),
      stx.w(R9, 0, R1),
      ...bumpStat(Stat.EPOCH, -28),
      ldx.w(R1, R9, 0),
      label('abi_known'),
      // An execve (in the ABI the task has now) means: check again at the next syscall.
      mov64.reg(R2, R1),
      and64.imm(R2, COMPAT),
      jne.imm(R2, 0, 'compat_exec'),
      ...isExec(layout.execveNr, layout.execveatNr, 'mark_exec'),
      ja('settled'),
      label('compat_exec'),
      ...isExec(c.execveNr, c.execveatNr, 'mark_exec'),
      ja('settled'),
      label('mark_exec'),
      or64.imm(R1, CHECK_ABI),
      stx.w(R9, 0, R1),
      ...bumpStat(Stat.EPOCH, -28),
      ldx.w(R1, R9, 0),
      ja('tag'),
    );
  }
  items.push(
    label('settled'),
    ...allocateSlot(maxSlots),
    ...fillCache(),
    // Count: in the process's row when it has one and the number fits, else in the hash.
    label('tag'),
    mov64.reg(R9, R1),
    mov64.reg(R3, R9),
    rsh64.imm(R3, SLOT_SHIFT),
    jeq.imm(R3, 0, 'hash'),
    jgt.imm(R3, maxSlots, 'hash'),
    jge.imm(R8, ROW_COMPAT, 'hash'),
    add64.imm(R3, -1),
    lsh64.imm(R3, 10), // * ROW
    add64.reg(R3, R8),
  );
  if (c) {
    items.push(
      mov64.reg(R2, R9),
      and64.imm(R2, COMPAT),
      jeq.imm(R2, 0, 'row'),
      add64.imm(R3, ROW_COMPAT),
    );
  }
  items.push(
    label('row'),
    stx.w(R10, -4, R3),
    ...lookup('rows', -4),
    jeq.imm(R0, 0, 'hash'),
    ...increment(),
    ja('out'),
    label('hash'),
  );
  if (c) {
    items.push(
      mov64.reg(R2, R9),
      and64.imm(R2, COMPAT),
      jeq.imm(R2, 0, 'key'),
      mov32.imm(R1, COMPAT_BIT),
      // or into the low word of the number (r8 <= 0x7fffffff, so add == or)
      add64.reg(R8, R1),
    );
  }
  items.push(
    label('key'),
    stx.w(R10, -16, R7),
    stx.w(R10, -12, R8),
    ...lookup('counts', -16),
    jeq.imm(R0, 0, 'insert'),
    ...increment(),
    ja('out'),

    label('insert'),
    st.dw(R10, -24, 1),
    ldMapFd(R1, 'counts'),
    mov64.reg(R2, R10),
    add64.imm(R2, -16),
    mov64.reg(R3, R10),
    add64.imm(R3, -24),
    mov64.imm(R4, BPF_NOEXIST),
    call('map_update_elem'),
    jeq.imm(R0, 0, 'out'),
    // Another CPU inserted the same key first (EEXIST): add to its counter instead.
    jne.imm(R0, -EEXIST, 'drop'),
    ...lookup('counts', -16),
    jeq.imm(R0, 0, 'drop'),
    ...increment(),
    ja('out'),

    label('drop'),
    ...bumpStat(Stat.DROPPED_COUNTS, -28),
    ja('out'),
    // ARM is settled and not counted: cache it, so the monitor's own syscalls take the fast path.
    label('settled_out'),
    jne.imm(R2, State.ARM, 'out'),
    ...fillCache(),
    ...returnZero('out'),
  );
  return tracepointProgram('dp_sys_enter', layout, items, maps);
}

/** Where the fork program finds the new task's pid, and how it tells a thread from a process. */
export type ForkLayout =
  /** raw sched_process_fork(parent, child): read child->pid and child->tgid at these task_struct offsets. */
  | { type: 'raw'; taskPidOffset: number; taskTgidOffset: number; ctxSize: number }
  /** tracefs task/task_newtask record: the `pid` and `clone_flags` fields. */
  | { type: 'tracefs'; pidOffset: number; pidSize: number; cloneFlagsOffset: number; ctxSize: number };

/**
 * Adds a forked child of a tracked process to `tracked` before the child first runs
 * (both tracepoints fire before wake_up_new_task). Threads are skipped: they count via their tgid.
 */
export function forkProgram(layout: ForkLayout, maps: MapSpec[]): ProgramSpec {
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    ...lookupCurrent('out'),
    ldx.w(R8, R0, 0),
  ];
  if (layout.type === 'raw') {
    items.push(
      ldx.dw(R7, R6, 8), // child task_struct *
      mov64.reg(R1, R10),
      add64.imm(R1, -8),
      mov64.imm(R2, 4),
      mov64.reg(R3, R7),
      add64.imm(R3, layout.taskPidOffset),
      call('probe_read_kernel'),
      jne.imm(R0, 0, 'out'),
      mov64.reg(R1, R10),
      add64.imm(R1, -12),
      mov64.imm(R2, 4),
      mov64.reg(R3, R7),
      add64.imm(R3, layout.taskTgidOffset),
      call('probe_read_kernel'),
      jne.imm(R0, 0, 'out'),
      ldx.w(R1, R10, -8),
      ldx.w(R2, R10, -12),
      jne.reg(R1, R2, 'out'), // a thread: pid != tgid
    );
  } else {
    items.push(
      ldx.dw(R1, R6, layout.cloneFlagsOffset),
      and64.imm(R1, CLONE_THREAD),
      jne.imm(R1, 0, 'out'),
      (layout.pidSize === 8 ? ldx.dw : ldx.w)(R1, R6, layout.pidOffset),
      stx.w(R10, -8, R1),
    );
  }
  items.push(
    // The child of a COUNT process is COUNT; of ARM or PENDING, PENDING. fork keeps the ABI (COMPAT).
    mov64.reg(R2, R8),
    and64.imm(R2, STATE_MASK),
    and64.imm(R8, COMPAT),
    mov64.imm(R1, State.PENDING),
    jne.imm(R2, State.COUNT, 'store'),
    mov64.imm(R1, State.COUNT),
    label('store'),
    or64.reg(R1, R8),
    stx.w(R10, -16, R1),
    ldMapFd(R1, 'tracked'),
    mov64.reg(R2, R10),
    add64.imm(R2, -8),
    mov64.reg(R3, R10),
    add64.imm(R3, -16),
    mov64.imm(R4, BPF_ANY),
    call('map_update_elem'),
    jne.imm(R0, 0, 'full'),
    ...bumpStat(Stat.EPOCH, -20),
    ja('counted'),
    label('full'),
    ...bumpStat(Stat.DROPPED_TRACKED, -20),
    label('counted'),
    ...bumpStat(Stat.FORKS, -24),
    ...returnZero('out'),
  );
  return tracepointProgram('dp_fork', layout, items, maps);
}

/** How the exit program knows the whole thread group is gone. */
export interface ExitLayout {
  type: 'raw' | 'tracefs';
  /** ctx offset of a `group_dead` flag (sched_process_exit has one since 6.16); else: the leader's exit. */
  groupDeadOffset?: number;
  ctxSize: number;
}

/**
 * Removes an exited process from `tracked`, so a recycled pid is not counted. Its counts stay in `counts`.
 */
export function exitProgram(layout: ExitLayout, maps: MapSpec[]): ProgramSpec {
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    call('get_current_pid_tgid'),
    mov64.reg(R7, R0),
    rsh64.imm(R7, 32),
  ];
  if (layout.groupDeadOffset !== undefined) {
    // raw tracepoint arguments are u64 slots (read whole, keep the bool's byte); tracefs has a 1-byte field.
    if (layout.type === 'raw') items.push(ldx.dw(R1, R6, layout.groupDeadOffset), and64.imm(R1, 0xff));
    else items.push(ldx.b(R1, R6, layout.groupDeadOffset));
    items.push(jeq.imm(R1, 0, 'out'));
  } else {
    items.push(mov32.reg(R1, R0), jne.reg(R1, R7, 'out'));
  }
  items.push(
    stx.w(R10, -4, R7),
    ldMapFd(R1, 'tracked'),
    mov64.reg(R2, R10),
    add64.imm(R2, -4),
    call('map_delete_elem'),
    jne.imm(R0, 0, 'out'),
    ...bumpStat(Stat.EPOCH, -8),
    ...bumpStat(Stat.EXITS, -8),
    ...returnZero('out'),
  );
  return tracepointProgram('dp_exit', layout, items, maps);
}
