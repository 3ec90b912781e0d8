// The maps a BPF object declares: legacy `maps` sections (struct bpf_map_def records), BTF-defined
// `.maps` (each variable's anonymous struct, read from the object's .BTF), and global data
// (.data, .rodata, .bss and their .NAME variants) as single-entry array maps.
import type { MapSpec } from '../asm/spec.js';
import { MapType, type MapTypeId } from '../asm/opcodes.js';
import { Btf, BtfError, BtfKind } from '../btf/index.js';
import { SHF, SHT, STT, type ElfFile, type ElfSection, type ElfSymbol } from '../elf/index.js';
import { ObjectError } from './errors.js';

/** BPF_F_RDONLY_PROG: programs may only read the map (.rodata); from the shared ABI table. */
import { BPF_F_RDONLY_PROG } from '../asm/abi.js';
export { BPF_F_RDONLY_PROG };

export interface ObjectMap {
  spec: MapSpec;
  /** where it was declared */
  kind: 'legacy' | 'btf' | 'data';
  section: ElfSection;
  /** byte offset of its definition (legacy, btf) in the section; 0 for data */
  offset: number;
  /** bytes of its definition in the section (data: the section's size) */
  size: number;
}

export const isLegacyMapSection = (s: ElfSection): boolean => s.name === 'maps' || s.name.startsWith('maps/');
export const isBtfMapSection = (s: ElfSection): boolean => s.name === '.maps';
export function isDataSection(s: ElfSection): boolean {
  if (!(s.flags & SHF.ALLOC) || (s.flags & SHF.EXECINSTR) || (s.type !== SHT.PROGBITS && s.type !== SHT.NOBITS)) return false;
  return /^\.(data|rodata|bss)(\..+)?$/.test(s.name);
}

const KNOWN_MAP_TYPES = new Set<number>(Object.values(MapType));

function mapType(n: number, where: string, section: string): MapTypeId {
  if (!KNOWN_MAP_TYPES.has(n)) throw new ObjectError('map', `${where}: map type ${n} is not a known BPF_MAP_TYPE`, section, where);
  return n as MapTypeId;
}

/** Legacy struct bpf_map_def { type, key_size, value_size, max_entries, map_flags, … } records. */
export function legacyMaps(elf: ElfFile, symbols: ElfSymbol[], s: ElfSection): ObjectMap[] {
  const syms = symbols.filter((x) => x.shndx === s.index && x.type !== STT.SECTION && x.type !== STT.FILE && x.name !== '').sort((a, b) => Number(a.value - b.value));
  if (syms.length === 0) return [];
  if (s.size % syms.length !== 0) throw new ObjectError('map', `section "${s.name}" is ${s.size} bytes for ${syms.length} map symbols: not one record size`, s.name);
  const size = s.size / syms.length;
  if (size < 16) throw new ObjectError('map', `section "${s.name}": map records of ${size} bytes are shorter than struct bpf_map_def (type, key_size, value_size, max_entries)`, s.name);
  const data = elf.sectionData(s);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = elf.header.littleEndian;
  return syms.map((sym) => {
    const off = Number(sym.value);
    if (off % size !== 0 || off + size > s.size) throw new ObjectError('map', `map symbol "${sym.name}" at ${s.name}+${off} is not at a record boundary (records of ${size} bytes)`, s.name, sym.name);
    const spec: MapSpec = withFdDefaults({
      name: sym.name, type: mapType(v.getUint32(off, le), `map "${sym.name}"`, s.name),
      keySize: v.getUint32(off + 4, le), valueSize: v.getUint32(off + 8, le), maxEntries: v.getUint32(off + 12, le),
      flags: size >= 20 ? v.getUint32(off + 16, le) : 0,
    });
    return { spec, kind: 'legacy' as const, section: s, offset: off, size };
  });
}

/** BTF-defined maps: the variables of the ".maps" DATASEC. */
export function btfMaps(btf: Btf | undefined, btfProblem: string | undefined, s: ElfSection, symbols: ElfSymbol[]): ObjectMap[] {
  if (!btf) throw new ObjectError('btf', `section ".maps" defines maps in BTF, but the object's .BTF ${btfProblem ?? 'is missing'} (build with clang -g)`, s.name);
  const sec = btf.findType('.maps', [BtfKind.DATASEC]);
  if (!sec) throw new ObjectError('btf', 'the object has a ".maps" section but its BTF has no ".maps" DATASEC', s.name);
  return btf.datasecVars(sec).map((v) => {
    if (btf.kind(v.type) !== BtfKind.VAR) throw new ObjectError('btf', `.maps entry at offset ${v.offset} is BTF kind ${btf.kind(v.type)}, not a variable`, s.name);
    const name = btf.name(v.type);
    const spec = btfMapDef(btf, btf.sizeOrType(v.type), name, s.name);
    // In an object file the DATASEC's offsets are not final (libbpf fixes them up): the ELF
    // symbol of the variable says where it is.
    const sym = symbols.find((x) => x.shndx === s.index && x.name === name && x.type !== STT.SECTION);
    if (!sym) throw new ObjectError('map', `map "${name}" is in the BTF of ".maps" but has no symbol in that section`, s.name, name);
    return { spec, kind: 'btf' as const, section: s, offset: Number(sym.value), size: btf.sizeOf(btf.sizeOrType(v.type)) };
  });
}

/** One map definition struct: `__uint(type, …)`, `__type(key, …)`, `__array(values, …)` members. */
function btfMapDef(btf: Btf, typeId: number, name: string, section: string, depth = 0): MapSpec {
  function fail(msg: string): never { throw new ObjectError('btf', `map "${name}": ${msg}`, section, name); }
  const id = btf.resolve(typeId);
  if (btf.kind(id) !== BtfKind.STRUCT) fail(`its BTF type is kind ${btf.kind(id)}, not a struct of __uint/__type members`);
  // __uint(x, N) is `int (*x)[N]`: N is the element count of the pointed-to array.
  const uint = (member: number, what: string): number => {
    const ptr = btf.resolve(member);
    const arr = btf.kind(ptr) === BtfKind.PTR ? btf.resolve(btf.sizeOrType(ptr)) : 0;
    if (!arr || btf.kind(arr) !== BtfKind.ARRAY) fail(`member "${what}" is not __uint(${what}, …) (a pointer to an array)`);
    return btf.array(arr).nelems;
  };
  // __type(x, T) is `T *x`: the size of T.
  const typeSize = (member: number, what: string): number => {
    const ptr = btf.resolve(member);
    if (btf.kind(ptr) !== BtfKind.PTR) fail(`member "${what}" is not __type(${what}, …) (a pointer)`);
    return btf.sizeOf(btf.sizeOrType(ptr));
  };
  let type: number | undefined, keySize = 0, valueSize = 0, maxEntries = 0, flags = 0;
  let inner: MapSpec | undefined;
  for (const m of btf.members(id)) {
    switch (m.name) {
      case 'type': type = uint(m.typeId, m.name); break;
      case 'max_entries': maxEntries = uint(m.typeId, m.name); break;
      case 'map_flags': flags = uint(m.typeId, m.name); break;
      case 'key_size': keySize = uint(m.typeId, m.name); break;
      case 'value_size': valueSize = uint(m.typeId, m.name); break;
      case 'key': keySize = typeSize(m.typeId, m.name); break;
      case 'value': valueSize = typeSize(m.typeId, m.name); break;
      case 'values': {
        // __array(values, T): `T *values[]`; for maps of maps, T is the inner map's definition.
        const arr = btf.resolve(m.typeId);
        if (btf.kind(arr) !== BtfKind.ARRAY) fail('member "values" is not __array(values, …)');
        const ptr = btf.resolve(btf.array(arr).elemType);
        const target = btf.kind(ptr) === BtfKind.PTR ? btf.resolve(btf.sizeOrType(ptr)) : 0;
        if (target && btf.kind(target) === BtfKind.STRUCT && depth === 0) inner = btfMapDef(btf, target, `${name}.inner`, section, 1);
        break;
      }
      case 'pinning': case 'numa_node': case 'map_extra': break;
      default: fail(`unknown member "${m.name}" (known: type, key, value, key_size, value_size, max_entries, map_flags, values, pinning, numa_node, map_extra)`);
    }
  }
  if (type === undefined) fail('no __uint(type, …) member');
  const t = mapType(type, `map "${name}"`, section);
  // PERF_EVENT_ARRAY without max_entries: one slot per possible CPU (filled in by the loader).
  const spec: MapSpec = withFdDefaults({ name, type: t, keySize, valueSize, maxEntries, flags });
  if (inner) spec.inner = inner;
  return spec;
}

const FD_MAPS = new Set<number>([MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY,
  MapType.CGROUP_ARRAY, MapType.DEVMAP, MapType.CPUMAP, MapType.SOCKMAP, MapType.SOCKHASH, MapType.XSKMAP]);

/**
 * Sizes as the kernel takes them: maps of fds (maps of maps, program arrays …) hold 4-byte keys and
 * values where left 0; perf event arrays always (an object may name its event type there, for code
 * generators), and ring buffers take neither.
 */
function withFdDefaults(spec: MapSpec): MapSpec {
  if (spec.type === MapType.PERF_EVENT_ARRAY) return { ...spec, keySize: 4, valueSize: 4 };
  if (spec.type === MapType.RINGBUF || spec.type === MapType.USER_RINGBUF) return { ...spec, keySize: 0, valueSize: 0 };
  if (!FD_MAPS.has(spec.type)) return spec;
  return { ...spec, keySize: spec.keySize || 4, valueSize: spec.valueSize || 4 };
}

/** A global data section as a one-entry array map (libbpf's .data/.rodata/.bss maps). */
export function dataMap(elf: ElfFile, s: ElfSection): ObjectMap | undefined {
  if (s.size === 0) return undefined;
  const rodata = s.name.startsWith('.rodata');
  const spec: MapSpec = { name: s.name, type: MapType.ARRAY, keySize: 4, valueSize: s.size, maxEntries: 1, flags: rodata ? BPF_F_RDONLY_PROG : 0 };
  if (s.type !== SHT.NOBITS) spec.initial = elf.sectionData(s);
  if (rodata) spec.freeze = true;
  return { spec, kind: 'data', section: s, offset: 0, size: s.size };
}

export { BtfError };
