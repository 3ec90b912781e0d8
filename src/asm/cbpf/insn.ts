// Classic-BPF instructions as plain frozen values. A jump names its targets by label (or by a raw
// skip count); only the assembler turns labels into skips, so programs are written in order, with
// labels, and never with hand-counted offsets. Constructors check their operands at the call site.
import { label, type Label } from '../insn.js';
import { CAluOp, CBPF_MEMWORDS, CClass, CJmpOp, CMisc, CMode, CRval, CSize, CSrc } from './opcodes.js';

export { label, type Label };

/** A jump target: a label name, or a raw number of instructions to skip (as the kernel counts). */
export type CTarget = string | number;

export interface CInsn {
  readonly code: number;
  /** conditional jumps: where to go when the condition holds */
  readonly jt: CTarget;
  /** conditional jumps: where to go when it does not */
  readonly jf: CTarget;
  /** the constant; for `ja`, the target */
  readonly k: number | string;
  /** the DSL call that built it, for error messages */
  readonly dsl: string;
  /** raw(): encoded exactly as given, whatever the code means (no jump checks) */
  readonly raw?: true;
}

export type CItem = CInsn | Label;

export function isLabel(item: CItem): item is Label {
  return typeof (item as Label).label === 'string' && (item as CInsn).code === undefined;
}

const U32 = 0xffffffff;

function u32(fn: string, k: number): number {
  if (!Number.isInteger(k) || k < -0x80000000 || k > U32) throw new Error(`${fn}: constant ${String(k)} does not fit 32 bits`);
  return k >>> 0;
}

function mem(fn: string, k: number): number {
  if (!Number.isInteger(k) || k < 0 || k >= CBPF_MEMWORDS) throw new Error(`${fn}: scratch slot must be M[0]..M[${CBPF_MEMWORDS - 1}], got ${String(k)}`);
  return k;
}

function make(code: number, k: number | string, dsl: string, jt: CTarget = 0, jf: CTarget = 0): CInsn {
  return Object.freeze({ code, jt, jf, k, dsl });
}

export type LoadSize = 'w' | 'h' | 'b';
const SIZE: Record<LoadSize, number> = { w: CSize.W, h: CSize.H, b: CSize.B };

function size(fn: string, s: LoadSize): number {
  const v = SIZE[s];
  if (v === undefined) throw new Error(`${fn}: size must be 'w', 'h' or 'b', got ${String(s)}`);
  return v;
}

/** A = the packet/data word at offset k (`ld [k]`, `ldh [k]`, `ldb [k]`); seccomp reads seccomp_data so. */
export const ldAbs = (s: LoadSize, k: number): CInsn =>
  make(CClass.LD | size('ldAbs', s) | CMode.ABS, u32('ldAbs', k), `ldAbs('${s}', ${k})`);
/** A = data at X + k (`ld [x + k]`). */
export const ldInd = (s: LoadSize, k: number): CInsn =>
  make(CClass.LD | size('ldInd', s) | CMode.IND, u32('ldInd', k), `ldInd('${s}', ${k})`);
/** A = k (`ld #k`). */
export const ldImm = (k: number): CInsn => make(CClass.LD | CMode.IMM, u32('ldImm', k), `ldImm(${k})`);
/** A = the data length (`ld #len`). */
export const ldLen = (): CInsn => make(CClass.LD | CMode.LEN, 0, 'ldLen()');
/** A = M[k]. */
export const ldMem = (k: number): CInsn => make(CClass.LD | CMode.MEM, mem('ldMem', k), `ldMem(${k})`);
/** X = k (`ldx #k`). */
export const ldxImm = (k: number): CInsn => make(CClass.LDX | CMode.IMM, u32('ldxImm', k), `ldxImm(${k})`);
/** X = the data length (`ldx #len`). */
export const ldxLen = (): CInsn => make(CClass.LDX | CMode.LEN, 0, 'ldxLen()');
/** X = M[k]. */
export const ldxMem = (k: number): CInsn => make(CClass.LDX | CMode.MEM, mem('ldxMem', k), `ldxMem(${k})`);
/** X = 4 * (byte at k & 0xf), the IP header length idiom (`ldxb 4*([k]&0xf)`). */
export const ldxMsh = (k: number): CInsn => make(CClass.LDX | CSize.B | CMode.MSH, u32('ldxMsh', k), `ldxMsh(${k})`);
/** M[k] = A. */
export const st = (k: number): CInsn => make(CClass.ST, mem('st', k), `st(${k})`);
/** M[k] = X. */
export const stx = (k: number): CInsn => make(CClass.STX, mem('stx', k), `stx(${k})`);

export type CAluName = 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'and' | 'or' | 'xor' | 'lsh' | 'rsh';
export const ALU_OPS: Record<CAluName, number> = {
  add: CAluOp.ADD, sub: CAluOp.SUB, mul: CAluOp.MUL, div: CAluOp.DIV, mod: CAluOp.MOD,
  and: CAluOp.AND, or: CAluOp.OR, xor: CAluOp.XOR, lsh: CAluOp.LSH, rsh: CAluOp.RSH,
};

/** A op= k, or A op= X when `operand` is 'x'. */
export function alu(op: CAluName, operand: number | 'x'): CInsn {
  const code = ALU_OPS[op];
  if (code === undefined) throw new Error(`alu: unknown operation ${String(op)}`);
  if (operand === 'x') return make(CClass.ALU | code | CSrc.X, 0, `alu('${op}', 'x')`);
  return make(CClass.ALU | code | CSrc.K, u32('alu', operand), `alu('${op}', ${operand})`);
}
/** A = -A. */
export const neg = (): CInsn => make(CClass.ALU | CAluOp.NEG, 0, 'neg()');

export type CJmpName = 'jeq' | 'jgt' | 'jge' | 'jset';
export const JMP_OPS: Record<CJmpName, number> = { jeq: CJmpOp.JEQ, jgt: CJmpOp.JGT, jge: CJmpOp.JGE, jset: CJmpOp.JSET };

const tn = (t: CTarget): string => (typeof t === 'string' ? `'${t}'` : String(t));

function target(fn: string, t: CTarget): CTarget {
  if (typeof t === 'string' ? t === '' : !Number.isInteger(t) || t < 0) throw new Error(`${fn}: target must be a label or a skip count >= 0, got ${String(t)}`);
  return t;
}

/** if (A op k, or A op X) go to jt else go to jf; 0 means the next instruction. */
export function jmp(op: CJmpName, operand: number | 'x', jt: CTarget, jf: CTarget = 0): CInsn {
  const code = JMP_OPS[op];
  if (code === undefined) throw new Error(`jmp: unknown condition ${String(op)}`);
  const dsl = `jmp('${op}', ${operand === 'x' ? "'x'" : operand}, ${tn(jt)}, ${tn(jf)})`;
  if (operand === 'x') return make(CClass.JMP | code | CSrc.X, 0, dsl, target(op, jt), target(op, jf));
  return make(CClass.JMP | code | CSrc.K, u32(op, operand), dsl, target(op, jt), target(op, jf));
}
export const jeq = (k: number | 'x', jt: CTarget, jf: CTarget = 0): CInsn => jmp('jeq', k, jt, jf);
export const jgt = (k: number | 'x', jt: CTarget, jf: CTarget = 0): CInsn => jmp('jgt', k, jt, jf);
export const jge = (k: number | 'x', jt: CTarget, jf: CTarget = 0): CInsn => jmp('jge', k, jt, jf);
export const jset = (k: number | 'x', jt: CTarget, jf: CTarget = 0): CInsn => jmp('jset', k, jt, jf);

/** Unconditional jump (`jmp L`); k holds the skip, so it reaches anywhere forward. */
export const ja = (t: CTarget): CInsn => make(CClass.JMP | CJmpOp.JA, target('ja', t), `ja(${tn(t)})`);

/** Return k (`ret #k`): for seccomp, the action. */
export const ret = (k: number): CInsn => make(CClass.RET | CRval.K, u32('ret', k), `ret(${k})`);
/** Return A (`ret a`). */
export const retA = (): CInsn => make(CClass.RET | CRval.A, 0, 'retA()');
/** X = A. */
export const tax = (): CInsn => make(CClass.MISC | CMisc.TAX, 0, 'tax()');
/** A = X. */
export const txa = (): CInsn => make(CClass.MISC | CMisc.TXA, 0, 'txa()');

/** Any sock_filter as it is, for encodings the constructors above do not build (e.g. from a parser). */
export function raw(code: number, jt: number, jf: number, k: number): CInsn {
  if (!Number.isInteger(code) || code < 0 || code > 0xffff) throw new Error(`raw: code ${String(code)} does not fit 16 bits`);
  for (const [n, v] of [['jt', jt], ['jf', jf]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new Error(`raw: ${n} ${String(v)} does not fit 8 bits`);
  }
  return Object.freeze({ code, jt, jf, k: u32('raw', k), dsl: `raw(0x${code.toString(16)}, ${jt}, ${jf}, ${k})`, raw: true as const });
}
