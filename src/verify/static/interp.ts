// The abstract interpreter: walks every path from insn 0 (the control-flow pass has already made the
// graph acyclic), carrying register and stack state, and stops a path at its first violation.
// Identical (insn, state) pairs are walked once, which keeps diamond-shaped programs cheap.
import type { RawInsn } from '../../asm/encoding.js';
import { AluOp, AtomicOp, Class, JmpOp, LD_IMM64, Mode, Pseudo, Source, opAluJmp, opClass, opMode, opSize, opSource, sizeBytes } from '../../asm/opcodes.js';
import { aluResult, compareConst } from './alu.js';
import { helperCall, type CallEnv } from './calls.js';
import { isPseudoCall, successors, type Cfg } from './cfg.js';
import { liveRegisters } from './liveness.js';
import { Reject, access } from './memory.js';
import {
  UNINIT, UNKNOWN, bounded, cloneState, cur, describe, isPointer, mapAllRegs, newFrame, scalar, stateKey, urange, type RegVal, type State,
} from './state.js';

/** The kernel's MAX_CALL_FRAMES. */
export const MAX_FRAMES = 8;

export interface InterpEnv extends CallEnv {
  insns: readonly RawInsn[];
  cfg: Cfg;
  /** ld_imm64 index -> what it loads (from spec.mapRefs) */
  mapAt: Map<number, { map: number; kind: 'fd' | 'value'; offset: number }>;
}

export interface RawIssue { index: number; message: string }

export type Next = Array<{ pc: number; st: State }>;

function read(st: State, r: number): RegVal {
  const v = cur(st).regs[r]!;
  if (v.t === 'uninit') throw new Reject(`r${r} is read before it is ever written (uninitialised)`);
  return v;
}

function write(st: State, r: number, v: RegVal): void {
  cur(st).regs[r] = v; // fields.ts has refused writes to r10 and register numbers past r10

}

function alu(insn: RawInsn, pc: number, st: State): Next {
  const op = opAluJmp(insn.code);
  const x = opSource(insn.code) === Source.X;
  const src = x && op !== AluOp.NEG && op !== AluOp.END ? read(st, insn.src) : scalar(BigInt(insn.imm));
  const dst = op === AluOp.MOV ? UNINIT : read(st, insn.dst); // mov does not read dst
  write(st, insn.dst, aluResult(insn, dst, src, `r${insn.dst}`, `r${insn.src}`, () => st.nextId++));
  return [{ pc: pc + 1, st }];
}

/** Sets the checked range of every packet pointer sharing `like`'s base, in one branch's state. */
function markRange(st: State, like: Extract<RegVal, { t: 'pkt' } | { t: 'pkt_meta' }>): void {
  // the kernel's find_good_pkt_pointers: nothing is learnt from a pointer at or before its base
  if (like.off <= 0) return;
  mapAllRegs(st, (v) => {
    if (v.t === 'pkt' && like.t === 'pkt' && v.id === like.id && v.range < like.off) return { ...v, range: like.off };
    if (v.t === 'pkt_meta' && like.t === 'pkt_meta' && v.range < like.off) return { ...v, range: like.off };
    return v;
  });
}

/** `if (pkt op data_end)` (or `pkt_meta op data`): which branch knows pkt <= end, and with it the range. */
function packetCompare(insn: RawInsn, pc: number, st: State, dst: RegVal, src: RegVal): Next | null {
  const isEnd = (end: RegVal, p: RegVal): boolean =>
    (p.t === 'pkt' && end.t === 'pkt_end') || (p.t === 'pkt_meta' && end.t === 'pkt' && end.id === 0 && end.off === 0);
  const op = opAluJmp(insn.code);
  const ordered = op === JmpOp.JGT || op === JmpOp.JGE || op === JmpOp.JLT || op === JmpOp.JLE;
  if (!ordered || opClass(insn.code) !== Class.JMP || opSource(insn.code) !== Source.X) return null;
  let p: RegVal, inFall: boolean;
  if (isEnd(src, dst)) {
    p = dst; // pkt op end: pkt <= end (or <) on the fall-through of > and >=, on the jump of < and <=
    inFall = op === JmpOp.JGT || op === JmpOp.JGE;
  } else if (isEnd(dst, src)) {
    p = src; // end op pkt
    inFall = op === JmpOp.JLT || op === JmpOp.JLE;
  } else {
    return null;
  }
  const fall = pc + 1, target = pc + 1 + insn.off;
  const other = cloneState(st);
  const known = inFall ? st : other;
  markRange(known, p as Extract<RegVal, { t: 'pkt' } | { t: 'pkt_meta' }>);
  return [{ pc: fall, st }, { pc: target, st: other }];
}

/** Branch verdict from unsigned ranges, only where the kernel's is_branch_taken decides it too. */
function decideByRange(op: number, a: [bigint, bigint], b: [bigint, bigint]): boolean | undefined {
  const [a0, a1] = a, [b0, b1] = b;
  switch (op) {
    case JmpOp.JEQ: return a1 < b0 || a0 > b1 ? false : undefined;
    case JmpOp.JNE: return a1 < b0 || a0 > b1 ? true : undefined;
    case JmpOp.JGT: return a0 > b1 ? true : a1 <= b0 ? false : undefined;
    case JmpOp.JGE: return a0 >= b1 ? true : a1 < b0 ? false : undefined;
    case JmpOp.JLT: return a1 < b0 ? true : a0 >= b1 ? false : undefined;
    case JmpOp.JLE: return a1 <= b0 ? true : a0 > b1 ? false : undefined;
    default: return undefined;
  }
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** `r` known to be at most `max` (or exactly `eq`) on this branch. */
function narrow(r: RegVal, max: bigint | null, eq?: bigint): RegVal {
  if (r.t !== 'scalar' || r.v !== undefined) return r;
  if (eq !== undefined) return scalar(eq);
  if (max === null || max < 0n) return r;
  return bounded(min(urange(r)[1], max));
}

/** What each branch of `dst op src` teaches about dst and src (64-bit unsigned compares only). */
function refine(op: number, dst: RegVal, src: RegVal): { taken: [RegVal, RegVal]; fall: [RegVal, RegVal] } {
  const [, a1] = urange(dst), [, b1] = urange(src);
  const k = src.t === 'scalar' ? src.v : undefined, j = dst.t === 'scalar' ? dst.v : undefined;
  const dec = (x: bigint): bigint | null => (x > 0n ? x - 1n : null);
  switch (op) {
    case JmpOp.JEQ: return { taken: [narrow(dst, null, k), narrow(src, null, j)], fall: [dst, src] };
    case JmpOp.JNE: return { taken: [dst, src], fall: [narrow(dst, null, k), narrow(src, null, j)] };
    case JmpOp.JGT: return { taken: [dst, narrow(src, dec(a1))], fall: [narrow(dst, b1), src] };
    case JmpOp.JGE: return { taken: [dst, narrow(src, a1)], fall: [narrow(dst, dec(b1)), src] };
    case JmpOp.JLT: return { taken: [narrow(dst, dec(b1)), src], fall: [dst, narrow(src, a1)] };
    case JmpOp.JLE: return { taken: [narrow(dst, b1), src], fall: [dst, narrow(src, dec(a1))] };
    default: return { taken: [dst, src], fall: [dst, src] };
  }
}

function condJump(insn: RawInsn, pc: number, st: State): Next {
  const x = opSource(insn.code) === Source.X;
  const dst = read(st, insn.dst);
  const src = x ? read(st, insn.src) : scalar(BigInt(insn.imm));
  const fall = pc + 1, target = pc + 1 + insn.off;
  const op = opAluJmp(insn.code);
  if (isPointer(dst) || isPointer(src)) {
    const pkt = packetCompare(insn, pc, st, dst, src);
    if (pkt) return pkt;
    const nullable = dst.t === 'value_or_null' || dst.t === 'mem_or_null';
    if (!nullable || x || insn.imm !== 0 || opClass(insn.code) !== Class.JMP || (op !== JmpOp.JEQ && op !== JmpOp.JNE)) {
      const who = isPointer(dst) ? `r${insn.dst} is ${describe(dst)}` : `r${insn.src} is ${describe(src)}`;
      throw new Reject(`pointer comparison: ${who}; the only comparisons allowed on pointers are a 64-bit == 0 / != 0 null check of a map lookup or ring buffer reservation result, and packet pointers against data_end (>, >=, <, <=)`);
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
  if (opClass(insn.code) !== Class.JMP) return [{ pc: fall, st }, { pc: target, st: cloneState(st) }];
  const decided = decideByRange(op, urange(dst), urange(src));
  if (decided !== undefined) return [{ pc: decided ? target : fall, st }];
  const r = refine(op, dst, src);
  const other = cloneState(st);
  cur(other).regs[insn.dst] = r.taken[0];
  if (x) cur(other).regs[insn.src] = r.taken[1];
  cur(st).regs[insn.dst] = r.fall[0];
  if (x) cur(st).regs[insn.src] = r.fall[1];
  return [{ pc: fall, st }, { pc: target, st: other }];
}

function exitInsn(st: State): Next {
  const r0 = cur(st).regs[0]!;
  if (r0.t === 'uninit') throw new Reject('r0 is not set before exit: the return value is uninitialised on this path');
  // A subprogram may hand back any pointer but one into its own, ending, stack frame (the kernel's
  // prepare_func_exit copies r0); the program itself returns a number.
  const callee = st.frames.length - 1;
  if (st.frames.length > 1 ? r0.t === 'stack' && r0.frame >= callee : r0.t !== 'scalar') {
    throw new Reject(`r0 at exit is ${describe(r0)}; ${st.frames.length > 1 ? 'a subprogram must return a number or a pointer the caller can use' : 'the program must return a number'}`);
  }
  for (const { at, frame } of st.refs.values()) {
    // a subprogram must release what it reserved (older kernels check refs per frame)
    if (frame >= st.frames.length - 1) {
      throw new Reject(`the ring buffer record reserved at insn ${at} is neither submitted nor discarded on this path`);
    }
  }
  if (st.frames.length > 1) {
    const callee = st.frames.pop()!;
    const regs = cur(st).regs;
    regs[0] = r0;
    for (let r = 1; r <= 5; r++) regs[r] = UNINIT;
    return [{ pc: callee.returnTo, st }];
  }
  return [];
}

function call(env: InterpEnv, insn: RawInsn, pc: number, st: State): Next {
  if (insn.src === Pseudo.CALL) {
    if (st.frames.length >= MAX_FRAMES) throw new Reject(`the call chain would be ${st.frames.length + 1} frames deep; at most ${MAX_FRAMES} are allowed`);
    const target = pc + 1 + insn.imm;
    const frame = newFrame(st.frames.length, env.cfg.subprogOf[target]!, pc + 1);
    for (let r = 1; r <= 5; r++) frame.regs[r] = cur(st).regs[r]!;
    st.frames.push(frame);
    return [{ pc: target, st }];
  }
  helperCall(env, st, insn, pc);
  return [{ pc: pc + 1, st }];
}

function ldImm64(env: InterpEnv, insn: RawInsn, pc: number, st: State): Next {
  const hi = env.insns[pc + 1]!;
  const ref = env.mapAt.get(pc); // fields.ts guarantees one for map loads
  if (insn.src === 0) write(st, insn.dst, scalar((BigInt(hi.imm) << 32n) | BigInt.asUintN(32, BigInt(insn.imm))));
  else write(st, insn.dst, ref!.kind === 'fd' ? { t: 'map', map: ref!.map } : { t: 'value', map: ref!.map, off: ref!.offset });
  return [{ pc: pc + 2, st }];
}

/** LDX, ST, STX and atomics; encodings were checked by fields.ts. */
function memInsn(env: InterpEnv, insn: RawInsn, pc: number, st: State): Next {
  const cls = opClass(insn.code);
  const size = sizeBytes(opSize(insn.code));
  if (cls === Class.LDX) {
    write(st, insn.dst, access(env, st, read(st, insn.src), `r${insn.src}`, insn.off, size, 'read'));
  } else if (cls === Class.ST) {
    access(env, st, read(st, insn.dst), `r${insn.dst}`, insn.off, size, 'write');
  } else if (opMode(insn.code) === Mode.MEM) {
    const value = read(st, insn.src);
    access(env, st, read(st, insn.dst), `r${insn.dst}`, insn.off, size, 'write', value);
  } else {
    const value = read(st, insn.src);
    if (value.t !== 'scalar') throw new Reject(`atomic operand r${insn.src} is ${describe(value)}; it must be a number`);
    if (insn.imm === AtomicOp.CMPXCHG && read(st, 0).t !== 'scalar') throw new Reject('cmpxchg compares with r0, which must be a number');
    access(env, st, read(st, insn.dst), `r${insn.dst}`, insn.off, size, 'atomic');
    if (insn.imm === AtomicOp.CMPXCHG) write(st, 0, UNKNOWN);
    else if (insn.imm & AtomicOp.FETCH) write(st, insn.src, UNKNOWN);
  }
  return [{ pc: pc + 1, st }];
}

export function step(env: InterpEnv, pc: number, st: State): Next {
  const insn = env.insns[pc]!;
  if (insn.code === LD_IMM64) return ldImm64(env, insn, pc, st);
  switch (opClass(insn.code)) {
    case Class.ALU:
    case Class.ALU64:
      return alu(insn, pc, st);
    case Class.JMP:
    case Class.JMP32: {
      const op = opAluJmp(insn.code);
      if (op === JmpOp.EXIT) return exitInsn(st);
      if (op === JmpOp.CALL) return call(env, insn, pc, st);
      if (op === JmpOp.JA) return [{ pc: pc + 1 + insn.off, st }];
      return condJump(insn, pc, st);
    }
    case Class.LD:
      return ldAbs(env, insn, pc, st);
    default:
      return memInsn(env, insn, pc, st);
  }
}

/** ld_abs / ld_ind: r0 = packet bytes at imm (+ src), read through the skb in r6; r1-r5 clobbered. */
function ldAbs(env: InterpEnv, insn: RawInsn, pc: number, st: State): Next {
  if (!env.ctx.ldAbs) throw new Reject(`ld_abs / ld_ind are not allowed in ${env.ctx.name} programs (only socket_filter, sched_cls, sched_act)`);
  if (env.cfg.subprogStarts.length > 1) throw new Reject('ld_abs / ld_ind cannot be used in a program with bpf-to-bpf calls (without BTF)');
  const r6 = read(st, 6);
  if (r6.t !== 'ctx' || r6.off !== 0) throw new Reject(`ld_abs / ld_ind read the packet through r6, which must be the unmodified context pointer, but it is ${describe(r6)}`);
  if (opMode(insn.code) === Mode.IND) {
    const idx = read(st, insn.src);
    if (idx.t !== 'scalar') throw new Reject(`ld_ind index r${insn.src} is ${describe(idx)}; it must be a number`);
  }
  if (st.refs.size) throw new Reject('ld_abs / ld_ind may end the program, which would leak the ring buffer record still reserved');
  const regs = cur(st).regs;
  for (let r = 1; r <= 5; r++) regs[r] = UNINIT;
  regs[0] = UNKNOWN;
  return [{ pc: pc + 1, st }];
}
/** 1 at instructions two or more paths can reach: jump targets with another way in, call returns. */
export function joinPoints(env: InterpEnv): Uint8Array {
  const n = env.insns.length;
  const inDegree = new Uint8Array(n);
  const joins = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (env.cfg.secondSlot[i]) continue;
    for (const s of successors(env.insns, i)) if (s >= 0 && s < n && inDegree[s]! < 2) inDegree[s]!++;
    if (isPseudoCall(env.insns[i]!) && i + 1 < n) joins[i + 1] = 1;
  }
  for (let i = 0; i < n; i++) if (inDegree[i]! >= 2) joins[i] = 1;
  for (const start of env.cfg.subprogStarts) joins[start] = 1;
  return joins;
}

/** What the kernel would at most spend on a subtree of its walk: see "Complexity" in docs/verifier.md. */
interface Cost {
  /** instructions processed on every path, with no pruning at all (the kernel's insn_processed is at most this) */
  u: number;
  /** the most branch states pending at once (the kernel's jump stack) */
  f: number;
}

/** A straight run of the walk from one state: it ends at an exit, a two-way branch or a join point. */
interface Seg {
  parent: Seg | null;
  /** which child of the parent this is (0 = fall-through) */
  slot: number;
  /** memo key when the run starts at a join point */
  key: string | null;
  /** instructions in the run */
  len: number;
  kids: Cost[];
  waiting: number;
  branch: boolean;
}

export interface InterpResult {
  issues: RawIssue[];
  /** the bound on the kernel's processed instructions (Infinity when the walk was cut short) */
  processed: number;
  /** the bound on pending branch states */
  pending: number;
}

/** The kernel's BPF_COMPLEXITY_LIMIT_INSNS and BPF_COMPLEXITY_LIMIT_JMP_SEQ. */
export const KERNEL_INSN_LIMIT = 1_000_000;
export const KERNEL_JMP_SEQ_LIMIT = 8192;

/**
 * Walks every path from insn 0 in the kernel's order (fall-through first), stopping a path at its first
 * violation. Identical (insn, state) pairs at join points are walked once: their subtree's cost is
 * remembered, so the bound on what the kernel processes is the size of the whole unpruned tree,
 * computed without walking it. Meeting a state identical to one still being walked on the same path
 * is an infinite loop.
 */
export function interpret(env: InterpEnv, maxIssues = 20): InterpResult {
  const issues: RawIssue[] = [];
  const seenIssue = new Set<string>();
  const memo = new Map<string, Cost>();
  const active = new Set<string>();
  const start: State = { frames: [newFrame(0, 0, -1)], refs: new Map(), nextId: 1 };
  start.frames[0]!.regs[1] = { t: 'ctx', off: 0 };
  const joins = joinPoints(env);
  const live = liveRegisters(env.insns, env.cfg);
  let steps = 0;
  let root: Cost | undefined;

  const finish = (seg: Seg): void => {
    for (let s: Seg | null = seg; s; ) {
      const k = s.kids;
      const cost: Cost = s.branch
        ? { u: s.len + k[0]!.u + k[1]!.u, f: Math.max(1, 1 + k[0]!.f, k[1]!.f) }
        : k.length ? { u: s.len + k[0]!.u, f: k[0]!.f } : { u: s.len, f: 0 };
      if (s.key !== null) {
        memo.set(s.key, cost);
        active.delete(s.key);
      }
      const p: Seg | null = s.parent;
      if (!p) { root = cost; return; }
      p.kids[s.slot] = cost;
      if (--p.waiting > 0) return;
      s = p;
    }
  };

  type Task = { pc: number; st: State; parent: Seg | null; slot: number; key: string | null };
  const tasks: Task[] = [{ pc: 0, st: start, parent: null, slot: 0, key: null }];
  while (tasks.length) {
    const task = tasks.pop()!;
    let { pc, st } = task;
    const seg: Seg = { parent: task.parent, slot: task.slot, key: task.key, len: 0, kids: [], waiting: 0, branch: false };
    if (seg.key !== null) active.add(seg.key);
    for (;;) {
      // Paths can only merge where control flow does: remembering states there is enough.
      if (joins[pc] && (seg.len > 0 || seg.key === null)) {
        const key = `${pc}#${stateKey(st, live?.[pc])}`;
        const known = memo.get(key);
        if (known) {
          seg.kids.push(known);
          finish(seg);
          break;
        }
        if (active.has(key)) {
          const k = `${pc}:loop`;
          if (!seenIssue.has(k)) {
            seenIssue.add(k);
            issues.push({ index: pc, message: 'infinite loop: this instruction is reached again with exactly the same state, so the loop never ends (the kernel refuses it too)' });
          }
          finish(seg);
          break;
        }
        seg.waiting = 1;
        tasks.push({ pc, st, parent: seg, slot: 0, key });
        break;
      }
      if (++steps > KERNEL_INSN_LIMIT) {
        issues.push({ index: pc, message: `too complex for this verifier to prove: the walk passed ${KERNEL_INSN_LIMIT} instructions, so the kernel may pass its limit of ${KERNEL_INSN_LIMIT} processed instructions too` });
        return { issues, processed: Infinity, pending: Infinity };
      }
      seg.len++;
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
        next = [];
      }
      if (next.length === 0 || issues.length >= maxIssues) {
        finish(seg);
        break;
      }
      if (next.length === 1) {
        ({ pc, st } = next[0]!);
        continue;
      }
      // a branch the kernel cannot decide: it pushes the jump target and walks the fall-through first
      seg.branch = true;
      seg.waiting = 2;
      tasks.push({ pc: next[1]!.pc, st: next[1]!.st, parent: seg, slot: 1, key: null });
      tasks.push({ pc: next[0]!.pc, st: next[0]!.st, parent: seg, slot: 0, key: null });
      break;
    }
    if (issues.length >= maxIssues) break;
  }
  return { issues, processed: root?.u ?? Infinity, pending: root?.f ?? Infinity };
}
