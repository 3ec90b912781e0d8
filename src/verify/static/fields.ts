// Encoding checks on every instruction, reachable on our walk or not. The kernel checks opcodes and
// reserved fields of all instructions before its walk (and we skip branches on known constants, as
// it does), so these checks must not depend on the walk. Unsupported-but-valid encodings are refused
// here too, with words saying so.
import type { RawInsn } from '../../asm/encoding.js';
import {
  AluOp, AtomicOp, Class, JmpOp, LD_IMM64, MAX_BPF_REG, Mode, Pseudo, Size, Source,
  opAluJmp, opClass, opMode, opSize, opSource,
} from '../../asm/opcodes.js';
import { CONDITIONAL } from './alu.js';
import { Reject } from './memory.js';

const ATOMIC_OPS = new Set<number>([
  AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR,
  AtomicOp.ADD | AtomicOp.FETCH, AtomicOp.OR | AtomicOp.FETCH, AtomicOp.AND | AtomicOp.FETCH, AtomicOp.XOR | AtomicOp.FETCH,
  AtomicOp.XCHG, AtomicOp.CMPXCHG,
]);

function regs(insn: RawInsn, usesSrc: boolean): void {
  if (insn.dst >= MAX_BPF_REG) throw new Reject(`r${insn.dst} is not a register (r0..r10 exist)`);
  if (usesSrc && insn.src >= MAX_BPF_REG) throw new Reject(`r${insn.src} is not a register (r0..r10 exist)`);
}

function alu(insn: RawInsn): void {
  const op = opAluJmp(insn.code);
  const x = opSource(insn.code) === Source.X;
  const is64 = opClass(insn.code) === Class.ALU64;
  if (op > AluOp.END) throw new Reject(`unknown ALU operation 0x${op.toString(16)}`);
  if (insn.off !== 0) throw new Reject('signed div/mod, sign-extending moves and address-space casts (non-zero off) are not supported by this verifier');
  if (op === AluOp.NEG) {
    if (x || insn.src !== 0 || insn.imm !== 0) throw new Reject('neg uses reserved fields (source, src register and imm must be 0)');
  } else if (op === AluOp.END) {
    if (insn.src !== 0 || ![16, 32, 64].includes(insn.imm)) throw new Reject('byte swap must have src 0 and imm 16, 32 or 64');
    if (is64 && x) throw new Reject('64-bit byte swap must use the K source bit');
  } else if (x ? insn.imm !== 0 : insn.src !== 0) {
    throw new Reject(x ? 'register-source ALU instruction has a non-zero imm (reserved)' : 'immediate ALU instruction has a non-zero src register (reserved)');
  }
  if (!x) {
    const bits = is64 ? 64 : 32;
    if ((op === AluOp.DIV || op === AluOp.MOD) && insn.imm === 0) throw new Reject('division by the constant zero');
    if ((op === AluOp.LSH || op === AluOp.RSH || op === AluOp.ARSH) && (insn.imm < 0 || insn.imm >= bits)) {
      throw new Reject(`shift by ${insn.imm} is out of range for a ${bits}-bit operation (0..${bits - 1})`);
    }
  }
  regs(insn, x);
  if (insn.dst === 10) throw new Reject('r10 is the read-only frame pointer; it cannot be written');
}

function jump(insn: RawInsn): void {
  const op = opAluJmp(insn.code);
  const jmp32 = opClass(insn.code) === Class.JMP32;
  const k = opSource(insn.code) === Source.K;
  if (op === JmpOp.EXIT || op === JmpOp.CALL || op === JmpOp.JA) {
    if (jmp32) throw new Reject(op === JmpOp.JA ? 'gotol (32-bit unconditional jump) is not supported by this verifier' : 'call and exit must use the 64-bit JMP class');
    if (!k || insn.dst !== 0) throw new Reject('call/exit/goto use reserved fields (dst must be 0, immediate source)');
  }
  if (op === JmpOp.EXIT) {
    if (insn.src || insn.off || insn.imm) throw new Reject('exit uses reserved fields (src, off and imm must be 0)');
  } else if (op === JmpOp.CALL) {
    if (insn.off !== 0) throw new Reject('call uses a reserved field (off must be 0)');
    if (insn.src === Pseudo.KFUNC_CALL) throw new Reject('kfunc calls are not supported by this verifier');
    if (insn.src !== 0 && insn.src !== Pseudo.CALL) throw new Reject(`call with src ${insn.src} is neither a helper nor a subprogram call`);
  } else if (op === JmpOp.JA) {
    if (insn.src || insn.imm) throw new Reject('goto uses reserved fields (src and imm must be 0)');
  } else if (!CONDITIONAL.has(op)) {
    throw new Reject(`jump operation 0x${op.toString(16)} (e.g. may_goto) is not supported by this verifier`);
  } else {
    if (k ? insn.src !== 0 : insn.imm !== 0) throw new Reject('conditional jump uses a reserved field (imm with a register source, or src with an immediate)');
    regs(insn, !k);
  }
}

/** Throws Reject when insn (with `next`, the following slot) is not an encoding we verify. */
export function checkFields(insn: RawInsn, next: RawInsn | undefined, hasMapRef: boolean): void {
  const cls = opClass(insn.code);
  const mode = opMode(insn.code);
  if (insn.code === LD_IMM64) {
    regs(insn, false);
    if (insn.dst === 10) throw new Reject('r10 is the read-only frame pointer; it cannot be written');
    if (!next || insn.off || next.code || next.dst || next.src || next.off) throw new Reject('ld_imm64 uses reserved fields (off, and all but imm of its second slot, must be 0)');
    if (insn.src === Pseudo.MAP_FD || insn.src === Pseudo.MAP_VALUE) {
      if (!hasMapRef) throw new Reject(`ld_imm64 of a map ${insn.src === Pseudo.MAP_FD ? 'fd' : 'value'} with no entry in spec.mapRefs: the verifier cannot tell which map it is`);
    } else if (insn.src !== 0) {
      throw new Reject(`ld_imm64 with src ${insn.src} (BTF ids, function pointers, fd_array indexes) is not supported by this verifier`);
    }
    return;
  }
  switch (cls) {
    case Class.ALU:
    case Class.ALU64:
      return alu(insn);
    case Class.JMP:
    case Class.JMP32:
      return jump(insn);
    case Class.LD:
      throw new Reject(mode === Mode.ABS || mode === Mode.IND
        ? 'legacy packet loads (ld_abs / ld_ind) are not supported by this verifier'
        : `unknown LD opcode 0x${insn.code.toString(16)}`);
    case Class.LDX:
      if (mode === Mode.MEMSX) throw new Reject('sign-extending loads are not supported by this verifier');
      if (mode !== Mode.MEM || insn.imm !== 0) throw new Reject('LDX uses reserved fields (mode must be MEM, imm 0)');
      regs(insn, true);
      if (insn.dst === 10) throw new Reject('r10 is the read-only frame pointer; it cannot be written');
      return;
    case Class.ST:
      if (mode !== Mode.MEM || insn.src !== 0) throw new Reject('ST uses reserved fields (mode must be MEM, src 0)');
      return regs(insn, false);
    default: // STX
      regs(insn, true);
      if (mode === Mode.MEM) {
        if (insn.imm !== 0) throw new Reject('STX uses a reserved field (imm must be 0)');
      } else if (mode === Mode.ATOMIC) {
        if (!ATOMIC_OPS.has(insn.imm)) throw new Reject(`atomic operation 0x${insn.imm.toString(16)} is not supported by this verifier`);
        if (opSize(insn.code) !== Size.W && opSize(insn.code) !== Size.DW) throw new Reject('atomic operations must be 32 or 64 bits wide');
        if ((insn.imm & AtomicOp.FETCH) && insn.src === 10) throw new Reject('r10 is the read-only frame pointer; a fetching atomic cannot write it');
      } else {
        throw new Reject(`store mode 0x${mode.toString(16)} is not valid for STX`);
      }
  }
}
