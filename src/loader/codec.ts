// Fixed-size encoders between JS values and the bytes of map keys and values.
// A Codec's size is checked against the map's key/value size when a typed handle is made.

export interface Codec<T> {
  /** bytes per element */
  size: number;
  encode(v: T, buf: Buffer): void;
  decode(buf: Buffer): T;
}

export const u8: Codec<number> = { size: 1, encode: (v, b) => { b.writeUInt8(v, 0); }, decode: (b) => b.readUInt8(0) };
export const u16: Codec<number> = { size: 2, encode: (v, b) => { b.writeUInt16LE(v, 0); }, decode: (b) => b.readUInt16LE(0) };
export const u32: Codec<number> = { size: 4, encode: (v, b) => { b.writeUInt32LE(v >>> 0, 0); }, decode: (b) => b.readUInt32LE(0) };
export const i32: Codec<number> = { size: 4, encode: (v, b) => { b.writeInt32LE(v | 0, 0); }, decode: (b) => b.readInt32LE(0) };
export const u64: Codec<bigint> = {
  size: 8,
  encode: (v, b) => { b.writeBigUInt64LE(BigInt.asUintN(64, v), 0); },
  decode: (b) => b.readBigUInt64LE(0),
};
/** u64 as a JS number, for counters that stay below 2^53. */
export const u64n: Codec<number> = {
  size: 8,
  encode: (v, b) => { b.writeBigUInt64LE(BigInt(v), 0); },
  decode: (b) => Number(b.readBigUInt64LE(0)),
};

/** Raw bytes of a fixed length. */
export function bytes(size: number): Codec<Buffer> {
  return {
    size,
    encode: (v, b) => {
      if (v.length !== size) throw new RangeError(`bytes codec: value is ${v.length} bytes, expected ${size}`);
      v.copy(b, 0);
    },
    decode: (b) => Buffer.from(b.subarray(0, size)),
  };
}

/** A C struct of consecutive u32 fields, in the order given: structOfU32(['pid', 'nr']). */
export function structOfU32<const N extends string>(names: readonly N[]): Codec<Record<N, number>> {
  return {
    size: 4 * names.length,
    encode: (v, b) => names.forEach((n, i) => {
      const x = v[n];
      if (typeof x !== 'number') throw new TypeError(`structOfU32: field "${n}" is missing`);
      b.writeUInt32LE(x >>> 0, 4 * i);
    }),
    decode: (b) => {
      const out = {} as Record<N, number>;
      names.forEach((n, i) => { out[n] = b.readUInt32LE(4 * i); });
      return out;
    },
  };
}

/** A C struct of u64 fields (bigint), in order. */
export function structOfU64<const N extends string>(names: readonly N[]): Codec<Record<N, bigint>> {
  return {
    size: 8 * names.length,
    encode: (v, b) => names.forEach((n, i) => {
      const x = v[n];
      if (typeof x !== 'bigint') throw new TypeError(`structOfU64: field "${n}" is missing`);
      b.writeBigUInt64LE(BigInt.asUintN(64, x), 8 * i);
    }),
    decode: (b) => {
      const out = {} as Record<N, bigint>;
      names.forEach((n, i) => { out[n] = b.readBigUInt64LE(8 * i); });
      return out;
    },
  };
}

/** Per-CPU values: one `inner` per CPU, each in an 8-byte-aligned slot, as the kernel lays them out. */
export function perCpu<T>(inner: Codec<T>, cpus: number): Codec<T[]> {
  const stride = Math.ceil(inner.size / 8) * 8;
  return {
    size: stride * cpus,
    encode: (v, b) => {
      if (v.length !== cpus) throw new RangeError(`per-CPU value: got ${v.length} entries, expected one per possible CPU (${cpus})`);
      v.forEach((x, i) => inner.encode(x, b.subarray(i * stride, i * stride + inner.size)));
    },
    decode: (b) => {
      const out: T[] = [];
      for (let i = 0; i < cpus; i++) out.push(inner.decode(b.subarray(i * stride, i * stride + inner.size)));
      return out;
    },
  };
}
