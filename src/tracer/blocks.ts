// Instruction sequences the tracer's programs share.
import { R0, R1, R2, R3, R4, R7, R8, R10, add64, mov64, rsh64, atomic, jeq, stx, st, call, exit, label, ldMapFd, program } from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import { ProgType } from '../asm/opcodes.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';

/** The common exit: every path returns 0 (the return value of tracepoint programs is ignored). */
export const returnZero = (at: string): (Instruction | Label)[] => [label(at), mov64.imm(R0, 0), exit()];

export function tracepointProgram(name: string, layout: { type: 'raw' | 'tracefs'; ctxSize: number }, items: (Instruction | Label)[], maps: MapSpec[]): ProgramSpec {
  const type = layout.type === 'raw' ? ProgType.RAW_TRACEPOINT : ProgType.TRACEPOINT;
  return program({ name, type, items, maps, ctxSize: layout.ctxSize });
}

let labelSeq = 0;
/** A label name unique in the process (blocks are emitted more than once per program). */
export const uniqueLabel = (prefix: string): string => `${prefix}_${++labelSeq}`;

/** r0 = map_lookup_elem(map, r10 + keyOff); clobbers r1-r5. */
export const lookup = (map: string, keyOff: number): Instruction[] => [
  ldMapFd(R1, map), mov64.reg(R2, R10), add64.imm(R2, keyOff), call('map_lookup_elem'),
];

/** probe_read_kernel(r10 + stackOff, size, r3 + srcOff), where `src` puts the base address in r3; r0 = error. */
export const probeRead = (stackOff: number, size: number, src: Instruction, srcOff: number): Instruction[] => [
  mov64.reg(R1, R10), add64.imm(R1, stackOff), mov64.imm(R2, size), src, add64.imm(R3, srcOff), call('probe_read_kernel'),
];

/** r0 = map_update_elem(map, r10 + keyOff, r10 + valueOff, flags); clobbers r1-r5. */
export const updateElem = (map: string, keyOff: number, valueOff: number, flags: number): Instruction[] => [
  ldMapFd(R1, map), mov64.reg(R2, R10), add64.imm(R2, keyOff), mov64.reg(R3, R10), add64.imm(R3, valueOff),
  mov64.imm(R4, flags), call('map_update_elem'),
];

/** *(u64 *)r0 += 1, atomically (other CPUs count into the same value). */
export const increment = (): Instruction[] => [mov64.imm(R1, 1), atomic.add.dw(R0, 0, R1)];

/** Increments stats[slot] by one; clobbers r0-r5. */
export function bumpStat(slot: number, stackOff: number): (Instruction | Label)[] {
  const done = uniqueLabel(`stat_${slot}_done`);
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
export function lookupCurrent(out: string): (Instruction | Label)[] {
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
export const isExec = (nr: number, nr2: number, to: string) => [jeq.imm(R8, nr, to), jeq.imm(R8, nr2, to)];

