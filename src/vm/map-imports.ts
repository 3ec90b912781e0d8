// The map helpers without BigInt: number-only imports (CompileOptions.fastMapHelpers), pointers as
// two i32 halves, and the description of array maps whose lookups the compiler inlines. BigInt only
// appears on the way to a fault, through the VM's own mapOf/translate so messages stay the same.
import { Pseudo } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';
import type { MapLoad } from '../asm/walk.js';
import { BpfFault } from './fault.js';
import type { ArrayMapInfo } from './inline.js';
import { MAP_HANDLE_BASE, MAX_REGIONS } from './layout.js';
import { Errno, type VmMap } from './maps.js';
import type { RegionInfo } from './messages.js';

const HANDLE_HI = Number(MAP_HANDLE_BASE >> 32n);

/** What the imports need from the VM. */
export interface MapHost {
  readonly mapList: readonly VmMap[];
  readonly regions: readonly RegionInfo[];
  mem(): Uint8Array;
  cpu(): number;
  /** the BigInt paths, which fault with the instruction at `pc` named */
  mapOf(handle: bigint, pc: number): VmMap;
  translate(addr: bigint, len: number, pc: number): number;
}

/** The array map behind handle `v`, as the compiler needs it to inline lookups (4-byte keys only). */
export function arrayMapInfo(host: MapHost, v: bigint): ArrayMapInfo | undefined {
  const m = v >> 32n === MAP_HANDLE_BASE >> 32n ? host.mapList[Number(v & 0xffffffffn)] : undefined;
  if (!m?.isArray || m.spec.keySize !== 4) return undefined;
  const { regionId, slot } = m.place;
  return { regionId, maxEntries: m.spec.maxEntries, stride: slot * m.nCpus, cpuSlot: m.perCpu ? slot : 0 };
}

/** Import "m<id>" for lookup (1: value offset or -1), update (2) and delete (3): (r1..r4 halves, pc) -> i32. */
export function fastMapImport(host: MapHost, id: number): (...a: number[]) => number {
  const mapAt = (lo: number, hi: number, pc: number): VmMap =>
    (hi === HANDLE_HI ? host.mapList[lo >>> 0] : undefined) ?? host.mapOf((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), pc);
  const at32 = (lo: number, hi: number, len: number, pc: number): number => {
    const off = lo >>> 0;
    const r = hi >>> 0 < MAX_REGIONS ? host.regions[hi] : undefined;
    if (r && off < r.size && ((off & r.mask) >>> 0) + len <= r.limit) return r.wasmBase + off;
    return host.translate((BigInt(hi >>> 0) << 32n) | BigInt(off), len, pc);
  };
  if (id === 1) {
    return (alo, ahi, blo, bhi, _clo, _chi, _dlo, _dhi, pc) => {
      const m = mapAt(alo, ahi, pc);
      const e = m.entryAt(at32(blo, bhi, m.spec.keySize, pc));
      return e < 0 ? -1 : m.offsetOf(e, m.perCpu ? host.cpu() : 0);
    };
  }
  if (id === 2) {
    return (alo, ahi, blo, bhi, clo, chi, dlo, dhi, pc) => {
      const m = mapAt(alo, ahi, pc);
      const k = at32(blo, bhi, m.spec.keySize, pc);
      const v = at32(clo, chi, m.spec.valueSize, pc);
      if (dhi !== 0 || dlo >>> 0 > 0xffff) return -Errno.EINVAL;
      const mem = host.mem();
      return m.update(mem.subarray(k, k + m.spec.keySize), mem.subarray(v, v + m.spec.valueSize), dlo, host.cpu());
    };
  }
  return (alo, ahi, blo, bhi, _clo, _chi, _dlo, _dhi, pc) => {
    const m = mapAt(alo, ahi, pc);
    const k = at32(blo, bhi, m.spec.keySize, pc);
    return m.delete(host.mem().subarray(k, k + m.spec.keySize));
  };
}

/**
 * The value of a map ld_imm64 (CompileOptions.ldImm64): a handle for map fds, a pointer into the
 * first value for direct value access. By the spec's map references (`loads`, from the shared
 * mapLoads of src/asm/walk.ts), else `mapFds` (fd -> name) or index.
 */
export function resolveMapLdImm64(
  vm: { loads?: ReadonlyMap<number, MapLoad>; maps: ReadonlyMap<string, VmMap>; cpu: number }, mapList: readonly VmMap[],
  mapFds: Record<number, string> | undefined, pc: number, first: RawInsn, second: RawInsn,
): bigint | undefined {
  let name: string | undefined;
  let kind: 'fd' | 'value' = first.src === Pseudo.MAP_VALUE || first.src === Pseudo.MAP_IDX_VALUE ? 'value' : 'fd';
  let offset = second.imm >>> 0;
  const ref = vm.loads?.get(pc);
  if (ref?.name !== undefined) {
    name = ref.name;
    kind = ref.kind;
    offset = ref.offset;
  } else if (first.src === Pseudo.MAP_FD || first.src === Pseudo.MAP_VALUE) {
    name = mapFds ? mapFds[first.imm] : mapList[first.imm]?.name;
  } else if (first.src === Pseudo.MAP_IDX || first.src === Pseudo.MAP_IDX_VALUE) {
    name = mapList[first.imm]?.name;
  } else {
    return undefined;
  }
  const m = name === undefined ? undefined : vm.maps.get(name);
  if (!m) throw new BpfFault('helper', pc, `insn ${pc}: ld_imm64 refers to map ${name ?? `#${first.imm}`}, which is not among the VM's maps`);
  if (kind === 'fd') return MAP_HANDLE_BASE | BigInt(m.id);
  if (!m.isArray || offset >= m.spec.valueSize) {
    throw new BpfFault('helper', pc, `insn ${pc}: direct value access needs an array map and an offset below the value size`);
  }
  return m.pointer(0, m.perCpu ? vm.cpu : 0) + BigInt(offset);
}
