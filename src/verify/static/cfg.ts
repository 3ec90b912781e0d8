// Control-flow checks done before any abstract interpretation, on the instruction graph alone:
// jump targets, ld_imm64 slot pairs, subprogram boundaries, reachability and back-edges (loops).
// Rejecting every back-edge makes the graph acyclic, so the interpreter's walk over paths ends.
import type { RawInsn } from '../../asm/encoding.js';
import { Class, JmpOp, LD_IMM64, Pseudo, opAluJmp, opClass } from '../../asm/opcodes.js';

export interface CfgIssue { index: number; message: string }

export interface Cfg {
  issues: CfgIssue[];
  /** 1 where the slot is the second half of an ld_imm64 */
  secondSlot: Uint8Array;
  /** first insn of each subprogram, ascending; [0] is the main program */
  subprogStarts: number[];
  /** subprogram index of each insn */
  subprogOf: Int32Array;
  /** subprogram -> subprograms it calls */
  calls: Map<number, Set<number>>;
}

export const isPseudoCall = (i: RawInsn): boolean =>
  opClass(i.code) === Class.JMP && opAluJmp(i.code) === JmpOp.CALL && i.src === Pseudo.CALL;

const isJmpClass = (i: RawInsn): boolean => opClass(i.code) === Class.JMP || opClass(i.code) === Class.JMP32;

/** Successors of insn i inside its function (calls fall through; their targets are call edges). */
export function successors(insns: readonly RawInsn[], i: number): number[] {
  const insn = insns[i]!;
  if (insn.code === LD_IMM64) return [i + 2];
  if (!isJmpClass(insn)) return [i + 1];
  const op = opAluJmp(insn.code);
  if (op === JmpOp.EXIT) return [];
  if (op === JmpOp.CALL) return [i + 1];
  if (op === JmpOp.JA) return [i + 1 + (opClass(insn.code) === Class.JMP32 ? insn.imm : insn.off)];
  return [i + 1, i + 1 + insn.off];
}

export function buildCfg(insns: readonly RawInsn[]): Cfg {
  const n = insns.length;
  const issues: CfgIssue[] = [];
  const secondSlot = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (insns[i]!.code !== LD_IMM64 || secondSlot[i]) continue;
    if (i + 1 >= n) issues.push({ index: i, message: 'ld_imm64 is the last slot: its second 8-byte slot is missing' });
    else secondSlot[i + 1] = 1;
  }

  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    if (secondSlot[i] || !isPseudoCall(insns[i]!)) continue;
    const t = i + 1 + insns[i]!.imm;
    if (t < 0 || t >= n) issues.push({ index: i, message: `call target insn ${t} is outside the program (insns 0..${n - 1})` });
    else if (secondSlot[t]) issues.push({ index: i, message: `call target insn ${t} is the second slot of an ld_imm64` });
    else starts.add(t);
  }
  const subprogStarts = [...starts].sort((a, b) => a - b);
  const subprogOf = new Int32Array(n);
  subprogStarts.forEach((s, k) => subprogOf.fill(k, s, subprogStarts[k + 1] ?? n));
  const calls = new Map<number, Set<number>>(subprogStarts.map((_, k) => [k, new Set<number>()]));
  if (issues.length) return { issues, secondSlot, subprogStarts, subprogOf, calls };

  // Every edge must land on a real insn of the same subprogram.
  for (let i = 0; i < n; i++) {
    if (secondSlot[i]) continue;
    for (const t of successors(insns, i)) {
      if (t === i + 1 || (insns[i]!.code === LD_IMM64 && t === i + 2)) {
        if (t >= n || (t < n && subprogOf[t] !== subprogOf[i])) {
          issues.push({ index: i, message: 'execution falls off the end of the ' + (subprogOf[i] ? `subprogram starting at insn ${subprogStarts[subprogOf[i]!]}` : 'program') + ': the last instruction must be exit or goto' });
        }
        continue;
      }
      if (t < 0 || t >= n) issues.push({ index: i, message: `jump to insn ${t} is out of range (the program has insns 0..${n - 1})` });
      else if (secondSlot[t]) issues.push({ index: i, message: `jump to insn ${t} lands in the middle of the ld_imm64 at insn ${t - 1}` });
      else if (subprogOf[t] !== subprogOf[i]) issues.push({ index: i, message: `jump to insn ${t} leaves the subprogram (only call/exit may cross subprogram boundaries)` });
    }
    if (isPseudoCall(insns[i]!)) calls.get(subprogOf[i]!)!.add(subprogOf[i + 1 + insns[i]!.imm]!);
  }
  if (issues.length) return { issues, secondSlot, subprogStarts, subprogOf, calls };

  // Depth-first walk from insn 0: grey nodes are on the current path, so an edge to one closes a cycle.
  const color = new Uint8Array(n); // 0 white, 1 grey, 2 black
  const stack: Array<{ node: number; edges: Array<[number, boolean]> }> = [];
  const edgesOf = (i: number): Array<[number, boolean]> => {
    const e: Array<[number, boolean]> = successors(insns, i).map((t) => [t, false]);
    if (isPseudoCall(insns[i]!)) e.push([i + 1 + insns[i]!.imm, true]);
    return e;
  };
  color[0] = 1;
  stack.push({ node: 0, edges: edgesOf(0) });
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const edge = top.edges.shift();
    if (!edge) { color[top.node] = 2; stack.pop(); continue; }
    const [t, isCall] = edge;
    if (color[t] === 1) {
      issues.push({
        index: top.node,
        message: isCall
          ? `recursive call: insn ${top.node} calls the subprogram at insn ${t}, which is already on the call chain; recursion is not allowed`
          : `loop at insn ${top.node}: back-edge to insn ${t}; bounded loops are not supported by this verifier`,
      });
    } else if (color[t] === 0) {
      color[t] = 1;
      stack.push({ node: t, edges: edgesOf(t) });
    }
  }
  for (let i = 0; i < n; i++) {
    if (!secondSlot[i] && color[i] === 0) issues.push({ index: i, message: 'unreachable instruction: no path from the program start reaches it' });
  }
  return { issues, secondSlot, subprogStarts, subprogOf, calls };
}
