// A reader of BTF (Documentation/bpf/btf.rst): header, type section, string section — the kernel's
// (/sys/kernel/btf/vmlinux) and a BPF object's .BTF section alike, in either byte order.
// vmlinux BTF is several MB and ~100k types, so we index only where each type starts (one pass
// over the info words) and compare names as bytes in place; answers are cached. Every offset taken
// from the data is checked, so a bad section is a BtfError, not a RangeError.
import { readFileSync } from 'node:fs';

const MAGIC = 0xeb9f;

/** Unreadable or inconsistent BTF, or a question it cannot answer (no such type or member). */
export class BtfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BtfError';
  }
}

/** The kernel's BTF is missing or unreadable (raw-tracepoint mode and CO-RE need it). */
export class BtfUnavailableError extends BtfError {
  constructor(readonly path: string, detail: string) {
    super(`cannot read kernel BTF at ${path} (${detail}); it needs a kernel built with CONFIG_DEBUG_INFO_BTF=y`);
    this.name = 'BtfUnavailableError';
  }
}

export const BtfKind = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export interface BtfMember {
  name: string;
  /** offset from the start of the outer struct, in bits */
  bitOffset: number;
  /** bitfield width in bits, 0 when not a bitfield */
  bitfieldSize: number;
  typeId: number;
  /** bytes of the member's type (after typedefs and qualifiers) */
  size: number;
}

export class Btf {
  private readonly view: DataView;
  private readonly typesStart: number;
  private readonly strStart: number;
  private readonly strEnd: number;
  /** byte offset of each type record; index = type id (0 = void, unused) */
  private readonly offsets: Uint32Array;
  private readonly nameCache = new Map<string, number>();
  /** byte order of the data (a BPF object built with -target bpfeb is big-endian) */
  readonly littleEndian: boolean;
  readonly data: Buffer;

  constructor(data: Uint8Array) {
    this.data = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (data.length < 24) throw new BtfError(`BTF data is ${data.length} bytes: shorter than its 24-byte header`);
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const magic = this.view.getUint16(0, true);
    if (magic !== MAGIC && this.view.getUint16(0, false) !== MAGIC) {
      throw new BtfError(`not BTF data (bad magic): 0x${magic.toString(16)} where 0xeb9f was expected; expected a file like /sys/kernel/btf/vmlinux or a .BTF section`);
    }
    this.littleEndian = magic === MAGIC;
    const le = this.littleEndian, v = this.view;
    const hdrLen = v.getUint32(4, le);
    const typeOff = v.getUint32(8, le), typeLen = v.getUint32(12, le);
    const strOff = v.getUint32(16, le), strLen = v.getUint32(20, le);
    this.typesStart = hdrLen + typeOff;
    this.strStart = hdrLen + strOff;
    this.strEnd = this.strStart + strLen;
    if (hdrLen < 24 || this.typesStart + typeLen > data.length || this.strEnd > data.length) {
      throw new BtfError(`BTF header (length ${hdrLen}, types ${typeOff}+${typeLen}, strings ${strOff}+${strLen}) points past the end of its ${data.length} bytes`);
    }
    this.offsets = this.indexTypes(this.typesStart, this.typesStart + typeLen);
  }

  static load(path = '/sys/kernel/btf/vmlinux'): Btf {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      throw new BtfUnavailableError(path, (e as Error).message);
    }
    return new Btf(data);
  }

  private static cached: Btf | null = null;
  /** The running kernel's BTF, read once per process. */
  static vmlinux(): Btf {
    return (Btf.cached ??= Btf.load());
  }

  get typeCount(): number { return this.offsets.length - 1; }

  private indexTypes(start: number, end: number): Uint32Array {
    const v = this.view;
    const found: number[] = [0];
    let at = start;
    while (at < end) {
      found.push(at);
      if (at + 12 > end) throw new BtfError(`BTF type ${found.length - 1} at byte ${at - start} is cut off by the end of the type section`);
      const info = v.getUint32(at + 4, this.littleEndian);
      const vlen = info & 0xffff;
      const kind = (info >>> 24) & 0x1f;
      at += 12;
      switch (kind) {
        case BtfKind.INT: case BtfKind.VAR: case BtfKind.DECL_TAG: at += 4; break;
        case BtfKind.ARRAY: at += 12; break;
        case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.DATASEC: case BtfKind.ENUM64: at += 12 * vlen; break;
        case BtfKind.ENUM: case BtfKind.FUNC_PROTO: at += 8 * vlen; break;
        case BtfKind.PTR: case BtfKind.FWD: case BtfKind.TYPEDEF: case BtfKind.VOLATILE: case BtfKind.CONST:
        case BtfKind.RESTRICT: case BtfKind.FUNC: case BtfKind.FLOAT: case BtfKind.TYPE_TAG: break;
        default: throw new BtfError(`BTF type ${found.length - 1} has unknown kind ${kind}: this reader knows kinds 1..19`);
      }
      if (at > end) throw new BtfError(`BTF type ${found.length - 1} (kind ${kind}, ${vlen} entries) extends past the end of the type section`);
    }
    return Uint32Array.from(found);
  }

  private at(id: number): number {
    const off = this.offsets[id];
    if (!id || off === undefined) throw new BtfError(`BTF type id ${id} out of range 1..${this.typeCount}`);
    return off;
  }
  /** Byte offset of type `id`'s record in `data` (for writers that patch a copy). */
  recordOffset(id: number): number { return this.at(id); }
  kind(id: number): number { return (this.view.getUint32(this.at(id) + 4, this.littleEndian) >>> 24) & 0x1f; }
  private vlen(id: number): number { return this.view.getUint32(this.at(id) + 4, this.littleEndian) & 0xffff; }
  private kindFlag(id: number): boolean { return (this.view.getUint32(this.at(id) + 4, this.littleEndian) >>> 31) === 1; }
  /** size for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT, referenced type id for the others */
  sizeOrType(id: number): number { return this.view.getUint32(this.at(id) + 8, this.littleEndian); }

  /** The string at offset `off` of the string section ('' when out of range). */
  str(off: number): string {
    const start = this.strStart + off;
    if (start >= this.strEnd) return '';
    const end = this.data.indexOf(0, start);
    return this.data.toString('utf8', start, end < 0 || end > this.strEnd ? this.strEnd : end);
  }
  name(id: number): string { return this.str(this.u32(this.at(id))); }
  private u32(at: number): number { return this.view.getUint32(at, this.littleEndian); }

  /** Does the string at `off` equal `want` (bytes, NUL-terminated)? Compared in place. */
  private nameIs(off: number, want: Buffer): boolean {
    const start = this.strStart + off;
    if (start + want.length >= this.strEnd || this.data[start] !== want[0]) return false;
    return this.data[start + want.length] === 0 && this.data.compare(want, 0, want.length, start, start + want.length) === 0;
  }

  /** The id of the first type named `name` of one of `kinds`, or 0. Forward declarations are skipped. */
  findType(name: string, kinds: readonly number[]): number {
    const key = `${kinds.join(',')}:${name}`;
    const cached = this.nameCache.get(key);
    if (cached !== undefined) return cached;
    const want = Buffer.from(name, 'utf8');
    const v = this.view;
    let result = 0;
    for (let id = 1; id < this.offsets.length; id++) {
      const off = this.offsets[id]!;
      const kind = (v.getUint32(off + 4, this.littleEndian) >>> 24) & 0x1f;
      if (!kinds.includes(kind)) continue;
      if (this.nameIs(v.getUint32(off, this.littleEndian), want)) { result = id; break; }
    }
    this.nameCache.set(key, result);
    return result;
  }

  /** Skips typedefs and qualifiers. */
  resolve(id: number): number {
    for (let guard = 0; id !== 0 && guard < 64; guard++) {
      const k = this.kind(id);
      if (k === BtfKind.TYPEDEF || k === BtfKind.VOLATILE || k === BtfKind.CONST || k === BtfKind.RESTRICT || k === BtfKind.TYPE_TAG) {
        id = this.sizeOrType(id);
      } else return id;
    }
    return id;
  }

  /** Bytes of a type (void and functions: 0). */
  sizeOf(id: number, depth = 0): number {
    if (depth > 32) throw new BtfError(`BTF type ${id}: arrays nested more than 32 deep (a cycle?)`);
    id = this.resolve(id);
    if (id === 0) return 0;
    switch (this.kind(id)) {
      case BtfKind.INT: case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64:
      case BtfKind.FLOAT: case BtfKind.DATASEC:
        return this.sizeOrType(id);
      case BtfKind.PTR: return 8;
      case BtfKind.ARRAY: {
        const a = this.at(id) + 12;
        return this.sizeOf(this.u32(a), depth + 1) * this.u32(a + 8);
      }
      default: return 0;
    }
  }

  private structId(name: string): number {
    const id = this.findType(name, [BtfKind.STRUCT, BtfKind.UNION]);
    if (!id) throw new BtfError(`BTF has no struct or union named "${name}"`);
    return id;
  }

  structSize(name: string): number { return this.sizeOf(this.structId(name)); }

  /** Finds `member` in struct `structName`, looking inside anonymous struct/union members too. */
  member(structName: string, member: string): BtfMember {
    const found = this.findMember(this.structId(structName), member, 0);
    if (!found) throw new BtfError(`struct ${structName} has no member "${member}" in this kernel's BTF`);
    return found;
  }

  private findMember(id: number, want: string, base: number): BtfMember | null {
    const at = this.at(id);
    const n = this.vlen(id);
    const bitfields = this.kindFlag(id);
    const v = this.view;
    const anonymous: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) {
      const m = at + 12 + 12 * i;
      const nameOff = v.getUint32(m, this.littleEndian);
      const type = v.getUint32(m + 4, this.littleEndian);
      const raw = v.getUint32(m + 8, this.littleEndian);
      // With kind_flag, offset packs bitfield_size << 24 | bit_offset.
      const bitOffset = base + (bitfields ? raw & 0xffffff : raw);
      const bitfieldSize = bitfields ? raw >>> 24 : 0;
      if (nameOff === 0) { anonymous.push([type, bitOffset]); continue; }
      if (this.str(nameOff) === want) {
        return { name: want, bitOffset, bitfieldSize, typeId: type, size: this.sizeOf(type) };
      }
    }
    for (const [type, off] of anonymous) {
      const r = this.resolve(type);
      const k = this.kind(r);
      if (k !== BtfKind.STRUCT && k !== BtfKind.UNION) continue;
      const hit = this.findMember(r, want, off);
      if (hit) return hit;
    }
    return null;
  }

  /** Byte offset of `member` in `structName`; throws for bitfields not on a byte boundary. */
  memberOffset(structName: string, member: string): number {
    const m = this.member(structName, member);
    if (m.bitOffset % 8 !== 0) throw new BtfError(`${structName}.${member} is a bitfield at bit ${m.bitOffset}: it has no byte offset`);
    return m.bitOffset / 8;
  }

  /** Number of arguments a raw tracepoint passes (the u64s of its context), from btf_trace_<name>. */
  rawTracepointArgCount(name: string): number {
    const td = this.findType(`btf_trace_${name}`, [BtfKind.TYPEDEF]);
    if (!td) throw new BtfError(`BTF has no typedef btf_trace_${name}: raw tracepoint "${name}" is unknown to this kernel`);
    const ptr = this.resolve(this.sizeOrType(td));
    const proto = this.kind(ptr) === BtfKind.PTR ? this.resolve(this.sizeOrType(ptr)) : 0;
    if (!proto || this.kind(proto) !== BtfKind.FUNC_PROTO) throw new BtfError(`btf_trace_${name} is not a pointer to a function prototype`);
    // The first parameter is the tracepoint's void *data, not an argument the program sees.
    return this.vlen(proto) - 1;
  }

  // ---- record accessors, for readers of object BTF (map definitions, CO-RE) --------------------

  /** Member/parameter/variable count of a type (vlen). */
  count(id: number): number { return this.vlen(id); }
  hasKindFlag(id: number): boolean { return this.kindFlag(id); }

  /** The members of a STRUCT or UNION, in order (offsets in bits from its start). */
  members(id: number): BtfMember[] {
    const k = this.kind(id);
    if (k !== BtfKind.STRUCT && k !== BtfKind.UNION) throw new BtfError(`BTF type ${id} is not a struct or union (kind ${k})`);
    const at = this.at(id), bitfields = this.kindFlag(id);
    const out: BtfMember[] = [];
    for (let i = 0; i < this.vlen(id); i++) {
      const m = at + 12 + 12 * i;
      const raw = this.u32(m + 8), typeId = this.u32(m + 4);
      out.push({
        name: this.str(this.u32(m)), typeId, bitOffset: bitfields ? raw & 0xffffff : raw, bitfieldSize: bitfields ? raw >>> 24 : 0,
        size: this.sizeOf(typeId),
      });
    }
    return out;
  }

  /** An ARRAY's element type, index type and element count. */
  array(id: number): { elemType: number; indexType: number; nelems: number } {
    if (this.kind(id) !== BtfKind.ARRAY) throw new BtfError(`BTF type ${id} is not an array (kind ${this.kind(id)})`);
    const a = this.at(id) + 12;
    return { elemType: this.u32(a), indexType: this.u32(a + 4), nelems: this.u32(a + 8) };
  }

  /** The variables of a DATASEC: each VAR's type id, offset and size in the section. */
  datasecVars(id: number): Array<{ type: number; offset: number; size: number }> {
    if (this.kind(id) !== BtfKind.DATASEC) throw new BtfError(`BTF type ${id} is not a DATASEC (kind ${this.kind(id)})`);
    const at = this.at(id) + 12;
    return Array.from({ length: this.vlen(id) }, (_, i) => ({ type: this.u32(at + 12 * i), offset: this.u32(at + 12 * i + 4), size: this.u32(at + 12 * i + 8) }));
  }

  /** The values of an ENUM or ENUM64, by name. */
  enumValues(id: number): Array<{ name: string; value: bigint }> {
    const k = this.kind(id), at = this.at(id) + 12, n = this.vlen(id);
    if (k === BtfKind.ENUM) {
      const signed = this.kindFlag(id);
      return Array.from({ length: n }, (_, i) => ({ name: this.str(this.u32(at + 8 * i)), value: BigInt(signed ? this.view.getInt32(at + 8 * i + 4, this.littleEndian) : this.u32(at + 8 * i + 4)) }));
    }
    if (k === BtfKind.ENUM64) {
      return Array.from({ length: n }, (_, i) => ({ name: this.str(this.u32(at + 12 * i)), value: (BigInt(this.u32(at + 12 * i + 8)) << 32n) | BigInt(this.u32(at + 12 * i + 4)) }));
    }
    throw new BtfError(`BTF type ${id} is not an enum (kind ${k})`);
  }

  /** Every type named `name` of kind `kind` (forward declarations included), in id order. */
  findAll(name: string, kind: number): number[] {
    const want = Buffer.from(name, 'utf8');
    const out: number[] = [];
    for (let id = 1; id < this.offsets.length; id++) {
      const off = this.offsets[id]!;
      if (((this.u32(off + 4) >>> 24) & 0x1f) === kind && this.nameIs(this.u32(off), want)) out.push(id);
    }
    return out;
  }

  /** An INT's encoding: signedness, bit offset and width (the u32 after its record). */
  intInfo(id: number): { signed: boolean; bitOffset: number; bits: number } {
    if (this.kind(id) !== BtfKind.INT) throw new BtfError(`BTF type ${id} is not an int (kind ${this.kind(id)})`);
    const enc = this.u32(this.at(id) + 12);
    return { signed: ((enc >>> 24) & 0xf & 1) === 1, bitOffset: (enc >>> 16) & 0xff, bits: enc & 0xff };
  }
}
