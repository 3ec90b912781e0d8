// Parser for the uBPF assembler syntax ("mov32 %r0, 1", "ldxw %r0, [%r1+4]", "jne %r0, 2, +1"), the
// language of the public BPF conformance suite (bpf_conformance's tests/*.data). Each statement becomes
// an Instruction with its fields exactly as that syntax encodes them, so programs the kernel would
// refuse (reserved fields, r11..r15, callx) can still be written down and fed to the engine.
//
// Mnemonics: ALU ops with an optional 32/64 suffix (no suffix = 64-bit), sdiv/smod (off = 1),
// movsx{8,16,32}{32,64}, le/be/swap/bswap{16,32,64}, neg; ja/ja32, j<cond>[32] dst, src|imm, +off|label;
// call N | call %rN (callx) | call local LABEL | call runtime N; exit; lddw; ldx{b,h,w,dw,sb,sh,sw};
// st{b,h,w,dw}; stx{b,h,w,dw}; lock [fetch] add|and|or|xor|xchg|cmpxchg[32] [%rD+off], %rS.
// Labels are "name:"; a jump to "exit" without such a label goes to the first exit, as in uBPF.
import { AluOp, AtomicOp, Class, JmpOp, LD_IMM64, Mode, Size, Source } from './opcodes.js';
import { insn, label, type Instruction, type Item, type Target } from './insn.js';
import { AsmSyntaxError, excerpt } from './syntax-error.js';

const ALU_OPS: Record<string, number> = {
  add: AluOp.ADD, sub: AluOp.SUB, mul: AluOp.MUL, div: AluOp.DIV, sdiv: AluOp.DIV, or: AluOp.OR, and: AluOp.AND,
  lsh: AluOp.LSH, rsh: AluOp.RSH, neg: AluOp.NEG, mod: AluOp.MOD, smod: AluOp.MOD, xor: AluOp.XOR, mov: AluOp.MOV,
  arsh: AluOp.ARSH,
};
const JMP_OPS: Record<string, number> = {
  jeq: JmpOp.JEQ, jgt: JmpOp.JGT, jge: JmpOp.JGE, jset: JmpOp.JSET, jne: JmpOp.JNE, jsgt: JmpOp.JSGT,
  jsge: JmpOp.JSGE, jlt: JmpOp.JLT, jle: JmpOp.JLE, jslt: JmpOp.JSLT, jsle: JmpOp.JSLE,
};
const SIZES: Record<string, number> = { b: Size.B, h: Size.H, w: Size.W, dw: Size.DW };
const ATOMIC: Record<string, number> = {
  add: AtomicOp.ADD, and: AtomicOp.AND, or: AtomicOp.OR, xor: AtomicOp.XOR, xchg: AtomicOp.XCHG, cmpxchg: AtomicOp.CMPXCHG,
};

class LineError extends Error {}
function bad(msg: string): never {
  throw new LineError(msg);
}

/** %r0..%r15: r11..r15 exist only so that invalid programs can be written (the engine refuses them). */
function reg(s: string | undefined): number {
  const m = /^%r(\d+)$/.exec(s ?? '');
  if (!m || Number(m[1]) > 15) bad(`expected a register %r0..%r10, got '${excerpt(s ?? '(nothing)')}'`);
  return Number(m[1]);
}

function num(s: string): bigint {
  if (!/^[+-]?(0x[0-9a-f]+|\d+)$/i.test(s)) bad(`expected a number, got '${excerpt(s)}'`);
  const neg = s.startsWith('-');
  const v = BigInt(s.replace(/^[+-]/, ''));
  return neg ? -v : v;
}

/** imm: hex is an unsigned 32-bit pattern, decimal a signed 32-bit value. */
function imm32(s: string): number {
  const v = num(s);
  const hex = /0x/i.test(s);
  if (hex ? v < 0n || v > 0xffffffffn : v < -0x80000000n || v > 0x7fffffffn) bad(`immediate ${excerpt(s)} does not fit 32 bits`);
  return Number(BigInt.asIntN(32, v));
}

function off16(s: string): number {
  const v = num(s);
  const hex = /0x/i.test(s);
  if (hex ? v < 0n || v > 0xffffn : v < -0x8000n || v > 0x7fffn) bad(`offset ${excerpt(s)} does not fit 16 bits`);
  return Number(BigInt.asIntN(16, v));
}

const target = (s: string | undefined): Target => {
  if (s === undefined) return bad('missing jump target');
  return /^[+-]/.test(s) ? off16(s) : s;
};

/** "[%r1+8]", "[%r10-8]", "[%r1]" */
function memory(s: string | undefined): [number, number] {
  const m = /^\[(%r\d+)(?:([+-](?:0x[0-9a-f]+|\d+)))?\]$/i.exec(s ?? '');
  if (!m) return bad(`expected a memory operand like [%r1+8], got '${excerpt(s ?? '(nothing)')}'`);
  return [reg(m[1]), m[2] ? off16(m[2]) : 0];
}

function count(ops: string[], n: number, mnemonic: string): void {
  if (ops.length !== n) bad(`${mnemonic} takes ${n} operand${n === 1 ? '' : 's'}, got ${ops.length}`);
}

function alu(mnemonic: string, ops: string[], dsl: string): Instruction | undefined {
  const swap = /^(le|be|swap|bswap)(16|32|64)$/.exec(mnemonic);
  if (swap) {
    count(ops, 1, mnemonic);
    const code = swap[1] === 'le' ? Class.ALU | AluOp.END | Source.K : swap[1] === 'be' ? Class.ALU | AluOp.END | Source.X : Class.ALU64 | AluOp.END;
    return insn({ op: code, dst: reg(ops[0]), imm: Number(swap[2]), dsl });
  }
  const m = /^(add|sub|mul|s?div|or|and|lsh|rsh|neg|s?mod|xor|mov|arsh|movsx(8|16|32))(32|64)?$/.exec(mnemonic);
  if (!m) return undefined;
  const base = m[2] ? 'mov' : m[1]!;
  const cls = m[3] === '32' ? Class.ALU : Class.ALU64;
  let off = m[1] === 'sdiv' || m[1] === 'smod' ? 1 : 0;
  if (m[2]) off = Number(m[2]);
  const unary = base === 'neg';
  count(ops, unary ? 1 : 2, mnemonic);
  const dst = reg(ops[0]);
  const operand = ops[1];
  if (operand?.startsWith('%')) return insn({ op: cls | ALU_OPS[base]! | Source.X, dst, src: reg(operand), off, dsl });
  return insn({ op: cls | ALU_OPS[base]! | Source.K, dst, off, imm: operand === undefined ? 0 : imm32(operand), dsl });
}

function jmp(mnemonic: string, ops: string[], dsl: string): Instruction | undefined {
  if (mnemonic === 'exit') return count(ops, 0, mnemonic), insn({ op: Class.JMP | JmpOp.EXIT, dsl });
  if (mnemonic === 'ja') return count(ops, 1, mnemonic), insn({ op: Class.JMP | JmpOp.JA, off: 0, target: target(ops[0]), dsl });
  if (mnemonic === 'ja32') return count(ops, 1, mnemonic), insn({ op: Class.JMP32 | JmpOp.JA, target: target(ops[0]), dsl });
  if (mnemonic === 'call') {
    const call = Class.JMP | JmpOp.CALL;
    if (ops.length === 1 && ops[0]!.startsWith('%')) return insn({ op: call | Source.X, dst: reg(ops[0]), dsl });
    if (ops.length === 1) return insn({ op: call, imm: imm32(ops[0]!), dsl });
    count(ops, 2, mnemonic);
    if (ops[0] === 'helper') return jmp('call', [ops[1]!], dsl);
    if (ops[0] === 'local') return insn({ op: call, src: 1, target: target(ops[1]), dsl });
    if (ops[0] === 'runtime') return insn({ op: call, src: 2, imm: imm32(ops[1]!), dsl });
    return bad(`call mode must be helper, local or runtime, got '${excerpt(ops[0]!)}'`);
  }
  const m = /^(j[a-z]+?)(32)?$/.exec(mnemonic);
  const op = m ? JMP_OPS[m[1]!] : undefined;
  if (op === undefined) return undefined;
  count(ops, 3, mnemonic);
  const cls = m![2] ? Class.JMP32 : Class.JMP;
  const dst = reg(ops[0]);
  const t = target(ops[2]);
  if (ops[1]!.startsWith('%')) return insn({ op: cls | op | Source.X, dst, src: reg(ops[1]), target: t, dsl });
  return insn({ op: cls | op | Source.K, dst, imm: imm32(ops[1]!), target: t, dsl });
}

function mem(mnemonic: string, ops: string[], dsl: string): Instruction | undefined {
  if (mnemonic === 'lddw') {
    count(ops, 2, mnemonic);
    const v = num(ops[1]!);
    if (/0x/i.test(ops[1]!) ? v < 0n || v >= 1n << 64n : v < -(1n << 63n) || v >= 1n << 64n) bad(`${excerpt(ops[1]!)} does not fit 64 bits`);
    return insn({ op: LD_IMM64, dst: reg(ops[0]), imm64: BigInt.asUintN(64, v), dsl });
  }
  let m = /^ldx(s?)(b|h|w|dw)$/.exec(mnemonic);
  if (m) {
    count(ops, 2, mnemonic);
    if (m[1] && m[2] === 'dw') bad('sign-extending loads are ldxsb, ldxsh or ldxsw');
    const [src, off] = memory(ops[1]);
    return insn({ op: Class.LDX | SIZES[m[2]!]! | (m[1] ? Mode.MEMSX : Mode.MEM), dst: reg(ops[0]), src, off, dsl });
  }
  m = /^st(x?)(b|h|w|dw)$/.exec(mnemonic);
  if (m) {
    count(ops, 2, mnemonic);
    const [dst, off] = memory(ops[0]);
    if (m[1]) return insn({ op: Class.STX | SIZES[m[2]!]! | Mode.MEM, dst, src: reg(ops[1]), off, dsl });
    return insn({ op: Class.ST | SIZES[m[2]!]! | Mode.MEM, dst, off, imm: imm32(ops[1]!), dsl });
  }
  if (mnemonic === 'lock') {
    const rest = [...ops];
    const fetch = rest[0] === 'fetch' ? (rest.shift(), AtomicOp.FETCH) : 0;
    const name = /^(add|and|or|xor|xchg|cmpxchg)(32)?$/.exec(rest.shift() ?? '');
    if (!name) return bad('lock takes [fetch] add|and|or|xor|xchg|cmpxchg[32] [%rD+off], %rS');
    if (rest.length !== 2) bad(`lock ${name[0]} takes 2 operands, got ${rest.length}`);
    const [dst, off] = memory(rest[0]);
    const size = name[2] ? Size.W : Size.DW;
    return insn({ op: Class.STX | size | Mode.ATOMIC, dst, src: reg(rest[1]), off, imm: ATOMIC[name[1]!]! | fetch, dsl });
  }
  return undefined;
}

function statement(text: string): Instruction {
  const words = text.split(/\s+/);
  const mnemonic = words[0]!.toLowerCase();
  const ops = words.slice(1).map((w) => w.replace(/,$/, '')).filter((w) => w !== '');
  const out = alu(mnemonic, ops, text) ?? jmp(mnemonic, ops, text) ?? mem(mnemonic, ops, text);
  return out ?? bad(`unknown mnemonic '${excerpt(mnemonic)}'`);
}

/** Parses uBPF-syntax assembly into DSL items; throws AsmSyntaxError naming the line. */
export function parseUbpfAsm(source: string | readonly string[]): Item[] {
  const lines = typeof source === 'string' ? source.split('\n') : source;
  const items: Item[] = [];
  const labels = new Set<string>();
  let firstExit = -1;
  let wantsExit = false;
  lines.forEach((raw, i) => {
    const text = raw.replace(/#.*$|;.*$|\/\/.*$/, '').trim();
    if (text === '') return;
    try {
      const lab = /^([A-Za-z_.$][\w.$]*):\s*(.*)$/.exec(text);
      if (lab) {
        labels.add(lab[1]!);
        items.push(label(lab[1]!));
        if (lab[2] !== '') bad('a label stands on its own line in this syntax');
        return;
      }
      const ins = statement(text);
      if (ins.target === 'exit') wantsExit = true;
      if (firstExit < 0 && ins.op === (Class.JMP | JmpOp.EXIT)) firstExit = items.length;
      items.push(ins);
    } catch (e) {
      if (e instanceof LineError) throw new AsmSyntaxError(i + 1, raw, e.message);
      throw e;
    }
  });
  if (wantsExit && !labels.has('exit') && firstExit >= 0) items.splice(firstExit, 0, label('exit'));
  return items;
}

/** True when the text looks like uBPF syntax ("%r" registers or its mnemonics) rather than the kernel's. */
export function isUbpfSyntax(source: string): boolean {
  for (const raw of source.split('\n')) {
    const text = raw.replace(/#.*$|;.*$|\/\/.*$/, '').trim();
    if (text === '' || /^[A-Za-z_.$][\w.$]*:$/.test(text)) continue;
    if (/%r\d/.test(text)) return true;
    const word = text.split(/\s+/)[0]!;
    if (word === 'exit' || word === 'call') continue;
    return /^(lddw|ldx|stx?[bhwd]|lock$|ja|j[a-z]+$|j[a-z]+32$|[a-z]+(32|64)$|neg$|mov$|add$|sub$|mul$|div$|or$|and$|xor$|lsh$|rsh$|arsh$|mod$)/.test(word)
      && !/^[rw]\d/.test(word);
  }
  return false;
}
