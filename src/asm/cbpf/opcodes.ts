// Classic BPF (struct sock_filter) opcode fields, as in include/uapi/linux/filter.h and bpf_common.h.
// An opcode is a 16-bit value: class | size | mode for loads, class | op | source for ALU and jumps.

/** One struct sock_filter, exactly as the kernel reads it: u16 code, u8 jt, u8 jf, u32 k. */
export interface SockFilter {
  code: number;
  /** instructions to skip when a conditional jump is taken (0..255, forward only) */
  jt: number;
  /** instructions to skip when it is not */
  jf: number;
  /** the constant, as an unsigned 32-bit value */
  k: number;
}

/** Bytes per struct sock_filter. */
export const SOCK_FILTER_SIZE = 8;
/** The kernel's limit on a classic program's length (BPF_MAXINSNS). */
export const CBPF_MAXINSNS = 4096;
/** Scratch memory words M[0]..M[15] (BPF_MEMWORDS). */
export const CBPF_MEMWORDS = 16;

export const CClass = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, RET: 0x06, MISC: 0x07 } as const;
export const CSize = { W: 0x00, H: 0x08, B: 0x10 } as const;
export const CMode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, LEN: 0x80, MSH: 0xa0 } as const;
export const CAluOp = {
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70, NEG: 0x80, MOD: 0x90, XOR: 0xa0,
} as const;
export const CJmpOp = { JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40 } as const;
/** Operand source for ALU and jumps: the constant k, or the index register X. */
export const CSrc = { K: 0x00, X: 0x08 } as const;
/** What `ret` returns: the constant k, or the accumulator A. */
export const CRval = { K: 0x00, A: 0x10 } as const;
export const CMisc = { TAX: 0x00, TXA: 0x80 } as const;

export const cclass = (code: number): number => code & 0x07;
export const csize = (code: number): number => code & 0x18;
export const cmode = (code: number): number => code & 0xe0;
export const cop = (code: number): number => code & 0xf0;
export const csrc = (code: number): number => code & 0x08;

/** Every opcode the kernel's classic-BPF checker accepts (net/core/filter.c), for disassembly. */
export function isKnownCode(code: number): boolean {
  if (code < 0 || code > 0xffff || !Number.isInteger(code)) return false;
  switch (cclass(code)) {
    case CClass.LD:
      if (csize(code) === 0x18) return false;
      if (cmode(code) === CMode.ABS || cmode(code) === CMode.IND) return code === (code & 0xff);
      return csize(code) === CSize.W && (cmode(code) === CMode.IMM || cmode(code) === CMode.MEM || cmode(code) === CMode.LEN) && code === (code & 0xff);
    case CClass.LDX:
      if (cmode(code) === CMode.MSH) return code === (CClass.LDX | CSize.B | CMode.MSH);
      return csize(code) === CSize.W && (cmode(code) === CMode.IMM || cmode(code) === CMode.MEM || cmode(code) === CMode.LEN) && code === (code & 0xff);
    case CClass.ST:
    case CClass.STX:
      return code === cclass(code);
    case CClass.ALU:
      if (cop(code) === CAluOp.NEG) return code === (CClass.ALU | CAluOp.NEG);
      return cop(code) <= CAluOp.XOR && (code & ~0xf8) === CClass.ALU;
    case CClass.JMP:
      if (cop(code) === CJmpOp.JA) return code === (CClass.JMP | CJmpOp.JA);
      return cop(code) <= CJmpOp.JSET && (code & ~0xf8) === CClass.JMP;
    case CClass.RET:
      return code === (CClass.RET | CRval.K) || code === (CClass.RET | CRval.A);
    default:
      return code === (CClass.MISC | CMisc.TAX) || code === (CClass.MISC | CMisc.TXA);
  }
}
