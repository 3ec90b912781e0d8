// BPF bytecode -> WebAssembly module.
//
// Each BPF subprogram becomes one wasm function (r1..r5, frame depth) -> r0 with its own locals
// for r0..r10, so r6..r9 survive calls exactly as the ABI promises. Control flow: the function's
// basic blocks are laid out in order inside nested `block`s, so a forward jump is a plain `br` to
// the end of the target's enclosing block; backward jumps (loops, irreducible graphs included) set
// a block id and branch to an outer `loop` whose head is a `br_table` over those ids. Only loop
// heads pay for dispatch, and the instruction budget is checked there.
import { Class, JmpOp, LD_IMM64 } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';
import { ByteWriter, I32, I64, Op, VOID, buildModule, type FuncBody, type ValType } from './encoder.js';
import { CompileError, analyse, jumpTarget, type Subprog } from './cfg.js';
import { Fn, L, LOCALS_I32, LOCALS_I64, type Callees } from './emit.js';
import { knownAtLookups, type ArrayMapInfo, type Val } from './inline.js';
import { Fault, MAX_FRAMES } from './layout.js';
import { CALLX, G_BUDGET, G_STEPS, MAY_GOTO_LOOPS, emitInsn, ldImm64Value, type CompileOptions, type Ctx } from './lower.js';
import { MAX_CHUNK_INSNS, charge, chunkBlocks, chunkEntries, emitChunk, emitMain, framePrologue, usesMayGoto } from './split.js';

export { CompileError, type ArrayMapInfo, type CompileOptions };

export interface CompiledBpf {
  module: WebAssembly.Module;
  bytes: Uint8Array;
  /** helper ids the program calls, in import order (imports "h<id>") */
  helpers: number[];
  /** first slot of every subprogram; subprogram k is exported as "f<start>" */
  subprogs: number[];
  /** the program uses callx: it imports "callx" (r1..r5, target, pc, depth) -> r0 */
  callx: boolean;
}


const T_FUNC = 0, T_HELPER = 1, T_FAULT = 2, T_LDABS = 3, T_RUN = 4, T_REPEAT = 5, T_FAST = 6, T_CALLX = 7, T_CHUNK = 8;
const TYPES = [
  { params: [I64, I64, I64, I64, I64, I32], results: [I64] },
  { params: [I64, I64, I64, I64, I64, I32, I32], results: [I64] },
  { params: [I32, I32, I64, I32], results: [] },
  { params: [I32, I64, I32], results: [I64] },
  { params: [I64, I64], results: [I64] },
  { params: [I32, I64, I64], results: [I64] },
  { params: [I32, I32, I32, I32, I32, I32, I32, I32, I32], results: [I32] },
  { params: [I64, I64, I64, I64, I64, I64, I32, I32], results: [I64] },
  { params: [I64, I64, I64, I64, I64, I32], results: [I32] },
] as Array<{ params: ValType[]; results: ValType[] }>;

export function compileToWasm(insns: RawInsn[], opts: CompileOptions = {}): CompiledBpf {
  const { subprogs } = analyse(insns, opts.isa);
  // Inlined lookups are decided first, so that a helper only they call needs no import.
  const inlined = new Map<number, [ArrayMapInfo, Val]>();
  if (opts.arrayMap && opts.fastMapHelpers?.has(1)) {
    for (const sp of subprogs) {
      for (const [pc, regs] of knownAtLookups(insns, sp, (at) => ldImm64Value(insns, opts, at))) {
        const r1 = regs[1];
        const map = r1 && 'c' in r1 ? opts.arrayMap(r1.c) : undefined;
        if (map) inlined.set(pc, [map, regs[2] ?? null]);
      }
    }
  }
  const helpers: number[] = [];
  let usesCallx = false;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    if (insn.code === CALLX) usesCallx = true;
    if (insn.code === (Class.JMP | JmpOp.CALL) && insn.src === 0 && !inlined.has(i) && !helpers.includes(insn.imm)) helpers.push(insn.imm);
    if (insn.code === LD_IMM64) i++;
  }
  const imports = [
    { module: 'env', name: 'fault', type: T_FAULT },
    { module: 'env', name: 'ldabs', type: T_LDABS },
    ...helpers.map((id) => (opts.fastMapHelpers?.has(id) ? { module: 'env', name: `m${id}`, type: T_FAST } : { module: 'env', name: `h${id}`, type: T_HELPER })),
    ...(usesCallx ? [{ module: 'env', name: 'callx', type: T_CALLX }] : []),
  ];
  const fRun = imports.length;
  const fSub0 = fRun + 2;
  const callees: Callees = { fault: 0 };
  const ctx: Ctx = {
    insns, opts, callees, ldabs: 1, callx: usesCallx ? fRun - 1 : -1,
    helperFn: new Map(helpers.map((id, k) => [id, 2 + k])),
    subFn: new Map(subprogs.map((sp, k) => [sp.start, fSub0 + k])),
    inlined, blockLeft: 0,
  };
  const max = opts.maxFunctionInsns ?? 16384;
  if (!(Number.isInteger(max) && max >= 1 && max <= MAX_CHUNK_INSNS)) throw new RangeError(`maxFunctionInsns must be 1..${MAX_CHUNK_INSNS}, got ${max}`);
  const locals = [...Array<ValType>(LOCALS_I64).fill(I64), ...Array<ValType>(LOCALS_I32).fill(I32)];
  const funcs: FuncBody[] = [runFunc(fSub0), repeatFunc(fSub0)];
  const chunkFuncs: FuncBody[] = [];
  for (const sp of subprogs) {
    const count = sp.blocks.reduce((a, b) => a + b.count, 0);
    if (count <= max) {
      funcs.push({ type: T_FUNC, locals, code: emitSubprog(ctx, sp).w, export: `f${sp.start}` });
      continue;
    }
    const chunks = chunkBlocks(insns, sp.blocks, max);
    const { chunkOf, entries } = chunkEntries(insns, chunks);
    const mayGoto = usesMayGoto(insns, sp);
    const first = fSub0 + subprogs.length + chunkFuncs.length;
    const fns = chunks.map((_, k) => first + k);
    funcs.push({ type: T_FUNC, locals, code: emitMain(sp, fns, mayGoto, ctx).w, export: `f${sp.start}` });
    chunks.forEach((_, k) => chunkFuncs.push({ type: T_CHUNK, locals, code: emitChunk(ctx, sp, chunks, k, chunkOf, entries, mayGoto).w }));
  }
  funcs.push(...chunkFuncs);
  const bytes = buildModule({
    types: TYPES,
    imports,
    memory: ['env', 'mem', 1],
    globals: [
      { type: I32, mutable: true, init: 0, export: 'steps' },
      { type: I32, mutable: true, init: 1_000_000, export: 'budget' },
      { type: I32, mutable: true, init: 0, export: 'cpu' },
      { type: I32, mutable: true, init: 0 },
    ],
    funcs,
  });
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  return { module, bytes, helpers, subprogs: subprogs.map((sp) => sp.start), callx: usesCallx };
}

function runFunc(fSub0: number): FuncBody {
  const w = new ByteWriter();
  w.byte(Op.global_get).u32(G_BUDGET).byte(Op.global_set).u32(G_STEPS);
  w.byte(Op.local_get).u32(0).byte(Op.local_get).u32(1);
  for (let i = 0; i < 3; i++) w.byte(Op.i64_const).s64(0n);
  w.byte(Op.i32_const).s32(0).byte(Op.call).u32(fSub0).byte(Op.end);
  return { type: T_RUN, locals: [], code: w, export: 'run' };
}

/** Runs the program n >= 1 times with the same input, like BPF_PROG_TEST_RUN's repeat. */
function repeatFunc(fSub0: number): FuncBody {
  const w = new ByteWriter();
  w.byte(Op.loop).byte(VOID);
  w.byte(Op.global_get).u32(G_BUDGET).byte(Op.global_set).u32(G_STEPS);
  w.byte(Op.local_get).u32(1).byte(Op.local_get).u32(2);
  for (let i = 0; i < 3; i++) w.byte(Op.i64_const).s64(0n);
  w.byte(Op.i32_const).s32(0).byte(Op.call).u32(fSub0).byte(Op.local_set).u32(3);
  w.byte(Op.local_get).u32(0).byte(Op.i32_const).s32(1).byte(Op.i32_sub).byte(Op.local_tee).u32(0);
  w.byte(Op.i32_const).s32(0).byte(Op.i32_gt_s).byte(Op.br_if).u32(0).byte(Op.end);
  w.byte(Op.local_get).u32(3).byte(Op.end);
  return { type: T_REPEAT, locals: [I64], code: w, export: 'repeat' };
}

function emitSubprog(ctx: Ctx, sp: Subprog): Fn {
  const { insns } = ctx;
  const f = new Fn(ctx.callees);
  const blocks = sp.blocks;
  const n = blocks.length;
  const blockOf = new Map(blocks.map((b, i) => [b.start, i]));
  // Dispatch table: entry 0 is the first block; then every target of a backward jump.
  const table = new Map([[0, 0]]); // block -> entry index
  let hasLoop = false;
  blocks.forEach((b, i) => {
    for (let j = b.start; j < b.end; j++) {
      const t = jumpTarget(insns, j);
      if (t === null) continue;
      const tb = blockOf.get(t)!;
      if (tb <= i) {
        hasLoop = true;
        if (!table.has(tb)) table.set(tb, table.size);
      }
    }
  });

  // Prologue: frame depth check, frame addresses, budget into a local.
  f.get(L.depth).i32(MAX_FRAMES).op(Op.i32_ge_u).if();
  f.fault(Fault.DEPTH, sp.start, () => f.i64(0), 0).end();
  framePrologue(f);
  f.op(Op.global_get).w.u32(G_STEPS);
  f.set(L.steps);
  if (usesMayGoto(insns, sp)) f.i32(MAY_GOTO_LOOPS).set(L.mayGoto);

  // Every block charges its instructions on entry and stops at once when the budget is exceeded, so
  // a run never executes more than maxSteps instructions: the branch goes to the outermost block.
  f.op(Op.block, VOID);
  if (hasLoop) f.op(Op.loop, VOID);
  for (let i = 0; i < n; i++) f.op(Op.block, VOID);
  if (hasLoop) {
    f.get(L.pc).op(Op.br_table).w.u32(table.size);
    for (const tb of table.keys()) f.w.u32(tb);
    f.w.u32(0);
  }
  for (let i = 0; i < n; i++) {
    f.op(Op.end);
    f.nest = 0;
    const b = blocks[i]!;
    charge(f, b.count, n - 1 - i + (hasLoop ? 1 : 0));
    // Branch helpers, relative to this block's position in the nest.
    const jump = (target: number, conditional: boolean): void => {
      const tb = blockOf.get(target)!;
      if (tb > i) {
        if (!conditional && tb === i + 1) return;
        f.op(conditional ? Op.br_if : Op.br).w.u32(tb - i - 1 + f.nest);
        return;
      }
      if (conditional) f.if();
      f.i32(table.get(tb)!).set(L.pc).op(Op.br).w.u32(n - 1 - i + f.nest);
      if (conditional) f.end();
    };
    const exit = (): void => {
      f.get(L.steps).op(Op.global_set).w.u32(G_STEPS);
      f.get(L.r0).op(Op.return);
    };
    for (let pc = b.start, k = 1; pc < b.end; pc++, k++) {
      ctx.blockLeft = b.count - k;
      emitInsn(ctx, f, pc, { jump, exit });
      if (insns[pc]!.code === LD_IMM64) pc++; // emitInsn checked that pc is a slot
    }
  }
  if (hasLoop) f.op(Op.end);
  f.op(Op.unreachable, Op.end);
  f.fault(Fault.BUDGET, sp.start, () => f.i64(0), 0).op(Op.end);
  return f;
}

