// The DSL's value types. An Instruction is a plain frozen object holding the final opcode fields plus
// what only the assembler can resolve (label targets, map references). Keeping encodings in the value
// (rather than an AST) lets the assembler, the disassembler and error messages share one representation.
import { Class, JmpOp, LD_IMM64, Pseudo } from './opcodes.js';

/** A jump/call target: a label name, or a raw relative offset in slots (as the kernel counts). */
export type Target = string | number;

export interface InsnMapRef {
  readonly map: string;
  readonly kind: 'fd' | 'value';
  /** byte offset into the value, for kind 'value' */
  readonly offset?: number;
}

export interface Instruction {
  /** opcode byte */
  readonly op: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number;
  /** ld_imm64 only: the full 64-bit value (first slot's imm = low half, second slot's imm = high half) */
  readonly imm64?: bigint;
  /** jump/call target; goes into off, or imm for gotol, local calls and ld_imm64 function pointers */
  readonly target?: Target;
  /** ld_imm64 map reference, patched with the map's fd at load time */
  readonly mapRef?: InsnMapRef;
  /** the DSL call that built it, for error messages */
  readonly dsl?: string;
}

/** A position marker: names the instruction that follows it in the item list. */
export interface Label {
  readonly label: string;
}

export type Item = Instruction | Label;

export function label(name: string): Label {
  if (typeof name !== 'string' || name === '') throw new Error(`label: name must be a non-empty string, got ${String(name)}`);
  return Object.freeze({ label: name });
}

export function isLabel(item: Item): item is Label {
  return typeof (item as Label).label === 'string' && (item as Instruction).op === undefined;
}

/** Slots an instruction occupies: 2 for ld_imm64, 1 otherwise. */
export function slotCount(insn: Instruction): 1 | 2 {
  return insn.op === LD_IMM64 ? 2 : 1;
}

/** Which field a target is written to: imm for gotol, bpf-to-bpf calls and ld_imm64 function pointers. */
export function targetField(insn: Pick<Instruction, 'op' | 'src'>): 'off' | 'imm' {
  if (insn.op === (Class.JMP32 | JmpOp.JA)) return 'imm';
  if (insn.op === (Class.JMP | JmpOp.CALL)) return 'imm';
  if (insn.op === LD_IMM64 && insn.src === Pseudo.FUNC) return 'imm';
  return 'off';
}

/** Builds a frozen Instruction; fields not given are 0. */
export function insn(fields: Partial<Instruction> & { op: number; dsl: string }): Instruction {
  const out: Instruction = { dst: 0, src: 0, off: 0, imm: 0, ...fields };
  for (const key of Object.keys(out) as Array<keyof Instruction>) {
    if (out[key] === undefined) delete (out as unknown as Record<string, unknown>)[key];
  }
  return Object.freeze(out);
}

/** Checks a register argument early: these are programming mistakes best reported at the call site. */
export function reg(what: string, r: number, fn: string): number {
  if (!Number.isInteger(r) || r < 0 || r > 10) {
    throw new Error(`${fn}: ${what} register must be r0..r10, got ${String(r)}`);
  }
  return r;
}

/** DSL text for a register. */
export const rn = (r: number): string => `r${r}`;

/** DSL text for a target. */
export const tn = (t: Target): string => (typeof t === 'string' ? `'${t}'` : String(t));
