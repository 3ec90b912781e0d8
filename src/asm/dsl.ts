// DSL constructors for ALU, jump and call instructions. Each returns a frozen Instruction carrying its
// own DSL text, so assembler errors can quote what the user wrote. Immediates and offsets are range
// checked by assemble(), which can name the instruction's position; register numbers are checked here.
import { ADDR_SPACE_CAST, AluOp, Class, JmpOp, MAY_GOTO, Pseudo, Source } from './opcodes.js';
import { helperId, helperName } from './helpers.js';
import { insn, reg, rn, tn, type Instruction, type Target } from './insn.js';

export interface AluFamily {
  /** dst op= imm */
  imm(dst: number, imm: number): Instruction;
  /** dst op= src */
  reg(dst: number, src: number): Instruction;
}

function aluFamily(name: string, cls: number, op: number, off = 0): AluFamily {
  return Object.freeze({
    imm: (dst: number, imm: number): Instruction =>
      insn({ op: cls | op | Source.K, dst: reg('dst', dst, `${name}.imm`), off, imm, dsl: `${name}.imm(${rn(dst)}, ${imm})` }),
    reg: (dst: number, src: number): Instruction =>
      insn({
        op: cls | op | Source.X,
        dst: reg('dst', dst, `${name}.reg`),
        src: reg('src', src, `${name}.reg`),
        off,
        dsl: `${name}.reg(${rn(dst)}, ${rn(src)})`,
      }),
  });
}

const a64 = (name: string, op: number, off = 0): AluFamily => aluFamily(`${name}64`, Class.ALU64, op, off);
const a32 = (name: string, op: number, off = 0): AluFamily => aluFamily(`${name}32`, Class.ALU, op, off);

// sdiv/smod are DIV/MOD with off=1 (Linux 6.6+, "cpu v4").
export const add64 = a64('add', AluOp.ADD), add32 = a32('add', AluOp.ADD);
export const sub64 = a64('sub', AluOp.SUB), sub32 = a32('sub', AluOp.SUB);
export const mul64 = a64('mul', AluOp.MUL), mul32 = a32('mul', AluOp.MUL);
export const div64 = a64('div', AluOp.DIV), div32 = a32('div', AluOp.DIV);
export const sdiv64 = a64('sdiv', AluOp.DIV, 1), sdiv32 = a32('sdiv', AluOp.DIV, 1);
export const mod64 = a64('mod', AluOp.MOD), mod32 = a32('mod', AluOp.MOD);
export const smod64 = a64('smod', AluOp.MOD, 1), smod32 = a32('smod', AluOp.MOD, 1);
export const or64 = a64('or', AluOp.OR), or32 = a32('or', AluOp.OR);
export const and64 = a64('and', AluOp.AND), and32 = a32('and', AluOp.AND);
export const xor64 = a64('xor', AluOp.XOR), xor32 = a32('xor', AluOp.XOR);
export const lsh64 = a64('lsh', AluOp.LSH), lsh32 = a32('lsh', AluOp.LSH);
export const rsh64 = a64('rsh', AluOp.RSH), rsh32 = a32('rsh', AluOp.RSH);
export const arsh64 = a64('arsh', AluOp.ARSH), arsh32 = a32('arsh', AluOp.ARSH);
export const mov64 = a64('mov', AluOp.MOV), mov32 = a32('mov', AluOp.MOV);

export function neg64(dst: number): Instruction {
  return insn({ op: Class.ALU64 | AluOp.NEG | Source.K, dst: reg('dst', dst, 'neg64'), dsl: `neg64(${rn(dst)})` });
}
export function neg32(dst: number): Instruction {
  return insn({ op: Class.ALU | AluOp.NEG | Source.K, dst: reg('dst', dst, 'neg32'), dsl: `neg32(${rn(dst)})` });
}

function checkWidth(fn: string, bits: number, allowed: readonly number[]): number {
  if (!allowed.includes(bits)) throw new Error(`${fn}: width must be one of ${allowed.join('|')}, got ${String(bits)}`);
  return bits;
}

/** Sign-extending moves: dst = (sN)src. The width lives in off. */
export const movsx64 = Object.freeze({
  reg: (dst: number, src: number, bits: 8 | 16 | 32): Instruction =>
    insn({
      op: Class.ALU64 | AluOp.MOV | Source.X,
      dst: reg('dst', dst, 'movsx64.reg'),
      src: reg('src', src, 'movsx64.reg'),
      off: checkWidth('movsx64.reg', bits, [8, 16, 32]),
      dsl: `movsx64.reg(${rn(dst)}, ${rn(src)}, ${bits})`,
    }),
});
export const movsx32 = Object.freeze({
  reg: (dst: number, src: number, bits: 8 | 16): Instruction =>
    insn({
      op: Class.ALU | AluOp.MOV | Source.X,
      dst: reg('dst', dst, 'movsx32.reg'),
      src: reg('src', src, 'movsx32.reg'),
      off: checkWidth('movsx32.reg', bits, [8, 16]),
      dsl: `movsx32.reg(${rn(dst)}, ${rn(src)}, ${bits})`,
    }),
});

function endian(name: string, op: number, dst: number, bits: number): Instruction {
  return insn({ op, dst: reg('dst', dst, name), imm: checkWidth(name, bits, [16, 32, 64]), dsl: `${name}(${rn(dst)}, ${bits})` });
}
/** Converts dst to little-endian (a truncation on little-endian hosts). */
export const le = (dst: number, bits: 16 | 32 | 64): Instruction => endian('le', Class.ALU | AluOp.END | Source.K, dst, bits);
/** Converts dst to big-endian. */
export const be = (dst: number, bits: 16 | 32 | 64): Instruction => endian('be', Class.ALU | AluOp.END | Source.X, dst, bits);
/** Unconditional byte swap (ALU64 class, Linux 6.6+). */
export const bswap = (dst: number, bits: 16 | 32 | 64): Instruction => endian('bswap', Class.ALU64 | AluOp.END | Source.K, dst, bits);

/** dst = addr_space_cast(src, dstAs, srcAs) (arena pointers, Linux 6.9+). */
export function addrSpaceCast(dst: number, src: number, dstAs: number, srcAs: number): Instruction {
  const fn = 'addrSpaceCast';
  for (const [what, v] of [['dstAs', dstAs], ['srcAs', srcAs]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`${fn}: ${what} must be 0..65535, got ${String(v)}`);
  }
  return insn({
    op: Class.ALU64 | AluOp.MOV | Source.X,
    dst: reg('dst', dst, fn),
    src: reg('src', src, fn),
    off: ADDR_SPACE_CAST,
    imm: ((dstAs << 16) | srcAs) | 0,
    dsl: `${fn}(${rn(dst)}, ${rn(src)}, ${dstAs}, ${srcAs})`,
  });
}

export interface JmpFamily {
  /** if dst cond imm goto target */
  imm(dst: number, imm: number, target: Target): Instruction;
  /** if dst cond src goto target */
  reg(dst: number, src: number, target: Target): Instruction;
}

function jmpFamily(name: string, cls: number, op: number): JmpFamily {
  return Object.freeze({
    imm: (dst: number, imm: number, target: Target): Instruction =>
      insn({ op: cls | op | Source.K, dst: reg('dst', dst, `${name}.imm`), imm, target, dsl: `${name}.imm(${rn(dst)}, ${imm}, ${tn(target)})` }),
    reg: (dst: number, src: number, target: Target): Instruction =>
      insn({
        op: cls | op | Source.X,
        dst: reg('dst', dst, `${name}.reg`),
        src: reg('src', src, `${name}.reg`),
        target,
        dsl: `${name}.reg(${rn(dst)}, ${rn(src)}, ${tn(target)})`,
      }),
  });
}

const j64 = (name: string, op: number): JmpFamily => jmpFamily(name, Class.JMP, op);
const j32 = (name: string, op: number): JmpFamily => jmpFamily(`${name}32`, Class.JMP32, op);

export const jeq = j64('jeq', JmpOp.JEQ), jeq32 = j32('jeq', JmpOp.JEQ);
export const jne = j64('jne', JmpOp.JNE), jne32 = j32('jne', JmpOp.JNE);
export const jgt = j64('jgt', JmpOp.JGT), jgt32 = j32('jgt', JmpOp.JGT);
export const jge = j64('jge', JmpOp.JGE), jge32 = j32('jge', JmpOp.JGE);
export const jlt = j64('jlt', JmpOp.JLT), jlt32 = j32('jlt', JmpOp.JLT);
export const jle = j64('jle', JmpOp.JLE), jle32 = j32('jle', JmpOp.JLE);
export const jsgt = j64('jsgt', JmpOp.JSGT), jsgt32 = j32('jsgt', JmpOp.JSGT);
export const jsge = j64('jsge', JmpOp.JSGE), jsge32 = j32('jsge', JmpOp.JSGE);
export const jslt = j64('jslt', JmpOp.JSLT), jslt32 = j32('jslt', JmpOp.JSLT);
export const jsle = j64('jsle', JmpOp.JSLE), jsle32 = j32('jsle', JmpOp.JSLE);
export const jset = j64('jset', JmpOp.JSET), jset32 = j32('jset', JmpOp.JSET);

/** goto target (16-bit offset). */
export function ja(target: Target): Instruction {
  return insn({ op: Class.JMP | JmpOp.JA, target, dsl: `ja(${tn(target)})` });
}
/** gotol target: JMP32|JA, offset in the 32-bit imm (Linux 6.6+). */
export function ja32(target: Target): Instruction {
  return insn({ op: Class.JMP32 | JmpOp.JA, target, dsl: `ja32(${tn(target)})` });
}
/** may_goto target: jumps once the kernel's loop budget runs out (Linux 6.9+). */
export function mayGoto(target: Target): Instruction {
  return insn({ op: Class.JMP | JmpOp.JCOND, src: MAY_GOTO, target, dsl: `mayGoto(${tn(target)})` });
}

/** Calls a helper by name (with or without "bpf_") or id. */
export function call(helper: string | number): Instruction {
  const id = typeof helper === 'string' ? helperId(helper) : helper;
  const shown = typeof helper === 'string' ? `'${helper}'` : String(helper);
  const named = helperName(id);
  return insn({ op: Class.JMP | JmpOp.CALL, imm: id, dsl: named && typeof helper === 'number' ? `call(${shown} /* ${named} */)` : `call(${shown})` });
}
/** bpf-to-bpf call to a label (or raw relative offset), src = Pseudo.CALL. */
export function callLocal(target: Target): Instruction {
  return insn({ op: Class.JMP | JmpOp.CALL, src: Pseudo.CALL, target, dsl: `callLocal(${tn(target)})` });
}
/** Call of a kernel function by BTF id, src = Pseudo.KFUNC_CALL; off is the BTF object fd index (0 = vmlinux). */
export function callKfunc(btfId: number, btfFdIndex = 0): Instruction {
  return insn({ op: Class.JMP | JmpOp.CALL, src: Pseudo.KFUNC_CALL, off: btfFdIndex, imm: btfId, dsl: `callKfunc(${btfId}${btfFdIndex ? `, ${btfFdIndex}` : ''})` });
}
export function exit(): Instruction {
  return insn({ op: Class.JMP | JmpOp.EXIT, dsl: 'exit()' });
}
