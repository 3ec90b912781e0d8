// An emulation of the kernel verifier's walk, to estimate how many instructions it processes when the
// proven bound (the whole unpruned tree of paths) is over its limit. It follows the kernel's order
// (fall-through first, pushed branches later), saves states where the kernel does (prune points, at
// most one per 2 jumps and 8 instructions, fewer inside loops), evicts the ones that keep missing, and
// prunes a path only on a saved, fully explored state identical to ours. Identity is stricter than
// the kernel's equivalence (which ignores imprecise scalars and dead stack), so it prunes less; but
// our states know less than the kernel's, so this is an estimate, held to half the kernel's limit.
import { Class, JmpOp, opAluJmp, opClass } from '../../asm/opcodes.js';
import { jumpTarget } from '../../asm/walk.js';
import { liveRegisters } from './liveness.js';
import { Reject } from './memory.js';
import { step, type InterpEnv } from './interp.js';
import { newFrame, stateKey, type State } from './state.js';

interface Saved {
  key: string;
  hit: number;
  miss: number;
  /** unfinished paths through this state (the kernel's branches) */
  branches: number;
  parent: Saved | null;
}

/** Prune points as the kernel marks them: conditional jumps, and targets of every jump. */
function prunePoints(env: InterpEnv): Uint8Array {
  const n = env.insns.length;
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (env.cfg.secondSlot[i]) continue;
    const t = jumpTarget(env.insns, i);
    if (t === null) continue;
    const insn = env.insns[i]!;
    if (opAluJmp(insn.code) !== JmpOp.JA) p[i] = 1;
    if (t >= 0 && t < n) p[t] = 1;
  }
  return p;
}

/** Instructions the emulated kernel processes, or Infinity past `limit` (or on a violation). */
export function emulateKernelWalk(env: InterpEnv, limit: number): number {
  const prune = prunePoints(env);
  const live = liveRegisters(env.insns, env.cfg);
  const explored = new Map<number, Saved[]>();
  const start: State = { frames: [newFrame(0, 0, -1)], refs: new Map(), nextId: 1 };
  start.frames[0]!.regs[1] = { t: 'ctx', off: 0 };
  let processed = 0, jmps = 0, prevInsns = 0, prevJmps = 0;

  const finishPath = (parent: Saved | null): void => {
    for (let s = parent; s; s = s.parent) if (--s.branches > 0) return;
  };
  type Task = { pc: number; st: State; parent: Saved | null };
  const stack: Task[] = [{ pc: 0, st: start, parent: null }];
  while (stack.length) {
    let { pc, st, parent } = stack.pop()!;
    for (;;) {
      if (++processed > limit) return Infinity;
      if (prune[pc]) {
        let add = jmps - prevJmps >= 2 && processed - prevInsns >= 8;
        const key = stateKey(st, live?.[pc]);
        const list = explored.get(pc) ?? [];
        let pruned = false;
        for (let k = 0; k < list.length; k++) {
          const sl = list[k]!;
          if (sl.branches > 0) {
            if (jmps - prevJmps < 20 && processed - prevInsns < 100) add = false; // a loop being walked
          } else if (sl.key === key) {
            sl.hit++;
            pruned = true;
            break;
          }
          if (add && ++sl.miss > sl.hit * 3 + 3) list.splice(k--, 1);
        }
        if (pruned) { finishPath(parent); break; }
        if (add) {
          prevJmps = jmps;
          prevInsns = processed;
          const saved: Saved = { key, hit: 0, miss: 0, branches: 1, parent };
          list.push(saved);
          explored.set(pc, list);
          parent = saved;
        }
      }
      const cls = opClass(env.insns[pc]!.code);
      if (cls === Class.JMP || cls === Class.JMP32) jmps++;
      let next;
      try {
        next = step(env, pc, st);
      } catch (e) {
        if (e instanceof Reject) return Infinity;
        throw e;
      }
      if (next.length === 0) { finishPath(parent); break; }
      if (next.length === 2) {
        if (parent) parent.branches++;
        stack.push({ pc: next[1]!.pc, st: next[1]!.st, parent });
      }
      ({ pc, st } = next[0]!);
    }
  }
  return processed;
}
