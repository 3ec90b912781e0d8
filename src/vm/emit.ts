// Per-instruction code generation: ALU, byte swaps, division, memory and atomics.
// Registers are i64 locals; 32-bit operations compute in i32 and zero-extend, as the ISA requires.
import { AluOp, AtomicOp, JmpOp, Mode, Size, Source, opAluJmp, opMode, opSize, opSource, sizeBytes, type SizeCode } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';
import { ByteWriter, I64, Op, VOID } from './encoder.js';
import { CompileError } from './cfg.js';
import { FRAME_SIZE, Fault, MAX_REGIONS } from './layout.js';

/** Local indices of a BPF function: params r1..r5 and depth, then the rest. */
export const L = {
  depth: 5, r0: 6, r6: 7, r7: 8, r8: 9, r9: 10, r10: 11, tA: 12, tB: 13,
  pc: 14, steps: 15, frame: 16, t32: 17, addr: 18, mayGoto: 19, xe: 20, xlo: 21,
} as const;
export const LOCALS_I64 = 8; // r0, r6..r10, tA, tB
export const LOCALS_I32 = 8; // pc, steps, frame, t32, addr, mayGoto, xe, xlo
const REG_LOCAL = [L.r0, 0, 1, 2, 3, 4, L.r6, L.r7, L.r8, L.r9, L.r10];

/** Function indices the emitter calls. */
export interface Callees {
  fault: number;
}

/** A function body under construction, with the structured nesting depth inside the current block. */
export class Fn {
  readonly w = new ByteWriter();
  nest = 0;
  constructor(readonly callees: Callees) {}

  op(...bytes: number[]): this {
    for (const b of bytes) this.w.byte(b);
    return this;
  }
  get(l: number): this { this.w.byte(Op.local_get).u32(l); return this; }
  set(l: number): this { this.w.byte(Op.local_set).u32(l); return this; }
  tee(l: number): this { this.w.byte(Op.local_tee).u32(l); return this; }
  i32(v: number): this { this.w.byte(Op.i32_const).s32(v); return this; }
  i64(v: bigint | number): this { this.w.byte(Op.i64_const).s64(BigInt(v)); return this; }
  mem(op: number, offset: number): this { this.w.byte(op).u32(0).u32(offset); return this; }
  call(fn: number): this { this.w.byte(Op.call).u32(fn); return this; }
  if(): this { this.nest++; this.w.byte(Op.if).byte(VOID); return this; }
  else(): this { this.w.byte(Op.else); return this; }
  end(): this { this.nest--; this.w.byte(Op.end); return this; }
  reg(r: number): this { return this.get(regLocal(r)); }
  setReg(r: number): this { return this.set(regLocal(r)); }
  /** Raises a fault (the import throws) and marks the rest unreachable. */
  fault(kind: number, pc: number, pushAddr: () => void, width: number): this {
    this.i32(kind).i32(pc);
    pushAddr();
    this.i32(width).call(this.callees.fault).op(Op.unreachable);
    return this;
  }
}

/** The local of register r; callers have checked r <= 10 (checkRegs, validateEncoding). */
export function regLocal(r: number): number {
  const l = REG_LOCAL[r];
  if (l === undefined) throw new RangeError(`r${r} is not a BPF register (r0..r10)`);
  return l;
}

function checkRegs(insn: RawInsn, pc: number, writesDst: boolean): void {
  if (insn.dst > 10 || insn.src > 10) throw new CompileError(pc, `register out of range (dst r${insn.dst}, src r${insn.src})`);
  if (writesDst && insn.dst === 10) throw new CompileError(pc, 'r10 (frame pointer) is read-only');
}

const BIN64: Record<number, number> = {
  [AluOp.ADD]: Op.i64_add, [AluOp.SUB]: Op.i64_sub, [AluOp.MUL]: Op.i64_mul, [AluOp.OR]: Op.i64_or,
  [AluOp.AND]: Op.i64_and, [AluOp.XOR]: Op.i64_xor, [AluOp.LSH]: Op.i64_shl, [AluOp.RSH]: Op.i64_shr_u,
  [AluOp.ARSH]: Op.i64_shr_s,
};
const BIN32: Record<number, number> = {
  [AluOp.ADD]: Op.i32_add, [AluOp.SUB]: Op.i32_sub, [AluOp.MUL]: Op.i32_mul, [AluOp.OR]: Op.i32_or,
  [AluOp.AND]: Op.i32_and, [AluOp.XOR]: Op.i32_xor, [AluOp.LSH]: Op.i32_shl, [AluOp.RSH]: Op.i32_shr_u,
  [AluOp.ARSH]: Op.i32_shr_s,
};

/** ALU (32-bit) and ALU64 instructions. Wasm shifts already mask the count by width-1, as BPF does. */
export function emitAlu(f: Fn, insn: RawInsn, pc: number, is64: boolean): void {
  checkRegs(insn, pc, true);
  const op = opAluJmp(insn.code);
  const x = opSource(insn.code) === Source.X;
  const d = insn.dst;
  const src64 = (): Fn => (x ? f.reg(insn.src) : f.i64(insn.imm));
  const src32 = (): Fn => (x ? f.reg(insn.src).op(Op.i32_wrap_i64) : f.i32(insn.imm));
  const bin = is64 ? BIN64[op] : BIN32[op];
  if (bin !== undefined) {
    if (insn.off !== 0) throw new CompileError(pc, `nonzero off ${insn.off} on ${aluName(op)}`);
    if (is64) f.reg(d), src64(), f.op(bin).setReg(d);
    else f.reg(d).op(Op.i32_wrap_i64), src32(), f.op(bin, Op.i64_extend_i32_u).setReg(d);
    return;
  }
  switch (op) {
    case AluOp.NEG:
      if (is64) f.i64(0).reg(d).op(Op.i64_sub).setReg(d);
      else f.i32(0).reg(d).op(Op.i32_wrap_i64, Op.i32_sub, Op.i64_extend_i32_u).setReg(d);
      return;
    case AluOp.MOV:
      return emitMov(f, insn, pc, is64, x);
    case AluOp.DIV:
    case AluOp.MOD:
      if (insn.off !== 0 && insn.off !== 1) throw new CompileError(pc, `div/mod off must be 0 or 1, got ${insn.off}`);
      return emitDivMod(f, insn, is64, x, op === AluOp.DIV, insn.off === 1);
    case AluOp.END:
      return emitEnd(f, insn, pc, is64, x);
    default:
      throw new CompileError(pc, `unknown ALU opcode 0x${insn.code.toString(16)}`);
  }
}

function emitMov(f: Fn, insn: RawInsn, pc: number, is64: boolean, x: boolean): void {
  const d = insn.dst;
  if (!x) {
    if (is64) f.i64(insn.imm).setReg(d);
    else f.i64(insn.imm >>> 0).setReg(d);
    return;
  }
  f.reg(insn.src);
  // movsx: off is the source width to sign-extend from.
  if (is64) {
    if (insn.off === 8) f.op(Op.i64_extend8_s);
    else if (insn.off === 16) f.op(Op.i64_extend16_s);
    else if (insn.off === 32) f.op(Op.i64_extend32_s);
    else if (insn.off !== 0) throw new CompileError(pc, `unsupported mov64 off ${insn.off} (addr_space_cast is not supported)`);
  } else {
    f.op(Op.i32_wrap_i64);
    if (insn.off === 8) f.op(Op.i32_extend8_s);
    else if (insn.off === 16) f.op(Op.i32_extend16_s);
    else if (insn.off !== 0) throw new CompileError(pc, `unsupported mov32 off ${insn.off}`);
    f.op(Op.i64_extend_i32_u);
  }
  f.setReg(d);
}

/**
 * Division as the kernel defines it (its verifier patches every div/mod before the JIT sees it):
 * x / 0 = 0, x % 0 = x (32-bit: zero-extended), x s/ -1 = -x (so INT_MIN s/ -1 = INT_MIN), x s% -1 = 0.
 */
function emitDivMod(f: Fn, insn: RawInsn, is64: boolean, x: boolean, isDiv: boolean, signed: boolean): void {
  const d = insn.dst;
  const opc = is64
    ? isDiv ? (signed ? Op.i64_div_s : Op.i64_div_u) : (signed ? Op.i64_rem_s : Op.i64_rem_u)
    : isDiv ? (signed ? Op.i32_div_s : Op.i32_div_u) : (signed ? Op.i32_rem_s : Op.i32_rem_u);
  const byZero = (): void => {
    if (isDiv) f.i64(0).setReg(d);
    else if (!is64) f.reg(d).op(Op.i32_wrap_i64, Op.i64_extend_i32_u).setReg(d);
  };
  const byMinusOne = (): void => {
    if (!isDiv) f.i64(0).setReg(d);
    else if (is64) f.i64(0).reg(d).op(Op.i64_sub).setReg(d);
    else f.i32(0).reg(d).op(Op.i32_wrap_i64, Op.i32_sub, Op.i64_extend_i32_u).setReg(d);
  };
  const general = (pushDivisor: () => void): void => {
    if (is64) f.reg(d), pushDivisor(), f.op(opc).setReg(d);
    else f.reg(d).op(Op.i32_wrap_i64), pushDivisor(), f.op(opc, Op.i64_extend_i32_u).setReg(d);
  };
  if (!x) {
    if (insn.imm === 0) byZero();
    else if (signed && insn.imm === -1) byMinusOne();
    else general(() => (is64 ? f.i64(insn.imm) : f.i32(insn.imm)));
    return;
  }
  const s = insn.src;
  const divisor = (): Fn => (is64 ? f.reg(s) : f.reg(s).op(Op.i32_wrap_i64));
  divisor().op(is64 ? Op.i64_eqz : Op.i32_eqz).if();
  byZero();
  f.else();
  if (signed) {
    divisor();
    if (is64) f.i64(-1).op(Op.i64_eq);
    else f.i32(-1).op(Op.i32_eq);
    f.if();
    byMinusOne();
    f.else();
    general(divisor);
    f.end();
  } else {
    general(divisor);
  }
  f.end();
}

/** bswap32 of the i32 on the stack (uses t32). */
function bswap32(f: Fn): void {
  f.tee(L.t32).i32(8).op(Op.i32_rotr).i32(0xff00ff00 | 0).op(Op.i32_and);
  f.get(L.t32).i32(8).op(Op.i32_rotl).i32(0x00ff00ff).op(Op.i32_and, Op.i32_or);
}

function emitEnd(f: Fn, insn: RawInsn, pc: number, is64: boolean, x: boolean): void {
  const d = insn.dst;
  const width = insn.imm;
  if (width !== 16 && width !== 32 && width !== 64) throw new CompileError(pc, `byte swap width ${width}`);
  if (is64 && x) throw new CompileError(pc, 'bswap (ALU64 END) must use source K');
  const swap = is64 || x; // ALU|END|X is to-big-endian; ALU64|END is an unconditional bswap
  if (!swap) {
    // to-little-endian on a little-endian host only truncates.
    if (width === 16) f.reg(d).i64(0xffff).op(Op.i64_and).setReg(d);
    else if (width === 32) f.reg(d).i64(0xffffffff).op(Op.i64_and).setReg(d);
    return;
  }
  if (width === 16) {
    f.reg(d).i64(0xff).op(Op.i64_and).i64(8).op(Op.i64_shl);
    f.reg(d).i64(8).op(Op.i64_shr_u).i64(0xff).op(Op.i64_and, Op.i64_or).setReg(d);
  } else if (width === 32) {
    f.reg(d).op(Op.i32_wrap_i64);
    bswap32(f);
    f.op(Op.i64_extend_i32_u).setReg(d);
  } else {
    f.reg(d).op(Op.i32_wrap_i64);
    bswap32(f);
    f.op(Op.i64_extend_i32_u).i64(32).op(Op.i64_shl);
    f.reg(d).i64(32).op(Op.i64_shr_u, Op.i32_wrap_i64);
    bswap32(f);
    f.op(Op.i64_extend_i32_u, Op.i64_or).setReg(d);
  }
}

/**
 * Leaves the wasm address of `base + off` on the stack and returns the memarg offset to use.
 * r10 with a constant offset is checked at compile time against the current 512-byte frame;
 * any other pointer goes through the region table at run time.
 */
export function emitAddress(f: Fn, base: number, off: number, width: number, pc: number, kind: number = Fault.ACCESS): number {
  if (base === 10) {
    const at = FRAME_SIZE + off;
    if (at >= 0 && at + width <= FRAME_SIZE) {
      f.get(L.frame);
      return at;
    }
    f.fault(Fault.FRAME, pc, () => f.get(L.r10).i64(off).op(Op.i64_add), width);
    return 0;
  }
  // Inline translation (see layout.ts): entry e = region table slot of the high word (0 = no region
  // when the high word is out of range), then the two bounds checks, then base + offset.
  f.reg(base);
  if (off !== 0) f.i64(off).op(Op.i64_add);
  f.tee(L.tB).i64(32).op(Op.i64_shr_u, Op.i32_wrap_i64).tee(L.xe).i32(4).op(Op.i32_shl).i32(0);
  f.get(L.xe).i32(MAX_REGIONS).op(Op.i32_lt_u, Op.select).set(L.xe);
  f.get(L.tB).op(Op.i32_wrap_i64).tee(L.xlo).get(L.xe).mem(Op.i32_load, 4).op(Op.i32_ge_u);
  f.get(L.xlo).get(L.xe).mem(Op.i32_load, 8).op(Op.i32_and).i32(width).op(Op.i32_add).get(L.xe).mem(Op.i32_load, 12).op(Op.i32_gt_u);
  f.op(Op.i32_or).if();
  f.fault(kind, pc, () => f.get(L.tB), width).end();
  f.get(L.xe).mem(Op.i32_load, 0).get(L.xlo).op(Op.i32_add);
  return 0;
}

const LOAD_U: Record<SizeCode, number> = { [Size.B]: Op.i64_load8_u, [Size.H]: Op.i64_load16_u, [Size.W]: Op.i64_load32_u, [Size.DW]: Op.i64_load };
const LOAD_S: Partial<Record<SizeCode, number>> = { [Size.B]: Op.i64_load8_s, [Size.H]: Op.i64_load16_s, [Size.W]: Op.i64_load32_s };
const STORE: Record<SizeCode, number> = { [Size.B]: Op.i64_store8, [Size.H]: Op.i64_store16, [Size.W]: Op.i64_store32, [Size.DW]: Op.i64_store };

export function emitLdx(f: Fn, insn: RawInsn, pc: number): void {
  checkRegs(insn, pc, true);
  const size = opSize(insn.code);
  const sx = opMode(insn.code) === Mode.MEMSX;
  const load = sx ? LOAD_S[size] : LOAD_U[size];
  if (load === undefined) throw new CompileError(pc, 'sign-extending load of 8 bytes does not exist');
  const at = emitAddress(f, insn.src, insn.off, sizeBytes(size), pc);
  f.mem(load, at).setReg(insn.dst);
}

export function emitStore(f: Fn, insn: RawInsn, pc: number, fromReg: boolean): void {
  checkRegs(insn, pc, false);
  const size = opSize(insn.code);
  const at = emitAddress(f, insn.dst, insn.off, sizeBytes(size), pc);
  if (fromReg) f.reg(insn.src);
  else f.i64(insn.imm);
  f.mem(STORE[size], at);
}

const LOAD_ACQ = 0x100;
const STORE_REL = 0x110;
const RMW: Record<number, number> = {
  [AtomicOp.ADD]: Op.i64_add, [AtomicOp.OR]: Op.i64_or, [AtomicOp.AND]: Op.i64_and, [AtomicOp.XOR]: Op.i64_xor,
};

/** Atomics: one wasm thread runs the program, so a read-modify-write sequence is atomic. */
export function emitAtomic(f: Fn, insn: RawInsn, pc: number): void {
  checkRegs(insn, pc, false);
  const size = opSize(insn.code);
  const width = sizeBytes(size);
  const imm = insn.imm;
  if (imm === LOAD_ACQ) {
    if (insn.dst === 10) throw new CompileError(pc, 'r10 (frame pointer) is read-only');
    const at = emitAddress(f, insn.src, insn.off, width, pc);
    f.mem(LOAD_U[size], at).setReg(insn.dst);
    return;
  }
  if (imm === STORE_REL) {
    const at = emitAddress(f, insn.dst, insn.off, width, pc);
    f.reg(insn.src).mem(STORE[size], at);
    return;
  }
  if (size !== Size.W && size !== Size.DW) throw new CompileError(pc, 'atomic read-modify-write needs size W or DW');
  const fetch = (imm & AtomicOp.FETCH) !== 0;
  const rmw = RMW[imm & ~AtomicOp.FETCH];
  if (rmw === undefined && imm !== AtomicOp.XCHG && imm !== AtomicOp.CMPXCHG) {
    throw new CompileError(pc, `unknown atomic operation 0x${imm.toString(16)}`);
  }
  if ((fetch || imm === AtomicOp.XCHG) && insn.src === 10) throw new CompileError(pc, 'r10 (frame pointer) is read-only');
  const at = emitAddress(f, insn.dst, insn.off, width, pc);
  f.set(L.addr);
  const load = (): Fn => f.get(L.addr).mem(LOAD_U[size], at);
  const store = (): Fn => f.mem(STORE[size], at);
  load().set(L.tA); // old value, zero-extended for W
  if (imm === AtomicOp.CMPXCHG) {
    if (size === Size.W) f.get(L.tA).op(Op.i32_wrap_i64).reg(0).op(Op.i32_wrap_i64, Op.i32_eq);
    else f.get(L.tA).reg(0).op(Op.i64_eq);
    f.if().get(L.addr).reg(insn.src);
    store();
    f.end();
    f.get(L.tA).setReg(0);
    return;
  }
  f.get(L.addr);
  if (rmw !== undefined) f.get(L.tA).reg(insn.src).op(rmw);
  else f.reg(insn.src); // xchg: the only one left without an RMW opcode
  store();
  if (fetch) f.get(L.tA).setReg(insn.src);
}

const CMP64: Record<number, number> = {
  [JmpOp.JEQ]: Op.i64_eq, [JmpOp.JNE]: Op.i64_ne, [JmpOp.JGT]: Op.i64_gt_u, [JmpOp.JGE]: Op.i64_ge_u,
  [JmpOp.JLT]: Op.i64_lt_u, [JmpOp.JLE]: Op.i64_le_u, [JmpOp.JSGT]: Op.i64_gt_s, [JmpOp.JSGE]: Op.i64_ge_s,
  [JmpOp.JSLT]: Op.i64_lt_s, [JmpOp.JSLE]: Op.i64_le_s,
};
const CMP32: Record<number, number> = {
  [JmpOp.JEQ]: Op.i32_eq, [JmpOp.JNE]: Op.i32_ne, [JmpOp.JGT]: Op.i32_gt_u, [JmpOp.JGE]: Op.i32_ge_u,
  [JmpOp.JLT]: Op.i32_lt_u, [JmpOp.JLE]: Op.i32_le_u, [JmpOp.JSGT]: Op.i32_gt_s, [JmpOp.JSGE]: Op.i32_ge_s,
  [JmpOp.JSLT]: Op.i32_lt_s, [JmpOp.JSLE]: Op.i32_le_s,
};

/** Pushes the i32 condition of a conditional jump. JMP compares 64 bits, JMP32 the low 32. */
export function emitCondition(f: Fn, insn: RawInsn, pc: number, is32: boolean): void {
  checkRegs(insn, pc, false);
  const op = opAluJmp(insn.code);
  const x = opSource(insn.code) === Source.X;
  if (is32) {
    f.reg(insn.dst).op(Op.i32_wrap_i64);
    if (x) f.reg(insn.src).op(Op.i32_wrap_i64);
    else f.i32(insn.imm);
  } else {
    f.reg(insn.dst);
    if (x) f.reg(insn.src);
    else f.i64(insn.imm);
  }
  if (op === JmpOp.JSET) {
    if (is32) f.op(Op.i32_and);
    else f.op(Op.i64_and).i64(0).op(Op.i64_ne);
    return;
  }
  const cmp = (is32 ? CMP32 : CMP64)[op];
  if (cmp === undefined) throw new CompileError(pc, `unknown jump opcode 0x${insn.code.toString(16)}`);
  f.op(cmp);
}

function aluName(op: number): string {
  return Object.entries(AluOp).find(([, v]) => v === op)?.[0].toLowerCase() ?? `0x${op.toString(16)}`;
}

export { I64 };
