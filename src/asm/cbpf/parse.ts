// Parser for the tools/bpf syntax: what disassembleCbpf() prints (bpf_dbg's listing) and what bpf_asm
// reads, back into instruction values with labels, so assembleCbpf(parseCbpf(disassembleCbpf(x)))
// gives x. Labels are "name:" (alone on a line or before an instruction; bpf_dbg's "l3:" is one);
// jump targets are label names. Also: bpf_asm's one-target jumps (`jeq #k, L` falls through when
// false), its negated forms (jne/jneq, jlt, jle), ldi/ldxi, `ja` for `jmp`, ";" and "//" comments.
import { label, type Label } from '../insn.js';
import * as C from './insn.js';
import type { CItem, CInsn } from './insn.js';

export class CbpfParseError extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
    this.name = 'CbpfParseError';
  }
}

class LineError extends Error {}
function bad(msg: string): never {
  throw new LineError(msg);
}

const IDENT = /^[A-Za-z_.$][\w.$]*$/;

/** A constant: decimal, 0x hex, or negative decimal (taken as its u32 bit pattern). */
function num(s: string | undefined, what = 'constant'): number {
  const t = (s ?? '').trim();
  if (!/^(-?\d+|0x[0-9a-f]+)$/i.test(t)) return bad(`expected a number for the ${what}, got '${t}'`);
  const v = Number(t);
  if (v < -0x80000000 || v > 0xffffffff) return bad(`${what} ${t} does not fit 32 bits`);
  return v >>> 0;
}

function ident(s: string | undefined): string {
  const t = (s ?? '').trim();
  if (!IDENT.test(t)) return bad(`expected a label name as jump target, got '${t}'`);
  return t;
}

const LOAD_SIZE: Record<string, C.LoadSize> = { ld: 'w', ldi: 'w', ldh: 'h', ldb: 'b' };
const NEGATED: Record<string, C.CJmpName> = { jne: 'jeq', jneq: 'jeq', jlt: 'jge', jle: 'jgt' };

function load(mnemonic: string, op: string): CInsn {
  const x = mnemonic.startsWith('ldx');
  let m: RegExpExecArray | null;
  if ((m = /^#(.+)$/.exec(op))) {
    if (m[1]!.trim() === 'len') return x ? C.ldxLen() : C.ldLen();
    return x ? C.ldxImm(num(m[1])) : C.ldImm(num(m[1]));
  }
  if ((m = /^M\[(.+)\]$/.exec(op))) return x ? C.ldxMem(num(m[1], 'scratch slot')) : C.ldMem(num(m[1], 'scratch slot'));
  if (x) {
    if ((m = /^4\s*\*\s*\(\s*\[(.+)\]\s*&\s*0xf\s*\)$/i.exec(op))) return C.ldxMsh(num(m[1], 'offset'));
    return bad(`ldx takes #k, #len, M[k] or (ldxb) 4*([k]&0xf), got '${op}'`);
  }
  const size = LOAD_SIZE[mnemonic];
  if (!size) return bad(`${mnemonic} takes [k] or [x + k]`);
  if ((m = /^\[\s*x\s*\+\s*(.+)\]$/i.exec(op))) return C.ldInd(size, num(m[1], 'offset'));
  if ((m = /^\[(.+)\]$/.exec(op))) return C.ldAbs(size, num(m[1], 'offset'));
  return bad(`${mnemonic} takes [k], [x + k], #k, #len or M[k], got '${op}'`);
}

function operand(s: string | undefined): number | 'x' {
  const t = (s ?? '').trim();
  if (t === 'x' || t === 'X' || t === '%x') return 'x';
  if (t.startsWith('#')) return num(t.slice(1));
  return bad(`expected #k or x, got '${t}'`);
}

/** One statement (no label, no comment) to an instruction. */
function statement(text: string): CInsn {
  const m = /^([a-z.]+)\s*(.*)$/i.exec(text);
  if (!m) return bad(`cannot read '${text}'`);
  const mnemonic = m[1]!.toLowerCase();
  const rest = m[2]!.trim();
  const args = rest === '' ? [] : rest.split(',').map((a) => a.trim());
  const none = (insn: () => CInsn): CInsn => (rest === '' ? insn() : bad(`${mnemonic} takes no operand, got '${rest}'`));
  switch (mnemonic) {
    case 'ld': case 'ldi': case 'ldh': case 'ldb': case 'ldx': case 'ldxi':
      return load(mnemonic, rest);
    case 'ldxb':
      return load('ldx', rest);
    case 'st': case 'stx': {
      const mm = /^M\[(.+)\]$/.exec(rest) ?? bad(`${mnemonic} takes M[k], got '${rest}'`);
      return mnemonic === 'st' ? C.st(num(mm[1], 'scratch slot')) : C.stx(num(mm[1], 'scratch slot'));
    }
    case 'jmp': case 'ja':
      return args.length === 1 ? C.ja(ident(args[0])) : bad(`${mnemonic} takes one label`);
    case 'ret':
      if (rest === 'a' || rest === 'A' || rest === '%a') return C.retA();
      return rest.startsWith('#') ? C.ret(num(rest.slice(1))) : bad(`ret takes #k or a, got '${rest}'`);
    case 'neg': return none(C.neg);
    case 'tax': return none(C.tax);
    case 'txa': return none(C.txa);
    case '.insn': {
      if (args.length !== 4) return bad('.insn takes CODE, JT, JF, K');
      const [code, jt, jf, k] = args.map((a, i) => num(a, ['code', 'jt', 'jf', 'k'][i]));
      if (code! > 0xffff || jt! > 0xff || jf! > 0xff) return bad('.insn: code is 16 bits, jt and jf 8 bits');
      return C.raw(code!, jt!, jf!, k!);
    }
  }
  if (mnemonic in C.ALU_OPS) {
    if (args.length !== 1) return bad(`${mnemonic} takes one operand (#k or x)`);
    return C.alu(mnemonic as C.CAluName, operand(args[0]));
  }
  const cond = mnemonic in C.JMP_OPS ? (mnemonic as C.CJmpName) : NEGATED[mnemonic];
  if (cond) {
    if (args.length !== 2 && args.length !== 3) return bad(`${mnemonic} takes #k or x, then one or two labels`);
    const k = operand(args[0]);
    const first = ident(args[1]);
    const second = args[2] === undefined ? 0 : ident(args[2]);
    // Negated forms jump to their first label when the kernel's condition is false.
    return NEGATED[mnemonic] ? C.jmp(cond, k, second, first) : C.jmp(cond, k, first, second);
  }
  return bad(`unknown instruction '${mnemonic}'`);
}

/** Parses a listing into instructions and labels. Throws CbpfParseError naming the line. */
export function parseCbpf(text: string): CItem[] {
  const items: CItem[] = [];
  text.split('\n').forEach((rawLine, i) => {
    let line = rawLine.replace(/(;|\/\/).*$/, '').trim();
    try {
      let m: RegExpExecArray | null;
      while ((m = /^([A-Za-z_.$][\w.$]*)\s*:(.*)$/.exec(line))) {
        items.push(label(m[1]!) as Label);
        line = m[2]!.trim();
      }
      if (line !== '') items.push(statement(line));
    } catch (err) {
      if (err instanceof LineError || err instanceof Error) throw new CbpfParseError(`line ${i + 1}: ${err.message}: ${rawLine.trim()}`, i + 1);
      throw err;
    }
  });
  return items;
}
