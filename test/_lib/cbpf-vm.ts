// A reference interpreter for classic BPF, written from the kernel's documented semantics
// (Documentation/networking/filter.rst), to check what compiled filters decide without loading them.
// Seccomp reads struct seccomp_data in host order (the kernel rewrites its absolute loads), so `data`
// here is read little-endian; packet filters would read network order, which these tests never need.
import { cbpf } from '../../src/asm/index.js';

const { CClass, CMode, CAluOp, CJmpOp, CSrc, cclass, cmode, cop, csize, csrc } = cbpf;

export class CbpfFault extends Error {}

export function runCbpf(filters: readonly cbpf.SockFilter[], data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const M = new Uint32Array(16);
  let A = 0;
  let X = 0;
  const load = (at: number, size: number): number => {
    const bytes = size === cbpf.CSize.W ? 4 : size === cbpf.CSize.H ? 2 : 1;
    if (at < 0 || at + bytes > data.length) throw new CbpfFault(`load of ${bytes} bytes at ${at} outside the ${data.length}-byte data`);
    return bytes === 4 ? view.getUint32(at, true) : bytes === 2 ? view.getUint16(at, true) : view.getUint8(at);
  };
  for (let pc = 0, steps = 0; pc < filters.length; pc++, steps++) {
    const { code, jt, jf, k } = filters[pc]!;
    if (steps > filters.length) throw new CbpfFault('ran more steps than instructions (a backward jump?)');
    switch (cclass(code)) {
      case CClass.LD:
      case CClass.LDX: {
        let v: number;
        switch (cmode(code)) {
          case CMode.ABS: v = load(k, csize(code)); break;
          case CMode.IND: v = load((X + k) >>> 0, csize(code)); break;
          case CMode.IMM: v = k; break;
          case CMode.LEN: v = data.length; break;
          case CMode.MEM: v = M[k]!; break;
          case CMode.MSH: v = (load(k, cbpf.CSize.B) & 0xf) * 4; break;
          default: throw new CbpfFault(`bad load mode in 0x${code.toString(16)}`);
        }
        if (cclass(code) === CClass.LD) A = v >>> 0;
        else X = v >>> 0;
        break;
      }
      case CClass.ST: M[k] = A; break;
      case CClass.STX: M[k] = X; break;
      case CClass.ALU: {
        const b = csrc(code) === CSrc.X ? X : k;
        switch (cop(code)) {
          case CAluOp.ADD: A = (A + b) >>> 0; break;
          case CAluOp.SUB: A = (A - b) >>> 0; break;
          case CAluOp.MUL: A = Math.imul(A, b) >>> 0; break;
          case CAluOp.DIV: if (b === 0) return 0; A = Math.floor(A / b) >>> 0; break;
          case CAluOp.MOD: if (b === 0) return 0; A = (A % b) >>> 0; break;
          case CAluOp.AND: A = (A & b) >>> 0; break;
          case CAluOp.OR: A = (A | b) >>> 0; break;
          case CAluOp.XOR: A = (A ^ b) >>> 0; break;
          case CAluOp.LSH: A = b >= 32 ? 0 : (A << b) >>> 0; break;
          case CAluOp.RSH: A = b >= 32 ? 0 : A >>> b; break;
          case CAluOp.NEG: A = -A >>> 0; break;
          default: throw new CbpfFault(`bad alu op in 0x${code.toString(16)}`);
        }
        break;
      }
      case CClass.JMP: {
        if (cop(code) === CJmpOp.JA) { pc += k; break; }
        const b = csrc(code) === CSrc.X ? X : k;
        let taken: boolean;
        switch (cop(code)) {
          case CJmpOp.JEQ: taken = A === b; break;
          case CJmpOp.JGT: taken = A > b; break;
          case CJmpOp.JGE: taken = A >= b; break;
          case CJmpOp.JSET: taken = (A & b) !== 0; break;
          default: throw new CbpfFault(`bad jump op in 0x${code.toString(16)}`);
        }
        pc += taken ? jt : jf;
        break;
      }
      case CClass.RET:
        return ((code & 0x18) === cbpf.CRval.A ? A : k) >>> 0;
      default:
        if (code === (CClass.MISC | cbpf.CMisc.TAX)) X = A;
        else A = X;
    }
  }
  throw new CbpfFault('fell off the end of the program without a ret');
}

/** struct seccomp_data for (nr, arch): 64 bytes, host order. */
export function seccompData(nr: number, arch: number): Buffer {
  const buf = Buffer.alloc(64);
  buf.writeUInt32LE(nr >>> 0, 0);
  buf.writeUInt32LE(arch >>> 0, 4);
  return buf;
}
