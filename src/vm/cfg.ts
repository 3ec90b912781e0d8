// Splits bytecode into subprograms (bpf-to-bpf call targets) and basic blocks, and rejects
// control flow that no kernel would accept: jumps out of a subprogram, into the second slot
// of an ld_imm64, or falling off the end of a subprogram.
import { Class, JmpOp, LD_IMM64, Pseudo, opAluJmp, opClass } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';

export class CompileError extends Error {
  constructor(readonly index: number, message: string) {
    super(`insn ${index}: ${message}`);
    this.name = 'CompileError';
  }
}

export interface Block {
  /** first slot */
  start: number;
  /** one past the last slot */
  end: number;
  /** instructions (not slots) in the block: ld_imm64 counts once */
  count: number;
}

export interface Subprog {
  start: number;
  end: number;
  blocks: Block[];
}

export const JCOND = 0xe0; // may_goto

/** Where a jump lands, or null for non-jumps (call and exit included). */
export function jumpTarget(insns: readonly RawInsn[], i: number): number | null {
  const { code } = insns[i];
  const cls = opClass(code);
  if (cls !== Class.JMP && cls !== Class.JMP32) return null;
  const op = opAluJmp(code);
  if (op === JmpOp.CALL || op === JmpOp.EXIT) return null;
  if (cls === Class.JMP32 && op === JmpOp.JA) return i + insns[i].imm + 1;
  return i + insns[i].off + 1;
}

export const isExit = (insn: RawInsn): boolean => insn.code === (Class.JMP | JmpOp.EXIT);
export const isJa = (insn: RawInsn): boolean =>
  (opClass(insn.code) === Class.JMP || opClass(insn.code) === Class.JMP32) && opAluJmp(insn.code) === JmpOp.JA;
export const isLocalCall = (insn: RawInsn): boolean =>
  insn.code === (Class.JMP | JmpOp.CALL) && insn.src === Pseudo.CALL;

export function analyse(insns: readonly RawInsn[]): { subprogs: Subprog[]; secondSlot: Uint8Array } {
  const n = insns.length;
  if (n === 0) throw new CompileError(0, 'empty program');
  const secondSlot = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (insns[i].code === LD_IMM64) {
      if (i + 1 >= n) throw new CompileError(i, 'ld_imm64 is missing its second slot');
      secondSlot[++i] = 1;
    }
  }
  const checkTarget = (from: number, to: number, what: string): void => {
    if (to < 0 || to >= n) throw new CompileError(from, `${what} target ${to} is outside the program (0..${n - 1})`);
    if (secondSlot[to]) throw new CompileError(from, `${what} target ${to} is the second slot of an ld_imm64`);
  };

  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    if (secondSlot[i]) continue;
    const insn = insns[i];
    if (isLocalCall(insn)) {
      checkTarget(i, i + insn.imm + 1, 'call');
      starts.add(i + insn.imm + 1);
    } else if (insn.code === LD_IMM64 && insn.src === Pseudo.FUNC) {
      checkTarget(i, i + insn.imm + 1, 'function reference');
      starts.add(i + insn.imm + 1);
    }
  }
  const sorted = [...starts].sort((a, b) => a - b);
  const subprogs: Subprog[] = sorted.map((start, k) => ({ start, end: sorted[k + 1] ?? n, blocks: [] }));

  for (const sp of subprogs) {
    const leaders = new Set<number>([sp.start]);
    for (let i = sp.start; i < sp.end; i++) {
      if (secondSlot[i]) continue;
      const t = jumpTarget(insns, i);
      const next = insns[i].code === LD_IMM64 ? i + 2 : i + 1;
      if (t !== null) {
        checkTarget(i, t, 'jump');
        if (t < sp.start || t >= sp.end) {
          throw new CompileError(i, `jump target ${t} leaves the subprogram [${sp.start}, ${sp.end})`);
        }
        leaders.add(t);
        if (next < sp.end) leaders.add(next);
      } else if (isExit(insns[i]) && next < sp.end) {
        leaders.add(next);
      }
    }
    const last = lastInsn(sp.start, sp.end, secondSlot);
    if (!isExit(insns[last]) && !isJa(insns[last])) {
      throw new CompileError(last, 'the last instruction of a subprogram must be exit or an unconditional jump');
    }
    const ordered = [...leaders].sort((a, b) => a - b);
    sp.blocks = ordered.map((start, k) => {
      const end = ordered[k + 1] ?? sp.end;
      let count = 0;
      for (let i = start; i < end; i++) if (!secondSlot[i]) count++;
      return { start, end, count };
    });
  }
  return { subprogs, secondSlot };
}

function lastInsn(start: number, end: number, secondSlot: Uint8Array): number {
  let i = end - 1;
  while (i > start && secondSlot[i]) i--;
  return i;
}
