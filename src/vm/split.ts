// The split layout of a large subprogram. V8 refuses a wasm function body above 7 654 321 bytes
// (about 92 k checked loads), and compiles huge functions slowly, while the kernel accepts 1 M
// instructions. A subprogram longer than CompileOptions.maxFunctionInsns is therefore cut into
// chunks of consecutive basic blocks, each its own wasm function laid out like a small subprogram
// (nested blocks, a dispatch loop). Jumps inside a chunk stay plain branches; a jump into another
// chunk spills r0..r9 (and the may_goto count) to the frame's save area and returns
// (chunk << 16 | entry) to the subprogram's main function, which calls that chunk; exit returns -1.
// Only cross-chunk transfers pay; the main function keeps the one-function signature, so calls,
// bpf_loop callbacks and exports are unchanged.
import { Class, LD_IMM64 } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';
import { Op, VOID } from './encoder.js';
import { JCOND, jumpTarget, type Block, type Subprog } from './cfg.js';
import { Fn, L } from './emit.js';
import { FRAME_SIZE, Fault, MAX_FRAMES, SAVE_FRAME, SAVE_WASM, STACK_FAKE, STACK_WASM } from './layout.js';
import { G_ENTRY, G_STEPS, MAY_GOTO_LOOPS, emitInsn, type Ctx } from './lower.js';

/** Chunks per subprogram are addressed by the high half of an i32, entries by the low 16 bits. */
const ENTRY_BITS = 16;
export const MAX_CHUNK_INSNS = (1 << ENTRY_BITS) - 1;

/** Sets L.frame and L.r10 from the depth. */
export function framePrologue(f: Fn): void {
  f.get(L.depth).i32(FRAME_SIZE).op(Op.i32_mul).i32(STACK_WASM).op(Op.i32_add).set(L.frame);
  f.get(L.depth).op(Op.i64_extend_i32_u).i64(FRAME_SIZE).op(Op.i64_mul).i64(STACK_FAKE + BigInt(FRAME_SIZE)).op(Op.i64_add).set(L.r10);
}

/** Block entry: subtract its instructions from the budget; below zero, branch `toBudget` levels out to the fault. */
export function charge(f: Fn, count: number, toBudget: number): void {
  f.get(L.steps).i32(count).op(Op.i32_sub).tee(L.steps).i32(0).op(Op.i32_lt_s, Op.br_if).w.u32(toBudget);
}

/** Cuts blocks longer than `max` instructions (an ld_imm64 stays whole) and groups them into chunks. */
export function chunkBlocks(insns: readonly RawInsn[], blocks: readonly Block[], max: number): Block[][] {
  const pieces: Block[] = [];
  for (const b of blocks) {
    let start = b.start, count = 0;
    // Blocks lie inside insns and end after an ld_imm64's second slot (analyse).
    for (let i = b.start; i < b.end; i += insns[i]!.code === LD_IMM64 ? 2 : 1) {
      if (count === max) {
        pieces.push({ start, end: i, count });
        start = i;
        count = 0;
      }
      count++;
    }
    pieces.push({ start, end: b.end, count });
  }
  const chunks: Block[][] = [];
  let cur: Block[] = [], size = 0;
  for (const p of pieces) {
    if (size + p.count > max && cur.length) {
      chunks.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(p);
    size += p.count;
  }
  chunks.push(cur);
  return chunks;
}

const usesMayGoto = (insns: readonly RawInsn[], sp: Subprog): boolean => {
  for (let j = sp.start; j < sp.end; j++) if (insns[j]!.code === (Class.JMP | JCOND)) return true;
  return false;
};

/** The save-area address of the current depth into L.t32 (an i32 temporary, dead between blocks). */
const saveBase = (f: Fn): Fn => f.get(L.depth).i32(SAVE_FRAME).op(Op.i32_mul).set(L.t32);

/** The main function: saves the arguments, then calls chunks until one returns -1 (exit). */
export function emitMain(sp: Subprog, chunkFns: number[], mayGoto: boolean, ctx: Ctx): Fn {
  const f = new Fn(ctx.callees);
  f.get(L.depth).i32(MAX_FRAMES).op(Op.i32_ge_u).if();
  f.fault(Fault.DEPTH, sp.start, () => f.i64(0), 0).end();
  saveBase(f);
  for (let r = 0; r < 10; r++) {
    f.get(L.t32);
    if (r >= 1 && r <= 5) f.reg(r);
    else f.i64(0);
    f.mem(Op.i64_store, SAVE_WASM + 8 * r);
  }
  if (mayGoto) f.get(L.t32).i32(MAY_GOTO_LOOPS).mem(Op.i32_store, SAVE_WASM + 80);
  f.i32(0).set(L.pc);
  const n = chunkFns.length;
  f.op(Op.block, VOID, Op.loop, VOID);
  f.get(L.pc).i32(MAX_CHUNK_INSNS).op(Op.i32_and).op(Op.global_set).w.u32(G_ENTRY);
  for (let k = 0; k < n; k++) f.op(Op.block, VOID);
  f.get(L.pc).i32(ENTRY_BITS).op(Op.i32_shr_u, Op.br_table).w.u32(n);
  for (let k = 0; k < n; k++) f.w.u32(k);
  f.w.u32(0);
  for (let k = 0; k < n; k++) {
    f.op(Op.end);
    for (let r = 0; r < 5; r++) f.i64(0);
    f.get(L.depth).call(chunkFns[k]!).tee(L.pc).i32(0).op(Op.i32_ge_s, Op.br_if).w.u32(n - 1 - k);
    f.op(Op.br).w.u32(n - k);
  }
  f.op(Op.end, Op.end);
  saveBase(f).get(L.t32).mem(Op.i64_load, SAVE_WASM).op(Op.end);
  return f;
}

/** Entry tables: chunk -> (block start -> entry index); entry 0 is the chunk's first block. */
export function chunkEntries(insns: readonly RawInsn[], chunks: readonly Block[][]): { chunkOf: Map<number, [number, number]>; entries: Array<Map<number, number>> } {
  const chunkOf = new Map<number, [number, number]>(); // block start -> [chunk, index in chunk]
  chunks.forEach((c, k) => c.forEach((b, i) => chunkOf.set(b.start, [k, i])));
  const entries = chunks.map((c) => new Map<number, number>(c[0] ? [[c[0].start, 0]] : []));
  chunks.forEach((c, k) => c.forEach((b, i) => {
    // Blocks lie inside insns, and every jump target starts a block of some chunk (analyse).
    for (let j = b.start; j < b.end; j += insns[j]!.code === LD_IMM64 ? 2 : 1) {
      const t = jumpTarget(insns, j);
      if (t === null) continue;
      const [tk, ti] = chunkOf.get(t)!;
      const e = entries[tk]!;
      if ((tk !== k || ti <= i) && !e.has(t)) e.set(t, e.size);
    }
  }));
  return { chunkOf, entries };
}

/** One chunk: registers from the save area, blocks as in the one-function layout, spill on leaving. */
export function emitChunk(ctx: Ctx, sp: Subprog, chunks: readonly Block[][], k: number, chunkOf: Map<number, [number, number]>, entries: Array<Map<number, number>>, mayGoto: boolean): Fn {
  const { insns } = ctx;
  const f = new Fn(ctx.callees);
  const blocks = chunks[k], table = entries[k];
  if (!blocks || !table) throw new RangeError(`chunk ${k} of ${chunks.length} (${entries.length} entry tables)`);
  const n = blocks.length;
  saveBase(f);
  for (let r = 0; r < 10; r++) f.get(L.t32).mem(Op.i64_load, SAVE_WASM + 8 * r).setReg(r);
  if (mayGoto) f.get(L.t32).mem(Op.i32_load, SAVE_WASM + 80).set(L.mayGoto);
  framePrologue(f);
  f.op(Op.global_get).w.u32(G_STEPS);
  f.set(L.steps);
  f.op(Op.global_get).w.u32(G_ENTRY);
  f.set(L.pc);
  f.op(Op.block, VOID, Op.block, VOID, Op.loop, VOID); // $budget, $leave, dispatch
  for (let i = 0; i < n; i++) f.op(Op.block, VOID);
  const order = [...table].sort((a, b) => a[1] - b[1]).map(([start]) => chunkOf.get(start)![1]);
  f.get(L.pc).op(Op.br_table).w.u32(order.length);
  for (const tb of order) f.w.u32(tb);
  f.w.u32(0);
  for (let i = 0; i < n; i++) {
    f.op(Op.end);
    f.nest = 0;
    const b = blocks[i]!;
    charge(f, b.count, n - i + 1);
    const leave = (next: number, conditional: boolean): void => {
      if (conditional) f.if();
      f.i32(next).set(L.pc).op(Op.br).w.u32(n - i + f.nest);
      if (conditional) f.end();
    };
    const jump = (target: number, conditional: boolean): void => {
      const [tk, tb] = chunkOf.get(target)!;
      if (tk !== k) return leave((tk << ENTRY_BITS) | entries[tk]!.get(target)!, conditional);
      if (tb > i) {
        if (!conditional && tb === i + 1) return;
        f.op(conditional ? Op.br_if : Op.br).w.u32(tb - i - 1 + f.nest);
        return;
      }
      if (conditional) f.if();
      f.i32(table.get(target)!).set(L.pc).op(Op.br).w.u32(n - 1 - i + f.nest);
      if (conditional) f.end();
    };
    for (let pc = b.start, k = 1; pc < b.end; pc++, k++) {
      ctx.blockLeft = b.count - k;
      emitInsn(ctx, f, pc, { jump, exit: () => leave(-1, false) });
      if (insns[pc]!.code === LD_IMM64) pc++; // emitInsn checked that pc is a slot
    }
  }
  // Falling off the last block continues in the next chunk's first block.
  if (k + 1 < chunks.length) f.i32((k + 1) << ENTRY_BITS).set(L.pc).op(Op.br).w.u32(1);
  else f.op(Op.unreachable);
  f.op(Op.end, Op.end);
  saveBase(f);
  for (let r = 0; r < 10; r++) f.get(L.t32).reg(r).mem(Op.i64_store, SAVE_WASM + 8 * r);
  if (mayGoto) f.get(L.t32).get(L.mayGoto).mem(Op.i32_store, SAVE_WASM + 80);
  f.get(L.steps).op(Op.global_set).w.u32(G_STEPS);
  f.get(L.pc).op(Op.return, Op.end);
  f.fault(Fault.BUDGET, sp.start, () => f.i64(0), 0).op(Op.end);
  return f;
}

export { usesMayGoto };
