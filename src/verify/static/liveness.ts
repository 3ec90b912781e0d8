// Which registers may still be read before being written, at each instruction. Two paths that differ
// only in dead registers continue identically, so the interpreter keys its memo on live registers only
// (as the kernel's verifier does); without it, every helper call's null check doubles the paths.
import type { RawInsn } from '../../asm/encoding.js';
import { AluOp, AtomicOp, Class, JmpOp, LD_IMM64, Mode, Source, opAluJmp, opClass, opMode, opSource } from '../../asm/opcodes.js';
import { isPseudoCall, successors, type Cfg } from './cfg.js';

const bit = (r: number): number => 1 << r;
const ARGS = 0b111110; // r1..r5
const CALLER_SAVED = 0b111111; // r0..r5

/** use and def register masks of one instruction. */
function useDef(insn: RawInsn): { use: number; def: number } {
  const cls = opClass(insn.code);
  const x = opSource(insn.code) === Source.X;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const op = opAluJmp(insn.code);
      if (op === AluOp.MOV) return { use: x ? bit(insn.src) : 0, def: bit(insn.dst) };
      return { use: bit(insn.dst) | (x && op !== AluOp.NEG && op !== AluOp.END ? bit(insn.src) : 0), def: bit(insn.dst) };
    }
    case Class.LDX:
      return { use: bit(insn.src), def: bit(insn.dst) };
    case Class.ST:
      return { use: bit(insn.dst), def: 0 };
    case Class.STX: {
      if (opMode(insn.code) !== Mode.ATOMIC) return { use: bit(insn.dst) | bit(insn.src), def: 0 };
      if (insn.imm === AtomicOp.CMPXCHG) return { use: bit(insn.dst) | bit(insn.src) | bit(0), def: bit(0) };
      return { use: bit(insn.dst) | bit(insn.src), def: insn.imm & AtomicOp.FETCH ? bit(insn.src) : 0 };
    }
    case Class.LD:
      if (insn.code === LD_IMM64) return { use: 0, def: bit(insn.dst) };
      // legacy packet loads read r6 (and src for IND), write r0 and clobber r1-r5
      return { use: bit(6) | (opMode(insn.code) === Mode.IND ? bit(insn.src) : 0), def: CALLER_SAVED };
    default: {
      const op = opAluJmp(insn.code);
      if (op === JmpOp.EXIT) return { use: bit(0), def: 0 };
      if (op === JmpOp.CALL) return { use: ARGS, def: CALLER_SAVED };
      if (op === JmpOp.JA) return { use: 0, def: 0 };
      return { use: bit(insn.dst) | (x ? bit(insn.src) : 0), def: 0 };
    }
  }
}

/**
 * Live-in register masks per instruction, or null when the program has bpf-to-bpf calls (liveness
 * across frames is not modelled: the interpreter then keys on every register).
 */
export function liveRegisters(insns: readonly RawInsn[], cfg: Cfg): Uint16Array | null {
  if (insns.some(isPseudoCall)) return null;
  const n = insns.length;
  const live = new Uint16Array(n);
  // Backward passes until nothing changes (one pass when every edge goes forward; loops take more).
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      if (cfg.secondSlot[i]) continue;
      let out = 0;
      for (const s of successors(insns, i)) if (s >= 0 && s < n) out |= live[s]!;
      const { use, def } = useDef(insns[i]!);
      const v = (use | (out & ~def)) & 0x3ff; // r10 is never a state difference
      if (v !== live[i]) { live[i] = v; changed = true; }
    }
  }
  return live;
}
