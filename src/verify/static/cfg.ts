// Control-flow checks done before any abstract interpretation, on the instruction graph alone:
// jump targets, ld_imm64 slot pairs, subprogram boundaries, reachability and back-edges (loops).
// Rejecting every back-edge makes the graph acyclic, so the interpreter's walk over paths ends.
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
