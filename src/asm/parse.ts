// Parser for the kernel's disassembly syntax (what disassemble() prints, and what the verifier log and
// `bpftool prog dump xlated` print), back into DSL items, so that assemble(parseAsm(disassemble(x)))
// reproduces x. It also takes "name:" label lines and label names as jump targets, so small programs
// can be written as text. Leading "N:" slot indices and "(xx)" opcode bytes are accepted (the opcode is
// checked against the parsed instruction), as are ";" and "//" comments.
import { Pseudo } from './opcodes.js';
import { helperId, isHelper } from './helpers.js';
import { insn, label, type Instruction, type Item, type Target } from './insn.js';
import * as D from './dsl.js';
import { AsmSyntaxError, excerpt } from './syntax-error.js';
import { isUbpfSyntax, parseUbpfAsm } from './parse-ubpf.js';
import { atomic, ldabs, ldFunc, ldImm64, ldImm64Pseudo, ldind, ldMapFd, ldMapValue, ldx, ldxs, st, stx } from './dsl-mem.js';

const ALU: Record<string, [D.AluFamily, D.AluFamily]> = {
  '+=': [D.add64, D.add32], '-=': [D.sub64, D.sub32], '*=': [D.mul64, D.mul32], '/=': [D.div64, D.div32],
  's/=': [D.sdiv64, D.sdiv32], '|=': [D.or64, D.or32], '&=': [D.and64, D.and32], '<<=': [D.lsh64, D.lsh32],
  '>>=': [D.rsh64, D.rsh32], 's>>=': [D.arsh64, D.arsh32], '%=': [D.mod64, D.mod32], 's%=': [D.smod64, D.smod32],
  '^=': [D.xor64, D.xor32], '=': [D.mov64, D.mov32],
};
const JMP: Record<string, [D.JmpFamily, D.JmpFamily]> = {
  '==': [D.jeq, D.jeq32], '!=': [D.jne, D.jne32], '>': [D.jgt, D.jgt32], '>=': [D.jge, D.jge32],
  '<': [D.jlt, D.jlt32], '<=': [D.jle, D.jle32], 's>': [D.jsgt, D.jsgt32], 's>=': [D.jsge, D.jsge32],
  's<': [D.jslt, D.jslt32], 's<=': [D.jsle, D.jsle32], '&': [D.jset, D.jset32],
};
const SIZE_KEY: Record<string, 'b' | 'h' | 'w' | 'dw'> = { 8: 'b', 16: 'h', 32: 'w', 64: 'dw' };
const RMW: Record<string, 'add' | 'or' | 'and' | 'xor'> = { '+=': 'add', '|=': 'or', '&=': 'and', '^=': 'xor' };
const FETCH = { fetch_add: 'fetchAdd', fetch_or: 'fetchOr', fetch_and: 'fetchAnd', fetch_xor: 'fetchXor', xchg: 'xchg' } as const;

const IDENT = '[A-Za-z_.$][\\w.$]*';
const MEM = String.raw`\((u8|u16|u32|u64) \*\)\(r(\d+) ([+-]\d+)\)`;
const TARGET = String.raw`(pc[+-]\d+|${IDENT})`;

class LineError extends Error {}
function bad(msg: string): never {
  throw new LineError(msg);
}

const int = (s: string): number => Number.parseInt(s, 10);
const target = (s: string): Target => (s.startsWith('pc') ? int(s.slice(2)) : s);

/** An imm written as decimal or 0x hex (the kernel prints jump imms as u32 hex), as a signed s32. */
function imm32(s: string): number {
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  const mag = /^0x/i.test(digits) ? Number.parseInt(digits.slice(2), 16) : int(digits);
  const v = neg ? -mag : mag;
  if (!Number.isSafeInteger(v) || v < -0x80000000 || v > 0xffffffff) bad(`immediate ${excerpt(s)} does not fit 32 bits`);
  return v | 0;
}

function bits(size: string): 'b' | 'h' | 'w' | 'dw' {
  return SIZE_KEY[size.slice(1)]!;
}

/** Register operand "rN"/"wN"; `width` is the letter the instruction's destination used. */
function regOf(text: string, width: string): number {
  const m = /^([rw])(\d+)$/.exec(text);
  if (!m) return bad(`expected a register, got '${excerpt(text)}'`);
  if (m[1] !== width) bad(`register '${text}' mixes ${width === 'w' ? '32-bit (w)' : '64-bit (r)'} and ${m[1] === 'w' ? '32-bit (w)' : '64-bit (r)'} operands`);
  return int(m[2]!);
}

// Each rule: a regex over the whole (trimmed) statement and a builder.
type Rule = [RegExp, (m: RegExpExecArray) => Instruction];
const rules: Rule[] = [
  [/^exit$/, () => D.exit()],
  [new RegExp(`^goto ${TARGET}$`), (m) => D.ja(target(m[1]!))],
  [new RegExp(`^gotol ${TARGET}$`), (m) => D.ja32(target(m[1]!))],
  [new RegExp(`^may_goto ${TARGET}$`), (m) => D.mayGoto(target(m[1]!))],
  [/^call pc([+-]\d+)$/, (m) => D.callLocal(int(m[1]!))],
  [/^call kernel-function#(-?\d+)$/, (m) => D.callKfunc(int(m[1]!))],
  [new RegExp(`^call (${IDENT})#(-?\\d+)$`), (m) => {
    const id = int(m[2]!);
    if (isHelper(m[1]!) && helperId(m[1]!) !== id) bad(`helper ${m[1]} has id ${helperId(m[1]!)}, not ${id}`);
    return D.call(id);
  }],
  [new RegExp(`^call (${IDENT})$`), (m) => (isHelper(m[1]!) ? D.call(m[1]!) : D.callLocal(m[1]!))],
  [new RegExp(String.raw`^if ([rw])(\d+) (==|!=|>=|<=|>|<|s>=|s<=|s>|s<|&) (\S+) goto ${TARGET}$`), (m) => {
    const fam = JMP[m[3]!]![m[1] === 'r' ? 0 : 1];
    const t = target(m[5]!);
    return /^[rw]/.test(m[4]!) ? fam.reg(int(m[2]!), regOf(m[4]!, m[1]!), t) : fam.imm(int(m[2]!), imm32(m[4]!), t);
  }],
  [new RegExp(`^lock \\*${MEM} (\\+=|\\|=|&=|\\^=) r(\\d+)$`), (m) => {
    if (m[1] !== 'u32' && m[1] !== 'u64') bad(`atomic operations take u32 or u64, not ${m[1]}`);
    return atomic[RMW[m[4]!]!][m[1] === 'u64' ? 'dw' : 'w'](int(m[2]!), int(m[3]!), int(m[5]!));
  }],
  [new RegExp(`^r(\\d+) = atomic(64)?_(fetch_add|fetch_or|fetch_and|fetch_xor|xchg)\\(${MEM}, r(\\d+)\\)$`), (m) => {
    atomicWidth(m[2], m[4]!);
    if (m[1] !== m[7]) bad(`the result register r${m[1]} must be the operand register r${m[7]}`);
    return atomic[FETCH[m[3] as keyof typeof FETCH]][m[4] === 'u64' ? 'dw' : 'w'](int(m[5]!), int(m[6]!), int(m[7]!));
  }],
  [new RegExp(`^r0 = atomic(64)?_cmpxchg\\(${MEM}, r0, r(\\d+)\\)$`), (m) => {
    atomicWidth(m[1], m[2]!);
    return atomic.cmpxchg[m[2] === 'u64' ? 'dw' : 'w'](int(m[3]!), int(m[4]!), int(m[5]!));
  }],
  [new RegExp(`^r(\\d+) = load_acquire\\(${MEM}\\)$`), (m) => atomic.loadAcquire[bits(m[2]!)](int(m[1]!), int(m[3]!), int(m[4]!))],
  [new RegExp(`^store_release\\(${MEM}, r(\\d+)\\)$`), (m) => atomic.storeRelease[bits(m[1]!)](int(m[2]!), int(m[3]!), int(m[4]!))],
  [new RegExp(`^\\*${MEM} = (r\\d+|-?\\d+)$`), (m) =>
    m[4]!.startsWith('r') ? stx[bits(m[1]!)](int(m[2]!), int(m[3]!), regOf(m[4]!, 'r')) : st[bits(m[1]!)](int(m[2]!), int(m[3]!), imm32(m[4]!))],
  [/^r(\d+) = \*\(([us])(8|16|32|64) \*\)\(r(\d+) ([+-]\d+)\)$/, (m) => {
    const k = SIZE_KEY[m[3]!]!;
    if (m[2] === 'u') return ldx[k](int(m[1]!), int(m[4]!), int(m[5]!));
    if (k === 'dw') bad('sign-extending loads are s8, s16 or s32');
    return ldxs[k as 'b' | 'h' | 'w'](int(m[1]!), int(m[4]!), int(m[5]!));
  }],
  [/^r0 = \*\((u8|u16|u32) \*\)skb\[(-?\d+)\]$/, (m) => ldabs[bits(m[1]!) as 'b' | 'h' | 'w'](imm32(m[2]!))],
  [/^r0 = \*\((u8|u16|u32) \*\)skb\[r(\d+) \+ (-?\d+)\]$/, (m) => ldind[bits(m[1]!) as 'b' | 'h' | 'w'](int(m[2]!), imm32(m[3]!))],
  [/^r(\d+) = (le|be|bswap)(16|32|64) r(\d+)$/, (m) => {
    if (m[1] !== m[4]) bad(`byte swaps work in place: r${m[1]} and r${m[4]} differ`);
    const width = int(m[3]!) as 16 | 32 | 64;
    return (m[2] === 'le' ? D.le : m[2] === 'be' ? D.be : D.bswap)(int(m[1]!), width);
  }],
  [/^r(\d+) = addr_space_cast\(r(\d+), (\d+), (\d+)\)$/, (m) => D.addrSpaceCast(int(m[1]!), int(m[2]!), int(m[3]!), int(m[4]!))],
  [/^r(\d+) = (0x[0-9a-f]+|-?\d+ ll|-?\d+)( ll)?$/i, (m) => {
    const literal = m[2]!.replace(/ ll$/, '');
    const wide = m[3] !== undefined || m[2] !== literal || /^0x/i.test(literal);
    // The kernel prints ALU immediates in decimal and ld_imm64 in hex, which tells them apart.
    if (!wide) return D.mov64.imm(int(m[1]!), imm32(literal));
    const v = BigInt(literal);
    if (v < -(1n << 63n) || v >= 1n << 64n) bad(`${excerpt(literal)} does not fit 64 bits`);
    return ldImm64(int(m[1]!), v);
  }],
  [/^r(\d+) = map\[(?:id:(\d+)|idx:(\d+)|([^\]:]+))\](?:\[0\]\+(\d+)|\+(\d+))?$/, (m) => {
    const dst = int(m[1]!);
    const [, , id, idx, name, valueOff, idxOff] = m;
    if (idxOff !== undefined && idx === undefined) bad('only map[idx:N] takes a "+OFF" value offset; use "[0]+OFF"');
    if (valueOff !== undefined && idx !== undefined) bad('map[idx:N] takes "+OFF", not "[0]+OFF"');
    if (name !== undefined) return valueOff !== undefined ? ldMapValue(dst, name, int(valueOff)) : ldMapFd(dst, name);
    if (id !== undefined) {
      return valueOff !== undefined
        ? ldImm64Pseudo(dst, Pseudo.MAP_VALUE, (BigInt(valueOff) << 32n) | BigInt(id))
        : ldImm64Pseudo(dst, Pseudo.MAP_FD, BigInt(id));
    }
    return idxOff !== undefined
      ? ldImm64Pseudo(dst, Pseudo.MAP_IDX_VALUE, (BigInt(idxOff) << 32n) | BigInt(idx!))
      : ldImm64Pseudo(dst, Pseudo.MAP_IDX, BigInt(idx!));
  }],
  [new RegExp(`^r(\\d+) = subprog\\[([+-]\\d+|${IDENT})\\]$`), (m) => ldFunc(int(m[1]!), /^[+-]/.test(m[2]!) ? int(m[2]!) : m[2]!)],
  [/^r(\d+) = btf_var\[id:(\d+)\](?:\+btf_fd:(\d+))?$/, (m) =>
    ldImm64Pseudo(int(m[1]!), Pseudo.BTF_ID, (BigInt(m[3] ?? 0) << 32n) | BigInt(m[2]!))],
  [/^([rw])(\d+) = -([rw])(\d+)$/, (m) => {
    if (m[1] !== m[3] || m[2] !== m[4]) bad(`negation works in place: ${m[1]}${m[2]} and ${m[3]}${m[4]} differ`);
    return m[1] === 'r' ? D.neg64(int(m[2]!)) : D.neg32(int(m[2]!));
  }],
  [/^([rw])(\d+) (\+=|-=|\*=|s\/=|\/=|\|=|&=|<<=|s>>=|>>=|s%=|%=|\^=|=) (?:\(s(8|16|32)\))?([rw]\d+|-?\d+)$/, (m) => {
    const [, w, d, op, sx, operand] = m;
    const dst = int(d!);
    const is64 = w === 'r';
    if (sx !== undefined) {
      if (op !== '=') bad(`a (s${sx}) cast only applies to a move`);
      const src = regOf(operand!, w!);
      if (is64) return D.movsx64.reg(dst, src, int(sx) as 8 | 16 | 32);
      if (sx === '32') bad('32-bit sign-extending moves take (s8) or (s16)');
      return D.movsx32.reg(dst, src, int(sx) as 8 | 16);
    }
    const fam = ALU[op!]![is64 ? 0 : 1];
    return /^[rw]/.test(operand!) ? fam.reg(dst, regOf(operand!, w!)) : fam.imm(dst, imm32(operand!));
  }],
];

function atomicWidth(suffix64: string | undefined, size: string): void {
  if (size !== 'u32' && size !== 'u64') bad(`atomic operations take u32 or u64, not ${size}`);
  if ((suffix64 === '64') !== (size === 'u64')) bad(`atomic${suffix64 ?? ''} does not match a ${size} operand`);
}

const UNKNOWN = /^\(([0-9a-f]{2})\) unknown opcode \(dst r(\d+), src r(\d+), off ([+-]\d+), imm (0x[0-9a-f]+)\)$/i;

/** One statement (no label, index or comment) to an instruction. Throws a LineError. */
function statement(text: string): Instruction {
  const unknown = UNKNOWN.exec(text);
  if (unknown) {
    // Kept bit for bit, so that bytecode the ISA does not define still round-trips.
    const [, code, dst, src, off, imm] = unknown;
    return insn({ op: Number.parseInt(code!, 16), dst: int(dst!), src: int(src!), off: int(off!), imm: imm32(imm!), dsl: text });
  }
  let expected: number | undefined;
  const prefix = /^\(([0-9a-f]{2})\)\s+/i.exec(text);
  if (prefix) {
    expected = Number.parseInt(prefix[1]!, 16);
    text = text.slice(prefix[0].length);
  }
  // LLVM spells memory operands "(r1 + 8)" where the kernel prints "(r1 +8)"; accept both.
  text = text.replace(/\(r(\d+) ([+-]) (\d+)\)/g, '(r$1 $2$3)');
  for (const [re, build] of rules) {
    const m = re.exec(text);
    if (!m) continue;
    const out = build(m);
    if (expected !== undefined && expected !== out.op) {
      bad(`the opcode prefix (${prefix![1]}) does not match the instruction, whose opcode is (${out.op.toString(16).padStart(2, '0')})`);
    }
    return out;
  }
  return bad('not an instruction in kernel disassembly syntax');
}

/**
 * Parses kernel-syntax assembly (a string or lines) into DSL items. Throws AsmSyntaxError naming the
 * line number, a short excerpt of its text and what is wrong with it.
 */
export function parseAsm(source: string | readonly string[]): Item[] {
  const lines = typeof source === 'string' ? source.split('\n') : source;
  const items: Item[] = [];
  const labels = new Set<string>();
  // "call NAME" to a name that is neither a helper nor a label: reported once all labels are known.
  const calls: Array<[string, number, string]> = [];
  lines.forEach((raw, i) => {
    let text = raw.replace(/\s;.*$|^;.*$|\/\/.*$/, '').trim();
    text = text.replace(/^\d+:\s*/, '');
    if (text === '') return;
    try {
      const lab = new RegExp(`^(${IDENT}):\\s*(.*)$`).exec(text);
      let stmt = text;
      if (lab && !/^(r|w)\d+$/.test(lab[1]!)) {
        items.push(label(lab[1]!));
        labels.add(lab[1]!);
        stmt = lab[2]!;
        if (stmt === '') return;
      }
      const out = statement(stmt);
      if (typeof out.target === 'string' && /^call /.test(stmt)) calls.push([out.target, i, raw]);
      items.push(out);
    } catch (e) {
      if (e instanceof AsmSyntaxError) throw e;
      throw new AsmSyntaxError(i + 1, raw, e instanceof Error ? e.message : String(e));
    }
  });
  for (const [name, i, raw] of calls) {
    if (labels.has(name)) continue;
    // A "bpf_" name is meant as a helper; anything else is left to the assembler's unknown-label error.
    if (/^bpf_/.test(name)) throw new AsmSyntaxError(i + 1, raw, `unknown helper '${excerpt(name)}' (not in the helper table; write 'call N' with its number, or define a label of that name)`);
  }
  return items;
}

/** Parses assembly in either syntax: uBPF's ("mov32 %r0, 1") when it looks like it, else the kernel's. */
export function parseAnyAsm(source: string): Item[] {
  return isUbpfSyntax(source) ? parseUbpfAsm(source) : parseAsm(source);
}
