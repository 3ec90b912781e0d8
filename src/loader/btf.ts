// A reader of kernel BTF (Documentation/bpf/btf.rst): header, type section, string section.
// vmlinux BTF is several MB and ~100k types, so we index only where each type starts (one pass
// over the info words) and compare names as bytes in place; answers are cached.
import { readFileSync } from 'node:fs';
import { BtfUnavailableError } from './errors.js';

const MAGIC = 0xeb9f;

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

  constructor(readonly data: Buffer) {
    if (data.length < 24 || data.readUInt16LE(0) !== MAGIC) {
      throw new Error('not BTF data (bad magic): expected a file like /sys/kernel/btf/vmlinux on a little-endian host');
    }
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const hdrLen = data.readUInt32LE(4);
    const typeOff = data.readUInt32LE(8), typeLen = data.readUInt32LE(12);
    const strOff = data.readUInt32LE(16), strLen = data.readUInt32LE(20);
    this.typesStart = hdrLen + typeOff;
    this.strStart = hdrLen + strOff;
    this.strEnd = this.strStart + strLen;
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
      const info = v.getUint32(at + 4, true);
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
        default: throw new Error(`BTF type ${found.length - 1} has unknown kind ${kind}: this reader knows kinds 1..19`);
      }
    }
    return Uint32Array.from(found);
  }

  private at(id: number): number {
    const off = this.offsets[id];
    if (!id || off === undefined) throw new RangeError(`BTF type id ${id} out of range 1..${this.typeCount}`);
    return off;
  }
  kind(id: number): number { return (this.view.getUint32(this.at(id) + 4, true) >>> 24) & 0x1f; }
  private vlen(id: number): number { return this.view.getUint32(this.at(id) + 4, true) & 0xffff; }
  private kindFlag(id: number): boolean { return (this.view.getUint32(this.at(id) + 4, true) >>> 31) === 1; }
  /** size for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT, referenced type id for the others */
  private sizeOrType(id: number): number { return this.view.getUint32(this.at(id) + 8, true); }

  private str(off: number): string {
    const start = this.strStart + off;
    const end = this.data.indexOf(0, start);
    return this.data.toString('utf8', start, end < 0 || end > this.strEnd ? this.strEnd : end);
  }
  name(id: number): string { return this.str(this.view.getUint32(this.at(id), true)); }

  /** Does the string at `off` equal `want` (bytes, NUL-terminated)? Compared in place. */
  private nameIs(off: number, want: Buffer): boolean {
    const start = this.strStart + off;
    if (this.data[start] !== want[0]) return false;
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
      const kind = (v.getUint32(off + 4, true) >>> 24) & 0x1f;
      if (!kinds.includes(kind)) continue;
      if (this.nameIs(v.getUint32(off, true), want)) { result = id; break; }
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
  sizeOf(id: number): number {
    id = this.resolve(id);
    if (id === 0) return 0;
    switch (this.kind(id)) {
      case BtfKind.INT: case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64:
      case BtfKind.FLOAT: case BtfKind.DATASEC:
        return this.sizeOrType(id);
      case BtfKind.PTR: return 8;
      case BtfKind.ARRAY: {
        const a = this.at(id) + 12;
        return this.sizeOf(this.view.getUint32(a, true)) * this.view.getUint32(a + 8, true);
      }
      default: return 0;
    }
  }

  private structId(name: string): number {
    const id = this.findType(name, [BtfKind.STRUCT, BtfKind.UNION]);
    if (!id) throw new Error(`BTF has no struct or union named "${name}"`);
    return id;
  }

  structSize(name: string): number { return this.sizeOf(this.structId(name)); }

  /** Finds `member` in struct `structName`, looking inside anonymous struct/union members too. */
  member(structName: string, member: string): BtfMember {
    const found = this.findMember(this.structId(structName), member, 0);
    if (!found) throw new Error(`struct ${structName} has no member "${member}" in this kernel's BTF`);
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
      const nameOff = v.getUint32(m, true);
      const type = v.getUint32(m + 4, true);
      const raw = v.getUint32(m + 8, true);
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
    if (m.bitOffset % 8 !== 0) throw new Error(`${structName}.${member} is a bitfield at bit ${m.bitOffset}: it has no byte offset`);
    return m.bitOffset / 8;
  }

  /** Number of arguments a raw tracepoint passes (the u64s of its context), from btf_trace_<name>. */
  rawTracepointArgCount(name: string): number {
    const td = this.findType(`btf_trace_${name}`, [BtfKind.TYPEDEF]);
    if (!td) throw new Error(`BTF has no typedef btf_trace_${name}: raw tracepoint "${name}" is unknown to this kernel`);
    const ptr = this.resolve(this.sizeOrType(td));
    const proto = this.kind(ptr) === BtfKind.PTR ? this.resolve(this.sizeOrType(ptr)) : 0;
    if (!proto || this.kind(proto) !== BtfKind.FUNC_PROTO) throw new Error(`btf_trace_${name} is not a pointer to a function prototype`);
    // The first parameter is the tracepoint's void *data, not an argument the program sees.
    return this.vlen(proto) - 1;
  }
}
