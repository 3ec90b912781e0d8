// Encoding validation the way the kernel does it (kernel/bpf/verifier.c on Linux 6.18, as root):
// known opcodes, every reserved field zero, registers in range, no write to r10, constant division
// by zero and out-of-range constant shifts, the ld_imm64 pairing and its pseudo sources. It answers
// "would the kernel refuse this instruction whatever the program around it?", so the engine refuses
// what the kernel refuses and the verifier builds its policies on top. Checked by loading every
// opcode with field variants into the running kernel (test/asm-validate-kernel.test.ts).
import type { RawInsn } from './encoding.js';
import {
  AluOp, AtomicOp, Class, JmpOp, LD_IMM64, MAX_BPF_REG, MAY_GOTO, Mode, Pseudo, Size, Source, ADDR_SPACE_CAST,
  opAluJmp, opClass, opMode, opSize, opSource,
} from './opcodes.js';

export type EncodingIssueKind =
  | 'unknown_opcode'
  | 'reserved_field'
  | 'bad_register'
  | 'write_r10'
  | 'div_by_zero'
  | 'bad_shift'
  | 'bad_ld_imm64';

/** One instruction the kernel refuses for its encoding alone. */
export interface EncodingIssue {
  /** first slot of the instruction */
  index: number;
  kind: EncodingIssueKind;
  message: string;
}

class Bad {
  constructor(readonly kind: EncodingIssueKind, readonly message: string) {}
}
function bad(kind: EncodingIssueKind, message: string): never { throw new Bad(kind, message); }

const hex = (code: number): string => `0x${code.toString(16).padStart(2, '0')}`;

function reg(r: number, what: string): void {
  if (r >= MAX_BPF_REG) bad('bad_register', `${what} r${r} is not a register (r0..r10 exist)`);
}
function writable(r: number): void {
  reg(r, 'destination');
  if (r === 10) bad('write_r10', 'r10 is the read-only frame pointer; it cannot be written');
}

const RMW = new Set<number>([
  AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR,
  AtomicOp.ADD | AtomicOp.FETCH, AtomicOp.OR | AtomicOp.FETCH, AtomicOp.AND | AtomicOp.FETCH, AtomicOp.XOR | AtomicOp.FETCH,
  AtomicOp.XCHG, AtomicOp.CMPXCHG,
]);
const CONDITIONAL = new Set<number>([
  JmpOp.JEQ, JmpOp.JGT, JmpOp.JGE, JmpOp.JSET, JmpOp.JNE, JmpOp.JSGT, JmpOp.JSGE, JmpOp.JLT, JmpOp.JLE, JmpOp.JSLT, JmpOp.JSLE,
]);

function alu(insn: RawInsn): void {
  const op = opAluJmp(insn.code);
  const x = opSource(insn.code) === Source.X;
  const is64 = opClass(insn.code) === Class.ALU64;
  if (op > AluOp.END) bad('unknown_opcode', `unknown ALU opcode ${hex(insn.code)} (operation ${hex(op)} does not exist)`);
  if (op === AluOp.NEG) {
    if (x) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (neg has no register-source form)`);
    if (insn.src || insn.off || insn.imm) bad('reserved_field', 'neg uses reserved fields (src, off and imm must be 0)');
  } else if (op === AluOp.END) {
    if (is64 && x) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (64-bit byte swap has only the to-le form)`);
    if (insn.src || insn.off || ![16, 32, 64].includes(insn.imm)) bad('reserved_field', 'byte swap uses reserved fields (src and off must be 0, imm 16, 32 or 64)');
  } else if (op === AluOp.MOV) {
    if (x) {
      const sx = insn.off === 0 || insn.off === 8 || insn.off === 16 || (is64 && insn.off === 32);
      if (is64 && insn.off === ADDR_SPACE_CAST) {
        if (insn.imm !== 1 && insn.imm !== 1 << 16) bad('reserved_field', 'addr_space_cast converts only between address spaces 0 and 1 (imm 1 or 0x10000)');
      } else if (!sx || insn.imm) bad('reserved_field', 'mov uses reserved fields (imm must be 0, off 0 or a sign-extension width 8/16' + (is64 ? '/32' : '') + ')');
      reg(insn.src, 'source');
    } else if (insn.src || insn.off) bad('reserved_field', 'mov of an immediate uses reserved fields (src and off must be 0)');
  } else {
    const signedOk = op === AluOp.DIV || op === AluOp.MOD;
    if ((insn.off !== 0 && insn.off !== 1) || (insn.off === 1 && !signedOk)) {
      bad('reserved_field', `ALU instruction uses a reserved field (off must be 0${signedOk ? ', or 1 for signed' : ''})`);
    }
    if (x ? insn.imm !== 0 : insn.src !== 0) {
      bad('reserved_field', x ? 'register-source ALU instruction has a non-zero imm (reserved)' : 'immediate ALU instruction has a non-zero src register (reserved)');
    }
    if (x) reg(insn.src, 'source');
    else {
      const bits = is64 ? 64 : 32;
      if ((op === AluOp.DIV || op === AluOp.MOD) && insn.imm === 0) bad('div_by_zero', 'division by the constant zero');
      if ((op === AluOp.LSH || op === AluOp.RSH || op === AluOp.ARSH) && (insn.imm < 0 || insn.imm >= bits)) {
        bad('bad_shift', `shift by ${insn.imm} is out of range for a ${bits}-bit operation (0..${bits - 1})`);
      }
    }
  }
  writable(insn.dst);
}

function jump(insn: RawInsn): void {
  const op = opAluJmp(insn.code);
  const jmp32 = opClass(insn.code) === Class.JMP32;
  const k = opSource(insn.code) === Source.K;
  switch (op) {
    case JmpOp.CALL:
      if (jmp32 || !k) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (call exists only as the 64-bit immediate form 0x85)`);
      if (insn.dst || (insn.src !== Pseudo.KFUNC_CALL && insn.off) || (insn.src !== 0 && insn.src !== Pseudo.CALL && insn.src !== Pseudo.KFUNC_CALL)) {
        bad('reserved_field', 'call uses reserved fields (dst and off must be 0; src 0 helper, 1 subprogram, 2 kfunc)');
      }
      return;
    case JmpOp.EXIT:
      if (jmp32 || !k) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (exit exists only as 0x95)`);
      if (insn.dst || insn.src || insn.off || insn.imm) bad('reserved_field', 'exit uses reserved fields (dst, src, off and imm must be 0)');
      return;
    case JmpOp.JA:
      if (!k) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (goto has no register-source form)`);
      if (insn.dst || insn.src || (jmp32 ? insn.off : insn.imm)) {
        bad('reserved_field', jmp32 ? 'gotol uses reserved fields (dst, src and off must be 0)' : 'goto uses reserved fields (dst, src and imm must be 0)');
      }
      return;
    case JmpOp.JCOND:
      if (jmp32 || !k) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (may_goto exists only as 0xe5)`);
      if (insn.src !== MAY_GOTO || insn.dst || insn.imm ) bad('reserved_field', 'may_goto uses reserved fields (dst, src and imm must be 0)');
      return;
    default:
      if (!CONDITIONAL.has(op)) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (jump operation ${hex(op)} does not exist)`);
      if (k ? insn.src !== 0 : insn.imm !== 0) bad('reserved_field', 'conditional jump uses a reserved field (imm with a register source, or src with an immediate)');
      reg(insn.dst, 'compared');
      if (!k) reg(insn.src, 'source');
  }
}

function ld(insn: RawInsn, next: RawInsn | undefined): void {
  const mode = opMode(insn.code);
  if (insn.code === LD_IMM64) {
    if (!next) bad('bad_ld_imm64', 'ld_imm64 is the last slot: its second 8-byte slot is missing');
    if (next.code || next.dst || next.src || next.off) bad('bad_ld_imm64', 'ld_imm64 second slot uses reserved fields (all but imm must be 0)');
    if (insn.off) bad('reserved_field', 'ld_imm64 uses a reserved field (off must be 0)');
    if (insn.src > Pseudo.MAP_IDX_VALUE) bad('bad_ld_imm64', `ld_imm64 with src ${insn.src} does not exist (0 plain, 1 map fd, 2 map value, 3 BTF id, 4 function, 5 map index, 6 map index value)`);
    if ((insn.src === Pseudo.MAP_FD || insn.src === Pseudo.MAP_IDX) && next.imm !== 0) bad('bad_ld_imm64', `map fd load with imm ${next.imm} in its second slot: it must be 0`);
    if ((insn.src === Pseudo.FUNC || insn.src === Pseudo.BTF_ID) && next.imm !== 0) bad('bad_ld_imm64', 'ld_imm64 of a function or BTF id with a non-zero second imm');
    writable(insn.dst);
    return;
  }
  if (mode !== Mode.ABS && mode !== Mode.IND) bad('unknown_opcode', `unknown opcode ${hex(insn.code)}`);
  if (opSize(insn.code) === Size.DW) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (ld_abs/ld_ind of 8 bytes does not exist)`);
  if (insn.dst || insn.off || (mode === Mode.ABS && insn.src)) bad('reserved_field', 'ld_abs/ld_ind uses reserved fields (dst and off must be 0; src too for ld_abs)');
  if (mode === Mode.IND) reg(insn.src, 'index');
}

function ldx(insn: RawInsn): void {
  const mode = opMode(insn.code);
  if (mode === Mode.MEMSX && opSize(insn.code) === Size.DW) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (sign-extending load of 8 bytes does not exist)`);
  if ((mode !== Mode.MEM && mode !== Mode.MEMSX) || insn.imm) bad(mode === Mode.MEM || mode === Mode.MEMSX ? 'reserved_field' : 'unknown_opcode', mode === Mode.MEM || mode === Mode.MEMSX ? 'LDX uses reserved fields (imm must be 0)' : `unknown opcode ${hex(insn.code)}`);
  reg(insn.src, 'source');
  writable(insn.dst);
}

function st(insn: RawInsn): void {
  if (opMode(insn.code) !== Mode.MEM) bad('unknown_opcode', `unknown opcode ${hex(insn.code)}`);
  if (insn.src) bad('reserved_field', 'store of an immediate uses a reserved field (src must be 0)');
  reg(insn.dst, 'destination');
}

function stx(insn: RawInsn): void {
  const mode = opMode(insn.code);
  const size = opSize(insn.code);
  if (mode === Mode.MEM) {
    if (insn.imm) bad('reserved_field', 'store uses a reserved field (imm must be 0)');
  } else if (mode === Mode.ATOMIC) {
    if (insn.imm === AtomicOp.LOAD_ACQ) {
      writable(insn.dst);
    } else if (insn.imm === AtomicOp.STORE_REL) {
      // any size
    } else {
      if (size !== Size.W && size !== Size.DW) bad('unknown_opcode', `unknown opcode ${hex(insn.code)} (atomic read-modify-write is 32 or 64 bits wide)`);
      if (!RMW.has(insn.imm)) bad('reserved_field', `atomic operation ${hex(insn.imm)} does not exist`);
      if ((insn.imm & AtomicOp.FETCH) && insn.src === 10) bad('write_r10', 'r10 is the read-only frame pointer; a fetching atomic cannot write it');
    }
  } else {
    bad('unknown_opcode', `unknown opcode ${hex(insn.code)}`);
  }
  reg(insn.dst, 'destination');
  reg(insn.src, 'source');
}

/** The issue with one instruction (`next` is the slot after it, for ld_imm64), or null when valid. */
export function validateInsn(insn: RawInsn, next: RawInsn | undefined): Omit<EncodingIssue, 'index'> | null {
  try {
    switch (opClass(insn.code)) {
      case Class.ALU: case Class.ALU64: alu(insn); break;
      case Class.JMP: case Class.JMP32: jump(insn); break;
      case Class.LD: ld(insn, next); break;
      case Class.LDX: ldx(insn); break;
      case Class.ST: st(insn); break;
      default: stx(insn);
    }
    return null;
  } catch (e) {
    if (e instanceof Bad) return { kind: e.kind, message: e.message };
    throw e;
  }
}

/** Every instruction's encoding (ld_imm64 checked once, with its second slot). */
export function validateEncoding(insns: readonly RawInsn[]): EncodingIssue[] {
  const issues: EncodingIssue[] = [];
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    const issue = validateInsn(insn, insns[i + 1]);
    if (issue) issues.push({ index: i, ...issue });
    if (insn.code === LD_IMM64) i++;
  }
  return issues;
}
