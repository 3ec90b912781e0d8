// ALU instructions and conditional jumps over abstract values.
// Constants are folded only for operations whose result the kernel also knows exactly (its tnum
// tracking is exact on constants for these ops). That matters: we skip a branch only when both sides
// are known constants, and we must never skip a branch the kernel still explores.
import type { RawInsn } from '../../asm/encoding.js';
import { AluOp, Class, JmpOp, Source, opAluJmp, opClass, opSource } from '../../asm/opcodes.js';
import { Reject } from './memory.js';
import { U64_MAX, bounded, describe, isPointer, scalar, urange, type RegVal } from './state.js';

const MAX_PTR_OFF = 1 << 29; // the kernel's BPF_MAX_VAR_OFF

function fold(op: number, a: bigint, b: bigint, bits: 32 | 64): bigint | undefined {
  const u = (v: bigint) => BigInt.asUintN(bits, v);
  a = u(a);
  b = u(b);
  switch (op) {
    case AluOp.ADD: return u(a + b);
    case AluOp.SUB: return u(a - b);
    case AluOp.AND: return a & b;
    case AluOp.OR: return a | b;
    case AluOp.XOR: return a ^ b;
    case AluOp.LSH: return b < BigInt(bits) ? u(a << b) : undefined;
    case AluOp.RSH: return b < BigInt(bits) ? a >> b : undefined;
    case AluOp.ARSH: return b < BigInt(bits) ? u(BigInt.asIntN(bits, a) >> b) : undefined;
    default: return undefined; // mul, div, mod, neg, byte swaps: treated as unknown numbers
  }
}

/**
 * An upper bound for a result with at least one unknown operand: only where the kernel's own bound
 * is provably no larger (its interval/tnum rules are at least this tight for these ops), else none.
 */
function boundOf(op: number, dst: RegVal, src: RegVal, bits: 32 | 64): bigint {
  const lim = bits === 32 ? 0xffffffffn : U64_MAX;
  const [, dmax] = urange(dst);
  const [smin, smax] = urange(src);
  const known = src.t === 'scalar' && src.v !== undefined;
  switch (op) {
    case AluOp.AND: return dmax < smax ? dmax : smax;
    case AluOp.RSH: return known && smin < BigInt(bits) ? (dmax > lim ? lim : dmax) >> smin : lim;
    case AluOp.LSH:
      // the kernel keeps a bound only while umax <= 2^(bits-1-shift) (scalar_min_max_lsh)
      if (!known || smin >= BigInt(bits) || dmax > 1n << (BigInt(bits) - 1n - smin)) return lim;
      return dmax << smin;
    case AluOp.ADD: {
      const r = dmax + smax;
      return r <= lim ? r : lim;
    }
    default: return lim;
  }
}

/**
 * The new value of dst. `dst`/`src` are the current values (src already read when X; for K it is
 * the immediate). Pointer arithmetic: 64-bit ptr += / -= a known constant; packet pointers may also
 * add a bounded number (the kernel then gives them a new base, with no bytes checked yet).
 */
export function aluResult(insn: RawInsn, dst: RegVal, src: RegVal, regDst: string, regSrc: string, newId: () => number): RegVal {
  const op = opAluJmp(insn.code);
  const is64 = opClass(insn.code) === Class.ALU64;
  const bits = is64 ? 64 : 32;
  if (op === AluOp.MOV) {
    if (opSource(insn.code) === Source.K) return scalar(is64 ? BigInt(insn.imm) : BigInt.asUintN(32, BigInt(insn.imm)));
    if (is64) return src;
    if (isPointer(src)) throw new Reject(`32-bit move of a pointer (${regSrc} is ${describe(src)}) would truncate it`);
    if (src.t === 'scalar' && src.v !== undefined) return scalar(BigInt.asUintN(32, src.v));
    const [, m] = urange(src);
    return bounded(m < 0xffffffffn ? m : 0xffffffffn);
  }
  if (isPointer(src) && opSource(insn.code) === Source.X) {
    throw new Reject(`${regSrc} is ${describe(src)}: a pointer may only be the destination of pointer arithmetic (ptr += constant)`);
  }
  if (isPointer(dst)) {
    if (dst.t === 'value_or_null' || dst.t === 'mem_or_null') throw new Reject(`arithmetic on ${regDst}, which may be NULL: null-check it first (if ${regDst} == 0 goto ...)`);
    if (dst.t === 'map') throw new Reject(`arithmetic on a map pointer (${regDst}) is not allowed`);
    if (dst.t === 'pkt_end') throw new Reject(`arithmetic on the packet end pointer (${regDst}) is not allowed`);
    if (!is64) throw new Reject(`32-bit arithmetic on a pointer (${regDst} is ${describe(dst)}) is not allowed`);
    if (op !== AluOp.ADD && op !== AluOp.SUB) throw new Reject(`only += and -= of a constant are allowed on pointers (${regDst} is ${describe(dst)})`);
    if (src.t !== 'scalar' || src.v === undefined) {
      const [, m] = urange(src);
      if (dst.t === 'pkt' && op === AluOp.ADD && m <= MAX_PACKET_OFF) {
        const vmax = dst.vmax + Number(m);
        if (vmax + dst.off > MAX_PACKET_OFF) throw new Reject(`packet pointer ${regDst} may be more than ${MAX_PACKET_OFF} bytes into the packet`);
        return { t: 'pkt', id: newId(), off: dst.off, vmax, range: 0 };
      }
      // ctx, stack, map value and record pointers may move by a number the kernel can bound (below
      // BPF_MAX_VAR_OFF): accesses through them are then checked against the whole range
      if (dst.t !== 'pkt' && dst.t !== 'pkt_meta' && op === AluOp.ADD && m < BigInt(MAX_PTR_OFF)) {
        const vmax = (dst.vmax ?? 0) + Number(m);
        if (vmax + Math.abs(dst.off) >= MAX_PTR_OFF) throw new Reject(`pointer ${regDst} may move ${vmax} bytes: out of bounds`);
        return { ...dst, vmax };
      }
      throw new Reject(`pointer arithmetic with an unknown value (${regSrc}) is not supported by this verifier: only ±constant offsets, or adding a number with a known bound${dst.t === 'pkt' ? ` (at most ${MAX_PACKET_OFF} for packet pointers)` : ''}`);
    }
    const c = Number(BigInt.asIntN(64, src.v));
    const off = dst.off + (op === AluOp.ADD ? c : -c);
    if (!Number.isSafeInteger(off) || Math.abs(off) >= MAX_PTR_OFF) throw new Reject(`pointer offset ${off} is out of bounds`);
    if ((dst.t === 'pkt' || dst.t === 'pkt_meta') && (off < -MAX_PACKET_OFF || off > MAX_PACKET_OFF)) throw new Reject(`packet pointer offset ${off} is out of bounds`);
    return { ...dst, off };
  }
  if (dst.t === 'scalar' && src.t === 'scalar' && dst.v !== undefined && src.v !== undefined) {
    const v = fold(op, dst.v, src.v, bits);
    if (v !== undefined) return scalar(v);
  }
  return bounded(boundOf(op, dst, src, bits));
}

/** The kernel's MAX_PACKET_OFF. */
export const MAX_PACKET_OFF = 0xffff;

/** Branch verdict for two known constants: true = taken. */
export function compareConst(insn: RawInsn, a: bigint, b: bigint): boolean {
  const bits = opClass(insn.code) === Class.JMP32 ? 32 : 64;
  const ua = BigInt.asUintN(bits, a), ub = BigInt.asUintN(bits, b);
  const sa = BigInt.asIntN(bits, a), sb = BigInt.asIntN(bits, b);
  switch (opAluJmp(insn.code)) {
    case JmpOp.JEQ: return ua === ub;
    case JmpOp.JNE: return ua !== ub;
    case JmpOp.JGT: return ua > ub;
    case JmpOp.JGE: return ua >= ub;
    case JmpOp.JLT: return ua < ub;
    case JmpOp.JLE: return ua <= ub;
    case JmpOp.JSGT: return sa > sb;
    case JmpOp.JSGE: return sa >= sb;
    case JmpOp.JSLT: return sa < sb;
    case JmpOp.JSLE: return sa <= sb;
    case JmpOp.JSET: return (ua & ub) !== 0n;
    default: throw new Reject(`unknown jump operation 0x${opAluJmp(insn.code).toString(16)}`);
  }
}

export const CONDITIONAL = new Set<number>([
  JmpOp.JEQ, JmpOp.JGT, JmpOp.JGE, JmpOp.JSET, JmpOp.JNE, JmpOp.JSGT, JmpOp.JSGE, JmpOp.JLT, JmpOp.JLE, JmpOp.JSLT, JmpOp.JSLE,
]);
