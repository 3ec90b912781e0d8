// DSL constructors for loads, stores, atomics and 64-bit immediates.
import { AtomicOp, Class, LD_IMM64, Mode, Pseudo, Size } from './opcodes.js';
import { insn, reg, rn, tn, type Instruction, type Target } from './insn.js';

type SizeName = 'b' | 'h' | 'w' | 'dw';
const SIZES: Record<SizeName, number> = { b: Size.B, h: Size.H, w: Size.W, dw: Size.DW };

/** Builds { b, h, w, dw } (or a subset) from one constructor taking the size field. */
function sized<K extends SizeName, F>(names: readonly K[], make: (size: number, name: K) => F): Readonly<Record<K, F>> {
  const out = {} as Record<K, F>;
  for (const n of names) out[n] = make(SIZES[n], n);
  return Object.freeze(out);
}

const ALL = ['b', 'h', 'w', 'dw'] as const;
const NARROW = ['b', 'h', 'w'] as const;

type LoadFn = (dst: number, src: number, off: number) => Instruction;
type StoreImmFn = (dst: number, off: number, imm: number) => Instruction;
type StoreRegFn = (dst: number, off: number, src: number) => Instruction;

function load(mode: number, prefix: string): (size: number, n: string) => LoadFn {
  return (size, n) => (dst, src, off) => {
    const fn = `${prefix}.${n}`;
    return insn({ op: Class.LDX | mode | size, dst: reg('dst', dst, fn), src: reg('src', src, fn), off, dsl: `${fn}(${rn(dst)}, ${rn(src)}, ${off})` });
  };
}

/** dst = *(uN *)(src + off) */
export const ldx = sized(ALL, load(Mode.MEM, 'ldx'));
/** dst = *(sN *)(src + off), sign-extended (Linux 6.6+) */
export const ldxs = sized(NARROW, load(Mode.MEMSX, 'ldxs'));

/** *(uN *)(dst + off) = imm */
export const st = sized(ALL, (size, n): StoreImmFn => (dst, off, imm) =>
  insn({ op: Class.ST | Mode.MEM | size, dst: reg('dst', dst, `st.${n}`), off, imm, dsl: `st.${n}(${rn(dst)}, ${off}, ${imm})` }));

/** *(uN *)(dst + off) = src */
export const stx = sized(ALL, (size, n): StoreRegFn => (dst, off, src) =>
  insn({
    op: Class.STX | Mode.MEM | size,
    dst: reg('dst', dst, `stx.${n}`),
    src: reg('src', src, `stx.${n}`),
    off,
    dsl: `stx.${n}(${rn(dst)}, ${off}, ${rn(src)})`,
  }));

/** Legacy packet load r0 = *(uN *)skb[imm] (socket filters). */
export const ldabs = sized(NARROW, (size, n) => (imm: number): Instruction =>
  insn({ op: Class.LD | Mode.ABS | size, imm, dsl: `ldabs.${n}(${imm})` }));
/** Legacy packet load r0 = *(uN *)skb[src + imm]. */
export const ldind = sized(NARROW, (size, n) => (src: number, imm: number): Instruction =>
  insn({ op: Class.LD | Mode.IND | size, src: reg('src', src, `ldind.${n}`), imm, dsl: `ldind.${n}(${rn(src)}, ${imm})` }));

function atomicOp(name: string, op: number): Readonly<Record<'w' | 'dw', StoreRegFn>> {
  return sized(['w', 'dw'] as const, (size, n): StoreRegFn => (dst, off, src) => {
    const fn = `atomic.${name}.${n}`;
    return insn({ op: Class.STX | Mode.ATOMIC | size, dst: reg('dst', dst, fn), src: reg('src', src, fn), off, imm: op, dsl: `${fn}(${rn(dst)}, ${off}, ${rn(src)})` });
  });
}

/** Atomic read-modify-write on *(dst + off) with src; fetch forms return the old value in src. */
export const atomic = Object.freeze({
  add: atomicOp('add', AtomicOp.ADD),
  or: atomicOp('or', AtomicOp.OR),
  and: atomicOp('and', AtomicOp.AND),
  xor: atomicOp('xor', AtomicOp.XOR),
  fetchAdd: atomicOp('fetchAdd', AtomicOp.ADD | AtomicOp.FETCH),
  fetchOr: atomicOp('fetchOr', AtomicOp.OR | AtomicOp.FETCH),
  fetchAnd: atomicOp('fetchAnd', AtomicOp.AND | AtomicOp.FETCH),
  fetchXor: atomicOp('fetchXor', AtomicOp.XOR | AtomicOp.FETCH),
  /** src = xchg(*(dst + off), src) */
  xchg: atomicOp('xchg', AtomicOp.XCHG),
  /** r0 = cmpxchg(*(dst + off), r0, src): stores src if the old value equals r0 */
  cmpxchg: atomicOp('cmpxchg', AtomicOp.CMPXCHG),
  /** dst = load_acquire(*(src + off)) (Linux 6.15+) */
  loadAcquire: sized(ALL, (size, n): LoadFn => (dst, src, off) => {
    const fn = `atomic.loadAcquire.${n}`;
    return insn({ op: Class.STX | Mode.ATOMIC | size, dst: reg('dst', dst, fn), src: reg('src', src, fn), off, imm: AtomicOp.LOAD_ACQ, dsl: `${fn}(${rn(dst)}, ${rn(src)}, ${off})` });
  }),
  /** store_release(*(dst + off), src) (Linux 6.15+) */
  storeRelease: sized(ALL, (size, n): StoreRegFn => (dst, off, src) => {
    const fn = `atomic.storeRelease.${n}`;
    return insn({ op: Class.STX | Mode.ATOMIC | size, dst: reg('dst', dst, fn), src: reg('src', src, fn), off, imm: AtomicOp.STORE_REL, dsl: `${fn}(${rn(dst)}, ${off}, ${rn(src)})` });
  }),
});

function toBig(fn: string, value: bigint | number): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) throw new Error(`${fn}: value must be a bigint or a safe integer, got ${String(value)}`);
  return BigInt(value);
}

const hex = (v: bigint): string => (v < 0n ? `-0x${(-v).toString(16)}n` : `0x${v.toString(16)}n`);

/** Low 32 bits of a 64-bit value as a signed imm (values outside s64/u64 are reported by assemble). */
export const lo32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

/** dst = value (two slots). */
export function ldImm64(dst: number, value: bigint | number): Instruction {
  const v = toBig('ldImm64', value);
  return insn({ op: LD_IMM64, dst: reg('dst', dst, 'ldImm64'), imm: lo32(v), imm64: v, dsl: `ldImm64(${rn(dst)}, ${hex(v)})` });
}

/** ld_imm64 with a pseudo src (map id/fd, map index, BTF id): the raw form, for disassembled code. */
export function ldImm64Pseudo(dst: number, src: number, value: bigint | number): Instruction {
  const v = toBig('ldImm64Pseudo', value);
  if (!Number.isInteger(src) || src < 0 || src > 15) throw new Error(`ldImm64Pseudo: src must be 0..15, got ${String(src)}`);
  return insn({ op: LD_IMM64, dst: reg('dst', dst, 'ldImm64Pseudo'), src, imm: lo32(v), imm64: v, dsl: `ldImm64Pseudo(${rn(dst)}, ${src}, ${hex(v)})` });
}

function mapName(fn: string, name: string): string {
  if (typeof name !== 'string' || name === '') throw new Error(`${fn}: map name must be a non-empty string, got ${String(name)}`);
  return name;
}

/** dst = pointer to the map named `map` (its fd is patched in at load time). */
export function ldMapFd(dst: number, map: string): Instruction {
  return insn({
    op: LD_IMM64,
    dst: reg('dst', dst, 'ldMapFd'),
    src: Pseudo.MAP_FD,
    imm64: 0n,
    mapRef: Object.freeze({ map: mapName('ldMapFd', map), kind: 'fd' as const }),
    dsl: `ldMapFd(${rn(dst)}, '${map}')`,
  });
}

/** dst = address of byte `offset` of the value of the (single-element array) map named `map`. */
export function ldMapValue(dst: number, map: string, offset = 0): Instruction {
  if (!Number.isInteger(offset) || offset < 0 || offset > 0xffffffff) {
    throw new Error(`ldMapValue: offset must be an integer 0..2^32-1, got ${String(offset)}`);
  }
  // The value offset lives in the second slot's imm, as the kernel expects; the loader patches only the fd.
  return insn({
    op: LD_IMM64,
    dst: reg('dst', dst, 'ldMapValue'),
    src: Pseudo.MAP_VALUE,
    imm64: BigInt(offset) << 32n,
    mapRef: Object.freeze({ map: mapName('ldMapValue', map), kind: 'value' as const, offset }),
    dsl: `ldMapValue(${rn(dst)}, '${map}', ${offset})`,
  });
}

/** dst = address of the bpf-to-bpf function at `target` (for callbacks such as bpf_loop). */
export function ldFunc(dst: number, target: Target): Instruction {
  return insn({ op: LD_IMM64, dst: reg('dst', dst, 'ldFunc'), src: Pseudo.FUNC, imm64: 0n, target, dsl: `ldFunc(${rn(dst)}, ${tn(target)})` });
}
