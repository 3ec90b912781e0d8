// The assembler: resolves labels to slot-relative offsets, checks every field against its encoding
// width, and lays instructions out as RawInsn slots (ld_imm64 taking two). All errors name the item,
// its slot and its DSL form, since a bare "offset out of range" is useless in a 200-instruction program.
import type { RawInsn } from './encoding.js';
import type { MapRef, MapSpec, ProgramSpec } from './spec.js';
import type { ProgTypeId } from './opcodes.js';
import { LD_IMM64, Pseudo } from './opcodes.js';
import { isLabel, slotCount, targetField, type Instruction, type Item } from './insn.js';
import { describe } from './disasm.js';

/** An assembly error; `item` is the index in the item list, `symbol` the label or map involved. */
export class AsmError extends Error {
  constructor(message: string, readonly item?: number, readonly symbol?: string) {
    super(message);
    this.name = 'AsmError';
  }
}

export interface Assembled {
  insns: RawInsn[];
  mapRefs: MapRef[];
  /** label name -> slot index of the instruction it names */
  labels: Map<string, number>;
}

const S16 = [-0x8000, 0x7fff] as const;
const S32 = [-0x80000000, 0x7fffffff] as const;
const U32_MAX = 0xffffffff;
const S64_MIN = -(1n << 63n);
const U64_MAX = (1n << 64n) - 1n;

const where = (i: number, slot: number, item: Instruction): string => `item #${i} (slot ${slot}) \`${describe(item)}\``;

/** Assembles items into slots. Throws AsmError naming the offending item and symbol. */
export function assemble(items: readonly Item[]): Assembled {
  if (!Array.isArray(items)) throw new AsmError(`assemble: expected an array of instructions and labels, got ${typeof items}`);
  const labels = layout(items);
  const insns: RawInsn[] = [];
  const mapRefs: MapRef[] = [];
  items.forEach((item, i) => {
    if (isLabel(item)) return;
    const slot = insns.length;
    const at = (): string => where(i, slot, item);
    function fail(msg: string, symbol?: string): never {
      throw new AsmError(`assemble: ${at()}: ${msg}`, i, symbol);
    }

    const field = (name: 'dst' | 'src', v: number): number => {
      if (!Number.isInteger(v) || v < 0 || v > 15) fail(`${name} ${String(v)} is not a register number 0..15`);
      return v;
    };
    if (!Number.isInteger(item.op) || item.op < 0 || item.op > 0xff) fail(`opcode ${String(item.op)} is not a byte`);
    const dst = field('dst', item.dst);
    let src = field('src', item.src);
    let off = item.off;
    let imm = item.imm;

    if (item.target !== undefined) {
      const rel = resolve(item.target, slot, labels, fail);
      if (targetField(item) === 'imm') {
        if (rel < S32[0] || rel > S32[1]) fail(`offset ${rel} to ${targetText(item.target)} does not fit the 32-bit imm field`, symbolOf(item.target));
        imm = rel;
      } else {
        if (rel < S16[0] || rel > S16[1]) {
          fail(`offset ${rel} to ${targetText(item.target)} does not fit the 16-bit off field (${S16[0]}..${S16[1]}); use ja32 (gotol) for long jumps`, symbolOf(item.target));
        }
        off = rel;
      }
    }

    if (!Number.isInteger(off) || off < S16[0] || off > S16[1]) fail(`off ${String(off)} does not fit 16 signed bits (${S16[0]}..${S16[1]})`);
    if (!Number.isInteger(imm) || imm < S32[0] || imm > U32_MAX) fail(`imm ${String(imm)} does not fit 32 bits (${S32[0]}..${U32_MAX})`);

    if (item.op !== LD_IMM64) {
      insns.push({ code: item.op, dst, src, off, imm: imm | 0 });
      return;
    }

    let value = item.imm64 ?? BigInt(imm >>> 0);
    if (typeof value !== 'bigint' || value < S64_MIN || value > U64_MAX) fail(`64-bit immediate ${String(value)} does not fit 64 bits`);
    if (item.mapRef) {
      const { map, kind, offset } = item.mapRef;
      if (kind !== 'fd' && kind !== 'value') fail(`map reference kind '${String(kind)}' is not 'fd' or 'value'`, map);
      src = kind === 'fd' ? Pseudo.MAP_FD : Pseudo.MAP_VALUE;
      // The fd is patched in by the loader; the value offset is already in the second slot.
      value = kind === 'value' ? BigInt(offset ?? 0) << 32n : 0n;
      mapRefs.push(kind === 'value' ? { index: slot, map, kind, offset: offset ?? 0 } : { index: slot, map, kind });
    }
    const low = targetField(item) === 'imm' && item.target !== undefined ? imm | 0 : Number(BigInt.asIntN(32, value));
    const high = Number(BigInt.asIntN(32, value >> 32n));
    insns.push({ code: item.op, dst, src, off, imm: low });
    insns.push({ code: 0, dst: 0, src: 0, off: 0, imm: high });
  });
  return { insns, mapRefs, labels };
}

/** First pass: the slot of every label. */
function layout(items: readonly Item[]): Map<string, number> {
  const labels = new Map<string, number>();
  const labelItem = new Map<string, number>();
  let pending: Array<[string, number]> = [];
  let slot = 0;
  items.forEach((item, i) => {
    if (item === null || typeof item !== 'object') {
      throw new AsmError(`assemble: item #${i} is ${String(item)}, not an instruction or a label`, i);
    }
    if (isLabel(item)) {
      const first = labelItem.get(item.label);
      if (first !== undefined) {
        throw new AsmError(`assemble: duplicate label '${item.label}' at item #${i} (first defined at item #${first})`, i, item.label);
      }
      labels.set(item.label, slot);
      labelItem.set(item.label, i);
      pending.push([item.label, i]);
      return;
    }
    if (typeof item.op !== 'number') throw new AsmError(`assemble: item #${i} has no opcode: not an instruction or a label`, i);
    slot += slotCount(item);
    pending = [];
  });
  if (pending.length > 0) {
    const [name, i] = pending[0]!;
    throw new AsmError(`assemble: label '${name}' at item #${i} is at the end of the program: no instruction follows it`, i, name);
  }
  return labels;
}

function resolve(target: string | number, slot: number, labels: Map<string, number>, fail: (m: string, s?: string) => never): number {
  if (typeof target === 'number') {
    if (!Number.isInteger(target)) fail(`jump offset ${target} is not an integer`);
    return target;
  }
  const to = labels.get(target);
  if (to === undefined) {
    const known = [...labels.keys()];
    return fail(`unknown label '${target}'${known.length ? ` (labels: ${known.join(', ')})` : ' (no labels defined)'}`, target);
  }
  return to - (slot + 1);
}

const targetText = (t: string | number): string => (typeof t === 'string' ? `label '${t}'` : 'target');
const symbolOf = (t: string | number): string | undefined => (typeof t === 'string' ? t : undefined);

export interface ProgramOptions {
  name: string;
  type: ProgTypeId;
  items: readonly Item[];
  maps?: MapSpec[];
  /** 'GPL' unless given: most tracing helpers are GPL-only */
  license?: string;
  ctxSize?: number;
}

/** Assembles a program and checks that every map it references is among `maps`. */
export function program(opts: ProgramOptions): ProgramSpec {
  const maps = opts.maps ?? [];
  const names = new Set<string>();
  for (const m of maps) {
    if (names.has(m.name)) throw new AsmError(`program '${opts.name}': map '${m.name}' is listed twice in maps`, undefined, m.name);
    names.add(m.name);
  }
  opts.items.forEach((item, i) => {
    if (isLabel(item) || !item.mapRef || names.has(item.mapRef.map)) return;
    const have = names.size ? [...names].join(', ') : 'none';
    throw new AsmError(
      `program '${opts.name}': item #${i} \`${describe(item)}\` references map '${item.mapRef.map}', which is not in maps (have: ${have})`,
      i,
      item.mapRef.map,
    );
  });
  let asm: Assembled;
  try {
    asm = assemble(opts.items);
  } catch (e) {
    if (e instanceof AsmError) throw new AsmError(`program '${opts.name}': ${e.message}`, e.item, e.symbol);
    throw e;
  }
  const spec: ProgramSpec = { name: opts.name, type: opts.type, insns: asm.insns, mapRefs: asm.mapRefs, maps, license: opts.license ?? 'GPL' };
  if (opts.ctxSize !== undefined) spec.ctxSize = opts.ctxSize;
  return spec;
}
