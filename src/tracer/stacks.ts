// dp_stacks: at syscall entry, the user stack (and optionally the kernel stack) of a tracked process,
// counted per (process, syscall, user stack, kernel stack) in the kernel.
//
// A program of its own, attached to sys_enter just before dp_sys_enter (several programs can share one
// tracepoint; they run in attach order), so the counting program and its hot path are the same with or
// without stacks. Running first, it sees a PENDING process's activating execve as PENDING and leaves it
// out: that call is made by the code of the process that spawned it (the monitor, a shell), not by the
// tree. Every other syscall dp_sys_enter counts is sampled.
// User stacks are taken with bpf_get_stack(BPF_F_USER_BUILD_ID): each frame is {build id, file offset},
// which names the code without the process's address space, so a process that lived 1 ms is symbolised
// after it is gone. Frames the kernel cannot give a build id (anonymous memory such as JIT code) keep
// their ip. A stack is stored under a 128-bit hash of its frames (stacks-hash.ts), in a hash table: the
// same code called the same way is one stack in every process (a stack map would key it by its raw
// addresses, which differ in each process), and a stack is refused only when the table is full.
// The tables come in two generations: the program writes the one `stack_gen` names, user space drains
// the other (stacks-drain.ts), so the tables hold the stacks of one drain period, not of the run.
import { R0, R1, R2, R3, R4, R6, R7, R8, R9, R10, add64, and64, mov32, mov64, lsh64, rsh64, ldx, st, stx, ja, jeq, jne, jge, jsgt, jslt, call, label, ldMapFd } from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import { ERRNO, STACK_BUILD_ID_SIZE, StackFlag } from '../asm/abi.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import { COMPAT_BIT } from '../syscalls/index.js';
import { BPF_NOEXIST, CHECK_ABI, COMPAT, EEXIST, ROW_COMPAT, STATE_MASK, Stat, State } from './maps.js';
import { filterCheck } from './detail.js';
import { increment, lookup, probeRead, returnZero, tracepointProgram, updateElem } from './blocks.js';
import { hashFrames } from './stacks-hash.js';
import {
  StackStat, StackStatus, generationMaps, kernelStackBytes, resolveStackOptions, stackMaps, userStackBytes, type Generation, type StackOptions,
} from './stacks-maps.js';
import type { SysEnterLayout } from './sys-enter.js';

// Stack: -4 array index, -8 tgid (tracked key), -16 scratch (the task's saved user mode), -80 the
// stack_counts key (its fields at KEY), -88 a new value (1), -92 stat index.
const KEY = { at: -80, tgid: -80, nr: -76, ustatus: -72, kstatus: -68, uhash: -64, khash: -48, comm: -32 } as const;
const VALUE = -88;
const STAT_INDEX = -92;

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
      ...probeRead(-16, 8, ldx.dw(R3, R6, 0), c.regsOffset),
      jne.imm(R0, 0, 'native'),
      ldx.dw(R2, R10, -16),
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
  const ubytes = userStackBytes(o.depth), kbytes = kernelStackBytes(o.depth);
  items.push(
    st.w(R10, -4, 0),
    ...lookup('stack_buf', -4),
    jeq.imm(R0, 0, 'out'),
    mov64.reg(R9, R0),
    // tgid only if the user stack has a bare address (hashFrames stores it then).
    st.w(R10, KEY.tgid, 0),
    stx.w(R10, KEY.nr, R8),
    mov64.reg(R1, R10),
    add64.imm(R1, KEY.comm),
    mov64.imm(R2, 16),
    call('get_current_comm'),
    ...takeStack({ flags: StackFlag.USER_STACK | StackFlag.USER_BUILD_ID, base: 0, bytes: ubytes, elem: STACK_BUILD_ID_SIZE, depth: o.depth, status: KEY.ustatus, hash: KEY.uhash, tag: 'user' }),
  );
  if (o.kernel) {
    items.push(...takeStack({ flags: 0, base: ubytes, bytes: kbytes, elem: 8, depth: o.depth, status: KEY.kstatus, hash: KEY.khash, tag: 'kernel' }));
  } else {
    items.push(st.w(R10, KEY.kstatus, StackStatus.NONE), st.dw(R10, KEY.khash, 0), st.dw(R10, KEY.khash + 8, 0));
  }
  // The generation to write: a map fd is a constant of the instruction, so each has its own code.
  items.push(
    st.w(R10, -4, 0),
    ...lookup('stack_gen', -4),
    jeq.imm(R0, 0, 'out'),
    ldx.w(R2, R0, 0),
    jne.imm(R2, 0, 'gen_b'),
    ...count('a', o.kernel, ubytes),
    label('gen_b'),
    ...count('b', o.kernel, ubytes),
    ...returnZero('out'),
  );
  return tracepointProgram('dp_stacks', layout, items, maps);
}

/**
 * bpf_get_stack into the buffer at r9 + base, then its status and hash into the key: OK and the hash of
 * its frames, or the error (an empty stack is -EFAULT, as bpf_get_stackid says) and a zero hash.
 */
function takeStack(o: { flags: number; base: number; bytes: number; elem: number; depth: number; status: number; hash: number; tag: string }): (Instruction | Label)[] {
  const ok = `stack_ok_${o.tag}`, next = `stack_next_${o.tag}`;
  return [
    mov64.reg(R1, R6),
    mov64.reg(R2, R9),
    ...(o.base ? [add64.imm(R2, o.base)] : []),
    mov64.imm(R3, o.bytes),
    mov64.imm(R4, o.flags),
    call('get_stack'),
    jsgt.imm(R0, 0, ok),
    jslt.imm(R0, 0, `${ok}_err`),
    mov64.imm(R0, -ERRNO.EFAULT),
    label(`${ok}_err`),
    stx.w(R10, o.status, R0),
    st.dw(R10, o.hash, 0),
    st.dw(R10, o.hash + 8, 0),
    ja(next),
    label(ok),
    st.w(R10, o.status, StackStatus.OK),
    ...hashFrames({ base: o.base, elem: o.elem, max: o.depth, store: o.hash, tag: o.tag, ...(o.elem === STACK_BUILD_ID_SIZE ? { cut: { tgid: KEY.tgid } } : {}) }),
    label(next),
  ];
}

/**
 * Counts the syscall in generation g: the entry's counter when it exists; else (the first of these
 * syscalls in this drain period) the frames under their hash, then a new entry. A stack whose frames
 * table is full is counted under TABLE_FULL. r7 tgid, r9 the buffer; jumps to `out` when done.
 */
function count(g: Generation, kernel: boolean, ubytes: number): (Instruction | Label)[] {
  const n = generationMaps(g);
  const at = (l: string) => `${l}_${g}`;
  const frames = (map: string, status: number, hash: number, base: number, next: string): (Instruction | Label)[] => [
    ldx.w(R1, R10, status),
    jne.imm(R1, StackStatus.OK, next),
    ldMapFd(R1, map),
    mov64.reg(R2, R10),
    add64.imm(R2, hash),
    mov64.reg(R3, R9),
    ...(base ? [add64.imm(R3, base)] : []),
    mov64.imm(R4, BPF_NOEXIST),
    call('map_update_elem'),
    // Stored now, or by an earlier syscall (of any process) with the same stack.
    jeq.imm(R0, 0, next),
    jeq.imm(R0, -EEXIST, next),
    st.w(R10, status, StackStatus.TABLE_FULL),
    st.dw(R10, hash, 0),
    st.dw(R10, hash + 8, 0),
  ];
  return [
    ...lookup(n.counts, KEY.at),
    jeq.imm(R0, 0, at('new')),
    ...increment(),
    ja('out'),
    label(at('new')),
    ...frames(n.frames, KEY.ustatus, KEY.uhash, 0, at('uframes')),
    label(at('uframes')),
    ...(kernel ? [...frames(n.kframes, KEY.kstatus, KEY.khash, ubytes, at('kframes')), label(at('kframes'))] : []),
    st.dw(R10, VALUE, 1),
    ...updateElem(n.counts, KEY.at, VALUE, BPF_NOEXIST),
    jeq.imm(R0, 0, 'out'),
    // Another CPU inserted the same key first (or this one's frames were refused, and the TABLE_FULL
    // entry exists): add to its counter.
    jne.imm(R0, -EEXIST, at('full')),
    ...lookup(n.counts, KEY.at),
    jeq.imm(R0, 0, at('full')),
    ...increment(),
    ja('out'),
    label(at('full')),
    st.w(R10, STAT_INDEX, StackStat.COUNTS_FULL),
    ...lookup('stack_stats', STAT_INDEX),
    jeq.imm(R0, 0, 'out'),
    ...increment(),
    ja('out'),
  ];
}
