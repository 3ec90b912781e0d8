// dp_sched_switch, dp_sched_wakeup and dp_sched_wakeup_new: where the tree's threads spend the time
// they are not on a CPU. Each thread of a tracked process moves between three states:
//
//   RUNNING --switch out, prev_state 0 or preempted--> RUNNABLE --switch in--> RUNNING   (run-queue wait)
//   RUNNING --switch out, sleeping-------------------> BLOCKED --wake-up----> RUNNABLE   (off-CPU)
//
// and each transition adds the time since the previous one to the thread's sum for the state it
// leaves (threads map). BLOCKED_IO is BLOCKED with the task's in_iowait set at switch-out (io_schedule:
// block I/O, page-cache misses, fsync): the kernel's own mark of a wait for the disk.
//
// Cost: every context switch of the machine runs dp_sched_switch; for a task outside the tree it is
// one hash lookup in `tracked` per side (the next task's ids cost one probe read). See docs/tracer.md.
import { R0, R1, R2, R3, R6, R7, R8, R9, R10, add64, sub64, mov64, rsh64, and64, ldx, st, stx, atomic, ja, jeq, jne, jset, jsle, call, label, ldMapFd } from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import { BPF_ANY } from './maps.js';
import { lookup, probeRead, returnZero, tracepointProgram, uniqueLabel, updateElem } from './blocks.js';
import { ProcValue, ThreadState, ThreadValue, XStat, bumpXStat, inTreeCached, procEntry, readEpoch, type TaskOffsets } from './activity-maps.js';

/** The kernel's TASK_DEAD: prev_state of a thread's last switch. */
const TASK_DEAD = 0x80;

export interface SchedLayout {
  task: TaskOffsets;
  /** sched_switch(preempt, prev, next, prev_state) since Linux 5.18; before, prev->__state is read at this offset. */
  prevStateArg: boolean;
  taskState: number;
  /** task_struct.in_iowait (a bitfield): its byte and bit; absent: no I/O-wait split. */
  inIowait?: { byte: number; mask: number };
}

/** Optional code at the points where the stacks work attaches (see ThreadValue.STACK). */
export interface SchedHooks {
  /**
   * Runs when a thread of the tree blocks, on its own CPU (prev is current): r6 = ctx, r9 = its
   * `threads` entry (null-checked). May clobber r0-r5; must keep r6-r9.
   */
  onBlock?: () => (Instruction | Label)[];
  /** Runs at the wake-up of a blocked thread: r9 = its entry, r8 = the ns it was blocked. Same rules. */
  onWake?: () => (Instruction | Label)[];
}

// Stack: -8 now, -16 tid / -12 tgid (keys), -24 next's {pid, tgid}, -28 xstats index, -40 a u64,
// -88 a threads value, -200 a procs value, -208 a pointer, -216 the epoch, -220/-224 the cache's index and verdict.
const NOW = -8, TID = -16, TGID = -12, IDS = -24, XIDX = -28, U64 = -40, TVAL = -88, PVAL = -200, PTR = -208;
const EPOCH = -216, SIDX = -220, VERDICT = -224;

/** Jumps to `skip` unless the task whose tgid is at TGID belongs to the tree (per-CPU cache first). */
const inTree = (skip: string) => inTreeCached(TGID, EPOCH, SIDX, VERDICT, skip);

/** NOW = the clock, read once per run (0 until then). Clobbers r0-r2. */
function now(): (Instruction | Label)[] {
  const done = uniqueLabel('now_done');
  return [ldx.dw(R1, R10, NOW), jne.imm(R1, 0, done), call('ktime_get_ns'), stx.dw(R10, NOW, R0), label(done)];
}

/** Inserts a threads entry for TID/TGID: state from r9 (a register), ts = now, sums 0; counts a full table. */
function newThread(stateReg: number): (Instruction | Label)[] {
  const done = uniqueLabel('thread_new_done');
  const items: (Instruction | Label)[] = [];
  for (let off = 0; off < ThreadValue.SIZE; off += 8) items.push(st.dw(R10, TVAL + off, 0));
  items.push(
    ldx.dw(R1, R10, NOW),
    stx.dw(R10, TVAL + ThreadValue.TS, R1),
    stx.w(R10, TVAL + ThreadValue.STATE, stateReg),
    ldx.w(R1, R10, TGID),
    stx.w(R10, TVAL + ThreadValue.TGID, R1),
    ...updateElem('threads', TID, TVAL, BPF_ANY),
    jeq.imm(R0, 0, done),
    ...bumpXStat(XStat.THREADS_FULL, XIDX),
    label(done),
  );
  return items;
}

/**
 * With r9 = a threads entry: adds now − ts to the sums of the state it leaves (r1 = that state), then
 * sets `newState` and ts = now. r8 is left holding the interval. Clobbers r0-r5.
 */
function leaveState(newState: number, opts: { onlyFromBlocked?: boolean; hooks?: SchedHooks } = {}): (Instruction | Label)[] {
  const [set, blocked, io, out] = [uniqueLabel('st_set'), uniqueLabel('st_blocked'), uniqueLabel('st_io'), uniqueLabel('st_out')];
  const items: (Instruction | Label)[] = [
    ldx.w(R1, R9, ThreadValue.STATE),
    ldx.dw(R8, R10, NOW),
    ldx.dw(R2, R9, ThreadValue.TS),
    sub64.reg(R8, R2),
  ];
  if (opts.onlyFromBlocked) {
    // A wake-up of a thread not seen blocking (still on its CPU, or already runnable) changes nothing.
    items.push(jeq.imm(R1, ThreadState.BLOCKED, blocked), jeq.imm(R1, ThreadState.BLOCKED_IO, blocked), ja(out));
  } else {
    items.push(
      jeq.imm(R1, ThreadState.BLOCKED, blocked),
      jeq.imm(R1, ThreadState.BLOCKED_IO, blocked),
      jne.imm(R1, ThreadState.RUNNABLE, set),
      jsle.imm(R8, 0, set),
      atomic.add.dw(R9, ThreadValue.RUNQ_NS, R8),
      ja(set),
    );
  }
  items.push(
    label(blocked),
    // A switch-in without the wake-up having been seen (it came before monitoring began) counts as blocked.
    jsle.imm(R8, 0, set),
    atomic.add.dw(R9, ThreadValue.OFF_NS, R8),
    jne.imm(R1, ThreadState.BLOCKED_IO, io),
    atomic.add.dw(R9, ThreadValue.IOWAIT_NS, R8),
    label(io),
    ...(opts.hooks?.onWake?.() ?? []),
    label(set),
    st.w(R9, ThreadValue.STATE, newState),
    ldx.dw(R1, R10, NOW),
    stx.dw(R9, ThreadValue.TS, R1),
    label(out),
  );
  return items;
}

/**
 * sched_switch(preempt, prev, next, prev_state): prev (the current task) leaves its CPU — runnable
 * if it was preempted or is still TASK_RUNNING, else blocked — and next takes it. A thread's last
 * switch (prev_state TASK_DEAD) folds its sums into its process's entry and removes it.
 */
export function schedSwitchProgram(layout: SchedLayout, maps: MapSpec[], hooks: SchedHooks = {}): ProgramSpec {
  const t = layout.task;
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    ...readEpoch(EPOCH, XIDX, 'out'),
    // The clock is read only for a task of the tree (see `now`).
    st.dw(R10, NOW, 0),
  ];
  if (layout.prevStateArg) {
    // An unsigned int in a u64 slot (zero-extended).
    items.push(ldx.dw(R8, R6, 24));
  } else {
    items.push(
      st.dw(R10, U64, 0),
      ldx.dw(R3, R6, 8),
      ...probeRead(U64, 4, mov64.reg(R3, R3), layout.taskState),
      ldx.dw(R8, R10, U64),
    );
  }
  items.push(
    call('get_current_pid_tgid'),
    stx.w(R10, TID, R0),
    rsh64.imm(R0, 32),
    stx.w(R10, TGID, R0),
    jset.imm(R8, TASK_DEAD, 'dead'),
    ...inTree('next'),
    ...now(),
    // The state it leaves in: runnable when preempted or still TASK_RUNNING.
    mov64.imm(R9, ThreadState.RUNNABLE),
    ldx.dw(R1, R6, 0),
    and64.imm(R1, 0xff),
    jne.imm(R1, 0, 'prev_state'),
    jeq.imm(R8, 0, 'prev_state'),
    mov64.imm(R9, ThreadState.BLOCKED),
  );
  if (layout.inIowait) {
    items.push(
      st.dw(R10, U64, 0),
      ldx.dw(R3, R6, 8),
      ...probeRead(U64, 1, mov64.reg(R3, R3), layout.inIowait.byte),
      ldx.b(R1, R10, U64),
      and64.imm(R1, layout.inIowait.mask),
      jeq.imm(R1, 0, 'prev_state'),
      mov64.imm(R9, ThreadState.BLOCKED_IO),
    );
  }
  items.push(
    label('prev_state'),
    ...lookup('threads', TID),
    jne.imm(R0, 0, 'prev_have'),
    // Its first switch seen: a new entry (a second lookup, so that the hook below sees every block).
    ...newThread(R9),
    ...lookup('threads', TID),
    jne.imm(R0, 0, 'prev_have'),
    ja('next'),
    label('prev_have'),
    // Running until now: nothing to add (on-CPU time is the kernel's own utime+stime).
    stx.w(R0, ThreadValue.STATE, R9),
    ldx.dw(R1, R10, NOW),
    stx.dw(R0, ThreadValue.TS, R1),
  );
  if (hooks.onBlock) {
    items.push(jeq.imm(R9, ThreadState.RUNNABLE, 'next'), mov64.reg(R9, R0), ...hooks.onBlock());
  }
  items.push(
    // ---- next: the task taking the CPU.
    label('next'),
    ldx.dw(R7, R6, 16),
    ...probeRead(IDS, 8, mov64.reg(R3, R7), t.pid),
    jne.imm(R0, 0, 'out'),
    ldx.w(R1, R10, IDS),
    jeq.imm(R1, 0, 'out'), // the idle task
    stx.w(R10, TID, R1),
    ldx.w(R1, R10, IDS + 4),
    stx.w(R10, TGID, R1),
    ...inTree('out'),
    ...now(),
    ...lookup('threads', TID),
    jne.imm(R0, 0, 'next_have'),
    mov64.imm(R9, ThreadState.RUNNING),
    ...newThread(R9),
    ja('out'),
    label('next_have'),
    mov64.reg(R9, R0),
    ...leaveState(ThreadState.RUNNING),
    ja('out'),

    // ---- prev has exited: its sums go to its process, its entry goes.
    label('dead'),
    ...lookup('threads', TID),
    jeq.imm(R0, 0, 'next'),
    mov64.reg(R9, R0),
    ...procEntry(t, TGID, PVAL, PTR, 'dead_proc', 'dead_full'),
    label('dead_full'),
    ...bumpXStat(XStat.THREAD_TIME_LOST, XIDX),
    ja('dead_drop'),
    label('dead_proc'),
    mov64.reg(R7, R0),
  );
  for (const [from, to] of [[ThreadValue.OFF_NS, ProcValue.OFF_NS], [ThreadValue.IOWAIT_NS, ProcValue.IOWAIT_NS], [ThreadValue.RUNQ_NS, ProcValue.RUNQ_NS]] as const) {
    items.push(ldx.dw(R1, R9, from), atomic.add.dw(R7, to, R1));
  }
  items.push(
    label('dead_drop'),
    ldMapFd(R1, 'threads'),
    mov64.reg(R2, R10),
    add64.imm(R2, TID),
    call('map_delete_elem'),
    ja('next'),
    ...returnZero('out'),
  );
  return tracepointProgram('dp_sched_switch', { type: 'raw', ctxSize: layout.prevStateArg ? 32 : 24 }, items, maps);
}

/**
 * sched_wakeup(p) / sched_wakeup_new(p): p becomes runnable. A blocked thread's wait ends (off-CPU);
 * a thread not seen before (new, or blocked since before monitoring) starts its run-queue wait now.
 */
export function schedWakeupProgram(name: 'dp_sched_wakeup' | 'dp_sched_wakeup_new', layout: SchedLayout, maps: MapSpec[], hooks: SchedHooks = {}): ProgramSpec {
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    ldx.dw(R7, R6, 0),
    ...probeRead(IDS, 8, mov64.reg(R3, R7), layout.task.pid),
    jne.imm(R0, 0, 'out'),
    ldx.w(R1, R10, IDS),
    stx.w(R10, TID, R1),
    ldx.w(R1, R10, IDS + 4),
    stx.w(R10, TGID, R1),
    ...readEpoch(EPOCH, XIDX, 'out'),
    ...inTree('out'),
    call('ktime_get_ns'),
    stx.dw(R10, NOW, R0),
    ...lookup('threads', TID),
    jne.imm(R0, 0, 'have'),
    mov64.imm(R9, ThreadState.RUNNABLE),
    ...newThread(R9),
    ja('out'),
    label('have'),
    mov64.reg(R9, R0),
    ...leaveState(ThreadState.RUNNABLE, { onlyFromBlocked: true, hooks }),
    ...returnZero('out'),
  ];
  return tracepointProgram(name, { type: 'raw', ctxSize: 8 }, items, maps);
}
