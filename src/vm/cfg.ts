// Splits bytecode into subprograms (bpf-to-bpf call targets) and basic blocks, and rejects
// control flow that no kernel would accept: jumps out of a subprogram, into the second slot
// of an ld_imm64, or falling off the end of a subprogram.
import type { RawInsn } from '../asm/encoding.js';
import { validateEncoding } from '../asm/validate.js';
import { isExit, isJa, isPseudoCall, jumpTarget, nextInsn, walk } from '../asm/walk.js';

export { isExit, isJa, jumpTarget };

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

/**
 * Which encodings the engine accepts: 'linux' (default) refuses every encoding the kernel refuses;
 * 'rfc9669' also runs what the ISA standard defines but Linux refuses: callx (0x8d, the optional
 * conformance group "callx"), division by a constant 0 and constant shifts out of range (the ISA
 * masks the count). Reserved fields, unknown opcodes and bad registers are refused by both.
 */
export type Isa = 'linux' | 'rfc9669';

/** callx (call the helper or function whose id register dst holds), refused by Linux. */
export const CALLX = 0x8d;

const RFC_HINT = "Linux refuses it; the engine runs it with VmOptions.isa 'rfc9669' (vm --isa rfc9669)";

/** An encoding issue that only Linux has: RFC 9669 defines the instruction. */
function rfcOnly(insns: readonly RawInsn[], e: { index: number; kind: string }): boolean {
  if (e.kind === 'div_by_zero' || e.kind === 'bad_shift') return true;
  return e.kind === 'unknown_opcode' && insns[e.index]?.code === CALLX;
}

export const isLocalCall = isPseudoCall;

/**
 * Subprograms and their basic blocks. Refuses, naming the instruction, every encoding and every
 * structure the kernel refuses (src/asm/validate.ts, src/asm/walk.ts), before anything is compiled.
 */
export function analyse(insns: readonly RawInsn[], isa: Isa = 'linux'): { subprogs: Subprog[]; secondSlot: Uint8Array } {
  const n = insns.length;
  if (n === 0) throw new CompileError(0, 'empty program');
  const w = walk(insns);
  const encoding = validateEncoding(insns).filter((e) => !(isa === 'rfc9669' && rfcOnly(insns, e)));
  const bad = [...encoding, ...w.issues].sort((a, b) => a.index - b.index)[0];
  if (bad) throw new CompileError(bad.index, rfcOnly(insns, bad) ? `${bad.message}; ${RFC_HINT}` : bad.message);
  const { secondSlot } = w;
  const subprogs: Subprog[] = w.subprogStarts.map((start, k) => ({ start, end: w.subprogStarts[k + 1] ?? n, blocks: [] }));
  for (const sp of subprogs) {
    const leaders = new Set<number>([sp.start]);
    for (let i = sp.start; i < sp.end; i++) {
      if (secondSlot[i]) continue;
      const t = jumpTarget(insns, i);
      const next = nextInsn(insns, i);
      if (t !== null) {
        leaders.add(t);
        if (next < sp.end) leaders.add(next);
      } else if (isExit(insns[i]!) && next < sp.end) {
        leaders.add(next);
      }
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
