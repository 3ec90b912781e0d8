// Disassembler in the kernel verifier's syntax (kernel/bpf/disasm.c, as `bpftool prog dump xlated`
// prints it) so output can be diffed against kernel logs. Where the kernel leaves a choice to its
// callbacks (ld_imm64 operands), bpftool's forms are used: map[id:N], map[id:N][0]+OFF, subprog[+N].
// Encodings outside the ISA print as "(XX) unknown opcode (...)" with every raw field, never throw.
import { decodeRaw, type RawInsn } from './encoding.js';
import type { MapRef } from './spec.js';
import { AluOp, AtomicOp, Class, JmpOp, LD_IMM64, MAY_GOTO, Mode, Pseudo, Size, Source, ADDR_SPACE_CAST } from './opcodes.js';
import { helperName } from './helpers.js';
import { isLabel, targetField, type Item } from './insn.js';

export interface DisasmOptions {
  /** names for map fds/ids found in ld_imm64 imm (printed as map[NAME]) */
  mapNames?: Map<number, string>;
  /** map references by slot index, as assemble() returns them (take precedence over mapNames) */
  mapRefs?: readonly MapRef[];
  /** prefix each line with the opcode byte, "(b7) r0 = 0", as the verifier log does */
  opcodes?: boolean;
  /** prefix each line with its slot index, "   0: ", as bpftool does */
  indices?: boolean;
}

const ALU_OPS: Record<number, string> = {
  [AluOp.ADD]: '+=', [AluOp.SUB]: '-=', [AluOp.MUL]: '*=', [AluOp.DIV]: '/=', [AluOp.OR]: '|=', [AluOp.AND]: '&=',
  [AluOp.LSH]: '<<=', [AluOp.RSH]: '>>=', [AluOp.MOD]: '%=', [AluOp.XOR]: '^=', [AluOp.MOV]: '=', [AluOp.ARSH]: 's>>=',
};
const JMP_OPS: Record<number, string> = {
  [JmpOp.JEQ]: '==', [JmpOp.JGT]: '>', [JmpOp.JGE]: '>=', [JmpOp.JSET]: '&', [JmpOp.JNE]: '!=', [JmpOp.JSGT]: 's>',
  [JmpOp.JSGE]: 's>=', [JmpOp.JLT]: '<', [JmpOp.JLE]: '<=', [JmpOp.JSLT]: 's<', [JmpOp.JSLE]: 's<=',
};
const ATOMIC_ALU: Record<number, [string, string]> = {
  [AtomicOp.ADD]: ['+=', 'add'], [AtomicOp.OR]: ['|=', 'or'], [AtomicOp.AND]: ['&=', 'and'], [AtomicOp.XOR]: ['^=', 'xor'],
};
const USIZE: Record<number, string> = { [Size.W]: 'u32', [Size.H]: 'u16', [Size.B]: 'u8', [Size.DW]: 'u64' };
const SSIZE: Record<number, string> = { [Size.W]: 's32', [Size.H]: 's16', [Size.B]: 's8' };

const hex2 = (n: number): string => (n & 0xff).toString(16).padStart(2, '0');
/** printf("%+d") */
const sgn = (n: number): string => (n < 0 ? String(n) : `+${n}`);
/** printf("0x%x") of an int: the u32 bit pattern */
const hex32 = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** The line for an encoding the ISA does not define; every field is kept so nothing is lost. */
export function unknownLine(insn: RawInsn): string {
  return `(${hex2(insn.code)}) unknown opcode (dst r${insn.dst}, src r${insn.src}, off ${sgn(insn.off)}, imm ${hex32(insn.imm)})`;
}

/**
 * One instruction in kernel syntax. `next` is the second slot of an ld_imm64; `index` is the slot
 * index, used to find map references in opts.mapRefs.
 */
export function formatInsn(insn: RawInsn, index: number, next?: RawInsn, opts: DisasmOptions = {}): string {
  const text = body(insn, index, next, opts);
  if (text === undefined) return unknownLine(insn);
  return opts.opcodes ? `(${hex2(insn.code)}) ${text}` : text;
}

function body(insn: RawInsn, index: number, next: RawInsn | undefined, opts: DisasmOptions): string | undefined {
  const { code, dst: d, src: s, off, imm } = insn;
  const cls = code & 0x07;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64:
      return alu(insn);
    case Class.JMP:
    case Class.JMP32:
      return jmp(insn);
    case Class.LDX: {
      const mode = code & 0xe0;
      const size = (mode === Mode.MEM ? USIZE : mode === Mode.MEMSX ? SSIZE : {})[code & 0x18];
      return size ? `r${d} = *(${size} *)(r${s} ${sgn(off)})` : undefined;
    }
    case Class.ST:
      return (code & 0xe0) === Mode.MEM ? `*(${USIZE[code & 0x18]} *)(r${d} ${sgn(off)}) = ${imm}` : undefined;
    case Class.STX:
      return stx(insn);
    default: {
      // Class.LD
      const mode = code & 0xe0;
      const size = code & 0x18;
      if ((mode === Mode.ABS || mode === Mode.IND) && size !== Size.DW) {
        return mode === Mode.ABS ? `r0 = *(${USIZE[size]} *)skb[${imm}]` : `r0 = *(${USIZE[size]} *)skb[r${s} + ${imm}]`;
      }
      if (code === LD_IMM64 && next) return ldImm64(insn, next, index, opts);
      return undefined;
    }
  }
}

function alu(insn: RawInsn): string | undefined {
  const { code, dst: d, src: s, off, imm } = insn;
  const is64 = (code & 0x07) === Class.ALU64;
  const w = is64 ? 'r' : 'w';
  const op = code & 0xf0;
  const x = (code & 0x08) === Source.X;
  if (op === AluOp.END) {
    if (is64) return x ? undefined : `r${d} = bswap${imm} r${d}`;
    return `r${d} = ${x ? 'be' : 'le'}${imm} r${d}`;
  }
  if (op === AluOp.NEG) return x ? undefined : `${w}${d} = -${w}${d}`;
  if (is64 && op === AluOp.MOV && x && off === ADDR_SPACE_CAST) {
    return `r${d} = addr_space_cast(r${s}, ${imm >>> 16}, ${imm & 0xffff})`;
  }
  let sym = ALU_OPS[op];
  if (sym === undefined) return undefined;
  if ((op === AluOp.DIV || op === AluOp.MOD) && off === 1) sym = `s${sym}`;
  if (!x) return `${w}${d} ${sym} ${imm}`;
  const cast = op === AluOp.MOV && (off === 8 || off === 16 || off === 32) ? `(s${off})` : '';
  return `${w}${d} ${sym} ${cast}${w}${s}`;
}

function jmp(insn: RawInsn): string | undefined {
  const { code, dst: d, src: s, off, imm } = insn;
  const is32 = (code & 0x07) === Class.JMP32;
  const op = code & 0xf0;
  const x = (code & 0x08) === Source.X;
  if (op === JmpOp.CALL) {
    if (is32 || x) return undefined;
    if (s === Pseudo.CALL) return `call pc${sgn(imm)}`;
    if (s === Pseudo.KFUNC_CALL) return `call kernel-function#${imm}`;
    return s === 0 ? `call ${helperName(imm) ?? 'unknown'}#${imm}` : undefined;
  }
  if (op === JmpOp.JA) {
    if (x) return undefined;
    return is32 ? `gotol pc${sgn(imm)}` : `goto pc${sgn(off)}`;
  }
  if (op === JmpOp.EXIT) return is32 || x ? undefined : 'exit';
  if (op === JmpOp.JCOND) return !is32 && !x && s === MAY_GOTO ? `may_goto pc${sgn(off)}` : undefined;
  const sym = JMP_OPS[op];
  if (sym === undefined) return undefined;
  const w = is32 ? 'w' : 'r';
  return `if ${w}${d} ${sym} ${x ? `${w}${s}` : hex32(imm)} goto pc${sgn(off)}`;
}

function stx(insn: RawInsn): string | undefined {
  const { code, dst: d, src: s, off, imm } = insn;
  const mode = code & 0xe0;
  const size = code & 0x18;
  const u = USIZE[size]!;
  const mem = `(${u} *)(r${d} ${sgn(off)})`;
  if (mode === Mode.MEM) return `*${mem} = r${s}`;
  if (mode !== Mode.ATOMIC) return undefined;
  if (imm === AtomicOp.LOAD_ACQ) return `r${d} = load_acquire((${u} *)(r${s} ${sgn(off)}))`;
  if (imm === AtomicOp.STORE_REL) return `store_release(${mem}, r${s})`;
  if (size !== Size.W && size !== Size.DW) return undefined;
  const bits = size === Size.DW ? '64' : '';
  const rmw = ATOMIC_ALU[imm & ~AtomicOp.FETCH];
  if (rmw && (imm & AtomicOp.FETCH) === 0) return `lock *${mem} ${rmw[0]} r${s}`;
  if (rmw) return `r${s} = atomic${bits}_fetch_${rmw[1]}(${mem}, r${s})`;
  if (imm === AtomicOp.XCHG) return `r${s} = atomic${bits}_xchg(${mem}, r${s})`;
  if (imm === AtomicOp.CMPXCHG) return `r0 = atomic${bits}_cmpxchg(${mem}, r0, r${s})`;
  return undefined;
}

function ldImm64(insn: RawInsn, next: RawInsn, index: number, opts: DisasmOptions): string | undefined {
  const { dst: d, src: s, imm } = insn;
  const lo = imm >>> 0;
  const hi = next.imm >>> 0;
  const ref = opts.mapRefs?.find((r) => r.index === index);
  const name = ref?.map ?? opts.mapNames?.get(lo);
  switch (s) {
    case 0:
      return `r${d} = 0x${((BigInt(hi) << 32n) | BigInt(lo)).toString(16)} ll`;
    case Pseudo.MAP_FD:
      return `r${d} = ${name !== undefined ? `map[${name}]` : `map[id:${lo}]`}`;
    case Pseudo.MAP_VALUE:
      return `r${d} = ${name !== undefined ? `map[${name}]` : `map[id:${lo}]`}[0]+${hi}`;
    case Pseudo.BTF_ID:
      return `r${d} = btf_var[id:${lo}]${hi ? `+btf_fd:${hi}` : ''}`;
    case Pseudo.FUNC:
      return `r${d} = subprog[${sgn(imm)}]`;
    case Pseudo.MAP_IDX:
      return `r${d} = map[idx:${lo}]`;
    case Pseudo.MAP_IDX_VALUE:
      return `r${d} = map[idx:${lo}]+${hi}`;
    default:
      return undefined;
  }
}

/** Disassembles slots (or raw bytes) into one line per instruction; ld_imm64 is one line. */
export function disassemble(code: readonly RawInsn[] | Uint8Array, opts: DisasmOptions = {}): string[] {
  const insns = code instanceof Uint8Array ? decodeRaw(code) : code;
  const lines: string[] = [];
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    const wide = insn.code === LD_IMM64;
    const next = wide ? insns[i + 1] : undefined;
    let text = formatInsn(insn, i, next, opts);
    if (wide && !next) text += ' ; truncated: ld_imm64 without its second slot';
    lines.push(opts.indices ? `${String(i).padStart(4)}: ${text}` : text);
    if (next) i++;
  }
  return lines;
}

/** An item as the user wrote it (its DSL form), else its disassembly; used in error messages. */
export function describe(item: Item): string {
  if (isLabel(item)) return `label('${item.label}')`;
  if (item.dsl) return item.dsl;
  const numeric = typeof item.target === 'number' ? item.target : 0;
  const field = item.target !== undefined ? targetField(item) : undefined;
  const first: RawInsn = {
    code: item.op,
    dst: item.dst,
    src: item.src,
    off: field === 'off' ? numeric : item.off,
    imm: field === 'imm' ? numeric : item.imm,
  };
  const high = item.imm64 !== undefined ? Number(BigInt.asIntN(32, item.imm64 >> 32n)) : 0;
  let text = formatInsn(first, 0, { code: 0, dst: 0, src: 0, off: 0, imm: high });
  if (typeof item.target === 'string') text += ` ; target '${item.target}'`;
  if (item.mapRef) text += ` ; map '${item.mapRef.map}'`;
  return text;
}
