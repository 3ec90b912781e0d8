// The abstract interpreter: walks every path from insn 0 (the control-flow pass has already made the
// graph acyclic), carrying register and stack state, and stops a path at its first violation.
// Identical (insn, state) pairs are walked once, which keeps diamond-shaped programs cheap.
import type { RawInsn } from '../../asm/encoding.js';
import { AluOp, AtomicOp, Class, JmpOp, LD_IMM64, MAX_BPF_REG, Mode, Pseudo, Size, Source, opAluJmp, opClass, opMode, opSize, opSource, sizeBytes } from '../../asm/opcodes.js';
import { CONDITIONAL, aluResult, checkAluFields, compareConst } from './alu.js';
import { helperCall, type CallEnv } from './calls.js';
import type { Cfg } from './cfg.js';
import { Reject, access } from './memory.js';
import {
  UNINIT, UNKNOWN, cloneState, cur, describe, isPointer, mapAllRegs, newFrame, scalar, stateKey, type RegVal, type State,
} from './state.js';

/** The kernel's MAX_CALL_FRAMES. */
export const MAX_FRAMES = 8;
/** Walk budget: past this many instruction visits the program is refused as too complex for us. */
export const STEP_LIMIT = 200_000;

export interface InterpEnv extends CallEnv {
  insns: readonly RawInsn[];
  cfg: Cfg;
  /** ld_imm64 index -> what it loads (from spec.mapRefs) */
  mapAt: Map<number, { map: number; kind: 'fd' | 'value'; offset: number }>;
}

export interface RawIssue { index: number; message: string }

type Next = Array<{ pc: number; st: State }>;

function checkReg(r: number): void {
  if (r >= MAX_BPF_REG) throw new Reject(`r${r} is not a register (r0..r10 exist)`);
}

function read(st: State, r: number): RegVal {
  checkReg(r);
  const v = cur(st).regs[r]!;
  if (v.t === 'uninit') throw new Reject(`r${r} is read before it is ever written (uninitialised)`);
  return v;
}

function write(st: State, r: number, v: RegVal): void {
  checkReg(r);
  if (r === 10) throw new Reject('r10 is the read-only frame pointer; it cannot be written');
  cur(st).regs[r] = v;
}

function alu(insn: RawInsn, pc: number, st: State): Next {
  checkAluFields(insn);
  const op = opAluJmp(insn.code);
  const x = opSource(insn.code) === Source.X;
  const src = x && op !== AluOp.NEG && op !== AluOp.END ? read(st, insn.src) : scalar(BigInt(insn.imm));
  const dst = op === AluOp.MOV ? UNINIT : read(st, insn.dst); // mov does not read dst
  write(st, insn.dst, aluResult(insn, dst, src, `r${insn.dst}`, `r${insn.src}`));
  return [{ pc: pc + 1, st }];
}

function condJump(insn: RawInsn, pc: number, st: State): Next {
  const x = opSource(insn.code) === Source.X;
  if (x ? insn.imm !== 0 : insn.src !== 0) throw new Reject('conditional jump uses a reserved field (imm with a register source, or src with an immediate)');
  const dst = read(st, insn.dst);
  const src = x ? read(st, insn.src) : scalar(BigInt(insn.imm));
  const fall = pc + 1, target = pc + 1 + insn.off;
  const op = opAluJmp(insn.code);
  if (isPointer(dst) || isPointer(src)) {
    const nullable = dst.t === 'value_or_null' || dst.t === 'mem_or_null';
    if (!nullable || x || insn.imm !== 0 || opClass(insn.code) !== Class.JMP || (op !== JmpOp.JEQ && op !== JmpOp.JNE)) {
      const who = isPointer(dst) ? `r${insn.dst} is ${describe(dst)}` : `r${insn.src} is ${describe(src)}`;
      throw new Reject(`pointer comparison: ${who}; the only comparison allowed on pointers is a 64-bit == 0 / != 0 null check of a map lookup or ring buffer reservation result`);
    }
    const id = dst.id;
    const isNull = cloneState(st);
    mapAllRegs(isNull, (v) => ((v.t === 'value_or_null' || v.t === 'mem_or_null') && v.id === id ? scalar(0n) : v));
    isNull.refs.delete(id); // a NULL reservation holds nothing to release
    mapAllRegs(st, (v) => {
      if (v.t === 'value_or_null' && v.id === id) return { t: 'value', map: v.map, off: 0 };
      if (v.t === 'mem_or_null' && v.id === id) return { t: 'mem', size: v.size, off: 0, ref: id };
      return v;
    });
    return op === JmpOp.JEQ ? [{ pc: fall, st }, { pc: target, st: isNull }] : [{ pc: fall, st: isNull }, { pc: target, st }];
  }
  if (dst.t === 'scalar' && src.t === 'scalar' && dst.v !== undefined && src.v !== undefined) {
    return [{ pc: compareConst(insn, dst.v, src.v) ? target : fall, st }];
  }
  if (!CONDITIONAL.has(op)) throw new Reject(`unknown jump operation 0x${op.toString(16)}`);
  return [{ pc: fall, st }, { pc: target, st: cloneState(st) }];
}

function exitInsn(insn: RawInsn, st: State): Next {
  if (opClass(insn.code) !== Class.JMP || opSource(insn.code) !== Source.K || insn.src || insn.dst || insn.off || insn.imm) {
    throw new Reject('exit uses reserved fields (all must be 0, class JMP)');
  }
  const r0 = cur(st).regs[0]!;
  if (r0.t === 'uninit') throw new Reject('r0 is not set before exit: the return value is uninitialised on this path');
  if (r0.t !== 'scalar') {
    throw new Reject(`r0 at exit is ${describe(r0)}; ${st.frames.length > 1 ? 'a subprogram' : 'the program'} must return a number`);
  }
  if (st.frames.length > 1) {
    const callee = st.frames.pop()!;
    const regs = cur(st).regs;
    regs[0] = r0;
    for (let r = 1; r <= 5; r++) regs[r] = UNINIT;
    return [{ pc: callee.returnTo, st }];
  }
  for (const at of st.refs.values()) {
    throw new Reject(`the ring buffer record reserved at insn ${at} is neither submitted nor discarded on this path`);
  }
  return [];
}

function call(env: InterpEnv, insn: RawInsn, pc: number, st: State): Next {
  if (opClass(insn.code) !== Class.JMP || opSource(insn.code) !== Source.K || insn.dst !== 0 || insn.off !== 0) {
    throw new Reject('call uses reserved fields (dst and off must be 0, class JMP, immediate source)');
  }
  if (insn.src === Pseudo.CALL) {
    if (st.frames.length >= MAX_FRAMES) throw new Reject(`the call chain would be ${st.frames.length + 1} frames deep; at most ${MAX_FRAMES} are allowed`);
    const target = pc + 1 + insn.imm;
    const frame = newFrame(st.frames.length, env.cfg.subprogOf[target]!, pc + 1);
    for (let r = 1; r <= 5; r++) frame.regs[r] = cur(st).regs[r]!;
    st.frames.push(frame);
    return [{ pc: target, st }];
  }
  if (insn.src === Pseudo.KFUNC_CALL) throw new Reject('kfunc calls are not supported by this verifier');
  if (insn.src !== 0) throw new Reject(`call with src ${insn.src} is not a helper or subprogram call`);
  helperCall(env, st, insn, pc);
  return [{ pc: pc + 1, st }];
}

function ldImm64(env: InterpEnv, insn: RawInsn, pc: number, st: State): Next {
  const hi = env.insns[pc + 1]!;
  if (insn.off || hi.code || hi.dst || hi.src || hi.off) throw new Reject('ld_imm64 uses reserved fields (off, and all but imm of its second slot, must be 0)');
  const ref = env.mapAt.get(pc);
  switch (insn.src) {
    case 0:
      write(st, insn.dst, scalar((BigInt(hi.imm) << 32n) | BigInt.asUintN(32, BigInt(insn.imm))));
      break;
    case Pseudo.MAP_FD:
    case Pseudo.MAP_VALUE:
      if (!ref) throw new Reject(`ld_imm64 of a map ${insn.src === Pseudo.MAP_FD ? 'fd' : 'value'} with no entry in spec.mapRefs: the verifier cannot tell which map it is`);
      write(st, insn.dst, ref.kind === 'fd' ? { t: 'map', map: ref.map } : { t: 'value', map: ref.map, off: ref.offset });
      break;
    default:
      throw new Reject(`ld_imm64 with src ${insn.src} (BTF ids, function pointers, fd_array indexes) is not supported by this verifier`);
  }
  return [{ pc: pc + 2, st }];
}

const ATOMIC_BASE = new Set<number>([AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR]);

function memInsn(env: InterpEnv, insn: RawInsn, pc: number, st: State): Next {
  const cls = opClass(insn.code);
  const mode = opMode(insn.code);
  const size = sizeBytes(opSize(insn.code));
  if (cls === Class.LDX) {
    if (mode !== Mode.MEM) throw new Reject(mode === Mode.MEMSX ? 'sign-extending loads are not supported by this verifier' : `load mode 0x${mode.toString(16)} is not valid for LDX`);
    if (insn.imm !== 0) throw new Reject('LDX uses a reserved field (imm must be 0)');
    const value = access(env, st, read(st, insn.src), `r${insn.src}`, insn.off, size, 'read');
    write(st, insn.dst, value);
  } else if (cls === Class.ST) {
    if (mode !== Mode.MEM) throw new Reject(`store mode 0x${mode.toString(16)} is not valid for ST`);
    if (insn.src !== 0) throw new Reject('ST uses a reserved field (src must be 0)');
    access(env, st, read(st, insn.dst), `r${insn.dst}`, insn.off, size, 'write');
  } else if (mode === Mode.MEM) {
    if (insn.imm !== 0) throw new Reject('STX uses a reserved field (imm must be 0)');
    const value = read(st, insn.src);
    access(env, st, read(st, insn.dst), `r${insn.dst}`, insn.off, size, 'write', value);
  } else if (mode === Mode.ATOMIC) {
    const base = insn.imm & ~AtomicOp.FETCH;
    const known = ATOMIC_BASE.has(base) || insn.imm === AtomicOp.XCHG || insn.imm === AtomicOp.CMPXCHG;
    if (!known || insn.imm > 0xff) throw new Reject(`atomic operation 0x${insn.imm.toString(16)} is not supported by this verifier`);
    if (opSize(insn.code) !== Size.W && opSize(insn.code) !== Size.DW) throw new Reject('atomic operations must be 32 or 64 bits wide');
    const value = read(st, insn.src);
    if (value.t !== 'scalar') throw new Reject(`atomic operand r${insn.src} is ${describe(value)}; it must be a number`);
    if (insn.imm === AtomicOp.CMPXCHG && read(st, 0).t !== 'scalar') throw new Reject('cmpxchg compares with r0, which must be a number');
    access(env, st, read(st, insn.dst), `r${insn.dst}`, insn.off, size, 'atomic');
    if (insn.imm === AtomicOp.CMPXCHG) write(st, 0, UNKNOWN);
    else if (insn.imm & AtomicOp.FETCH) write(st, insn.src, UNKNOWN);
  } else {
    throw new Reject(`store mode 0x${mode.toString(16)} is not valid for STX`);
  }
  return [{ pc: pc + 1, st }];
}

function step(env: InterpEnv, pc: number, st: State): Next {
  const insn = env.insns[pc]!;
  checkReg(insn.dst);
  if (insn.code === LD_IMM64) return ldImm64(env, insn, pc, st);
  switch (opClass(insn.code)) {
    case Class.ALU:
    case Class.ALU64:
      return alu(insn, pc, st);
    case Class.JMP:
    case Class.JMP32: {
      const op = opAluJmp(insn.code);
      if (op === JmpOp.EXIT) return exitInsn(insn, st);
      if (op === JmpOp.CALL) return call(env, insn, pc, st);
      if (op === JmpOp.JA) {
        if (opClass(insn.code) === Class.JMP32) throw new Reject('gotol (32-bit unconditional jump) is not supported by this verifier');
        if (insn.src || insn.dst || insn.imm || opSource(insn.code) !== Source.K) throw new Reject('goto uses reserved fields (src, dst, imm must be 0)');
        return [{ pc: pc + 1 + insn.off, st }];
      }
      if (!CONDITIONAL.has(op)) throw new Reject(`jump operation 0x${op.toString(16)} (e.g. may_goto) is not supported by this verifier`);
      return condJump(insn, pc, st);
    }
    case Class.LD:
      throw new Reject(opMode(insn.code) === Mode.ABS || opMode(insn.code) === Mode.IND
        ? 'legacy packet loads (ld_abs / ld_ind) are not supported by this verifier'
        : `unknown LD opcode 0x${insn.code.toString(16)}`);
    default:
      return memInsn(env, insn, pc, st);
  }
}

/** Walks all paths; returns the violations found (at most one per path, deduplicated). */
export function interpret(env: InterpEnv, maxIssues = 20): RawIssue[] {
  const issues: RawIssue[] = [];
  const seenIssue = new Set<string>();
  const seen = new Set<string>();
  const start: State = { frames: [newFrame(0, 0, -1)], refs: new Map(), nextId: 1 };
  start.frames[0]!.regs[1] = { t: 'ctx', off: 0 };
  const work: Next = [{ pc: 0, st: start }];
  let steps = 0;
  while (work.length && issues.length < maxIssues) {
    let { pc, st } = work.pop()!;
    for (;;) {
      const key = `${pc}#${stateKey(st)}`;
      if (seen.has(key)) break;
      seen.add(key);
      if (++steps > STEP_LIMIT) {
        issues.push({ index: pc, message: `the program has too many distinct paths for this verifier (over ${STEP_LIMIT} instruction visits)` });
        return issues;
      }
      let next: Next;
      try {
        next = step(env, pc, st);
      } catch (e) {
        if (!(e instanceof Reject)) throw e;
        const k = `${pc}:${e.message}`;
        if (!seenIssue.has(k)) {
          seenIssue.add(k);
          issues.push({ index: pc, message: e.message });
        }
        break;
      }
      if (!next.length) break;
      for (let i = 1; i < next.length; i++) work.push(next[i]!);
      ({ pc, st } = next[0]!);
    }
  }
  return issues;
}
