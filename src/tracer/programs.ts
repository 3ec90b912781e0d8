// The syscall-counting BPF programs, written with our assembler DSL.
//
// Three programs share three maps:
//   tracked  tgid -> state   the processes we count (the filter lives in the kernel)
//   counts   {tgid, nr} -> u64   one counter per process and syscall
//   stats    index -> u64    drop counters, so a full map is reported instead of silently miscounting
//
// State machine of a tracked process:
//   COUNT   its syscalls are counted; children it forks are COUNT.
//   ARM     the monitor itself while it spawns the `run` child: not counted; its children are PENDING.
//   PENDING not counted until it calls execve/execveat, which becomes COUNT (and is counted) — so `run`
//           counts from the child's own execve, like `strace -f CMD`.
import {
  R0, R1, R2, R3, R4, R6, R7, R8, R10,
  add64, mov64, mov32, rsh64, and64, ldx, st, stx, atomic, ja, jeq, jne, jslt, call, exit, label, ldMapFd, program,
} from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import { MapType, ProgType } from '../asm/opcodes.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
// Set in the stored syscall number when the syscall came from a 32-bit (compat) task.
import { COMPAT_BIT } from '../syscalls/index.js';

export const State = { COUNT: 1, ARM: 2, PENDING: 3 } as const;
/** Slots of the `stats` array map. */
export const Stat = { DROPPED_COUNTS: 0, DROPPED_TRACKED: 1, FORKS: 2, EXITS: 3 } as const;
export const STAT_SLOTS = 4;

const BPF_ANY = 0;
const BPF_NOEXIST = 1;
const EEXIST = 17;
const CLONE_THREAD = 0x10000;

export interface MapSizes {
  maxProcesses: number;
  maxCounts: number;
}

export function tracerMaps(sizes: MapSizes): MapSpec[] {
  return [
    { name: 'tracked', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: sizes.maxProcesses },
    { name: 'counts', type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: sizes.maxCounts },
    { name: 'stats', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: STAT_SLOTS },
  ];
}

/** How the syscall entry program finds the syscall number and the compat flag. */
export interface SysEnterLayout {
  /** Program type: raw tracepoint (ctx = u64 args) or tracefs tracepoint (ctx = the trace record). */
  type: 'raw' | 'tracefs';
  /** Byte offset of the syscall number in the context (raw: 8 = args[1]; tracefs: the `id` field). */
  idOffset: number;
  /**
   * Compat detection (raw only): ctx args[0] is the task's struct pt_regs *; the u64 at `regsOffset` in it is
   * masked with `mask` and compared with `compatValue` (x86_64: cs == __USER32_CS; arm64: pstate & PSR_MODE32).
   */
  compat?: { regsOffset: number; mask: number; compatValue: number };
  ctxSize: number;
  execveNr: number;
  execveatNr: number;
}

/** Increments stats[slot] by one; clobbers r0-r5. */
function bumpStat(slot: number, stackOff: number): (Instruction | Label)[] {
  const done = `stat_${slot}_done_${stackOff}`;
  return [
    st.w(R10, stackOff, slot),
    ldMapFd(R1, 'stats'),
    mov64.reg(R2, R10),
    add64.imm(R2, stackOff),
    call('map_lookup_elem'),
    jeq.imm(R0, 0, done),
    mov64.imm(R1, 1),
    atomic.add.dw(R0, 0, R1),
    label(done),
  ];
}

/**
 * Looks up the current process in `tracked`; on a miss jumps to `out`.
 * Leaves tgid in r7 and the state value pointer in r0 (stack -4 holds the tgid).
 */
function lookupCurrent(out: string): (Instruction | Label)[] {
  return [
    call('get_current_pid_tgid'),
    mov64.reg(R7, R0),
    rsh64.imm(R7, 32),
    stx.w(R10, -4, R7),
    ldMapFd(R1, 'tracked'),
    mov64.reg(R2, R10),
    add64.imm(R2, -4),
    call('map_lookup_elem'),
    jeq.imm(R0, 0, out),
  ];
}

export function sysEnterProgram(layout: SysEnterLayout, maps: MapSpec[]): ProgramSpec {
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    ...lookupCurrent('out'),
    ldx.w(R1, R0, 0),
    jeq.imm(R1, State.COUNT, 'count'),
    jne.imm(R1, State.PENDING, 'out'),
    // PENDING: the first execve switches the process to COUNT and is itself counted.
    ldx.dw(R2, R6, layout.idOffset),
    jeq.imm(R2, layout.execveNr, 'activate'),
    jne.imm(R2, layout.execveatNr, 'out'),
    label('activate'),
    st.w(R0, 0, State.COUNT),

    label('count'),
    ldx.dw(R8, R6, layout.idOffset),
    jslt.imm(R8, 0, 'out'), // -1: no syscall (e.g. a ptrace-cancelled one), nothing to count
    and64.imm(R8, 0x7fffffff),
  ];
  if (layout.compat) {
    const { regsOffset, mask, compatValue } = layout.compat;
    items.push(
      // probe_read_kernel(&tmp, 8, regs + regsOffset): the user-mode segment/PSTATE tells a 32-bit task.
      mov64.reg(R1, R10),
      add64.imm(R1, -24),
      mov64.imm(R2, 8),
      ldx.dw(R3, R6, 0),
      add64.imm(R3, regsOffset),
      call('probe_read_kernel'),
      jne.imm(R0, 0, 'key'),
      ldx.dw(R1, R10, -24),
      and64.imm(R1, mask),
      jne.imm(R1, compatValue, 'key'),
      mov32.imm(R1, COMPAT_BIT),
      // or into the low word of the number (r8 <= 0x7fffffff, so add == or)
      add64.reg(R8, R1),
    );
  }
  items.push(
    label('key'),
    stx.w(R10, -16, R7),
    stx.w(R10, -12, R8),
    ldMapFd(R1, 'counts'),
    mov64.reg(R2, R10),
    add64.imm(R2, -16),
    call('map_lookup_elem'),
    jeq.imm(R0, 0, 'insert'),
    mov64.imm(R1, 1),
    atomic.add.dw(R0, 0, R1),
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
    ldMapFd(R1, 'counts'),
    mov64.reg(R2, R10),
    add64.imm(R2, -16),
    call('map_lookup_elem'),
    jeq.imm(R0, 0, 'drop'),
    mov64.imm(R1, 1),
    atomic.add.dw(R0, 0, R1),
    ja('out'),

    label('drop'),
    ...bumpStat(Stat.DROPPED_COUNTS, -28),
    label('out'),
    mov64.imm(R0, 0),
    exit(),
  );
  return program({
    name: 'dp_sys_enter',
    type: layout.type === 'raw' ? ProgType.RAW_TRACEPOINT : ProgType.TRACEPOINT,
    items,
    maps,
    ctxSize: layout.ctxSize,
  });
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
    // The child of a COUNT process is COUNT; of ARM or PENDING, PENDING.
    mov64.imm(R1, State.PENDING),
    jne.imm(R8, State.COUNT, 'store'),
    mov64.imm(R1, State.COUNT),
    label('store'),
    stx.w(R10, -16, R1),
    ldMapFd(R1, 'tracked'),
    mov64.reg(R2, R10),
    add64.imm(R2, -8),
    mov64.reg(R3, R10),
    add64.imm(R3, -16),
    mov64.imm(R4, BPF_ANY),
    call('map_update_elem'),
    jeq.imm(R0, 0, 'counted'),
    ...bumpStat(Stat.DROPPED_TRACKED, -20),
    label('counted'),
    ...bumpStat(Stat.FORKS, -24),
    label('out'),
    mov64.imm(R0, 0),
    exit(),
  );
  return program({
    name: 'dp_fork',
    type: layout.type === 'raw' ? ProgType.RAW_TRACEPOINT : ProgType.TRACEPOINT,
    items,
    maps,
    ctxSize: layout.ctxSize,
  });
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
    ...bumpStat(Stat.EXITS, -8),
    label('out'),
    mov64.imm(R0, 0),
    exit(),
  );
  return program({
    name: 'dp_exit',
    type: layout.type === 'raw' ? ProgType.RAW_TRACEPOINT : ProgType.TRACEPOINT,
    items,
    maps,
    ctxSize: layout.ctxSize,
  });
}
