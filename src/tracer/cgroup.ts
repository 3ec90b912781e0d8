// Counting by cgroup (`attach --cgroup`): a process of the cgroup, or of any cgroup below it, is added to
// `tracked` by the kernel itself at its first syscall while it is not tracked yet, so processes that
// join the cgroup later are counted from then on. The test is bpf_current_task_under_cgroup on a
// one-slot CGROUP_ARRAY holding the cgroup (descendants included, as the helper walks the ancestry).
//
// The check runs only on sys_enter's slow path for processes not in `tracked` (tracked ones never
// reach it); the per-CPU cache then remembers "not tracked" for the others as before. A process moved
// into the cgroup while it is cached as not tracked would stay uncounted until the cache's epoch
// changes, so dp_cgroup_join bumps the epoch at every cgroup migration (cgroup_attach_task fires after
// the move is done): the mover's next syscall takes the slow path and finds itself in the cgroup.
import { R0, R1, R2, R10, call, ja, jeq, jne, label, ldMapFd, mov64, st } from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import { BPF_NOEXIST, CGROUP_MAP, CHECK_ABI, EEXIST, Stat, State } from './maps.js';
import { bumpStat, lookup, returnZero, tracepointProgram, uniqueLabel, updateElem } from './blocks.js';

/** Whether the programs built for these maps count by cgroup. */
export const countsByCgroup = (maps: readonly MapSpec[]): boolean => maps.some((m) => m.name === CGROUP_MAP);

/**
 * sys_enter's slow path, when the current process is not in `tracked` (r7 tgid, stack -8 the tgid key):
 * if it belongs to the cgroup, it is added as COUNT (its ABI looked at, as after an exec) and the path
 * goes on at `found` with r0 pointing at its `tracked` value. Otherwise, or when the table is full
 * (counted as an untracked process), it falls through. Uses stack -24 and -28; r6-r9 are kept.
 */
export function joinCgroup(found: string): (Instruction | Label)[] {
  const [skip, added, reload] = [uniqueLabel('cg_skip'), uniqueLabel('cg_added'), uniqueLabel('cg_reload')];
  return [
    ldMapFd(R1, CGROUP_MAP),
    mov64.imm(R2, 0),
    call('current_task_under_cgroup'),
    jne.imm(R0, 1, skip),
    st.w(R10, -24, State.COUNT | CHECK_ABI),
    ...updateElem('tracked', -8, -24, BPF_NOEXIST),
    jeq.imm(R0, 0, added),
    // A sibling thread on another CPU added it first.
    jeq.imm(R0, -EEXIST, reload),
    ...bumpStat(Stat.DROPPED_TRACKED, -28),
    ja(skip),
    label(added),
    ...bumpStat(Stat.EPOCH, -28),
    label(reload),
    ...lookup('tracked', -8),
    jne.imm(R0, 0, found),
    label(skip),
  ];
}

/** dp_cgroup_join: a task changed cgroup; every CPU's cached view of `tracked` must be looked at again. */
export function cgroupJoinProgram(type: 'raw' | 'tracefs', maps: MapSpec[]): ProgramSpec {
  return tracepointProgram('dp_cgroup_join', { type, ctxSize: 8 }, [...bumpStat(Stat.EPOCH, -4), ...returnZero('out')], maps);
}
