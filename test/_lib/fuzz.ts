// A generator of random BPF programs that the kernel verifier accepts by construction, and a
// shrinker that reduces a failing program to a minimal one. Used for differential testing of the
// WASM engine against the kernel (the harness that talks to the kernel lives in bench/wasm-diff.ts,
// above this layer).
//
// Shape (raw_tracepoint, 4 u64 arguments as ctx):
//   prologue  r6 = ctx; every register r0..r9 initialised from ctx or a constant; fp-64..fp-8 written
//   body      random snippets: ALU/ALU32 (all ops), stack loads/stores (every size, sign-extending),
//             atomics on the stack, forward if/if-else blocks, counted loops, map helper calls
//   epilogue  r0..r9 and fp-64..fp-1 copied into the single value of the array map "out"
// Validity rules kept: registers are written before read and re-initialised after calls (which
// clobber r1..r5); only scalars ever reach the stack; stack accesses are aligned and inside the
// initialised 64 bytes; jumps go forward except a loop's back edge, whose counter (r6..r9) the
// loop body never writes; division/shift immediates are the ones the verifier allows.
import {
  AluOp, Class, MapType, ProgType, Source, atomic, call, exit, ja, jne, jeq, label, ldImm64, ldMapFd, ldx, ldxs,
  mov64, st, stx, program, add64, and64, sub64, type Item, type Instruction, type MapSpec, type ProgramSpec,
} from '../../src/asm/index.js';
import { insn } from '../../src/asm/insn.js';

export const FUZZ_MAPS: MapSpec[] = [
  { name: 'out', type: MapType.ARRAY, keySize: 4, valueSize: 144, maxEntries: 1 },
  { name: 'arr', type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 4 },
  { name: 'hash', type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: 4 },
];

export interface FuzzCase {
  seed: number;
  prologue: Item[];
  body: Item[];
  epilogue: Item[];
  /** raw_tracepoint arguments */
  ctx: bigint[];
}

export interface FuzzOptions {
  /** snippets in the body (default 12..40, chosen by the seed) */
  snippets?: number;
}

/** mulberry32: small, seedable, good enough for test generation. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [
  0n, 1n, 2n, 7n, 31n, 32n, 63n, 64n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n,
  0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffff9n,
];

const BIN_OPS = [AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.DIV, AluOp.OR, AluOp.AND, AluOp.LSH, AluOp.RSH, AluOp.MOD, AluOp.XOR, AluOp.MOV, AluOp.ARSH];
const JMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
const ATOMICS = ['add', 'or', 'and', 'xor', 'fetchAdd', 'fetchOr', 'fetchAnd', 'fetchXor', 'xchg', 'cmpxchg'] as const;

class Gen {
  private labels = 0;
  private readonly counters = new Set<number>();
  constructor(readonly r: () => number) {}

  int(n: number): number { return Math.floor(this.r() * n); }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick from an empty list');
    return xs[this.int(xs.length)]!; // r() is in [0, 1)
  }
  chance(p: number): boolean { return this.r() < p; }
  label(): string { return `L${this.labels++}`; }

  u64(): bigint {
    if (this.chance(0.6)) {
      const v = this.pick(INTERESTING);
      return this.chance(0.2) ? (v + BigInt(this.int(5)) - 2n) & 0xffffffffffffffffn : v;
    }
    const hi = BigInt(this.int(2 ** 32)), lo = BigInt(this.int(2 ** 32));
    return this.chance(0.5) ? lo : (hi << 32n) | lo;
  }
  imm(): number { return Number(BigInt.asIntN(32, this.u64())); }
  /** A register the current code may write (loop counters excluded). */
  dst(): number {
    for (;;) {
      const r = this.int(10);
      if (!this.counters.has(r)) return r;
    }
  }
  src(): number { return this.int(10); }

  alu(): Item {
    const is64 = this.chance(0.6);
    const cls = is64 ? Class.ALU64 : Class.ALU;
    const dst = this.dst();
    const k = this.int(20);
    if (k === 0) return insn({ op: cls | AluOp.NEG, dst, dsl: '' });
    if (k === 1) {
      const bits = this.pick([16, 32, 64]);
      const kind = this.int(3); // le, be, bswap
      const op = kind === 2 ? Class.ALU64 | AluOp.END : Class.ALU | AluOp.END | (kind === 1 ? Source.X : Source.K);
      return insn({ op, dst, imm: bits, dsl: '' });
    }
    if (k === 2) {
      const off = is64 ? this.pick([8, 16, 32]) : this.pick([8, 16]);
      return insn({ op: cls | AluOp.MOV | Source.X, dst, src: this.src(), off, dsl: '' });
    }
    const op = this.pick(BIN_OPS);
    const signed = (op === AluOp.DIV || op === AluOp.MOD) && this.chance(0.5) ? 1 : 0;
    if (this.chance(0.5)) return insn({ op: cls | op | Source.X, dst, src: this.src(), off: signed, dsl: '' });
    let imm = this.imm();
    const width = is64 ? 64 : 32;
    if (op === AluOp.LSH || op === AluOp.RSH || op === AluOp.ARSH) imm = this.int(width);
    if ((op === AluOp.DIV || op === AluOp.MOD) && imm === 0) imm = 3;
    return insn({ op: cls | op | Source.K, dst, imm, off: signed, dsl: '' });
  }

  setConst(dst: number): Item {
    const v = this.u64();
    return v <= 0x7fffffffn ? mov64.imm(dst, Number(v)) : ldImm64(dst, v);
  }

  stack(): Item[] {
    const size = this.pick(['b', 'h', 'w', 'dw'] as const);
    const bytes = { b: 1, h: 2, w: 4, dw: 8 }[size];
    const off = -64 + bytes * this.int(64 / bytes);
    const k = this.int(4);
    if (k === 0) return [stx[size](10, off, this.src())];
    if (k === 1) return [st[size](10, off, this.imm())];
    if (k === 2 || size === 'dw') return [ldx[size](this.dst(), 10, off)];
    return [ldxs[size](this.dst(), 10, off)];
  }

  atomic(): Item[] {
    const size = this.pick(['w', 'dw'] as const);
    const bytes = size === 'w' ? 4 : 8;
    const off = -64 + bytes * this.int(64 / bytes);
    const name = this.pick(ATOMICS);
    const modifiesSrc = name.startsWith('fetch') || name === 'xchg';
    const src = modifiesSrc ? this.dst() : this.src();
    return [atomic[name][size](10, off, src)];
  }

  cond(target: string): Item {
    const is32 = this.chance(0.3);
    const op = this.pick(JMP_OPS);
    const cls = is32 ? Class.JMP32 : Class.JMP;
    const base = { dst: this.src(), target, dsl: '' };
    if (this.chance(0.5)) return insn({ op: cls | op | Source.X, src: this.src(), ...base });
    return insn({ op: cls | op | Source.K, imm: this.imm(), ...base });
  }

  /** r1..r5 are unreadable after a call until written again. */
  reinitArgs(): Item[] {
    return [1, 2, 3, 4, 5].map((r) => this.setConst(r));
  }

  keyInto(reg: number, mask: number, off: number, size: 'w' | 'dw'): Item[] {
    return [mov64.reg(1, reg), and64.imm(1, mask), stx[size](10, off, 1)];
  }

  helper(): Item[] {
    const out: Item[] = [];
    const k = this.int(5);
    const ptrUse = (valueSize: number): Item[] => {
      const hit = this.label(), end = this.label();
      const off = 8 * this.int(valueSize / 8);
      const reg = 6 + this.int(4);
      const use: Item[] = [];
      const u = this.int(4);
      if (u === 0 && !this.counters.has(reg)) use.push(ldx.dw(reg, 0, off));
      else if (u === 1) use.push(stx.dw(0, off, reg));
      else if (u === 2) use.push(atomic.add.dw(0, off, reg));
      else if (!this.counters.has(reg)) use.push(atomic.fetchAdd.dw(0, off, reg));
      else use.push(st.dw(0, off, this.imm()));
      return [jne.imm(0, 0, hit), mov64.imm(0, 0x1111), ja(end), label(hit), ...use, mov64.imm(0, 0x2222), label(end)];
    };
    if (k === 0) {
      out.push(...this.keyInto(this.src(), 7, -4, 'w'), ldMapFd(1, 'arr'), mov64.reg(2, 10), add64.imm(2, -4), call('map_lookup_elem'));
      out.push(...ptrUse(16));
    } else if (k === 1) {
      out.push(...this.keyInto(this.src(), 7, -16, 'dw'), ldMapFd(1, 'hash'), mov64.reg(2, 10), add64.imm(2, -16), call('map_lookup_elem'));
      out.push(...ptrUse(8));
    } else if (k === 2) {
      out.push(...this.keyInto(this.src(), 7, -16, 'dw'), stx.dw(10, -24, this.src()), ldMapFd(1, 'hash'));
      out.push(mov64.reg(2, 10), add64.imm(2, -16), mov64.reg(3, 10), add64.imm(3, -24), mov64.imm(4, this.pick([0, 0, 1, 2])));
      out.push(call('map_update_elem'));
    } else if (k === 3) {
      out.push(...this.keyInto(this.src(), 7, -16, 'dw'), ldMapFd(1, 'hash'), mov64.reg(2, 10), add64.imm(2, -16), call('map_delete_elem'));
    } else {
      out.push(call('get_smp_processor_id'));
    }
    return [...out, ...this.reinitArgs()];
  }

  snippet(depth: number, inLoop: boolean): Item[] {
    const x = this.r();
    if (x < 0.4) return [this.alu()];
    if (x < 0.5) return [this.setConst(this.dst())];
    if (x < 0.62) return this.stack();
    if (x < 0.7) return this.atomic();
    if (x < 0.8 && depth < 3) {
      const skip = this.label();
      const then = this.block(1 + this.int(3), depth + 1, inLoop);
      if (this.chance(0.6)) return [this.cond(skip), ...then, label(skip)];
      const end = this.label();
      return [this.cond(skip), ...then, ja(end), label(skip), ...this.block(1 + this.int(3), depth + 1, inLoop), label(end)];
    }
    if (x < 0.84 && !inLoop && depth < 2) {
      const free = [6, 7, 8, 9].filter((r) => !this.counters.has(r));
      const c = this.pick(free);
      const top = this.label();
      this.counters.add(c);
      const body = this.block(1 + this.int(3), depth + 1, true);
      this.counters.delete(c);
      return [mov64.imm(c, 1 + this.int(4)), label(top), ...body, sub64.imm(c, 1), jne.imm(c, 0, top)];
    }
    if (x < 0.95 && !inLoop) return this.helper();
    return [this.alu()];
  }

  block(n: number, depth: number, inLoop: boolean): Item[] {
    const out: Item[] = [];
    for (let i = 0; i < n; i++) out.push(...this.snippet(depth, inLoop));
    return out;
  }
}

export function generate(seed: number, opts: FuzzOptions = {}): FuzzCase {
  const g = new Gen(rng(seed));
  const ctx = [g.u64(), g.u64(), g.u64(), g.u64()];
  const prologue: Item[] = [mov64.reg(6, 1)];
  for (const r of [0, 1, 2, 3, 4, 5, 7, 8, 9, 6]) {
    prologue.push(r !== 6 && g.chance(0.5) ? ldx.dw(r, 6, 8 * g.int(4)) : g.setConst(r));
  }
  for (let i = 1; i <= 8; i++) prologue.push(stx.dw(10, -8 * i, g.src()));
  const body = g.block(opts.snippets ?? 12 + g.int(29), 0, false);
  return { seed, prologue, body, epilogue: epilogue(), ctx };
}

/** Spill r0..r9 to fp-144..fp-72, then copy them and fp-64..fp-1 into out[0]. */
function epilogue(): Item[] {
  const e: Item[] = [];
  for (let r = 0; r <= 9; r++) e.push(stx.dw(10, -144 + 8 * r, r));
  e.push(st.w(10, -152, 0), ldMapFd(1, 'out'), mov64.reg(2, 10), add64.imm(2, -152), call('map_lookup_elem'));
  e.push(jeq.imm(0, 0, 'epilogue_end'));
  for (let i = 0; i < 18; i++) e.push(ldx.dw(1, 10, -144 + 8 * i), stx.dw(0, 8 * i, 1));
  e.push(label('epilogue_end'), mov64.imm(0, 0), exit());
  return e;
}

export function caseItems(c: Pick<FuzzCase, 'prologue' | 'body' | 'epilogue'>): Item[] {
  return [...c.prologue, ...c.body, ...c.epilogue];
}

export function caseSpec(c: Pick<FuzzCase, 'prologue' | 'body' | 'epilogue'>): ProgramSpec {
  return program({ name: 'wasm_fuzz', type: ProgType.RAW_TRACEPOINT, items: caseItems(c), maps: FUZZ_MAPS });
}

/**
 * Delta-debugging over the body: removes ever smaller chunks of items while `fails` still holds.
 * `fails` must return false for programs that no longer assemble or load.
 */
export function shrink(c: FuzzCase, fails: (c: FuzzCase) => boolean, maxTries = 2000): FuzzCase {
  let body = c.body;
  let tries = 0;
  for (let chunk = Math.max(1, body.length >> 1); chunk >= 1 && tries < maxTries; chunk = chunk === 1 ? 0 : chunk >> 1) {
    for (let at = 0; at < body.length && tries < maxTries; ) {
      const candidate = [...body.slice(0, at), ...body.slice(at + chunk)];
      tries++;
      if (fails({ ...c, body: candidate })) body = candidate;
      else at += chunk;
    }
  }
  return { ...c, body };
}

export type { Instruction };
