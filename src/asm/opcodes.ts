// eBPF opcode fields, as the kernel defines them (Documentation/bpf/standardization/instruction-set.rst).
// The opcode byte is class | (op or size|mode) | source; these tables name each field.

export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Load/store width, bits 3-4 of the opcode. */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Load/store mode, bits 5-7 of the opcode. */
export const Mode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, MEMSX: 0x80, ATOMIC: 0xc0 } as const;

/** Operand source, bit 3 for ALU/JMP: K = immediate, X = register. For END it selects TO_LE/TO_BE. */
export const Source = { K: 0x00, X: 0x08 } as const;

export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30, // off=1: signed (sdiv)
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90, // off=1: signed (smod)
  XOR: 0xa0,
  MOV: 0xb0, // off=8/16/32: sign-extending move (movsx)
  ARSH: 0xc0,
  END: 0xd0, // byte swap; with ALU64 class: unconditional bswap
} as const;

export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  /** JMP only, src=MAY_GOTO: "may_goto", a loop-bounding conditional jump (Linux 6.9+). */
  JCOND: 0xe0,
} as const;

/** src_reg of a JMP|JCOND instruction meaning may_goto. */
export const MAY_GOTO = 0;
/** off of an ALU64|MOV|X instruction meaning addr_space_cast (imm = dst_as << 16 | src_as). */
export const ADDR_SPACE_CAST = 1;

/** Atomic operation, carried in imm of a STX|ATOMIC instruction. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe0 | 0x01,
  CMPXCHG: 0xf0 | 0x01,
  /** load-acquire: dst = *(src + off) (Linux 6.15+; any size). */
  LOAD_ACQ: 0x100,
  /** store-release: *(dst + off) = src (Linux 6.15+; any size). */
  STORE_REL: 0x110,
} as const;

/** src_reg values with special meaning. */
export const Pseudo = {
  /** ld_imm64: imm is a map fd. */
  MAP_FD: 1,
  /** ld_imm64: imm is a map fd, second imm an offset into its value. */
  MAP_VALUE: 2,
  /** ld_imm64: imm is a BTF id of a kernel variable. */
  BTF_ID: 3,
  /** ld_imm64: imm is the relative offset of a bpf-to-bpf function. */
  FUNC: 4,
  /** ld_imm64: imm is an index into the fd_array given at load time. */
  MAP_IDX: 5,
  /** ld_imm64: like MAP_IDX, second imm an offset into the map's value. */
  MAP_IDX_VALUE: 6,
  /** call: imm is the relative offset of a bpf-to-bpf function. */
  CALL: 1,
  /** call: imm is a kfunc BTF id. */
  KFUNC_CALL: 2,
} as const;

export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;
/** The read-only frame pointer. */
export const FP = 10;

export const INSN_SIZE = 8;
export const STACK_SIZE = 512;
export const MAX_BPF_REG = 11;

export const opClass = (code: number): number => code & 0x07;
export type SizeCode = (typeof Size)[keyof typeof Size];
export const opSize = (code: number): SizeCode => (code & 0x18) as SizeCode; // the two size bits: exactly the four Size values
export const opMode = (code: number): number => code & 0xe0;
export const opSource = (code: number): number => code & 0x08;
export const opAluJmp = (code: number): number => code & 0xf0;

/** The opcode of BPF_LD | BPF_DW | BPF_IMM, the only two-slot instruction. */
export const LD_IMM64 = Class.LD | Size.DW | Mode.IMM;

/** Bytes accessed for each Size value. */
export function sizeBytes(size: number): 1 | 2 | 4 | 8 {
  switch (size) {
    case Size.B: return 1;
    case Size.H: return 2;
    case Size.W: return 4;
    default: return 8;
  }
}

// Program, map and attach types live with the other kernel ABI values; re-exported here for existing importers.
export { ProgType, MapType, AttachType, type ProgTypeId, type MapTypeId } from './abi.js';
