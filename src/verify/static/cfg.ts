// Control-flow checks done before any abstract interpretation, on the instruction graph alone:
// jump targets, ld_imm64 slot pairs, subprogram boundaries (the shared walk), reachability and
// recursion. Loops are allowed: the interpreter walks their iterations and bounds them.
import type { RawInsn } from '../../asm/encoding.js';
import { isPseudoCall, successors, walk } from '../../asm/walk.js';

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

export { isPseudoCall, successors };

/** The shared walk (slots, subprograms, jump targets, the kernel's structural checks) plus our policy. */
export function buildCfg(insns: readonly RawInsn[]): Cfg {
  const n = insns.length;
  const w = walk(insns);
  const { secondSlot, subprogStarts, subprogOf, calls } = w;
  const issues: CfgIssue[] = w.issues.map(({ index, message }) => ({ index, message }));
  if (issues.length) return { issues, secondSlot, subprogStarts, subprogOf, calls };

  // Depth-first walk from insn 0 over jumps and calls. Loops are allowed (the walk bounds them by
  // walking their iterations); a call back into a subprogram already on the call chain is recursion.
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
    const [t] = edge;
    if (color[t] === 0) {
      color[t] = 1;
      stack.push({ node: t, edges: edgesOf(t) });
    }
  }
  // recursion: a cycle in the subprogram call graph
  const state = new Uint8Array(subprogStarts.length);
  const visit = (k: number): void => {
    state[k] = 1;
    for (const c of calls.get(k) ?? []) {
      if (state[c] === 1) {
        const at = callSite(insns, secondSlot, subprogOf, k, c);
        issues.push({ index: at, message: `recursive call: insn ${at} calls the subprogram at insn ${subprogStarts[c]}, which is already on the call chain; recursion is not allowed` });
      } else if (state[c] === 0) visit(c);
    }
    state[k] = 2;
  };
  visit(0);
  for (let i = 0; i < n; i++) {
    if (!secondSlot[i] && color[i] === 0) issues.push({ index: i, message: 'unreachable instruction: no path from the program start reaches it' });
  }
  return { issues, secondSlot, subprogStarts, subprogOf, calls };
}

function callSite(insns: readonly RawInsn[], secondSlot: Uint8Array, subprogOf: Int32Array, from: number, to: number): number {
  for (let i = 0; i < insns.length; i++) {
    if (!secondSlot[i] && subprogOf[i] === from && isPseudoCall(insns[i]!) && subprogOf[i + 1 + insns[i]!.imm] === to) return i;
  }
  return -1;
}
