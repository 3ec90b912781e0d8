// The classic-BPF assembler: the one place labels become skip counts. Classic jumps only go forward
// (jt/jf are 8-bit skips, `ja` a 32-bit one), so a label must come after every jump to it. Also the
// encoder to struct sock_filter bytes and the decoder back.
import { CClass, CJmpOp, CBPF_MAXINSNS, SOCK_FILTER_SIZE, cclass, cop, type SockFilter } from './opcodes.js';
import { isLabel, type CItem, type CInsn, type CTarget } from './insn.js';

/** An assembly error naming the item (index in the list) and the label involved. */
export class CbpfAsmError extends Error {
  constructor(message: string, readonly item?: number, readonly symbol?: string) {
    super(message);
    this.name = 'CbpfAsmError';
  }
}

export interface CbpfAssembled {
  filters: SockFilter[];
  /** label name -> index of the instruction it names */
  labels: Map<string, number>;
}

const isJa = (insn: Pick<CInsn, 'code'>): boolean => insn.code === (CClass.JMP | CJmpOp.JA);
const isCond = (insn: Pick<CInsn, 'code'>): boolean => cclass(insn.code) === CClass.JMP && cop(insn.code) !== CJmpOp.JA;

/** Assembles items into sock_filter values. Throws CbpfAsmError naming the item and label. */
export function assembleCbpf(items: readonly CItem[]): CbpfAssembled {
  if (!Array.isArray(items)) throw new CbpfAsmError(`assembleCbpf: expected an array of instructions and labels, got ${typeof items}`);
  const labels = new Map<string, number>();
  let count = 0;
  items.forEach((item, i) => {
    if (!isLabel(item)) return void count++;
    if (labels.has(item.label)) throw new CbpfAsmError(`assembleCbpf: label '${item.label}' is defined twice (item #${i})`, i, item.label);
    labels.set(item.label, count);
  });
  if (count > CBPF_MAXINSNS) throw new CbpfAsmError(`assembleCbpf: ${count} instructions, more than the kernel's limit of ${CBPF_MAXINSNS}`);

  const filters: SockFilter[] = [];
  items.forEach((item, i) => {
    if (isLabel(item)) return;
    const at = filters.length;
    function fail(msg: string, symbol?: string): never {
      throw new CbpfAsmError(`assembleCbpf: item #${i} (instruction ${at}) \`${item.dsl}\`: ${msg}`, i, symbol);
    }
    const skip = (t: CTarget, max: number, field: string): number => {
      let n: number;
      if (typeof t === 'string') {
        const to = labels.get(t);
        if (to === undefined) return fail(`${field}: unknown label '${t}'`, t);
        n = to - at - 1;
        if (n < 0) return fail(`${field}: label '${t}' (instruction ${to}) is not after this jump; classic BPF jumps only forward`, t);
      } else {
        n = t;
      }
      if (!Number.isInteger(n) || n < 0 || n > max) {
        return fail(`${field}: skip ${String(n)}${typeof t === 'string' ? ` to '${t}'` : ''} does not fit (0..${max})${max === 255 ? '; put a ja (32-bit skip) in between for long jumps' : ''}`, typeof t === 'string' ? t : undefined);
      }
      if (at + 1 + n >= count) return fail(`${field}: skip ${n} jumps past the end of the program`, typeof t === 'string' ? t : undefined);
      return n;
    };
    if (!Number.isInteger(item.code) || item.code < 0 || item.code > 0xffff) fail(`code ${String(item.code)} does not fit 16 bits`);
    let { k } = item;
    let jt = 0;
    let jf = 0;
    if (item.raw) {
      jt = item.jt as number;
      jf = item.jf as number;
    } else if (isJa(item)) {
      k = skip(k, 0xffffffff, 'ja');
    } else {
      if (typeof k !== 'number') return fail(`k ${JSON.stringify(k)}: only ja takes a label in k`);
      if (isCond(item)) {
        jt = skip(item.jt, 0xff, 'jt');
        jf = skip(item.jf, 0xff, 'jf');
      } else {
        // Not a jump: jt/jf are still encoded (raw() may carry any byte), but never as labels.
        for (const [name, v] of [['jt', item.jt], ['jf', item.jf]] as const) {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xff) fail(`${name} ${String(v)} on an instruction that does not jump`);
        }
        jt = item.jt as number;
        jf = item.jf as number;
      }
    }
    if (!Number.isInteger(k) || (k as number) < -0x80000000 || (k as number) > 0xffffffff) fail(`k ${String(k)} does not fit 32 bits`);
    filters.push({ code: item.code, jt, jf, k: (k as number) >>> 0 });
  });
  return { filters, labels };
}

/** The bytes of a struct sock_filter array (host order: little-endian on x86_64 and arm64 Linux). */
export function encodeCbpf(filters: readonly SockFilter[], littleEndian = true): Buffer {
  const buf = Buffer.alloc(filters.length * SOCK_FILTER_SIZE);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  filters.forEach((f, i) => {
    const at = i * SOCK_FILTER_SIZE;
    view.setUint16(at, f.code, littleEndian);
    view.setUint8(at + 2, f.jt);
    view.setUint8(at + 3, f.jf);
    view.setUint32(at + 4, f.k >>> 0, littleEndian);
  });
  return buf;
}

/** Decodes struct sock_filter bytes; the length must be a multiple of 8. */
export function decodeCbpf(bytes: Uint8Array, littleEndian = true): SockFilter[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) {
    throw new CbpfAsmError(`classic BPF length ${bytes.length} is not a multiple of ${SOCK_FILTER_SIZE} (one struct sock_filter is 8 bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let at = 0; at < bytes.length; at += SOCK_FILTER_SIZE) {
    out.push({ code: view.getUint16(at, littleEndian), jt: view.getUint8(at + 2), jf: view.getUint8(at + 3), k: view.getUint32(at + 4, littleEndian) });
  }
  return out;
}
