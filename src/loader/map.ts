// BpfMap: a kernel map created from a MapSpec, with typed handles whose codecs are checked
// against the spec up front, so a wrong key or value type fails at construction, not mid-run.
import type { MapSpec } from '../asm/spec.js';
import * as bpf from './bpf.js';
import { perCpu, type Codec } from './codec.js';
import { possibleCpuCount } from './cpus.js';
import { MappedMemory } from './ffi.js';

import { BPF_F_MMAPABLE, MapType } from '../asm/abi.js';

/** BPF_F_MMAPABLE: an array map whose values user space can map and read with no syscall. */
export { BPF_F_MMAPABLE };

const ZERO_KEY_TYPES = new Set<number>([MapType.RINGBUF, MapType.USER_RINGBUF, MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER, MapType.ARENA]);
const ZERO_VALUE_TYPES = new Set<number>([MapType.RINGBUF, MapType.USER_RINGBUF, MapType.ARENA]);

export class BpfMap {
  private closed = false;
  private mapping: MappedMemory | null = null;
  /** The kernel has no lookup-and-delete for this map (take() falls back to lookup + delete). */
  private noTake = false;
  private constructor(readonly fd: number, readonly spec: MapSpec) {}

  static create(spec: MapSpec): BpfMap {
    // Ring buffers take no key or value size, queues/stacks/bloom filters no key: the kernel says so.
    const zeroKey = ZERO_KEY_TYPES.has(spec.type), zeroValue = ZERO_VALUE_TYPES.has(spec.type);
    for (const [what, v, zeroOk] of [['keySize', spec.keySize, zeroKey], ['valueSize', spec.valueSize, zeroValue], ['maxEntries', spec.maxEntries, false]] as const) {
      if (!Number.isInteger(v) || v < 0 || (v === 0 && !zeroOk)) throw new RangeError(`map "${spec.name}": ${what} must be a positive integer, got ${v}`);
    }
    if (spec.initial && spec.initial.length > spec.valueSize) {
      throw new RangeError(`map "${spec.name}": initial value is ${spec.initial.length} bytes, more than the value size ${spec.valueSize}`);
    }
    let innerMapFd: number | undefined;
    if (spec.inner) innerMapFd = BpfMap.create({ ...spec.inner, initial: undefined, freeze: false }).fd;
    let fd: number;
    try {
      fd = bpf.mapCreate({
        type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries,
        flags: spec.flags ?? 0, name: spec.name, innerMapFd,
      });
    } finally {
      // The inner map only gave its shape; the kernel keeps none of it.
      if (innerMapFd !== undefined) bpf.closeFd(innerMapFd);
    }
    const map = new BpfMap(fd, spec);
    try {
      if (spec.initial) {
        const value = Buffer.alloc(spec.valueSize);
        value.set(spec.initial);
        map.update(Buffer.alloc(spec.keySize), value);
      }
      if (spec.freeze) bpf.mapFreeze(fd);
    } catch (e) {
      map.close();
      throw e;
    }
    return map;
  }

  get name(): string { return this.spec.name; }
  get isPerCpu(): boolean { return bpf.isPerCpuMapType(this.spec.type); }
  /** Bytes of one value as lookups see it (per-CPU: all CPUs' slots). */
  get valueBytes(): number { return bpf.valueBytes(this.spec.type, this.spec.valueSize); }

  /** A typed view; for per-CPU maps use typedPerCpu. */
  typed<K, V>(key: Codec<K>, value: Codec<V>): TypedMap<K, V> {
    if (this.isPerCpu) {
      throw new TypeError(`map "${this.name}" is per-CPU: use typedPerCpu(key, value), whose values are arrays (one per possible CPU)`);
    }
    this.checkCodec('key', key.size, this.spec.keySize);
    this.checkCodec('value', value.size, this.spec.valueSize);
    return new TypedMap(this, key, value);
  }

  /** A typed view of a per-CPU map: `value` describes one CPU's element; values are arrays. */
  typedPerCpu<K, V>(key: Codec<K>, value: Codec<V>): TypedMap<K, V[]> {
    if (!this.isPerCpu) throw new TypeError(`map "${this.name}" is not per-CPU: use typed(key, value)`);
    this.checkCodec('key', key.size, this.spec.keySize);
    this.checkCodec('value', value.size, this.spec.valueSize);
    return new TypedMap(this, key, perCpu(value, possibleCpuCount()));
  }

  private checkCodec(what: string, given: number, expected: number): void {
    if (given !== expected) {
      throw new RangeError(`map "${this.name}": ${what} codec is ${given} bytes, but the map's ${what} size is ${expected}`);
    }
  }

  // Raw access by bytes.
  lookup(key: Buffer): Buffer | undefined {
    const out = Buffer.alloc(this.valueBytes);
    return bpf.mapLookupElem(this.fd, key, out) ? out : undefined;
  }
  update(key: Buffer, value: Buffer, flags: number = bpf.UpdateFlag.ANY): void { bpf.mapUpdateElem(this.fd, key, value, flags); }
  remove(key: Buffer): boolean { return bpf.mapDeleteElem(this.fd, key); }
  /** The value, and the entry removed in the same step (hash maps); undefined when absent. */
  lookupAndDelete(key: Buffer): Buffer | undefined {
    const out = Buffer.alloc(this.valueBytes);
    return bpf.mapLookupAndDeleteElem(this.fd, key, out) ? out : undefined;
  }

  /** Every key, by get_next_key. */
  *rawKeys(): Generator<Buffer> {
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.spec.keySize);
      if (!bpf.mapGetNextKey(this.fd, prev, next)) return;
      yield next;
      prev = next;
    }
  }

  /** Every entry, read in batches (BPF_MAP_LOOKUP_BATCH, or get_next_key + lookup when unsupported). */
  rawEntries(opts: { batchSize?: number; forceFallback?: boolean } = {}): Array<[Buffer, Buffer]> {
    const ks = this.spec.keySize, vs = this.valueBytes;
    // Default batch: as many entries as fit in ~1 MiB of keys + values, at most 4096 (fewer syscalls).
    const fit = Math.floor((1 << 20) / (ks + vs));
    let count = Math.max(1, Math.min(opts.batchSize ?? Math.min(4096, fit), this.spec.maxEntries));
    const out: Array<[Buffer, Buffer]> = [];
    let inBatch: Buffer | null = null;
    const token = Buffer.alloc(Math.max(ks, 8));
    for (;;) {
      const keys = Buffer.alloc(count * ks), values = Buffer.alloc(count * vs);
      let r: { count: number; done: boolean };
      try {
        r = bpf.mapLookupBatch(this.fd, { inBatch, outBatch: token, keys, values, count, forceFallback: opts.forceFallback });
      } catch (e) {
        // A hash bucket bigger than the batch: retry the same step with more room.
        if (e instanceof Error && (e as { code?: string }).code === 'ENOSPC' && count < this.spec.maxEntries) { count *= 2; continue; }
        throw e;
      }
      for (let i = 0; i < r.count; i++) {
        out.push([keys.subarray(i * ks, (i + 1) * ks), values.subarray(i * vs, (i + 1) * vs)]);
      }
      if (r.done) return out;
      inBatch = Buffer.from(token);
    }
  }

  /**
   * The value of `key`, removed from the map (undefined: absent). One command where the kernel has it
   * for this map type (lookup-and-delete), else a lookup then a delete: the caller must then know that
   * nothing writes the entry meanwhile.
   */
  take(key: Buffer): Buffer | undefined {
    const out = Buffer.alloc(this.valueBytes);
    if (!this.noTake) {
      const r = bpf.mapLookupAndDeleteElem(this.fd, key, out);
      if (r !== undefined) return r ? out : undefined;
      this.noTake = true;
    }
    if (!bpf.mapLookupElem(this.fd, key, out)) return undefined;
    bpf.mapDeleteElem(this.fd, key);
    return out;
  }

  /**
   * Every entry, removed from the map as it is read (BPF_MAP_LOOKUP_AND_DELETE_BATCH: each entry is
   * taken whole, so a concurrent update is either in what is returned or left in the map). Where the
   * kernel lacks the command: read, then delete the keys read (the caller must know nothing writes).
   */
  takeEntries(): Array<[Buffer, Buffer]> {
    const ks = this.spec.keySize, vs = this.valueBytes;
    const count = Math.max(1, Math.min(4096, Math.floor((1 << 20) / (ks + vs)), this.spec.maxEntries));
    const out: Array<[Buffer, Buffer]> = [];
    let inBatch: Buffer | null = null;
    const token = Buffer.alloc(Math.max(ks, 8));
    for (let room = count; ;) {
      // Only the first r.count entries are read, all of them written by the kernel: no need to zero.
      const keys = Buffer.allocUnsafe(room * ks), values = Buffer.allocUnsafe(room * vs);
      let r: { count: number; done: boolean } | undefined;
      try {
        r = bpf.mapLookupAndDeleteBatch(this.fd, { inBatch, outBatch: token, keys, values, count: room });
      } catch (e) {
        if (e instanceof Error && (e as { code?: string }).code === 'ENOSPC' && room < this.spec.maxEntries) { room *= 2; continue; }
        throw e;
      }
      if (r === undefined) break;
      for (let i = 0; i < r.count; i++) out.push([keys.subarray(i * ks, (i + 1) * ks), values.subarray(i * vs, (i + 1) * vs)]);
      if (r.done) return out;
      inBatch = Buffer.from(token);
    }
    for (const [k, v] of this.rawEntries()) {
      bpf.mapDeleteElem(this.fd, k);
      out.push([k, v]);
    }
    return out;
  }

  /**
   * The values of an array map created with BPF_F_MMAPABLE, as a live read-only view (value i at
   * i * round_up(valueSize, 8)). Reading it costs no syscall, whatever the map's size.
   */
  mmap(): Buffer {
    if (this.mapping) return this.mapping.buf;
    if (this.spec.type !== MapType.ARRAY || !((this.spec.flags ?? 0) & BPF_F_MMAPABLE)) {
      throw new TypeError(`map "${this.name}" cannot be mapped: only array maps created with BPF_F_MMAPABLE can`);
    }
    const bytes = this.spec.maxEntries * Math.ceil(this.spec.valueSize / 8) * 8;
    const page = 4096;
    this.mapping = MappedMemory.map(this.fd, Math.ceil(bytes / page) * page);
    return this.mapping.buf.subarray(0, bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mapping?.unmap();
    this.mapping = null;
    bpf.closeFd(this.fd);
  }
}

export class TypedMap<K, V> {
  private readonly kbuf: Buffer;
  private readonly vbuf: Buffer;
  constructor(readonly map: BpfMap, readonly key: Codec<K>, readonly value: Codec<V>) {
    this.kbuf = Buffer.alloc(key.size);
    this.vbuf = Buffer.alloc(value.size);
  }

  get(k: K): V | undefined {
    this.key.encode(k, this.kbuf);
    return bpf.mapLookupElem(this.map.fd, this.kbuf, this.vbuf) ? this.value.decode(this.vbuf) : undefined;
  }
  set(k: K, v: V, flags: number = bpf.UpdateFlag.ANY): void {
    this.key.encode(k, this.kbuf);
    this.vbuf.fill(0);
    this.value.encode(v, this.vbuf);
    bpf.mapUpdateElem(this.map.fd, this.kbuf, this.vbuf, flags);
  }
  delete(k: K): boolean {
    this.key.encode(k, this.kbuf);
    return bpf.mapDeleteElem(this.map.fd, this.kbuf);
  }
  *keys(): Generator<K> {
    for (const k of this.map.rawKeys()) yield this.key.decode(k);
  }
  entries(opts: { batchSize?: number; forceFallback?: boolean } = {}): Array<[K, V]> {
    return this.map.rawEntries(opts).map(([k, v]) => [this.key.decode(k), this.value.decode(v)]);
  }
}
