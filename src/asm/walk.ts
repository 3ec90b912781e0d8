// The one walk over bytecode that every consumer shares: which slots are instructions (ld_imm64
// takes two), where each jump lands, where subprograms start (bpf-to-bpf call targets and ld_imm64
// function references, as the kernel's add_subprog counts them), and which ld_imm64 loads which map.
// The checks here are the kernel's structural ones (check_subprogs, the ld_imm64 pairing of
// resolve_pseudo_ldimm64); policies (loops, reachability, what the engine supports) stay with the
// verifier and the engine.
import type { RawInsn } from './encoding.js';
import type { MapRef, MapSpec, ProgramSpec } from './spec.js';
import { Class, JmpOp, LD_IMM64, Pseudo, opAluJmp, opClass } from './opcodes.js';

export const isLdImm64 = (i: RawInsn): boolean => i.code === LD_IMM64;
export const isExit = (i: RawInsn): boolean => i.code === (Class.JMP | JmpOp.EXIT);
const isJmpClass = (i: RawInsn): boolean => opClass(i.code) === Class.JMP || opClass(i.code) === Class.JMP32;
export const isJa = (i: RawInsn): boolean => isJmpClass(i) && opAluJmp(i.code) === JmpOp.JA;
/** call pc+imm+1 (src = BPF_PSEUDO_CALL) */
export const isPseudoCall = (i: RawInsn): boolean => i.code === (Class.JMP | JmpOp.CALL) && i.src === Pseudo.CALL;
/** ld_imm64 of a function address (src = BPF_PSEUDO_FUNC), e.g. a bpf_loop callback */
export const isPseudoFunc = (i: RawInsn): boolean => i.code === LD_IMM64 && i.src === Pseudo.FUNC;
/** a map load: ld_imm64 with src MAP_FD, MAP_VALUE, MAP_IDX or MAP_IDX_VALUE */
export const isMapLoad = (i: RawInsn): boolean =>
  i.code === LD_IMM64 && (i.src === Pseudo.MAP_FD || i.src === Pseudo.MAP_VALUE || i.src === Pseudo.MAP_IDX || i.src === Pseudo.MAP_IDX_VALUE);

/** Where a jump at i lands (conditional or not), or null for non-jumps, calls and exit. */
export function jumpTarget(insns: readonly RawInsn[], i: number): number | null {
  const insn = insns[i]!;
  if (!isJmpClass(insn)) return null;
  const op = opAluJmp(insn.code);
  if (op === JmpOp.CALL || op === JmpOp.EXIT) return null;
  if (opClass(insn.code) === Class.JMP32 && op === JmpOp.JA) return i + 1 + insn.imm;
  return i + 1 + insn.off;
}

/** The first slot of the next instruction. */
export const nextInsn = (insns: readonly RawInsn[], i: number): number => (insns[i]!.code === LD_IMM64 ? i + 2 : i + 1);

/** Successors of insn i inside its function: calls fall through (their targets are call edges). */
export function successors(insns: readonly RawInsn[], i: number): number[] {
  const insn = insns[i]!;
  if (insn.code === LD_IMM64) return [i + 2];
  if (!isJmpClass(insn)) return [i + 1];
  const op = opAluJmp(insn.code);
  if (op === JmpOp.EXIT) return [];
  if (op === JmpOp.CALL) return [i + 1];
  const t = jumpTarget(insns, i)!;
  if (op === JmpOp.JA) return [t];
  return [i + 1, t];
}

/** The target of a bpf-to-bpf call or function reference at i. */
export const calleeOf = (insns: readonly RawInsn[], i: number): number => i + 1 + insns[i]!.imm;

export type WalkIssueKind = 'ld_imm64_split' | 'call_target' | 'jump_target' | 'jump_leaves_subprog' | 'falls_off_end';

/** A structural problem the kernel refuses, naming the instruction (first slot). */
export interface WalkIssue { index: number; kind: WalkIssueKind; message: string }

export interface Walk {
  /** number of slots */
  n: number;
  /** 1 where the slot is the second half of an ld_imm64 */
  secondSlot: Uint8Array;
  /** first slot of each subprogram, ascending; [0] = 0 is the main program */
  subprogStarts: number[];
  /** subprogram index of each slot */
  subprogOf: Int32Array;
  /** subprogram -> subprograms it calls with call pc+N (not function references) */
  calls: Map<number, Set<number>>;
  /** slots that are the target of a jump (conditional or not) */
  jumpTargets: Set<number>;
  /** structural issues; when non-empty, the other fields describe what could be worked out */
  issues: WalkIssue[];
}

/** The kernel's BPF_MAX_SUBPROGS: subprograms, the main program included. */
export const MAX_SUBPROGS = 256;

/** Slots, subprograms and jump targets of `insns`, with the kernel's structural checks. */
export function walk(insns: readonly RawInsn[]): Walk {
  const n = insns.length;
  const issues: WalkIssue[] = [];
  const secondSlot = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (insns[i]!.code !== LD_IMM64) continue;
    if (i + 1 >= n) issues.push({ index: i, kind: 'ld_imm64_split', message: 'ld_imm64 is the last slot: its second 8-byte slot is missing' });
    else secondSlot[++i] = 1;
  }

  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    if (secondSlot[i]) continue;
    const insn = insns[i]!;
    const what = isPseudoCall(insn) ? 'call' : isPseudoFunc(insn) ? 'function reference' : undefined;
    if (!what) continue;
    const t = calleeOf(insns, i);
    if (t < 0 || t >= n) issues.push({ index: i, kind: 'call_target', message: `${what} target insn ${t} is outside the program (insns 0..${n - 1})` });
    else if (secondSlot[t]) issues.push({ index: i, kind: 'call_target', message: `${what} target insn ${t} is the second slot of an ld_imm64` });
    else starts.add(t);
  }
  const subprogStarts = [...starts].sort((a, b) => a - b);
  const subprogOf = new Int32Array(n);
  subprogStarts.forEach((s, k) => subprogOf.fill(k, s, subprogStarts[k + 1] ?? n));
  const calls = new Map<number, Set<number>>(subprogStarts.map((_, k) => [k, new Set<number>()]));
  const jumpTargets = new Set<number>();

  for (let i = 0; i < n; i++) {
    if (secondSlot[i]) continue;
    const insn = insns[i]!;
    const t = jumpTarget(insns, i);
    if (t !== null) {
      if (t < 0 || t >= n) issues.push({ index: i, kind: 'jump_target', message: `jump to insn ${t} is out of range (outside the program: insns 0..${n - 1})` });
      else if (secondSlot[t]) issues.push({ index: i, kind: 'jump_target', message: `jump to insn ${t} lands in the middle of the ld_imm64 at insn ${t - 1}` });
      else if (subprogOf[t] !== subprogOf[i]) issues.push({ index: i, kind: 'jump_leaves_subprog', message: `jump to insn ${t} leaves the subprogram (only call/exit may cross subprogram boundaries)` });
      else jumpTargets.add(t);
    }
    if (isPseudoCall(insn)) {
      const c = calleeOf(insns, i);
      if (c >= 0 && c < n && !secondSlot[c]) calls.get(subprogOf[i]!)!.add(subprogOf[c]!);
    }
  }
  // The last slot of each subprogram must be exit or goto: nothing falls into the next one.
  subprogStarts.forEach((s, k) => {
    const end = (subprogStarts[k + 1] ?? n) - 1;
    if (end < s) return;
    const last = secondSlot[end] ? end - 1 : end;
    if (!isExit(insns[last]!) && !isJa(insns[last]!)) {
      const where = k ? `subprogram starting at insn ${s}` : 'program';
      issues.push({ index: last, kind: 'falls_off_end', message: `execution falls off the end of the ${where}: the last instruction must be exit or an unconditional jump (goto)` });
    }
  });
  return { n, secondSlot, subprogStarts, subprogOf, calls, jumpTargets, issues };
}

/** What one map ld_imm64 loads, resolved from the instruction and the spec's map references. */
export interface MapLoad {
  /** first slot of the ld_imm64 */
  index: number;
  /** the map's name (from spec.mapRefs), or undefined when the load names none */
  name?: string;
  /** index into spec.maps, when the name is declared there */
  map?: number;
  kind: 'fd' | 'value';
  /** value offset: the second slot's imm, unsigned (0 for fd loads) */
  offset: number;
  /** the instruction's src (Pseudo.MAP_FD ...) and first imm (the fd or fd_array index) */
  src: number;
  imm: number;
}

export type MapRefIssueKind = 'not_map_load' | 'duplicate' | 'unknown_map' | 'second_slot' | 'offset_mismatch';
export interface MapRefIssue { index: number; kind: MapRefIssueKind; message: string }

/** The kernel's BPF_MAX_VAR_OFF: direct value offsets at or above it are refused. */
export const MAX_VALUE_OFFSET = 1 << 29;

/**
 * Map loads of a program: every ld_imm64 with a map src, joined with spec.mapRefs (by index).
 * A reference on a plain ld_imm64 (src 0) makes it a map load of the reference's kind, with the
 * reference's offset in the second slot: the returned `insns` carry that (a copy; the spec is not
 * touched). On an instruction that already has a map src, the instruction decides the kind and
 * offset and the reference only names the map. Issues: a reference not on an ld_imm64 or of the
 * other kind, two references on one instruction, a map not in spec.maps, a second slot the kernel
 * refuses (fd loads need imm 0 there) or that disagrees with the reference's offset.
 */
export function mapLoads(spec: Pick<ProgramSpec, 'insns' | 'mapRefs' | 'maps'>): {
  insns: RawInsn[]; loads: MapLoad[]; byIndex: Map<number, MapLoad>; issues: MapRefIssue[];
} {
  let insns = spec.insns as RawInsn[];
  const issues: MapRefIssue[] = [];
  const refs = new Map<number, MapRef>();
  for (const ref of spec.mapRefs) {
    const insn = insns[ref.index];
    const want: number[] = ref.kind === 'fd' ? [Pseudo.MAP_FD, Pseudo.MAP_IDX] : [Pseudo.MAP_VALUE, Pseudo.MAP_IDX_VALUE];
    if (!insn || insn.code !== LD_IMM64 || !(insn.src === 0 || want.includes(insn.src)) || !insns[ref.index + 1]) {
      issues.push({ index: ref.index, kind: 'not_map_load', message: `spec.mapRefs names map '${ref.map}' here, but this is not an ld_imm64 with src ${want[0]} (map ${ref.kind})` });
    } else if (refs.has(ref.index)) {
      issues.push({ index: ref.index, kind: 'duplicate', message: 'two spec.mapRefs entries name this instruction' });
    } else {
      refs.set(ref.index, ref);
      if (insn.src === 0) {
        if (insns === spec.insns) insns = insns.slice();
        insns[ref.index] = { ...insn, src: ref.kind === 'fd' ? Pseudo.MAP_FD : Pseudo.MAP_VALUE };
        insns[ref.index + 1] = { ...insns[ref.index + 1]!, imm: ref.kind === 'fd' ? 0 : (ref.offset ?? 0) | 0 };
      }
    }
  }
  const loads: MapLoad[] = [];
  const byIndex = new Map<number, MapLoad>();
  for (let i = 0; i + 1 < insns.length; i++) {
    const insn = insns[i]!;
    if (insn.code !== LD_IMM64) continue;
    const second = insns[i + 1]!;
    if (isMapLoad(insn)) {
      const ref = refs.get(i);
      const kind = insn.src === Pseudo.MAP_VALUE || insn.src === Pseudo.MAP_IDX_VALUE ? 'value' : 'fd';
      const offset = kind === 'value' ? second.imm >>> 0 : 0;
      const load: MapLoad = { index: i, kind, offset, src: insn.src, imm: insn.imm };
      if (kind === 'fd' && second.imm !== 0) issues.push({ index: i, kind: 'second_slot', message: `map fd load with imm ${second.imm} in its second slot: the kernel requires 0 there` });
      if (kind === 'value' && offset >= MAX_VALUE_OFFSET) issues.push({ index: i, kind: 'second_slot', message: `direct value offset ${offset} is too large (the kernel allows below ${MAX_VALUE_OFFSET})` });
      if (ref) {
        load.name = ref.map;
        if (ref.kind === 'value' && ref.offset !== undefined && ref.offset !== offset) {
          issues.push({ index: i, kind: 'offset_mismatch', message: `spec.mapRefs says offset ${ref.offset} into map '${ref.map}', but the instruction's second slot holds ${offset}` });
        }
        const m = spec.maps.findIndex((x: MapSpec) => x.name === ref.map);
        if (m < 0) issues.push({ index: i, kind: 'unknown_map', message: `refers to map '${ref.map}', which is not in spec.maps (${spec.maps.map((x) => x.name).join(', ') || 'none'})` });
        else load.map = m;
      }
      loads.push(load);
      byIndex.set(i, load);
    }
    i++;
  }
  return { insns, loads, byIndex, issues };
}
