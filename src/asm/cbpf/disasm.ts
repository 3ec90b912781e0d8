// Disassembler in the syntax of the kernel's tools/bpf (bpf_dbg's listing, which bpf_asm reads):
// one "lN:\tmnemonic operands" line per instruction, jump targets as the labels lN of the lines they
// land on. An encoding the syntax cannot carry exactly (an unknown code, a jump past the end, a field
// the mnemonic ignores but that is not 0) prints as `.insn CODE, JT, JF, K`, so nothing is ever lost
// and parseCbpf() reads every listing back to the same bytes. Never throws.
import { ALU_OPS, JMP_OPS } from './insn.js';
import { CAluOp, CClass, CJmpOp, CMisc, CMode, CRval, CSize, CSrc, cclass, cmode, cop, csize, csrc, isKnownCode, type SockFilter } from './opcodes.js';

export interface CbpfDisasmOptions {
  /** a note for instruction i, printed after it as "; note" (e.g. what a seccomp constant means) */
  comment?: (index: number, f: SockFilter) => string | undefined;
}

const ALU_NAME = new Map(Object.entries(ALU_OPS).map(([n, v]) => [v, n]));
const JMP_NAME = new Map(Object.entries(JMP_OPS).map(([n, v]) => [v, n]));
const LD_NAME: Record<number, string> = { [CSize.W]: 'ld', [CSize.H]: 'ldh', [CSize.B]: 'ldb' };

/** printf("%#x"): 0 stays "0", as bpf_dbg prints constants. */
export const hexK = (k: number): string => (k === 0 ? '0' : `0x${(k >>> 0).toString(16)}`);

export function rawLine(f: SockFilter): string {
  return `.insn 0x${f.code.toString(16).padStart(2, '0')}, ${f.jt}, ${f.jf}, ${hexK(f.k)}`;
}

/**
 * The text of one instruction at `index` of a program of `length` instructions, without its label.
 * Returns the `.insn` form when the mnemonic syntax would not reproduce the encoding.
 */
export function formatCbpf(f: SockFilter, index: number, length: number): string {
  return body(f, index, length) ?? rawLine(f);
}

function body(f: SockFilter, index: number, length: number): string | undefined {
  const { code, jt, jf, k } = f;
  if (!isKnownCode(code)) return undefined;
  const cls = cclass(code);
  const isCond = cls === CClass.JMP && cop(code) !== CJmpOp.JA;
  // Only conditional jumps use jt/jf; anything else there cannot be written in the syntax.
  if (!isCond && (jt !== 0 || jf !== 0)) return undefined;
  const zeroK = (text: string): string | undefined => (k === 0 ? text : undefined);
  const mem = (text: string): string | undefined => (k < 16 ? `${text} M[${k}]` : undefined);
  const to = (skip: number): string | undefined => (index + 1 + skip < length ? `l${index + 1 + skip}` : undefined);
  switch (cls) {
    case CClass.LD:
    case CClass.LDX: {
      const ld = cls === CClass.LD ? 'ld' : 'ldx';
      switch (cmode(code)) {
        case CMode.ABS: return `${LD_NAME[csize(code)]} [${k}]`;
        case CMode.IND: return `${LD_NAME[csize(code)]} [x + ${k}]`;
        case CMode.IMM: return `${ld} #${hexK(k)}`;
        case CMode.LEN: return zeroK(`${ld} #len`);
        case CMode.MEM: return mem(ld);
        case CMode.MSH: return `ldxb 4*([${k}]&0xf)`;
      }
      return undefined;
    }
    case CClass.ST: return mem('st');
    case CClass.STX: return mem('stx');
    case CClass.ALU: {
      if (cop(code) === CAluOp.NEG) return zeroK('neg');
      const name = ALU_NAME.get(cop(code))!;
      return csrc(code) === CSrc.X ? zeroK(`${name} x`) : `${name} #${hexK(k)}`;
    }
    case CClass.JMP: {
      if (!isCond) {
        const t = k < length ? to(k) : undefined;
        return t && `jmp ${t}`;
      }
      const t = to(jt);
      const e = to(jf);
      if (!t || !e) return undefined;
      const name = JMP_NAME.get(cop(code))!;
      return csrc(code) === CSrc.X ? zeroK(`${name} x, ${t}, ${e}`) : `${name} #${hexK(k)}, ${t}, ${e}`;
    }
    case CClass.RET:
      return (code & 0x18) === CRval.A ? zeroK('ret a') : `ret #${hexK(k)}`;
    default:
      return zeroK(code === (CClass.MISC | CMisc.TAX) ? 'tax' : 'txa');
  }
}

/** The whole program, one "lN:\t..." line each, with notes from opts.comment. */
export function disassembleCbpf(filters: readonly SockFilter[], opts: CbpfDisasmOptions = {}): string {
  return filters
    .map((f, i) => {
      const note = opts.comment?.(i, f);
      return `l${i}:\t${formatCbpf(f, i, filters.length)}${note ? `\t; ${note}` : ''}`;
    })
    .join('\n') + (filters.length ? '\n' : '');
}
