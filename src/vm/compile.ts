// BPF bytecode -> WebAssembly module.
//
// Each BPF subprogram becomes one wasm function (r1..r5, frame depth) -> r0 with its own locals
// for r0..r10, so r6..r9 survive calls exactly as the ABI promises. Control flow: the function's
// basic blocks are laid out in order inside nested `block`s, so a forward jump is a plain `br` to
// the end of the target's enclosing block; backward jumps (loops, irreducible graphs included) set
// a block id and branch to an outer `loop` whose head is a `br_table` over those ids. Only loop
// heads pay for dispatch, and the instruction budget is checked there.
import { Class, JmpOp, LD_IMM64, Mode, Pseudo, Source, opAluJmp, opClass, opMode } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';
import { ByteWriter, I32, I64, Op, VOID, buildModule, type FuncBody, type ValType } from './encoder.js';
import { CompileError, JCOND, analyse, jumpTarget, type Subprog } from './cfg.js';
import { Fn, L, LOCALS_I32, LOCALS_I64, emitAlu, emitAtomic, emitCondition, emitLdx, emitStore, type Callees } from './emit.js';
import { emitArrayLookup, knownAtLookups, type ArrayMapInfo, type Val } from './inline.js';
import { FRAME_SIZE, Fault, MAP_HANDLE_BASE, FUNC_HANDLE_BASE, MAX_FRAMES, Region, STACK_FAKE, STACK_WASM } from './layout.js';

export { CompileError, type ArrayMapInfo };

export interface CompileOptions {
  /**
   * Value of an ld_imm64 whose src is a pseudo (map fd, map value, BTF id...). Return undefined to
   * use the default: Pseudo.MAP_FD -> MAP_HANDLE_BASE | imm, Pseudo.FUNC -> a function handle.
   */
  ldImm64?: (index: number, first: RawInsn, second: RawInsn) => bigint | undefined;
  /**
   * Map helpers (1 lookup, 2 update, 3 delete) to call through the number-only import "m<id>":
   * (r1..r4 as lo/hi i32 pairs, pc) -> i32, avoiding BigInt on the hot path. For lookup the import
   * returns the value's offset in the map's region (or -1 for NULL) and the pointer is built here.
   */
  fastMapHelpers?: ReadonlySet<number>;
  /**
   * With lookup (1) in fastMapHelpers: the array map whose handle is `value`, if any. A lookup whose
   * r1 is such a handle at compile time is inlined (no import call); the CPU is the global "cpu".
   */
  arrayMap?: (value: bigint) => ArrayMapInfo | undefined;
  /**
   * Run callx (0x8d: call the helper id, or the function handle, held in register dst) through the
   * import "callx". Linux refuses the opcode, so by default it is a CompileError like any other
   * instruction the kernel refuses; RFC 9669 defines it as the optional conformance group "callx".
   */
  callx?: boolean;
}

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

/** Kernel's BPF_MAX_LOOPS: may_goto falls through this many times per frame. */
const MAY_GOTO_LOOPS = 8 * 1024 * 1024;

const T_FUNC = 0, T_HELPER = 1, T_FAULT = 2, T_LDABS = 3, T_RUN = 4, T_REPEAT = 5, T_FAST = 6, T_CALLX = 7;
const TYPES = [
  { params: [I64, I64, I64, I64, I64, I32], results: [I64] },
  { params: [I64, I64, I64, I64, I64, I32, I32], results: [I64] },
  { params: [I32, I32, I64, I32], results: [] },
  { params: [I32, I64, I32], results: [I64] },
  { params: [I64, I64], results: [I64] },
  { params: [I32, I64, I64], results: [I64] },
  { params: [I32, I32, I32, I32, I32, I32, I32, I32, I32], results: [I32] },
  { params: [I64, I64, I64, I64, I64, I64, I32, I32], results: [I64] },
] as Array<{ params: ValType[]; results: ValType[] }>;
const G_STEPS = 0, G_BUDGET = 1, G_CPU = 2;

export function compileToWasm(insns: RawInsn[], opts: CompileOptions = {}): CompiledBpf {
  const { subprogs } = analyse(insns);
  // Inlined lookups are decided first, so that a helper only they call needs no import.
  const inlined = new Map<number, [ArrayMapInfo, Val]>();
  if (opts.arrayMap && opts.fastMapHelpers?.has(1)) {
    for (const sp of subprogs) {
      for (const [pc, regs] of knownAtLookups(insns, sp, (at) => ldImm64Value(insns, opts, at))) {
        const r1 = regs[1];
        const map = r1 !== null && 'c' in r1 ? opts.arrayMap(r1.c) : undefined;
        if (map) inlined.set(pc, [map, regs[2]]);
      }
    }
  }
  const helpers: number[] = [];
  let usesCallx = false;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
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
    inlined,
  };
  const funcs: FuncBody[] = [runFunc(fSub0), repeatFunc(fSub0)];
  for (const sp of subprogs) {
    funcs.push({
      type: T_FUNC,
      locals: [...Array<ValType>(LOCALS_I64).fill(I64), ...Array<ValType>(LOCALS_I32).fill(I32)],
      code: emitSubprog(ctx, sp).w,
      export: `f${sp.start}`,
    });
  }
  const bytes = buildModule({
    types: TYPES,
    imports,
    memory: ['env', 'mem', 1],
    globals: [
      { type: I32, mutable: true, init: 0, export: 'steps' },
      { type: I32, mutable: true, init: 1_000_000, export: 'budget' },
      { type: I32, mutable: true, init: 0, export: 'cpu' },
    ],
    funcs,
  });
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  return { module, bytes, helpers, subprogs: subprogs.map((sp) => sp.start), callx: usesCallx };
}

const CALLX = Class.JMP | JmpOp.CALL | Source.X;


interface Ctx {
  insns: RawInsn[];
  opts: CompileOptions;
  callees: Callees;
  ldabs: number;
  /** function index of the callx import, or -1 */
  callx: number;
  helperFn: Map<number, number>;
  subFn: Map<number, number>;
  /** inlined array lookups: call slot -> map and the known value of r2 (the key pointer) */
  inlined: Map<number, [ArrayMapInfo, Val]>;
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
  const table = [0];
  let hasLoop = false;
  let usesMayGoto = false;
  blocks.forEach((b, i) => {
    for (let j = b.start; j < b.end; j++) {
      if (insns[j].code === (Class.JMP | JCOND)) usesMayGoto = true;
      const t = jumpTarget(insns, j);
      if (t === null) continue;
      const tb = blockOf.get(t)!;
      if (tb <= i) {
        hasLoop = true;
        if (!table.includes(tb)) table.push(tb);
      }
    }
  });

  // Prologue: frame depth check, frame addresses, budget into a local.
  f.get(L.depth).i32(MAX_FRAMES).op(Op.i32_ge_u).if();
  f.fault(Fault.DEPTH, sp.start, () => f.i64(0), 0).end();
  f.get(L.depth).i32(FRAME_SIZE).op(Op.i32_mul).i32(STACK_WASM).op(Op.i32_add).set(L.frame);
  f.get(L.depth).op(Op.i64_extend_i32_u).i64(FRAME_SIZE).op(Op.i64_mul).i64(STACK_FAKE + BigInt(FRAME_SIZE)).op(Op.i64_add).set(L.r10);
  f.op(Op.global_get).w.u32(G_STEPS);
  f.set(L.steps);
  if (usesMayGoto) f.i32(MAY_GOTO_LOOPS).set(L.mayGoto);

  if (hasLoop) {
    f.op(Op.loop, VOID);
    f.get(L.steps).i32(0).op(Op.i32_lt_s).if();
    f.fault(Fault.BUDGET, sp.start, () => f.i64(0), 0).end();
  }
  for (let i = 0; i < n; i++) f.op(Op.block, VOID);
  if (hasLoop) {
    f.get(L.pc).op(Op.br_table).w.u32(table.length);
    for (const tb of table) f.w.u32(tb);
    f.w.u32(0);
  }
  for (let i = 0; i < n; i++) {
    f.op(Op.end);
    f.nest = 0;
    const b = blocks[i];
    f.get(L.steps).i32(b.count).op(Op.i32_sub).set(L.steps);
    // Branch helpers, relative to this block's position in the nest.
    const jump = (target: number, conditional: boolean): void => {
      const tb = blockOf.get(target)!;
      if (tb > i) {
        if (!conditional && tb === i + 1) return;
        f.op(conditional ? Op.br_if : Op.br).w.u32(tb - i - 1 + f.nest);
        return;
      }
      if (conditional) f.if();
      f.i32(table.indexOf(tb)).set(L.pc).op(Op.br).w.u32(n - 1 - i + f.nest);
      if (conditional) f.end();
    };
    for (let pc = b.start; pc < b.end; pc++) {
      emitInsn(ctx, f, pc, jump);
      if (insns[pc].code === LD_IMM64) pc++;
    }
  }
  if (hasLoop) f.op(Op.end);
  f.op(Op.unreachable, Op.end);
  return f;
}

function emitInsn(ctx: Ctx, f: Fn, pc: number, jump: (target: number, conditional: boolean) => void): void {
  const insn = ctx.insns[pc];
  const cls = opClass(insn.code);
  switch (cls) {
    case Class.ALU:
    case Class.ALU64:
      return emitAlu(f, insn, pc, cls === Class.ALU64);
    case Class.LDX:
      if (opMode(insn.code) !== Mode.MEM && opMode(insn.code) !== Mode.MEMSX) break;
      return emitLdx(f, insn, pc);
    case Class.ST:
      if (opMode(insn.code) !== Mode.MEM) break;
      return emitStore(f, insn, pc, false);
    case Class.STX:
      if (opMode(insn.code) === Mode.MEM) return emitStore(f, insn, pc, true);
      if (opMode(insn.code) === Mode.ATOMIC) return emitAtomic(f, insn, pc);
      break;
    case Class.LD:
      return emitLd(ctx, f, insn, pc);
    case Class.JMP:
    case Class.JMP32:
      return emitJmp(ctx, f, insn, pc, cls === Class.JMP32, jump);
  }
  throw new CompileError(pc, `unknown opcode 0x${insn.code.toString(16)}`);
}

function emitLd(ctx: Ctx, f: Fn, insn: RawInsn, pc: number): void {
  if (insn.code === LD_IMM64) {
    if (insn.dst > 9) throw new CompileError(pc, `ld_imm64 into r${insn.dst}`);
    f.i64(ldImm64Value(ctx.insns, ctx.opts, pc)).set(regOf(insn.dst));
    return;
  }
  const mode = opMode(insn.code);
  if (mode !== Mode.ABS && mode !== Mode.IND) throw new CompileError(pc, `unknown opcode 0x${insn.code.toString(16)}`);
  // Legacy packet loads: the runtime reads big-endian from the data region; out of bounds ends the program with 0.
  const width = { 0x00: 4, 0x08: 2, 0x10: 1 }[insn.code & 0x18];
  if (width === undefined) throw new CompileError(pc, 'ld_abs/ld_ind of 8 bytes does not exist');
  f.i32(pc);
  if (mode === Mode.IND) f.get(regOf(insn.src)).i64(insn.imm).op(Op.i64_add);
  else f.i64(insn.imm);
  f.i32(width).call(ctx.ldabs).set(L.r0);
}

function ldImm64Value(insns: RawInsn[], opts: CompileOptions, pc: number): bigint {
  const insn = insns[pc], second = insns[pc + 1];
  const value = insn.src !== 0 ? opts.ldImm64?.(pc, insn, second) : undefined;
  if (value !== undefined) return value;
  if (insn.src === 0) return BigInt(insn.imm >>> 0) | (BigInt(second.imm >>> 0) << 32n);
  if (insn.src === Pseudo.MAP_FD) return MAP_HANDLE_BASE | BigInt(insn.imm >>> 0);
  if (insn.src === Pseudo.FUNC) return FUNC_HANDLE_BASE | BigInt(pc + insn.imm + 1);
  throw new CompileError(pc, `ld_imm64 pseudo src ${insn.src} needs a resolver (CompileOptions.ldImm64)`);
}

function emitFastMapCall(f: Fn, id: number, pc: number, fn: number): void {
  for (let r = 0; r < 4; r++) f.get(r).op(Op.i32_wrap_i64).get(r).i64(32).op(Op.i64_shr_u, Op.i32_wrap_i64);
  f.i32(pc).call(fn);
  if (id === 1) {
    f.tee(L.t32).op(Op.i64_extend_i32_u);
    f.get(0).i64(0xffffffff).op(Op.i64_and).i64(Region.MAP0).op(Op.i64_add).i64(32).op(Op.i64_shl, Op.i64_or);
    f.i64(0).get(L.t32).i32(-1).op(Op.i32_ne, Op.select);
  } else {
    f.op(Op.i64_extend_i32_s);
  }
  f.set(L.r0);
}

const regOf = (r: number): number => [L.r0, 0, 1, 2, 3, 4, L.r6, L.r7, L.r8, L.r9, L.r10][r];

function emitJmp(ctx: Ctx, f: Fn, insn: RawInsn, pc: number, is32: boolean, jump: (t: number, c: boolean) => void): void {
  const op = opAluJmp(insn.code);
  if (op === JmpOp.JA) return jump(jumpTarget(ctx.insns, pc)!, false);
  if (op === JCOND && !is32) {
    // may_goto: jump once the per-frame loop allowance is used up, otherwise count down.
    f.get(L.mayGoto).op(Op.i32_eqz);
    jump(jumpTarget(ctx.insns, pc)!, true);
    f.get(L.mayGoto).i32(1).op(Op.i32_sub).set(L.mayGoto);
    return;
  }
  if (op === JmpOp.EXIT && !is32) {
    f.get(L.steps).op(Op.global_set).w.u32(G_STEPS);
    f.get(L.r0).op(Op.return);
    return;
  }
  if (insn.code === CALLX) {
    if (!ctx.opts.callx) throw new CompileError(pc, 'callx (0x8d) is refused by the Linux kernel; the engine runs it only with VmOptions.callx (RFC 9669 conformance group callx)');
    if (insn.src !== 0 || insn.off !== 0 || insn.imm !== 0) throw new CompileError(pc, `callx uses reserved fields (src ${insn.src}, off ${insn.off}, imm ${insn.imm}; all must be 0)`);
    if (insn.dst > 10) throw new CompileError(pc, `register out of range (dst r${insn.dst})`);
    f.get(L.steps).op(Op.global_set).w.u32(G_STEPS);
    for (let r = 0; r < 5; r++) f.get(r);
    f.get(regOf(insn.dst)).i32(pc).get(L.depth).call(ctx.callx).set(L.r0);
    f.op(Op.global_get).w.u32(G_STEPS);
    f.set(L.steps);
    return;
  }
  if (op === JmpOp.CALL && !is32) {
    const inline = insn.src === 0 ? ctx.inlined.get(pc) : undefined;
    if (inline) {
      emitArrayLookup(f, inline[0], inline[1], pc, G_CPU);
      return;
    }
    if (insn.src === 0 && ctx.opts.fastMapHelpers?.has(insn.imm)) {
      emitFastMapCall(f, insn.imm, pc, ctx.helperFn.get(insn.imm)!);
      return;
    }
    // Helpers may call back into the program (bpf_loop) and callees count steps: sync the budget.
    f.get(L.steps).op(Op.global_set).w.u32(G_STEPS);
    for (let r = 0; r < 5; r++) f.get(r);
    if (insn.src === 0) {
      f.i32(pc).get(L.depth).call(ctx.helperFn.get(insn.imm)!);
    } else if (insn.src === Pseudo.CALL) {
      f.get(L.depth).i32(1).op(Op.i32_add).call(ctx.subFn.get(pc + insn.imm + 1)!);
    } else {
      throw new CompileError(pc, `call with src ${insn.src} (kfuncs are not supported)`);
    }
    f.set(L.r0);
    f.op(Op.global_get).w.u32(G_STEPS);
    f.set(L.steps);
    return;
  }
  emitCondition(f, insn, pc, is32);
  jump(jumpTarget(ctx.insns, pc)!, true);
}

