// A minimal WebAssembly binary writer: LEB128 numbers, the opcodes we emit, and module sections.
// Written against the WebAssembly core spec (binary format, MVP + sign-extension ops), nothing more.

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export type ValType = typeof I32 | typeof I64;

/** Block type "no result". */
export const VOID = 0x40;

/** The opcodes the BPF compiler uses. */
export const Op = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, br_table: 0x0e, return: 0x0f, call: 0x10, drop: 0x1a, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22, global_get: 0x23, global_set: 0x24,
  i32_load: 0x28, i64_load: 0x29,
  i32_load8_u: 0x2d, i32_load16_u: 0x2f,
  i64_load8_s: 0x30, i64_load8_u: 0x31, i64_load16_s: 0x32, i64_load16_u: 0x33, i64_load32_s: 0x34, i64_load32_u: 0x35,
  i32_store: 0x36, i64_store: 0x37, i32_store8: 0x3a, i32_store16: 0x3b,
  i64_store8: 0x3c, i64_store16: 0x3d, i64_store32: 0x3e,
  i32_const: 0x41, i64_const: 0x42,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a, i32_gt_u: 0x4b,
  i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  i64_eqz: 0x50, i64_eq: 0x51, i64_ne: 0x52, i64_lt_s: 0x53, i64_lt_u: 0x54, i64_gt_s: 0x55, i64_gt_u: 0x56,
  i64_le_s: 0x57, i64_le_u: 0x58, i64_ge_s: 0x59, i64_ge_u: 0x5a,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d, i32_div_u: 0x6e, i32_rem_s: 0x6f, i32_rem_u: 0x70,
  i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73, i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76,
  i32_rotl: 0x77, i32_rotr: 0x78,
  i64_add: 0x7c, i64_sub: 0x7d, i64_mul: 0x7e, i64_div_s: 0x7f, i64_div_u: 0x80, i64_rem_s: 0x81, i64_rem_u: 0x82,
  i64_and: 0x83, i64_or: 0x84, i64_xor: 0x85, i64_shl: 0x86, i64_shr_s: 0x87, i64_shr_u: 0x88,
  i64_rotl: 0x89, i64_rotr: 0x8a,
  i32_wrap_i64: 0xa7, i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad,
  i32_extend8_s: 0xc0, i32_extend16_s: 0xc1, i64_extend8_s: 0xc2, i64_extend16_s: 0xc3, i64_extend32_s: 0xc4,
} as const;

/** A growable byte buffer with the primitive encodings of the binary format. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): this {
    this.ensure(1);
    this.buf[this.length++] = b & 0xff;
    return this;
  }

  bytes(data: ArrayLike<number>): this {
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /** Unsigned LEB128 of a non-negative integer below 2^53. */
  u32(n: number): this {
    if (n < 0 || !Number.isInteger(n)) throw new RangeError(`u32 LEB128 of ${n}`);
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n !== 0) b |= 0x80;
      this.byte(b);
    } while (n !== 0);
    return this;
  }

  /** Signed LEB128 of a 32-bit integer. */
  s32(n: number): this {
    n |= 0;
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      const done = (n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  /** Signed LEB128 of a 64-bit integer (any bigint; taken modulo 2^64 as signed). */
  s64(v: bigint): this {
    let n = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(n & 0x7fn);
      n >>= 7n;
      const done = (n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  name(s: string): this {
    const utf8 = new TextEncoder().encode(s);
    return this.u32(utf8.length).bytes(utf8);
  }

  /** Appends another writer's contents prefixed by their byte length (sections, function bodies). */
  sized(inner: ByteWriter): this {
    return this.u32(inner.length).bytes(inner.view());
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

export interface ImportFunc {
  module: string;
  name: string;
  type: number;
}

export interface Global {
  type: ValType;
  mutable: boolean;
  init: number;
  export?: string;
}

export interface FuncBody {
  type: number;
  /** locals beyond the parameters, in order */
  locals: ValType[];
  /** the instruction bytes, including the final `end` */
  code: ByteWriter;
  export?: string;
}

export interface ModuleParts {
  types: FuncType[];
  imports: ImportFunc[];
  /** imported linear memory: [module, name, minimum pages] */
  memory: [string, string, number];
  globals: Global[];
  funcs: FuncBody[];
}

function section(out: ByteWriter, id: number, body: ByteWriter): void {
  out.byte(id).sized(body);
}

/** Assembles a module: types, imports (functions, then the memory), functions, globals, exports, code. */
export function buildModule(m: ModuleParts): Uint8Array {
  const out = new ByteWriter().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  const types = new ByteWriter().u32(m.types.length);
  for (const t of m.types) {
    types.byte(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
  }
  section(out, 1, types);

  const imports = new ByteWriter().u32(m.imports.length + 1);
  for (const imp of m.imports) imports.name(imp.module).name(imp.name).byte(0x00).u32(imp.type);
  imports.name(m.memory[0]).name(m.memory[1]).byte(0x02).byte(0x00).u32(m.memory[2]);
  section(out, 2, imports);

  const funcs = new ByteWriter().u32(m.funcs.length);
  for (const f of m.funcs) funcs.u32(f.type);
  section(out, 3, funcs);

  const globals = new ByteWriter().u32(m.globals.length);
  for (const g of m.globals) {
    globals.byte(g.type).byte(g.mutable ? 1 : 0);
    if (g.type === I32) globals.byte(Op.i32_const).s32(g.init);
    else globals.byte(Op.i64_const).s64(BigInt(g.init));
    globals.byte(Op.end);
  }
  section(out, 6, globals);

  const exported: Array<[string, number, number]> = [];
  m.funcs.forEach((f, i) => f.export && exported.push([f.export, 0x00, m.imports.length + i]));
  m.globals.forEach((g, i) => g.export && exported.push([g.export, 0x03, i]));
  const exports = new ByteWriter().u32(exported.length);
  for (const [name, kind, index] of exported) exports.name(name).byte(kind).u32(index);
  section(out, 7, exports);

  const code = new ByteWriter().u32(m.funcs.length);
  for (const f of m.funcs) {
    const body = new ByteWriter();
    // Run-length groups of equal local types.
    const groups: Array<[number, ValType]> = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    body.u32(groups.length);
    for (const [n, t] of groups) body.u32(n).byte(t);
    body.bytes(f.code.view());
    code.sized(body);
  }
  section(out, 10, code);
  return out.view().slice();
}
