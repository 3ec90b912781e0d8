// CO-RE ("compile once, run everywhere") relocations, applied against a target kernel's BTF: a
// field access compiled against the build's struct layout is re-pointed at the same-named field of
// the running kernel's struct (byte offset, size, existence, bitfield shifts), type and enum
// relocations are answered from the target's types. This follows libbpf's rules (relo_core.c) for
// the common cases; what it cannot match is poisoned as libbpf does (a call to helper 0xbad2310, so
// the kernel refuses the program only if that instruction is reachable), never guessed.
import type { RawInsn } from '../asm/encoding.js';
import { Class, LD_IMM64, Mode, Size } from '../asm/opcodes.js';
import { Btf, BtfError, BtfKind } from '../btf/index.js';
import { CoreKind, type CoreRelo } from './btf-ext.js';
import { ObjectError } from './errors.js';

/** The helper id libbpf writes into an instruction whose relocation cannot be satisfied. */
export const CORE_POISON = 0xbad2310;

interface Step {
  /** member name for struct/union steps; undefined for array indices */
  name?: string;
  index: number;
}

interface FieldSpec {
  rootId: number;
  /** named steps only (anonymous members are looked through) */
  steps: Step[];
  bitOffset: number;
  /** the field's type (after the last step) and its bitfield width (0: not a bitfield) */
  typeId: number;
  bitfieldSize: number;
}

const essential = (name: string): string => {
  const i = name.lastIndexOf('___');
  return i > 0 ? name.slice(0, i) : name;
};

const isFieldKind = (k: number) => k <= CoreKind.FIELD_RSHIFT_U64;
const isTypeKind = (k: number) => k >= CoreKind.TYPE_ID_LOCAL && k <= CoreKind.TYPE_SIZE;
const isEnumKind = (k: number) => k === CoreKind.ENUMVAL_EXISTS || k === CoreKind.ENUMVAL_VALUE;

export class CoreResolver {
  private readonly candidates = new Map<string, number[]>();
  constructor(private readonly local: Btf, private readonly target: Btf) {}

  /** Patches `insns[r.index]` for one relocation; throws ObjectError when the instruction cannot take it. */
  apply(insns: RawInsn[], r: CoreRelo & { index: number; section: string }, program: string): void {
    const where = `program "${program}": CO-RE relocation at instruction ${r.index} (${r.section}+${r.insnOff}, kind ${r.kind}, access "${r.access}")`;
    let local: bigint, value: bigint | undefined, newSize: number | undefined, origSize: number | undefined;
    // Bitfield loads may be laid out differently by the compiler (libbpf does not check them either).
    let validate = true;
    try {
      if (isFieldKind(r.kind)) {
        const ls = this.localField(r.typeId, r.access);
        validate = ls.bitfieldSize === 0;
        local = fieldValue(this.local, ls, r.kind);
        origSize = Number(fieldValue(this.local, ls, CoreKind.FIELD_BYTE_SIZE));
        const ts = this.targetField(ls);
        if (ts) {
          value = fieldValue(this.target, ts, r.kind);
          newSize = Number(fieldValue(this.target, ts, CoreKind.FIELD_BYTE_SIZE));
        } else if (r.kind === CoreKind.FIELD_EXISTS) value = 0n;
      } else if (isTypeKind(r.kind)) {
        const t = this.targetType(r.typeId);
        switch (r.kind) {
          case CoreKind.TYPE_ID_LOCAL: local = value = BigInt(r.typeId); break;
          case CoreKind.TYPE_ID_TARGET: local = BigInt(r.typeId); value = BigInt(t); break;
          case CoreKind.TYPE_EXISTS: local = 1n; value = t ? 1n : 0n; break;
          default: local = BigInt(this.local.sizeOf(r.typeId)); value = t ? BigInt(this.target.sizeOf(t)) : 0n;
        }
      } else if (isEnumKind(r.kind)) {
        const { name, value: lv } = this.localEnumerator(r.typeId, r.access);
        local = r.kind === CoreKind.ENUMVAL_EXISTS ? 1n : lv;
        const tv = this.targetEnumerator(r.typeId, name);
        value = tv === undefined ? (r.kind === CoreKind.ENUMVAL_EXISTS ? 0n : undefined) : r.kind === CoreKind.ENUMVAL_EXISTS ? 1n : tv;
      } else {
        throw new ObjectError('core', `${where}: relocation kind ${r.kind} (type matches) is not supported`);
      }
    } catch (e) {
      if (e instanceof BtfError) throw new ObjectError('core', `${where}: ${e.message}`);
      throw e;
    }
    const insn = insns[r.index];
    if (!insn) throw new ObjectError('core', `${where}: no such instruction`);
    // The compiled instruction must hold what the build's BTF says, or we misread the relocation.
    const held = heldValue(insns, r.index);
    if (validate && held !== undefined && held !== local && !(r.kind === CoreKind.TYPE_ID_LOCAL || r.kind === CoreKind.TYPE_ID_TARGET)) {
      throw new ObjectError('core', `${where}: the instruction holds ${held}, but the object's BTF gives ${local}`);
    }
    if (value === undefined) return poison(insns, r.index, where);
    patch(insns, r.index, value, origSize !== undefined && newSize !== undefined && r.kind === CoreKind.FIELD_BYTE_OFFSET ? [origSize, newSize] : undefined, where);
  }

  private localField(typeId: number, access: string): FieldSpec {
    const b = this.local;
    const idx = access.split(':').map(Number);
    if (idx.length === 0 || idx.some((n) => !Number.isInteger(n) || n < 0)) throw new BtfError(`bad access string "${access}"`);
    let t = b.resolve(typeId);
    const rootId = t;
    let bitOffset = idx[0]! * b.sizeOf(t) * 8, bitfieldSize = 0;
    const steps: Step[] = [{ index: idx[0]! }];
    for (const i of idx.slice(1)) {
      t = b.resolve(t);
      const k = b.kind(t);
      if (k === BtfKind.STRUCT || k === BtfKind.UNION) {
        const m = b.members(t)[i];
        if (!m) throw new BtfError(`member ${i} of local type ${t} does not exist`);
        bitOffset += m.bitOffset;
        bitfieldSize = m.bitfieldSize;
        if (m.name) steps.push({ name: m.name, index: i });
        t = m.typeId;
      } else if (k === BtfKind.ARRAY) {
        const a = b.array(t);
        bitOffset += i * b.sizeOf(a.elemType) * 8;
        bitfieldSize = 0;
        steps.push({ index: i });
        t = a.elemType;
      } else throw new BtfError(`access "${access}" steps into local type ${t} of kind ${k}`);
    }
    return { rootId, steps, bitOffset, typeId: t, bitfieldSize };
  }

  private cands(name: string, kind: number): number[] {
    const key = `${kind}:${name}`;
    let c = this.candidates.get(key);
    if (!c) this.candidates.set(key, (c = this.target.findAll(name, kind)));
    return c;
  }

  /** The same field in the target: by member names from a same-named root; undefined when none has it. */
  private targetField(ls: FieldSpec): FieldSpec | undefined {
    const b = this.local, name = essential(b.name(ls.rootId));
    if (!name) throw new BtfError(`the root type ${ls.rootId} has no name: it cannot be matched in the kernel's BTF`);
    let found: FieldSpec | undefined;
    for (const root of this.cands(name, b.kind(ls.rootId))) {
      const ts = this.walkTarget(root, ls);
      if (!ts) continue;
      if (found && (found.bitOffset !== ts.bitOffset || this.target.sizeOf(found.typeId) !== this.target.sizeOf(ts.typeId))) {
        throw new BtfError(`"${name}" matches several kernel types with different layouts`);
      }
      found ??= ts;
    }
    return found;
  }

  private walkTarget(root: number, ls: FieldSpec): FieldSpec | undefined {
    const tb = this.target;
    let t = root, bitOffset = ls.steps[0]!.index * tb.sizeOf(root) * 8, bitfieldSize = 0;
    for (const step of ls.steps.slice(1)) {
      t = tb.resolve(t);
      const k = tb.kind(t);
      if (step.name !== undefined) {
        if (k !== BtfKind.STRUCT && k !== BtfKind.UNION) return undefined;
        const m = findMember(tb, t, step.name, 0);
        if (!m) return undefined;
        bitOffset += m.bitOffset;
        bitfieldSize = m.bitfieldSize;
        t = m.typeId;
      } else {
        if (k !== BtfKind.ARRAY) return undefined;
        const a = tb.array(t);
        if (a.nelems !== 0 && step.index >= a.nelems) return undefined;
        bitOffset += step.index * tb.sizeOf(a.elemType) * 8;
        bitfieldSize = 0;
        t = a.elemType;
      }
    }
    if (!compatible(this.local, ls.typeId, tb, t)) return undefined;
    return { rootId: root, steps: ls.steps, bitOffset, typeId: t, bitfieldSize };
  }

  private targetType(localId: number): number {
    const b = this.local;
    const name = essential(b.name(localId));
    if (!name) throw new BtfError(`local type ${localId} has no name: it cannot be matched in the kernel's BTF`);
    return this.cands(name, b.kind(localId))[0] ?? 0;
  }

  private localEnumerator(typeId: number, access: string): { name: string; value: bigint } {
    const id = this.local.resolve(typeId);
    const e = this.local.enumValues(id)[Number(access)];
    if (!e) throw new BtfError(`enumerator ${access} of local enum ${id} does not exist`);
    return e;
  }

  private targetEnumerator(typeId: number, enumerator: string): bigint | undefined {
    const id = this.local.resolve(typeId);
    const name = essential(this.local.name(id));
    for (const kind of [BtfKind.ENUM, BtfKind.ENUM64]) {
      for (const t of this.cands(name, kind)) {
        const hit = this.target.enumValues(t).find((v) => v.name === enumerator);
        if (hit) return hit.value;
      }
    }
    return undefined;
  }
}

function findMember(b: Btf, id: number, name: string, base: number): { bitOffset: number; bitfieldSize: number; typeId: number } | undefined {
  for (const m of b.members(id)) {
    if (m.name === name) return { bitOffset: base + m.bitOffset, bitfieldSize: m.bitfieldSize, typeId: m.typeId };
    if (!m.name) {
      const inner = b.resolve(m.typeId);
      const k = b.kind(inner);
      if (k === BtfKind.STRUCT || k === BtfKind.UNION) {
        const hit = findMember(b, inner, name, base + m.bitOffset);
        if (hit) return hit;
      }
    }
  }
  return undefined;
}

/** libbpf's field compatibility, loosely: same kind of thing (ints and enums are one kind). */
function compatible(lb: Btf, lid: number, tb: Btf, tid: number): boolean {
  const lk = lid ? lb.kind(lb.resolve(lid)) : 0, tk = tid ? tb.kind(tb.resolve(tid)) : 0;
  const scalar = (k: number) => k === BtfKind.INT || k === BtfKind.ENUM || k === BtfKind.ENUM64;
  if (scalar(lk) && scalar(tk)) return true;
  if (lk === BtfKind.FWD || tk === BtfKind.FWD) return true;
  return lk === tk;
}

/** The value a field relocation of `kind` asks for, from a field spec in `b`. */
function fieldValue(b: Btf, s: FieldSpec, kind: number): bigint {
  if (kind === CoreKind.FIELD_EXISTS) return 1n;
  const t = b.resolve(s.typeId);
  const bitfield = s.bitfieldSize > 0;
  let byteSize = b.sizeOf(t), byteOff: number;
  const bitSize = bitfield ? s.bitfieldSize : byteSize * 8;
  if (!bitfield) {
    if (s.bitOffset % 8 !== 0) throw new BtfError('a field not on a byte boundary');
    byteOff = s.bitOffset / 8;
  } else {
    byteOff = Math.floor(s.bitOffset / 8 / byteSize) * byteSize;
    while (s.bitOffset + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new BtfError('a bitfield wider than 8 bytes');
      byteSize *= 2;
      byteOff = Math.floor(s.bitOffset / 8 / byteSize) * byteSize;
    }
  }
  switch (kind) {
    case CoreKind.FIELD_BYTE_OFFSET: return BigInt(byteOff);
    case CoreKind.FIELD_BYTE_SIZE: return BigInt(byteSize);
    case CoreKind.FIELD_SIGNED: {
      const k = b.kind(t);
      if (k === BtfKind.ENUM || k === BtfKind.ENUM64) return b.hasKindFlag(t) ? 1n : 0n;
      return k === BtfKind.INT && b.intInfo(t).signed ? 1n : 0n;
    }
    case CoreKind.FIELD_LSHIFT_U64:
      return BigInt(b.littleEndian ? 64 - (s.bitOffset + bitSize - byteOff * 8) : 64 - byteSize * 8 + (s.bitOffset - byteOff * 8));
    default: return BigInt(64 - bitSize);
  }
}

const SIZE_OF: Record<number, number> = { 1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW };
const BYTES_OF: Record<number, number> = { [Size.B]: 1, [Size.H]: 2, [Size.W]: 4, [Size.DW]: 8 };

function patch(insns: RawInsn[], i: number, value: bigint, sizes: [number, number] | undefined, where: string): void {
  const insn = insns[i]!;
  const cls = insn.code & 7;
  if (cls === Class.ALU || cls === Class.ALU64) {
    if ((insn.code & 0x08) !== 0) throw new ObjectError('core', `${where}: the ALU instruction takes a register, not an immediate`);
    if (value > 0x7fffffffn || value < -0x80000000n) throw new ObjectError('core', `${where}: value ${value} does not fit the 32-bit immediate`);
    insn.imm = Number(value);
  } else if ((cls === Class.LDX || cls === Class.ST || cls === Class.STX) && (insn.code & 0xe0) === Mode.MEM) {
    if (value > 0x7fffn || value < -0x8000n) throw new ObjectError('core', `${where}: offset ${value} does not fit the 16-bit offset`);
    insn.off = Number(value);
    if (sizes && sizes[0] !== sizes[1]) {
      if (BYTES_OF[insn.code & 0x18] !== sizes[0] || SIZE_OF[sizes[1]] === undefined) {
        throw new ObjectError('core', `${where}: the field is ${sizes[1]} bytes in this kernel, ${sizes[0]} in the build, and the access cannot be resized`);
      }
      insn.code = (insn.code & ~0x18) | SIZE_OF[sizes[1]]!;
    }
  } else if (insn.code === LD_IMM64 && insns[i + 1]) {
    insn.imm = Number(BigInt.asIntN(32, value));
    insns[i + 1]!.imm = Number(BigInt.asIntN(32, value >> 32n));
  } else {
    throw new ObjectError('core', `${where}: opcode 0x${insn.code.toString(16)} cannot take a CO-RE value`);
  }
}

function heldValue(insns: RawInsn[], i: number): bigint | undefined {
  const insn = insns[i]!;
  const cls = insn.code & 7;
  if ((cls === Class.ALU || cls === Class.ALU64) && (insn.code & 0x08) === 0) return BigInt(insn.imm);
  if ((cls === Class.LDX || cls === Class.ST || cls === Class.STX) && (insn.code & 0xe0) === Mode.MEM) return BigInt(insn.off);
  if (insn.code === LD_IMM64 && insns[i + 1]) return (BigInt(insns[i + 1]!.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
  return undefined;
}

function poison(insns: RawInsn[], i: number, where: string): void {
  const insn = insns[i]!;
  if (insn.code === LD_IMM64) throw new ObjectError('core', `${where}: not in this kernel's BTF, and an ld_imm64 cannot be poisoned`);
  insns[i] = { code: Class.JMP | 0x80, dst: 0, src: 0, off: 0, imm: CORE_POISON };
}
