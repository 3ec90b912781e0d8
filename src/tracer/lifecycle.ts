// dp_fork, dp_exit and dp_exec: keep the tracked set equal to the monitored tree as processes come, go and exec.
import {
  R0, R1, R2, R3, R6, R7, R8, R9, R10, add64, mov64, rsh64, and64, or64, ldx, stx, atomic, ja, jeq, jne, call, label, ldMapFd,
} from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import { BPF_ANY, CHECK_ABI, CHILDREN_ALONE, CLONE_THREAD, COMPAT, NO_CHILDREN, STATE_MASK, Stat, State } from './maps.js';
import { bumpStat, lookup, lookupCurrent, probeRead, returnZero, tracepointProgram, updateElem } from './blocks.js';
import { accountGroupDeath, accountThread, type ExitOffsets } from './exits.js';
import { COUNT_ONLY, clearInFlight, renameThread, type TracerFeatures } from './detail.js';

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
    // --exclude-children: the process alone; its children are not part of what is monitored.
    mov64.reg(R1, R8),
    and64.imm(R1, NO_CHILDREN),
    jne.imm(R1, 0, 'out'),
  ];
  if (layout.type === 'raw') {
    items.push(
      ldx.dw(R7, R6, 8), // child task_struct *
      ...probeRead(-8, 4, mov64.reg(R3, R7), layout.taskPidOffset),
      jne.imm(R0, 0, 'out'),
      ...probeRead(-12, 4, mov64.reg(R3, R7), layout.taskTgidOffset),
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
    // The child of a COUNT process is COUNT; of ARM or PENDING, PENDING. fork keeps the ABI (COMPAT);
    // a child forked while ARM has CHILDREN_ALONE gets NO_CHILDREN.
    mov64.reg(R2, R8),
    and64.imm(R2, STATE_MASK),
    mov64.reg(R3, R8),
    and64.imm(R3, CHILDREN_ALONE),
    and64.imm(R8, COMPAT),
    mov64.imm(R1, State.PENDING),
    jne.imm(R2, State.COUNT, 'store'),
    mov64.imm(R1, State.COUNT),
    label('store'),
    or64.reg(R1, R8),
    jeq.imm(R3, 0, 'flags_done'),
    or64.imm(R1, NO_CHILDREN),
    label('flags_done'),
    stx.w(R10, -16, R1),
    ...updateElem('tracked', -8, -16, BPF_ANY),
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

/** How the exit program knows the whole thread group is gone, and where the task's figures are. */
export interface ExitLayout {
  type: 'raw' | 'tracefs';
  /** ctx offset of a `group_dead` flag (sched_process_exit has one since 6.16); else: the leader's exit. */
  groupDeadOffset?: number;
  ctxSize: number;
  /** Exit accounting (needs kernel BTF): where each exiting thread's figures are. */
  accounting?: ExitOffsets;
}

/**
 * Runs at every thread exit. For a tracked process: adds the thread's figures to `exits` (exit
 * accounting); when its thread group is dead, completes that entry and removes the process from
 * `tracked`, so a recycled pid is not counted. Its syscall counts stay in `counts`/`rows`.
 */
export function exitProgram(layout: ExitLayout, maps: MapSpec[], f: TracerFeatures = COUNT_ONLY): ProgramSpec {
  const acc = layout.accounting;
  const items: (Instruction | Label)[] = [mov64.reg(R6, R1)];
  if (acc) {
    // The exiting task: raw sched_process_exit(p, ...) passes it; a tracefs record does not.
    if (layout.type === 'raw') items.push(ldx.dw(R7, R6, 0));
    else items.push(call('get_current_task'), mov64.reg(R7, R0));
  }
  items.push(
    call('get_current_pid_tgid'),
    mov64.reg(R8, R0),
    rsh64.imm(R8, 32),
    stx.w(R10, -4, R8),
    stx.w(R10, -8, R0), // the thread's pid (low half): -8 holds the whole pid_tgid
    // Every exiting thread (it may be one that left the tracked set): no syscall of it is in flight any more.
    ...(f.detail ? clearInFlight(-8, -240) : []),
    ...(f.perThread ? renameThread(-8) : []),
    ...lookup('tracked', -4),
    jeq.imm(R0, 0, 'out'),
  );
  if (acc) {
    items.push(
      mov64.imm(R9, 0),
      // The monitor itself (ARM, while it spawns the command) is not part of the tree.
      ldx.w(R1, R0, 0),
      and64.imm(R1, STATE_MASK),
      jeq.imm(R1, State.ARM, 'group'),
      mov64.reg(R1, R8),
      ...accountThread(acc),
      label('group'),
    );
  }
  if (layout.groupDeadOffset !== undefined) {
    // raw tracepoint arguments are u64 slots (read whole, keep the bool's byte); tracefs has a 1-byte field.
    if (layout.type === 'raw') items.push(ldx.dw(R1, R6, layout.groupDeadOffset), and64.imm(R1, 0xff));
    else items.push(ldx.b(R1, R6, layout.groupDeadOffset));
    items.push(jeq.imm(R1, 0, 'out'));
  } else {
    items.push(ldx.w(R1, R10, -8), jne.reg(R1, R8, 'out'));
  }
  if (acc) items.push(...accountGroupDeath(acc));
  items.push(
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

/**
 * After a successful exec (sched_process_exec fires in the new image, once the old image's other threads
 * are gone), marks the process CHECK_ABI: its next syscall reads which ABI the new image uses. Only needed
 * where the ABI can be read (raw mode).
 */
export function execProgram(maps: MapSpec[]): ProgramSpec {
  const items: (Instruction | Label)[] = [
    ...lookupCurrent('out'),
    mov64.imm(R1, CHECK_ABI),
    atomic.or.w(R0, 0, R1),
    ...bumpStat(Stat.EPOCH, -8),
    ...returnZero('out'),
  ];
  // sched_process_exec(p, old_pid, bprm): the arguments are not read.
  return tracepointProgram('dp_exec', { type: 'raw', ctxSize: 24 }, items, maps);
}
