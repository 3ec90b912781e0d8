// Inlined bpf_map_lookup_elem for array maps, as the kernel's JIT does (array_map_gen_lookup).
//
// A forward dataflow over a subprogram's blocks finds, at every lookup call, which registers hold a
// compile-time constant (ld_imm64, mov/add of immediates) or r10 + constant. When r1 is the handle of
// an ARRAY / PERCPU_ARRAY map, the call becomes: bounds-checked u32 load of the key, compare with
// max_entries, value pointer or 0 — the same r0 and the same fault as the number-only import.
import { AluOp, Class, JmpOp, LD_IMM64, Mode, Source, opAluJmp, opClass, opMode, opSource } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';
import { Op } from './encoder.js';
import { isExit, isJa, jumpTarget, type Subprog } from './cfg.js';
import { L, emitAddress, type Fn } from './emit.js';
import { FRAME_SIZE, Fault, regionBase } from './layout.js';

/** What the compiler needs to inline a lookup into one array map. */
export interface ArrayMapInfo {
  regionId: number;
  maxEntries: number;
  /** bytes between entries: slot * CPUs */
  stride: number;
  /** bytes of one CPU's slot; nonzero only for per-CPU maps (the CPU comes from a global) */
  cpuSlot: number;
}

/** A register's compile-time value: a 64-bit constant, or r10 + off of the current frame. */
export type Val = { c: bigint } | { fp: number } | null;
/** r0..r10 */
export type State = Val[];

const same = (a: Val | undefined, b: Val | undefined): boolean =>
  !!a && !!b && ('c' in a ? 'c' in b && a.c === b.c : 'fp' in b && a.fp === b.fp);

const HELPER_LOOKUP = 1;
const isLookupCall = (insn: RawInsn): boolean => insn.code === (Class.JMP | JmpOp.CALL) && insn.src === 0 && insn.imm === HELPER_LOOKUP;

/**
 * Registers known at every bpf_map_lookup_elem call of `sp` (call slot -> r0..r10), computed to a
 * fixed point over the blocks. `ldImm64(pc)` is the value the compiler gives the ld_imm64 at pc.
 */
export function knownAtLookups(insns: readonly RawInsn[], sp: Subprog, ldImm64: (pc: number) => bigint): Map<number, State> {
  const blocks = sp.blocks;
  const index = new Map(blocks.map((b, i) => [b.start, i]));
  const entry: Array<State | undefined> = blocks.map(() => undefined);
  entry[0] = [...Array<Val>(10).fill(null), { fp: 0 }];
  const out = new Map<number, State>();
  const work = [0];
  const merge = (to: number, s: State): void => {
    const cur = entry[to];
    if (cur === undefined) {
      entry[to] = [...s];
      work.push(to);
      return;
    }
    let changed = false;
    for (let r = 0; r < 11; r++) {
      if (cur[r] && !same(cur[r], s[r])) {
        cur[r] = null;
        changed = true;
      }
    }
    if (changed) work.push(to);
  };
  while (work.length > 0) {
    // Only blocks that were given an entry state are queued; blocks lie inside insns (analyse).
    const bi = work.pop()!;
    const b = blocks[bi]!;
    const s = [...entry[bi]!];
    let last = b.start;
    for (let pc = b.start; pc < b.end; pc++) {
      const insn = insns[pc]!;
      last = pc;
      if (isLookupCall(insn)) out.set(pc, [...s]);
      step(insn, pc, s, ldImm64);
      if (insn.code === LD_IMM64) pc++;
    }
    const insn = insns[last]!;
    const t = jumpTarget(insns, last);
    if (t !== null) merge(index.get(t)!, s);
    if (!isExit(insn) && !isJa(insn) && bi + 1 < blocks.length) merge(bi + 1, s);
  }
  return out;
}

/** Transfer function of one instruction; anything not understood makes what it writes unknown. */
function step(insn: RawInsn, pc: number, s: State, ldImm64: (pc: number) => bigint): void {
  const cls = opClass(insn.code);
  const d = insn.dst;
  if (insn.code === LD_IMM64) {
    if (d < 10) s[d] = { c: ldImm64(pc) };
    return;
  }
  switch (cls) {
    case Class.ALU64: {
      if (d > 9) return;
      const op = opAluJmp(insn.code);
      const x = opSource(insn.code) === Source.X;
      const v = s[d] ?? null;
      if (op === AluOp.MOV && insn.off === 0) s[d] = x ? (s[insn.src] ?? null) /* r11..r15: unknown */ : { c: BigInt.asUintN(64, BigInt(insn.imm)) };
      else if ((op === AluOp.ADD || op === AluOp.SUB) && !x && insn.off === 0 && v !== null) {
        const k = op === AluOp.ADD ? insn.imm : -insn.imm;
        s[d] = 'c' in v ? { c: BigInt.asUintN(64, v.c + BigInt(k)) } : { fp: v.fp + k };
      } else s[d] = null;
      return;
    }
    case Class.ALU:
    case Class.LDX:
    case Class.LD:
      if (d <= 10) s[d] = null;
      if (cls === Class.LD) s[0] = null; // ld_abs/ld_ind
      return;
    case Class.STX:
      if (opMode(insn.code) === Mode.ATOMIC) {
        // fetch/xchg write src, cmpxchg writes r0, load-acquire writes dst
        for (const r of [d, insn.src, 0]) if (r <= 10) s[r] = null;
      }
      return;
    case Class.JMP:
      if (opAluJmp(insn.code) === JmpOp.CALL) for (let r = 0; r <= 5; r++) s[r] = null;
      return;
  }
}

/**
 * Emits the lookup of `map` with the key pointer in r2 (`key` is its known value, if any) into r0.
 * The key is 4 bytes; an out-of-bounds key pointer raises the helper-access fault of the import path.
 */
export function emitArrayLookup(f: Fn, map: ArrayMapInfo, key: Val, pc: number, cpuGlobal: number): void {
  let at: number;
  if (key !== null && 'fp' in key && FRAME_SIZE + key.fp >= 0 && FRAME_SIZE + key.fp + 4 <= FRAME_SIZE) {
    f.get(L.frame);
    at = FRAME_SIZE + key.fp;
  } else {
    // Not provably inside the current frame: the import checks the whole region, so do the same.
    at = emitAddress(f, 2, 0, 4, pc, Fault.HELPER_ACCESS);
  }
  f.mem(Op.i32_load, at).tee(L.t32).i32(map.stride).op(Op.i32_mul);
  if (map.cpuSlot !== 0) {
    f.op(Op.global_get).w.u32(cpuGlobal);
    f.i32(map.cpuSlot).op(Op.i32_mul, Op.i32_add);
  }
  f.op(Op.i64_extend_i32_u).i64(regionBase(map.regionId)).op(Op.i64_or);
  f.i64(0).get(L.t32).i32(map.maxEntries).op(Op.i32_lt_u, Op.select).set(L.r0);
}
