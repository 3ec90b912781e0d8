// dp_sys_enter: counts one syscall per (process, number) for the tracked processes.
import {
  R0, R1, R2, R3, R6, R7, R8, R9, R10, add64, mov64, mov32, rsh64, lsh64, and64, or64, ldx, st, stx, atomic, ja, jeq, jne, jgt, jge, jslt, call, label,
} from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
// Set in the stored syscall number when the syscall came from a 32-bit (compat) task.
import { COMPAT_BIT } from '../syscalls/index.js';
import { BPF_ANY, BPF_NOEXIST, CHECK_ABI, COMPAT, EEXIST, NO_SLOT, ROW_COMPAT, SLOT_SHIFT, STATE_MASK, Stat, State } from './maps.js';
import { bumpStat, increment, isExec, lookup, probeRead, returnZero, tracepointProgram, uniqueLabel, updateElem } from './blocks.js';
import { countsByCgroup, joinCgroup } from './cgroup.js';
import { COUNT_ONLY, S_ID, S_NR, S_ROW, countThread, filterCheck, recordEntry, type TracerFeatures } from './detail.js';

/** r2 = reg & mask: a field of the state word. */
const bits = (reg: number, mask: number): Instruction[] => [mov64.reg(R2, reg), and64.imm(R2, mask)];

/**
 * r2 = `value` if the state word in r9 has COMPAT, else 0 (a power of two): the compat bit moved
 * where the row index (ROW_COMPAT) or the stored number (COMPAT_BIT) wants it, without a branch.
 */
function compatAs(value: number): Instruction[] {
  const shift = Math.log2(value) - Math.log2(COMPAT);
  return [...bits(R9, COMPAT), ...(shift > 0 ? [lsh64.imm(R2, shift)] : shift < 0 ? [rsh64.imm(R2, -shift)] : [])];
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
   * It is read once after each exec, not on every syscall: a task's ABI changes only when it execs, and
   * dp_exec (on sched_process_exec, after the old image and its other threads are gone) sets CHECK_ABI.
   */
  compat?: { regsOffset: number; mask: number; compatValue: number };
  ctxSize: number;
  execveNr: number;
  execveatNr: number;
}

// sys_enter's stack: -4 array index, -8 tgid (tracked key), -16 counts key {tgid, nr},
// -24 scratch u64, -28 stat index, -40 epoch read at entry, -48 state being cached, -52 slot;
// with features, from -64 down the slots of detail.ts.

/**
 * Gives the process (r9: its `tracked` value, r1: the value read) a row slot if it has none: a slot
 * number from an atomic counter, its owner recorded in `slots`. Leaves the updated value in r1.
 */
function allocateSlot(maxSlots: number): (Instruction | Label)[] {
  const [done, none, reload] = [uniqueLabel('slot_done'), uniqueLabel('slot_none'), uniqueLabel('slot_reload')];
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
    ...updateElem('slots', -52, -8, BPF_ANY),
    jne.imm(R0, 0, none),
    // Set the slot only if the word still has none: a sibling thread on another CPU may be doing the same.
    // If the compare-and-swap loses, that thread's slot stands (ours stays empty but names this process).
    ldx.w(R2, R10, -52),
    add64.imm(R2, 1),
    lsh64.imm(R2, SLOT_SHIFT),
    ldx.w(R0, R9, 0),
    mov64.reg(R1, R0),
    rsh64.imm(R1, SLOT_SHIFT),
    jne.imm(R1, 0, reload),
    mov64.reg(R1, R0),
    or64.reg(R1, R2),
    atomic.cmpxchg.w(R9, 0, R1),
    ja(reload),
    label(none),
    // No row left: count in the hash from now on (and do not try again).
    mov64.imm(R1, NO_SLOT << SLOT_SHIFT),
    atomic.or.w(R9, 0, R1),
    label(reload),
    ldx.w(R1, R9, 0),
    label(done),
  ];
}

/**
 * Stores {tgid, r1 (state), epoch read at entry} in this CPU's cache; r1 is kept. Only settled states are
 * cached (untracked, ARM, COUNT without CHECK_ABI): the others take the slow path every time.
 */
function fillCache(): (Instruction | Label)[] {
  const done = uniqueLabel('cache_done');
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
 * r1 the process's state word; in the slow path r9 points at its `tracked` value. With features
 * (detail.ts), a counted call is also recorded for sys_exit and counted per thread; with a filter,
 * only the selected numbers are; failed-only leaves the counting to sys_exit.
 */
export function sysEnterProgram(layout: SysEnterLayout, maps: MapSpec[], f: TracerFeatures = COUNT_ONLY): ProgramSpec {
  const c = layout.compat;
  const maxSlots = maps.find((m) => m.name === 'slots')?.maxEntries ?? 0;
  // Without features the program is today's, instruction for instruction.
  const extra = f.detail || f.perThread;
  const counted = extra ? 'counted' : 'out';
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    call('get_current_pid_tgid'),
    ...(extra ? [stx.dw(R10, S_ID, R0)] : []),
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
    ...bits(R1, STATE_MASK),
    jne.imm(R2, State.COUNT, 'out'), // untracked or ARM
  ];
  items.push(
    ja('tag'),

    // Slow path: the `tracked` hash.
    label('slow'),
    stx.w(R10, -8, R7),
    ...lookup('tracked', -8),
    jne.imm(R0, 0, 'tracked'),
    // attach --cgroup: a process of the cgroup not tracked yet is added here (src/tracer/cgroup.ts).
    ...(countsByCgroup(maps) ? joinCgroup('tracked') : []),
    mov64.imm(R1, 0),
    ...fillCache(),
    ja('out'),
    label('tracked'),
    mov64.reg(R9, R0),
    ldx.w(R1, R9, 0),
    ...bits(R1, STATE_MASK),
    jeq.imm(R2, State.COUNT, 'count'),
    jne.imm(R2, State.PENDING, 'settled_out'),
    // PENDING: the first execve switches the process to COUNT and is itself counted.
    ...isExec(layout.execveNr, layout.execveatNr, 'activate'),
    ja('out'),
    label('activate'),
    // Atomic updates of the state word throughout: sibling threads update it from other CPUs.
    mov64.imm(R1, State.PENDING ^ State.COUNT),
    atomic.xor.w(R9, 0, R1),
    ...bumpStat(Stat.EPOCH, -28),
    ldx.w(R1, R9, 0),
    label('count'),
  );
  if (c) {
    items.push(
      ...bits(R1, CHECK_ABI),
      jeq.imm(R2, 0, 'abi_known'),
      // First syscall after an execve: probe_read_kernel(&tmp, 8, regs + regsOffset) tells the new ABI.
      ...probeRead(-24, 8, ldx.dw(R3, R6, 0), c.regsOffset),
      mov64.imm(R1, ~(CHECK_ABI | COMPAT)),
      atomic.and.w(R9, 0, R1),
      jne.imm(R0, 0, 'abi_stored'),
      ldx.dw(R2, R10, -24),
      and64.imm(R2, c.mask),
      jne.imm(R2, c.compatValue, 'abi_stored'),
      mov64.imm(R1, COMPAT),
      atomic.or.w(R9, 0, R1),
      label('abi_stored'),
      ...bumpStat(Stat.EPOCH, -28),
      ldx.w(R1, R9, 0),
      label('abi_known'),
    );
  }
  items.push(
    label('settled'),
    ...allocateSlot(maxSlots),
    ...fillCache(),
    // Count: in the process's row when it has one and the number fits, else in the hash.
    label('tag'),
    mov64.reg(R9, R1),
  );
  if (f.filter) items.push(...(c ? compatAs(ROW_COMPAT) : [mov64.imm(R2, 0)]), ...filterCheck('out'));
  items.push(
    mov64.reg(R3, R9),
    rsh64.imm(R3, SLOT_SHIFT),
    jeq.imm(R3, 0, 'hash'),
    jgt.imm(R3, maxSlots, 'hash'),
    jge.imm(R8, ROW_COMPAT, 'hash'),
    add64.imm(R3, -1),
    lsh64.imm(R3, 10), // * ROW
    add64.reg(R3, R8),
  );
  if (c) items.push(...compatAs(ROW_COMPAT), add64.reg(R3, R2));
  items.push(label('row'));
  if (extra) items.push(mov64.reg(R1, R3), add64.imm(R1, 1), stx.w(R10, S_ROW, R1));
  // failed-only: sys_exit counts the call if it fails; here it is only recorded.
  if (f.failedOnly) items.push(ja(counted));
  else items.push(stx.w(R10, -4, R3), ...lookup('rows', -4), jeq.imm(R0, 0, 'hash'), ...increment(), ja(counted));
  items.push(label('hash'));
  if (extra) items.push(st.w(R10, S_ROW, 0));
  // The stored number of a compat syscall has COMPAT_BIT (r8 <= 0x7fffffff, so or == add).
  if (c) items.push(...compatAs(COMPAT_BIT), or64.reg(R8, R2));
  items.push(label('key'));
  if (f.failedOnly) items.push(ja(counted));
  else items.push(
    stx.w(R10, -16, R7),
    stx.w(R10, -12, R8),
    ...lookup('counts', -16),
    jeq.imm(R0, 0, 'insert'),
    ...increment(),
    ja(counted),

    label('insert'),
    st.dw(R10, -24, 1),
    ...updateElem('counts', -16, -24, BPF_NOEXIST),
    jeq.imm(R0, 0, counted),
    // Another CPU inserted the same key first (EEXIST): add to its counter instead.
    jne.imm(R0, -EEXIST, 'drop'),
    ...lookup('counts', -16),
    jeq.imm(R0, 0, 'drop'),
    ...increment(),
    ja(counted),

    label('drop'),
    ...bumpStat(Stat.DROPPED_COUNTS, -28),
    ja('out'),
  );
  items.push(
    // ARM is settled and not counted: cache it, so the monitor's own syscalls take the fast path.
    label('settled_out'),
    jne.imm(R2, State.ARM, 'out'),
    ...fillCache(),
  );
  if (extra) items.push(ja('out'), ...afterCount(f, c !== undefined));
  items.push(...returnZero('out'));
  return tracepointProgram('dp_sys_enter', layout, items, maps);
}


/**
 * A call was counted (or, failed-only, is to be counted at its return): its nr key on the stack (the
 * hash path has already set COMPAT_BIT in r8; the row path has not), then per-thread counting and the
 * in-flight record. r9 is the state word.
 */
function afterCount(f: TracerFeatures, compat: boolean): (Instruction | Label)[] {
  const items: (Instruction | Label)[] = [label('counted')];
  if (compat) items.push(...compatAs(COMPAT_BIT), or64.reg(R8, R2));
  items.push(stx.w(R10, S_NR, R8));
  if (f.perThread && !f.failedOnly) items.push(...countThread());
  if (f.detail) items.push(...recordEntry());
  items.push(ja('out'));
  return items;
}
