// Lowering of one BPF instruction to wasm, shared by the one-function and the split layouts of a
// subprogram. Control transfers (jumps, exit) go through callbacks, since only the layout knows
// where a block lives.
import { Class, JmpOp, LD_IMM64, Mode, Pseudo, opAluJmp, opClass, opMode } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';
import { Op } from './encoder.js';
import { CALLX, CompileError, JCOND, jumpTarget, type Isa } from './cfg.js';
import { Fn, L, emitAlu, emitAtomic, emitCondition, emitLdx, emitStore, type Callees } from './emit.js';
import { emitArrayLookup, type ArrayMapInfo, type Val } from './inline.js';
import { MAP_HANDLE_BASE, FUNC_HANDLE_BASE, Region } from './layout.js';

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
   * 'linux' (default): refuse every encoding the kernel refuses. 'rfc9669': also run what the ISA
   * standard defines and Linux refuses (cfg.ts Isa): callx (0x8d, the helper id or function handle
   * in register dst, through the import "callx"), constant division by 0, constant shifts out of range.
   */
  isa?: Isa;
  /**
   * Longest subprogram (in instructions) compiled as one wasm function; longer ones are split into
   * chunks of at most this many (split.ts). Default 16384; at most 65535.
   */
  maxFunctionInsns?: number;
}

/**
 * Globals of every module: the step counter synced across calls, the budget, the CPU, and the entry
 * a split subprogram's main function passes to the chunk it calls.
 */
export const G_STEPS = 0, G_BUDGET = 1, G_CPU = 2, G_ENTRY = 3;

/** Kernel's BPF_MAX_LOOPS: may_goto falls through this many times per frame. */
export const MAY_GOTO_LOOPS = 8 * 1024 * 1024;

export { CALLX };


export interface Ctx {
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
  /** instructions of the current block after the one being lowered (charged but not yet run) */
  blockLeft: number;
}

/** Where control goes: a jump to `target` (conditional: the condition is on the stack), and exit. */
export interface Flow {
  jump(target: number, conditional: boolean): void;
  exit(): void;
}

export function emitInsn(ctx: Ctx, f: Fn, pc: number, flow: Flow): void {
  const insn = ctx.insns[pc];
  if (insn === undefined) throw new CompileError(pc, `past the end of the program (${ctx.insns.length} slots)`);
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
      return emitJmp(ctx, f, insn, pc, cls === Class.JMP32, flow);
  }
  throw new CompileError(pc, `unknown opcode 0x${insn.code.toString(16)}`);
}

function emitLd(ctx: Ctx, f: Fn, insn: RawInsn, pc: number): void {
  if (insn.code === LD_IMM64) {
    if (insn.dst > 9) throw new CompileError(pc, `ld_imm64 into r${insn.dst}`);
    f.i64(ldImm64Value(ctx.insns, ctx.opts, pc)).setReg(insn.dst);
    return;
  }
  const mode = opMode(insn.code);
  if (mode !== Mode.ABS && mode !== Mode.IND) throw new CompileError(pc, `unknown opcode 0x${insn.code.toString(16)}`);
  // Legacy packet loads: the runtime reads big-endian from the data region; out of bounds ends the program with 0.
  const width = { 0x00: 4, 0x08: 2, 0x10: 1 }[insn.code & 0x18];
  if (width === undefined) throw new CompileError(pc, 'ld_abs/ld_ind of 8 bytes does not exist');
  // Out of bounds ends the run from inside the import: leave G_STEPS as if the block had stopped here.
  f.get(L.steps).i32(ctx.blockLeft).op(Op.i32_add).op(Op.global_set).w.u32(G_STEPS);
  f.i32(pc);
  if (mode === Mode.IND) f.reg(insn.src).i64(insn.imm).op(Op.i64_add);
  else f.i64(insn.imm);
  f.i32(width).call(ctx.ldabs).set(L.r0);
}

export function ldImm64Value(insns: RawInsn[], opts: CompileOptions, pc: number): bigint {
  const insn = insns[pc], second = insns[pc + 1];
  if (insn === undefined || second === undefined) throw new CompileError(pc, 'ld_imm64 without its second slot');
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

function emitJmp(ctx: Ctx, f: Fn, insn: RawInsn, pc: number, is32: boolean, flow: Flow): void {
  const jump = flow.jump;
  const op = opAluJmp(insn.code);
  if (op === JmpOp.JA) return jump(jumpTarget(ctx.insns, pc)!, false);
  if (op === JCOND && !is32) {
    // may_goto: jump once the per-frame loop allowance is used up, otherwise count down.
    f.get(L.mayGoto).op(Op.i32_eqz);
    jump(jumpTarget(ctx.insns, pc)!, true);
    f.get(L.mayGoto).i32(1).op(Op.i32_sub).set(L.mayGoto);
    return;
  }
  if (op === JmpOp.EXIT && !is32) return flow.exit();
  if (insn.code === CALLX) {
    if (ctx.opts.isa !== 'rfc9669') throw new CompileError(pc, 'callx (0x8d) is refused by Linux');
    if (insn.src !== 0 || insn.off !== 0 || insn.imm !== 0) throw new CompileError(pc, `callx uses reserved fields (src ${insn.src}, off ${insn.off}, imm ${insn.imm}; all must be 0)`);
    if (insn.dst > 10) throw new CompileError(pc, `register out of range (dst r${insn.dst})`);
    f.get(L.steps).op(Op.global_set).w.u32(G_STEPS);
    for (let r = 0; r < 5; r++) f.get(r);
    f.reg(insn.dst).i32(pc).get(L.depth).call(ctx.callx).set(L.r0);
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

