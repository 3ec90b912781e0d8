// Relocation and linking of one program: copy its function out of its section, append every
// subprogram it calls (bpf-to-bpf calls, ld_imm64 of a function for callbacks) once, fix up the
// call offsets for the new layout, and turn map and global-data relocations into MapRefs.
import type { RawInsn } from '../asm/encoding.js';
import type { MapRef } from '../asm/spec.js';
import { JmpOp, Class, LD_IMM64, Pseudo } from '../asm/opcodes.js';
import { SHN, type ElfRelocation, type ElfSymbol } from '../elf/index.js';
import { ObjectError } from './errors.js';
import type { ObjectMap } from './maps.js';
import type { CoreRelo } from './btf-ext.js';

/** R_BPF_* relocation types (llvm BPFELFObjectWriter). */
export const RBpf = { NONE: 0, R64_64: 1, ABS64: 2, ABS32: 3, NODYLD32: 4, R64_32: 10 } as const;

export interface Func {
  name: string;
  /** first and one-past-last instruction slot in its section */
  start: number;
  end: number;
}

export interface CodeSection {
  index: number;
  name: string;
  insns: RawInsn[];
  /** relocations by instruction slot */
  relocs: Map<number, ElfRelocation>;
  /** its functions, sorted by start */
  funcs: Func[];
  core: CoreRelo[];
}

export interface LinkContext {
  symbols: ElfSymbol[];
  /** code sections by ELF section index */
  code: Map<number, CodeSection>;
  /** maps by ELF section index, then definition offset */
  mapsBySection: Map<number, ObjectMap[]>;
  sectionName: (index: number) => string;
}

export interface Linked {
  insns: RawInsn[];
  mapRefs: MapRef[];
  /** CO-RE relocations of every function placed, with their slot in the linked program */
  core: Array<CoreRelo & { index: number; section: string }>;
  /** the functions placed, in order, with the slot each starts at */
  layout: Array<{ section: string; name: string; base: number; start: number }>;
}

const CALL = Class.JMP | JmpOp.CALL;

export function linkProgram(ctx: LinkContext, sec: CodeSection, main: Func): Linked {
  const out: RawInsn[] = [];
  const mapRefs: MapRef[] = [];
  const core: Linked['core'] = [];
  const layout: Linked['layout'] = [];
  const placed = new Map<string, number>();
  const queue: Array<{ sec: CodeSection; fn: Func; base: number }> = [];

  const place = (s: CodeSection, fn: Func): number => {
    const base = out.length;
    for (let i = fn.start; i < fn.end; i++) out.push({ ...s.insns[i]! });
    placed.set(`${s.index}:${fn.start}`, base);
    layout.push({ section: s.name, name: fn.name, base, start: fn.start });
    queue.push({ sec: s, fn, base });
    return base;
  };
  /** The linked slot of instruction `t` of section `s`, placing the function that holds it if needed. */
  const slotOf = (s: CodeSection, t: number, from: string): number => {
    const fn = s.funcs.find((f) => f.start <= t && t < f.end);
    if (!fn) throw new ObjectError('relocation', `${from} targets ${s.name}+${t * 8}, where no function is`, s.name);
    return (placed.get(`${s.index}:${fn.start}`) ?? place(s, fn)) + (t - fn.start);
  };

  place(sec, main);
  while (queue.length > 0) {
    const { sec: s, fn, base } = queue.shift()!;
    for (const c of s.core) {
      const slot = c.insnOff / 8;
      if (slot >= fn.start && slot < fn.end) core.push({ ...c, index: base + slot - fn.start, section: s.name });
    }
    for (let i = fn.start; i < fn.end; i++) {
      const at = base + i - fn.start;
      const insn = out[at]!;
      const where = `instruction ${i} of ${s.name} (function ${fn.name})`;
      const rel = s.relocs.get(i);
      if (rel) {
        applyRelocation(ctx, s, i, rel, out, at, mapRefs, where, (ts, t) => slotOf(ts, t, where));
      } else if (insn.code === CALL && insn.src === Pseudo.CALL) {
        // A static function in the same section: no relocation, the offset is section-relative.
        insn.imm = slotOf(s, i + insn.imm + 1, where) - (at + 1);
      } else if (insn.code === LD_IMM64 && insn.src === Pseudo.FUNC) {
        insn.imm = slotOf(s, i + insn.imm + 1, where) - (at + 1);
      }
      if (insn.code === LD_IMM64) {
        if (s.relocs.has(i + 1)) {
          const sym = ctx.symbols[s.relocs.get(i + 1)!.symbol];
          throw new ObjectError('relocation', `instruction ${i + 1} of ${s.name} (function ${fn.name}): relocation against "${sym?.name ?? '?'}" on the second slot of an ld_imm64`, s.name, sym?.name ?? '');
        }
        i++;
      }
    }
  }
  return { insns: out, mapRefs, core, layout };
}

function applyRelocation(
  ctx: LinkContext, s: CodeSection, i: number, rel: ElfRelocation, out: RawInsn[], at: number, mapRefs: MapRef[], where: string,
  slotOf: (s: CodeSection, t: number) => number,
): void {
  const sym = ctx.symbols[rel.symbol];
  if (!sym) throw new ObjectError('relocation', `${where}: relocation names symbol ${rel.symbol}, outside the symbol table (${ctx.symbols.length})`, s.name);
  const name = sym.name || ctx.sectionName(sym.shndx);
  // A declaration (not an arrow in a const) so that `if (!x) fail(…)` narrows x.
  function fail(problem: 'relocation' | 'unsupported', msg: string): never { throw new ObjectError(problem, `${where}: relocation against "${name}": ${msg}`, s.name, name); }
  const insn = out[at]!;
  if (rel.type !== RBpf.R64_64 && rel.type !== RBpf.R64_32) fail('relocation', `type ${rel.type} is not R_BPF_64_64 or R_BPF_64_32 (code sections take only these)`);
  if (sym.shndx === SHN.UNDEF) {
    fail('unsupported', insn.code === CALL ? 'an extern function (a kfunc, or a function of another object not linked in) is not supported' : 'an extern (__ksym / __kconfig variable) is not supported');
  }
  if (sym.shndx >= SHN.LORESERVE) fail('relocation', `the symbol is in special section 0x${sym.shndx.toString(16)} (absolute or common), not in code, maps or data`);
  const value = Number(sym.value);
  const code = ctx.code.get(sym.shndx);

  if (insn.code === CALL) {
    if (insn.src !== Pseudo.CALL) fail('relocation', `the call has src ${insn.src}, not a bpf-to-bpf call (src 1)`);
    if (!code) fail('relocation', `a call into section "${ctx.sectionName(sym.shndx)}", which holds no code`);
    // Global functions: imm = -1 and the symbol is the function; static ones: the section symbol and imm.
    insn.imm = slotOf(code, value / 8 + insn.imm + 1) - (at + 1);
    return;
  }
  if (insn.code !== LD_IMM64) fail('relocation', `the instruction has opcode 0x${insn.code.toString(16).padStart(2, '0')}, not ld_imm64 or call`);
  const second = out[at + 1];
  if (!second) fail('relocation', 'the ld_imm64 is cut off by the end of its section');
  if (code) {
    // Address of a function (bpf_loop, for_each_map_elem callbacks): imm is a byte offset.
    insn.src = Pseudo.FUNC;
    insn.imm = slotOf(code, (value + insn.imm) / 8) - (at + 1);
    return;
  }
  const maps = ctx.mapsBySection.get(sym.shndx);
  if (!maps) fail('relocation', `section "${ctx.sectionName(sym.shndx)}" is neither code, maps nor global data`);
  const data = maps[0]?.kind === 'data' ? maps[0] : undefined;
  if (data) {
    // Global data: the variable's offset is the symbol's value plus the instruction's imm.
    const offset = value + insn.imm;
    if (offset < 0 || offset >= data.size) fail('relocation', `offset ${offset} is outside "${data.spec.name}" (${data.size} bytes)`);
    insn.src = Pseudo.MAP_VALUE; insn.imm = 0; second.imm = offset;
    mapRefs.push({ index: at, map: data.spec.name, kind: 'value', offset });
    return;
  }
  const offset = value + insn.imm;
  const map = maps.find((m) => m.offset === offset);
  if (!map) fail('relocation', `no map is defined at ${ctx.sectionName(sym.shndx)}+${offset}`);
  insn.src = Pseudo.MAP_FD; insn.imm = 0; second.imm = 0;
  mapRefs.push({ index: at, map: map.spec.name, kind: 'fd' });
}
