// dp_stacks: at syscall entry, the user stack (and optionally the kernel stack) of a tracked process,
// counted per (process, syscall, user stack, kernel stack) in the kernel.
//
// A program of its own, attached to sys_enter just before dp_sys_enter (several programs can share one
// tracepoint; they run in attach order), so the counting program and its hot path are the same with or
// without stacks. Running first, it sees a PENDING process's activating execve as PENDING and leaves it
// out: that call is made by the code of the process that spawned it (the monitor, a shell), not by the
// tree. Every other syscall dp_sys_enter counts is sampled.
// User stacks go to a stack map with BPF_F_STACK_BUILD_ID: each frame is {build id, file offset}, which
// names the code without the process's address space, so a process that lived 1 ms is symbolised after
// it is gone. Frames the kernel cannot give a build id (anonymous memory such as JIT code) keep their ip.
import { R0, R1, R2, R3, R6, R7, R8, R9, R10, add64, and64, or64, mov32, mov64, lsh64, rsh64, ldx, st, stx, ja, jeq, jne, jge, jslt, call, label, ldMapFd } from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import { BPF_F_STACK_BUILD_ID, ERRNO, MapType, STACK_BUILD_ID_SIZE, StackFlag } from '../asm/abi.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import { COMPAT_BIT } from '../syscalls/index.js';
import { BPF_NOEXIST, CHECK_ABI, COMPAT, EEXIST, ROW_COMPAT, STATE_MASK, Stat, State } from './maps.js';
import { filterCheck } from './detail.js';
import { increment, lookup, probeRead, returnZero, tracepointProgram, updateElem } from './blocks.js';
import type { SysEnterLayout } from './sys-enter.js';

export interface StackOptions {
  /** Sample one syscall in `every` per CPU (default 1: every syscall of the tree). */
  every?: number;
  /** Capture the kernel stack too (default false). */
  kernel?: boolean;
  /** Distinct stacks each stack map can hold (default 8192; the kernel rounds up to a power of two). */
  maxStacks?: number;
  /** Distinct (process, syscall, stack) entries (default 32768). */
  maxEntries?: number;
  /** Frames kept per stack, innermost first (default 64; at most kernel.perf_event_max_stack). */
  depth?: number;
}

const ENOMEM = ERRNO.ENOMEM;

export const STACK_DEFAULTS = { every: 1, kernel: false, maxStacks: 8192, maxEntries: 32768, depth: 64 } as const;
/** Most distinct stacks a table can hold (ids must stay below SECOND_TABLE). */
export const MAX_STACKS = 1 << 22;

/** Slots of `stack_stats`. */
export const StackStat = { COUNTS_FULL: 0 } as const;
export const STACK_STAT_SLOTS = 1;
/**
 * A user stack id with this bit set is in `ustacks2`. A stack whose slot in `ustacks` holds another
 * stack goes there: a second stack that hashes alike, or the same stack seen with bare addresses
 * (the kernel gives ips instead of build ids when another thread holds the address space's lock, and
 * slots are chosen by a hash of the ips, so both versions want the same slot). A stack is lost only if
 * its slot is taken in both tables. A build-id table takes a free entry before it compares, so once all
 * its slots are used it refuses even the stacks it holds (-ENOMEM): those go to the second table too.
 */
export const SECOND_TABLE = 1 << 30;
/** A stack id that was not asked for (no kernel stack captured). */
export const NO_STACK = -1;
/** stack_counts key: {u32 tgid, u32 nr (compat bit 31), s32 user stack id or -errno, s32 kernel stack id or -errno / NO_STACK}. */
export const STACK_KEY_SIZE = 16;
/**
 * stack_counts value: {u64 count, char comm[16]}: the name of the thread that made the first of these
 * syscalls (read once, when the entry is created: the name a process had when it made them, even if it
 * exec'd or exited since).
 */
export const STACK_VALUE_SIZE = 24;

export function resolveStackOptions(o: StackOptions = {}): Required<StackOptions> {
  const r = { ...STACK_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as Required<StackOptions>;
  for (const k of ['every', 'maxStacks', 'maxEntries', 'depth'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 1) throw new RangeError(`stack option ${k} must be a positive integer, got ${r[k]}`);
  }
  if (r.every > 0x7fffffff) throw new RangeError(`stack option every must be below 2^31, got ${r.every}`);
  if (r.maxStacks > MAX_STACKS) throw new RangeError(`stack option maxStacks must be at most ${MAX_STACKS}, got ${r.maxStacks}`);
  return r;
}

export function stackMaps(o: Required<StackOptions>): MapSpec[] {
  const maps: MapSpec[] = [
    { name: 'ustacks', type: MapType.STACK_TRACE, keySize: 4, valueSize: STACK_BUILD_ID_SIZE * o.depth, maxEntries: o.maxStacks, flags: BPF_F_STACK_BUILD_ID },
    // Half the size: it holds only what collided in the first.
    { name: 'ustacks2', type: MapType.STACK_TRACE, keySize: 4, valueSize: STACK_BUILD_ID_SIZE * o.depth, maxEntries: Math.max(1, o.maxStacks >> 1), flags: BPF_F_STACK_BUILD_ID },
    { name: 'stack_counts', type: MapType.HASH, keySize: STACK_KEY_SIZE, valueSize: STACK_VALUE_SIZE, maxEntries: o.maxEntries },
    { name: 'stack_stats', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: STACK_STAT_SLOTS },
  ];
  if (o.kernel) maps.push({ name: 'kstacks', type: MapType.STACK_TRACE, keySize: 4, valueSize: 8 * o.depth, maxEntries: o.maxStacks });
  if (o.every > 1) maps.push({ name: 'stack_tick', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
  return maps;
}

// Stack: -4 array index, -8 tgid (tracked key), -24 stack_counts key, -36 stat index, -64 new value {1, comm},
// -72 scratch (the task's saved user mode).

/**
 * `shared` are the tracer's maps (tracked, stats, cache, and trace_set with `filter`): read only. The
 * process's state comes from this CPU's cache when its epoch is current (dp_sys_enter filled it at this
 * CPU's previous syscall), else from `tracked`; only COUNT processes are sampled. `filter` (--trace):
 * only the syscalls marked in trace_set, as dp_sys_enter counts them (the period of `every` runs over
 * those only).
 */
export function stacksProgram(layout: SysEnterLayout, shared: MapSpec[], options: StackOptions = {}, f: { filter: boolean } = { filter: false }): ProgramSpec {
  const o = resolveStackOptions(options);
  const wanted = ['tracked', 'stats', 'cache', ...(f.filter ? ['trace_set'] : [])];
  const maps = [...shared.filter((m) => wanted.includes(m.name)), ...stackMaps(o)];
  if (f.filter && !maps.some((m) => m.name === 'trace_set')) throw new Error('stacksProgram: filter needs the tracer\'s trace_set map');
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    call('get_current_pid_tgid'),
    mov64.reg(R7, R0),
    rsh64.imm(R7, 32),
    ldx.dw(R8, R6, layout.idOffset),
    jslt.imm(R8, 0, 'out'),
    and64.imm(R8, 0x7fffffff),
    st.w(R10, -4, Stat.EPOCH),
    ...lookup('stats', -4),
    jeq.imm(R0, 0, 'out'),
    ldx.dw(R9, R0, 0),
    st.w(R10, -4, 0),
    ...lookup('cache', -4),
    jeq.imm(R0, 0, 'slow'),
    ldx.dw(R2, R0, 8),
    jne.reg(R2, R9, 'slow'),
    ldx.w(R2, R0, 0),
    jne.reg(R2, R7, 'slow'),
    ldx.w(R9, R0, 4),
    ja('state'),
    label('slow'),
    stx.w(R10, -8, R7),
    ...lookup('tracked', -8),
    jeq.imm(R0, 0, 'out'),
    ldx.w(R9, R0, 0),
    label('state'),
    mov64.reg(R2, R9),
    and64.imm(R2, STATE_MASK),
    jne.imm(R2, State.COUNT, 'out'),
  ];
  const c = layout.compat;
  if (c) {
    items.push(
      // First syscall after an exec: dp_sys_enter (which runs after us) has not read the new ABI yet.
      mov64.reg(R2, R9),
      and64.imm(R2, CHECK_ABI),
      jeq.imm(R2, 0, 'abi_flag'),
      ...probeRead(-72, 8, ldx.dw(R3, R6, 0), c.regsOffset),
      jne.imm(R0, 0, 'native'),
      ldx.dw(R2, R10, -72),
      and64.imm(R2, c.mask),
      jne.imm(R2, c.compatValue, 'native'),
      ja('compat'),
      label('abi_flag'),
      mov64.reg(R2, R9),
      and64.imm(R2, COMPAT),
      jeq.imm(R2, 0, 'native'),
      label('compat'),
      mov32.imm(R1, COMPAT_BIT),
      add64.reg(R8, R1),
      label('native'),
    );
  }
  if (f.filter) {
    // r8 is the number with COMPAT_BIT for a compat call; trace_set's index is the number + ROW_COMPAT.
    items.push(
      mov64.reg(R3, R8),
      and64.imm(R3, COMPAT_BIT - 1),
      mov64.reg(R2, R8),
      rsh64.imm(R2, Math.log2(COMPAT_BIT)),
      lsh64.imm(R2, Math.log2(ROW_COMPAT)),
      ...filterCheck('out', R3),
    );
  }
  if (o.every > 1) {
    // Every `every`-th syscall of tracked processes on this CPU (per-CPU: no atomics, no contention).
    items.push(
      st.w(R10, -4, 0),
      ...lookup('stack_tick', -4),
      jeq.imm(R0, 0, 'out'),
      ldx.dw(R2, R0, 0),
      add64.imm(R2, 1),
      jge.imm(R2, o.every, 'take'),
      stx.dw(R0, 0, R2),
      ja('out'),
      label('take'),
      st.dw(R0, 0, 0),
    );
  }
  items.push(
    mov64.reg(R1, R6),
    ldMapFd(R2, 'ustacks'),
    mov64.imm(R3, StackFlag.USER_STACK),
    call('get_stackid'),
    // Its slot holds another stack, or the table is full: the second table (see SECOND_TABLE).
    jeq.imm(R0, -EEXIST, 'second'),
    jne.imm(R0, -ENOMEM, 'ustack'),
    label('second'),
    mov64.reg(R1, R6),
    ldMapFd(R2, 'ustacks2'),
    mov64.imm(R3, StackFlag.USER_STACK),
    call('get_stackid'),
    jslt.imm(R0, 0, 'ustack'),
    or64.imm(R0, SECOND_TABLE),
    label('ustack'),
    stx.w(R10, -16, R0),
  );
  if (o.kernel) {
    items.push(
      mov64.reg(R1, R6),
      ldMapFd(R2, 'kstacks'),
      mov64.imm(R3, 0),
      call('get_stackid'),
      stx.w(R10, -12, R0),
    );
  } else {
    items.push(st.w(R10, -12, NO_STACK));
  }
  items.push(
    stx.w(R10, -24, R7),
    stx.w(R10, -20, R8),
    ...lookup('stack_counts', -24),
    jeq.imm(R0, 0, 'insert'),
    ...increment(),
    ja('out'),
    label('insert'),
    st.dw(R10, -64, 1),
    mov64.reg(R1, R10),
    add64.imm(R1, -56),
    mov64.imm(R2, 16),
    call('get_current_comm'),
    ...updateElem('stack_counts', -24, -64, BPF_NOEXIST),
    jeq.imm(R0, 0, 'out'),
    // Another CPU inserted the same key first: add to its counter.
    jne.imm(R0, -EEXIST, 'full'),
    ...lookup('stack_counts', -24),
    jeq.imm(R0, 0, 'full'),
    ...increment(),
    ja('out'),
    label('full'),
    st.w(R10, -36, StackStat.COUNTS_FULL),
    ...lookup('stack_stats', -36),
    jeq.imm(R0, 0, 'out'),
    ...increment(),
    ...returnZero('out'),
  );
  return tracepointProgram('dp_stacks', layout, items, maps);
}

