// Maps for the WASM engine, kept in JS with their values inside the wasm memory, so a program gets
// a real pointer from map_lookup_elem and can load, store and atomically add into the value.
// Each map is one region of power-of-two slots: slot (entry * nCpus + cpu) holds one value.
// Return codes follow the kernel (kernel/bpf/hashtab.c, arraymap.c): negative errno.
import { MapType } from '../asm/opcodes.js';
import { ERRNO, isPerCpuMapType } from '../asm/abi.js';
import type { MapSpec } from '../asm/spec.js';
import { regionBase } from './layout.js';

/** Errno numbers, from the shared kernel ABI table. */
export const Errno = ERRNO;
export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2, F_LOCK: 4 } as const;

/**
 * Bytes of one slot: the smallest power of two above the value size (at least 8), so every value is
 * followed by a guard gap and an access just past its end faults.
 */
export function slotBytes(valueSize: number): number {
  let s = 8;
  while (s <= valueSize) s *= 2;
  return s;
}

const keyString = (key: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
};
/** The little-endian u32 at `at`; callers have checked that the 4 bytes are there. */
const u32At = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const keyBytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Where a map lives in the wasm memory; set by the runtime's layout. */
export interface MapPlacement {
  regionId: number;
  /** wasm address of slot 0 */
  wasmBase: number;
  slot: number;
  slots: number;
}

export class VmMap {
  readonly perCpu: boolean;
  readonly nCpus: number;
  private readonly index = new Map<string, number>();
  private readonly free: number[] = [];

  constructor(
    readonly spec: MapSpec,
    readonly id: number,
    readonly place: MapPlacement,
    private readonly memory: () => Uint8Array,
    nCpus: number,
  ) {
    const t = spec.type;
    this.perCpu = isPerCpuMapType(t);
    this.nCpus = this.perCpu ? nCpus : 1;
    // The key is the entry number as a u32; the kernel refuses other key sizes (EINVAL).
    if (this.isArray && spec.keySize !== 4) throw new RangeError(`array map "${spec.name}": key size ${spec.keySize}, must be 4`);
    if (this.isHash) for (let e = spec.maxEntries - 1; e >= 0; e--) this.free.push(e);
  }

  get name(): string { return this.spec.name; }
  get isArray(): boolean { return this.spec.type === MapType.ARRAY || this.spec.type === MapType.PERCPU_ARRAY; }
  get isHash(): boolean {
    const t = this.spec.type;
    return t === MapType.HASH || t === MapType.PERCPU_HASH || t === MapType.LRU_HASH || t === MapType.LRU_PERCPU_HASH;
  }
  get isLru(): boolean { return this.spec.type === MapType.LRU_HASH || this.spec.type === MapType.LRU_PERCPU_HASH; }
  get size(): number { return this.isArray ? this.spec.maxEntries : this.index.size; }

  /** Fake pointer to an entry's value for one CPU. */
  pointer(entry: number, cpu: number): bigint {
    return regionBase(this.place.regionId) + BigInt((entry * this.nCpus + cpu) * this.place.slot);
  }

  /** Byte offset of an entry's value for one CPU inside the map's region. */
  offsetOf(entry: number, cpu: number): number {
    return (entry * this.nCpus + cpu) * this.place.slot;
  }

  private wasmAddr(entry: number, cpu: number): number {
    return this.place.wasmBase + (entry * this.nCpus + cpu) * this.place.slot;
  }

  /** Entry number of a key, or -1. `touch` marks it recently used (LRU). */
  entryOf(key: Uint8Array, touch = false): number {
    if (key.length !== this.spec.keySize) throw new RangeError(`map "${this.name}": key is ${key.length} bytes, expected ${this.spec.keySize}`);
    if (this.isArray) {
      const i = u32At(key, 0); // 4 bytes: checked above and in the constructor
      return i < this.spec.maxEntries ? i : -1;
    }
    if (!this.isHash) return -1;
    const k = keyString(key);
    const e = this.index.get(k);
    if (e === undefined) return -1;
    if (touch && this.isLru) {
      this.index.delete(k);
      this.index.set(k, e);
    }
    return e;
  }

  /** entryOf(key, true) for a key already bounds-checked at wasm address `at`, without copying it. */
  entryAt(at: number): number {
    const mem = this.memory();
    if (this.isArray) {
      const i = u32At(mem, at);
      return i < this.spec.maxEntries ? i : -1;
    }
    if (!this.isHash) return -1;
    let k = '';
    for (let i = 0; i < this.spec.keySize; i++) k += String.fromCharCode(mem[at + i]!);
    const e = this.index.get(k);
    if (e !== undefined && this.isLru) {
      this.index.delete(k);
      this.index.set(k, e);
    }
    return e ?? -1;
  }

  /**
   * BPF-side and user-side update. `value` is one CPU's value; from a program (`cpu` given) only that
   * CPU's copy of a per-CPU value is written and a new element's other copies are zeroed, as the kernel
   * does; from user space (`cpu` undefined) every CPU gets `value` (or perCpuValues[i]).
   */
  update(key: Uint8Array, value: Uint8Array | Uint8Array[], flags = 0, cpu?: number): number {
    const vs = this.spec.valueSize;
    if (!this.perCpu) cpu = undefined;
    if ((flags & ~UpdateFlags.F_LOCK) > UpdateFlags.EXIST) return -Errno.EINVAL;
    if (!this.isArray && !this.isHash) return -Errno.EINVAL;
    if (Array.isArray(value) && value.length < this.nCpus) throw new RangeError(`map "${this.name}": ${value.length} per-CPU values for ${this.nCpus} CPUs`);
    const mem = this.memory();
    const write = (entry: number, fresh: boolean): void => {
      for (let c = 0; c < this.nCpus; c++) {
        const v = Array.isArray(value) ? value[c]! : value; // one per CPU: checked above
        const at = this.wasmAddr(entry, c);
        if (cpu === undefined || c === cpu) mem.set(v.subarray(0, vs), at);
        else if (fresh) mem.fill(0, at, at + vs);
      }
    };
    if (this.isArray) {
      const e = this.entryOf(key);
      if (e < 0) return -Errno.E2BIG;
      if (flags & UpdateFlags.NOEXIST) return -Errno.EEXIST;
      write(e, false);
      return 0;
    }
    const k = keyString(key);
    const old = this.index.get(k);
    if (old !== undefined && (flags & 3) === UpdateFlags.NOEXIST) return -Errno.EEXIST;
    if (old === undefined && (flags & 3) === UpdateFlags.EXIST) return -Errno.ENOENT;
    if (old !== undefined) {
      // The kernel swaps in a fresh element; updating in place is the same to every later lookup.
      write(old, false);
      if (this.isLru) {
        this.index.delete(k);
        this.index.set(k, old);
      }
      return 0;
    }
    let e = this.free.pop();
    if (e === undefined) {
      if (!this.isLru) return -Errno.E2BIG;
      const [victim, slot] = this.index.entries().next().value as [string, number];
      this.index.delete(victim);
      e = slot;
    }
    this.index.set(k, e);
    write(e, true);
    return 0;
  }

  delete(key: Uint8Array): number {
    if (this.isArray || !this.isHash) return -Errno.EINVAL;
    const k = keyString(key);
    const e = this.index.get(k);
    if (e === undefined) return -Errno.ENOENT;
    this.index.delete(k);
    this.free.push(e);
    return 0;
  }

  /** A copy of one CPU's value (default: CPU 0), or undefined. */
  lookup(key: Uint8Array, cpu = 0): Uint8Array | undefined {
    const e = this.entryOf(key);
    if (e < 0) return undefined;
    const at = this.wasmAddr(e, cpu);
    return this.memory().slice(at, at + this.spec.valueSize);
  }

  /** Every CPU's value (one element for maps that are not per-CPU). */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const e = this.entryOf(key);
    if (e < 0) return undefined;
    return Array.from({ length: this.nCpus }, (_, c) => {
      const at = this.wasmAddr(e, c);
      return this.memory().slice(at, at + this.spec.valueSize);
    });
  }

  keys(): Uint8Array[] {
    if (this.isArray) {
      return Array.from({ length: this.spec.maxEntries }, (_, i) => Uint8Array.of(i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, i >>> 24));
    }
    return [...this.index.keys()].map(keyBytes);
  }

  /** [key, value of CPU `cpu`] for every entry. */
  entries(cpu = 0): Array<[Uint8Array, Uint8Array]> {
    return this.keys().map((k) => [k, this.lookup(k, cpu)!]);
  }

  /** Empties the map (arrays: zero every value). */
  clear(): void {
    if (this.isArray) {
      const start = this.place.wasmBase;
      this.memory().fill(0, start, start + this.place.slots * this.place.slot);
      return;
    }
    for (const e of this.index.values()) this.free.push(e);
    this.index.clear();
  }
}
