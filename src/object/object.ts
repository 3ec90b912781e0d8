// parseObject: a clang-built BPF object file (ELF, EM_BPF, ET_REL) → one ProgramSpec per program,
// with its maps as MapSpecs. No kernel calls: src/loader creates the maps and loads the programs.
import type { RawInsn } from '../asm/encoding.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import type { ProgTypeId } from '../asm/opcodes.js';
import { Btf, BtfError } from '../btf/index.js';
import { ElfError, ElfFile, EM, ET, SHF, SHT, STB, STT, readRelocations, type ElfSection, type ElfSymbol } from '../elf/index.js';
import { ObjectError } from './errors.js';
import { sectionType, type SectionType } from './sections.js';
import { btfMaps, dataMap, isBtfMapSection, isDataSection, isLegacyMapSection, legacyMaps, type ObjectMap } from './maps.js';
import { linkProgram, type CodeSection, type Func, type LinkContext } from './link.js';
import { readCoreRelos, readFuncInfos, type CoreRelo, type FuncInfo } from './btf-ext.js';
import { kernelBtf } from './kernel-btf.js';
import { CoreResolver } from './core.js';

export interface ParseOptions {
  /** name used in messages (default: 'BPF object') */
  source?: string;
  /** program type for every program, instead of the one its section name implies */
  type?: ProgTypeId;
  /**
   * What to do with CO-RE relocations: 'refuse' (default) fails the programs that have them with a
   * named reason; 'apply' relocates them against `targetBtf` (default: the running kernel's
   * /sys/kernel/btf/vmlinux); 'keep' leaves the instructions as compiled (for disassembly). Either
   * way ObjectProgram.core lists them.
   */
  core?: 'refuse' | 'keep' | 'apply';
  /** the kernel BTF CO-RE relocations are applied against (core: 'apply') */
  targetBtf?: Btf;
}

export interface ObjectProgram {
  spec: ProgramSpec;
  /** how the program type was found: from the section name, or given */
  typeFrom: SectionType['match'] | 'option';
  /** the CO-RE relocations in its code ('keep' mode), with the linked slot of each */
  core: Array<CoreRelo & { index: number; section: string }>;
  /** where each function of the linked program starts (base) and where it came from (section, start slot) */
  layout: Array<{ section: string; name: string; base: number; start: number }>;
}

export interface ProgramFailure {
  section: string;
  /** the program's function name */
  name: string;
  error: ObjectError;
}

export interface BpfObject {
  source: string;
  littleEndian: boolean;
  license: string;
  /** the "version" section (LINUX_VERSION_CODE for old kprobe loaders), if any */
  kernelVersion?: number;
  programs: ObjectProgram[];
  /** programs that cannot be turned into a ProgramSpec, each with its reason */
  failures: ProgramFailure[];
  maps: MapSpec[];
  /** every executable section with its raw instructions (for disassembly), .text included */
  codeSections: Array<{ name: string; insns: RawInsn[] }>;
  /** the object's BTF (undefined when absent or unreadable; see btfProblem) */
  btf?: Btf;
  btfProblem?: string;
}

/** Decodes instruction slots in the object's byte order (bpfeb swaps the register nibbles too). */
export function decodeInsns(bytes: Uint8Array, le: boolean): RawInsn[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RawInsn[] = new Array(Math.floor(bytes.length / 8));
  for (let i = 0; i < out.length; i++) {
    const at = i * 8, regs = v.getUint8(at + 1);
    out[i] = {
      code: v.getUint8(at), dst: le ? regs & 0xf : regs >> 4, src: le ? regs >> 4 : regs & 0xf,
      off: v.getInt16(at + 2, le), imm: v.getInt32(at + 4, le),
    };
  }
  return out;
}

function cString(data: Uint8Array): string {
  const nul = data.indexOf(0);
  return Buffer.from(data.buffer, data.byteOffset, nul < 0 ? data.length : nul).toString('utf8');
}

export function parseObject(data: Uint8Array, opts: ParseOptions = {}): BpfObject {
  const source = opts.source ?? 'BPF object';
  let elf: ElfFile;
  try {
    elf = ElfFile.parse(data, source);
  } catch (e) {
    if (e instanceof ElfError) throw new ObjectError('elf', e.message);
    throw e;
  }
  return fromElf(elf, opts);
}

export function readObject(path: string, opts: ParseOptions = {}): BpfObject {
  let elf: ElfFile;
  try {
    elf = ElfFile.read(path);
  } catch (e) {
    if (e instanceof ElfError) throw new ObjectError('elf', e.message);
    throw e;
  }
  return fromElf(elf, { source: path, ...opts });
}

function fromElf(elf: ElfFile, opts: ParseOptions): BpfObject {
  const source = elf.source;
  const h = elf.header;
  if (h.machine !== EM.BPF) throw new ObjectError('not-bpf', `${source}: ELF machine ${h.machine}, not BPF (${EM.BPF}): not a BPF object (build with clang -target bpf)`);
  if (h.type !== ET.REL) throw new ObjectError('not-bpf', `${source}: ELF type ${h.type}, not a relocatable object (ET_REL): expected the .o clang writes`);
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ElfError) throw new ObjectError('elf', e.message);
      throw e;
    }
  };
  const symbols: ElfSymbol[] = wrap(() => elf.symbols());
  if (symbols.length === 0) throw new ObjectError('not-bpf', `${source}: no symbol table (.symtab): was it stripped?`);
  const le = h.littleEndian;
  const sectionName = (i: number) => elf.sections[i]?.name ?? `#${i}`;

  const licenseSec = elf.section('license');
  const license = licenseSec ? cString(wrap(() => elf.sectionData(licenseSec))) : '';
  const versionSec = elf.section('version');
  let kernelVersion: number | undefined;
  if (versionSec && versionSec.size === 4) {
    const d = wrap(() => elf.sectionData(versionSec));
    kernelVersion = new DataView(d.buffer, d.byteOffset, 4).getUint32(0, le);
  }

  let btf: Btf | undefined, btfProblem: string | undefined;
  const btfSec = elf.section('.BTF');
  if (btfSec) {
    try {
      btf = new Btf(wrap(() => elf.sectionData(btfSec)));
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
      btfProblem = `cannot be read (${e.message})`;
    }
  }

  // Maps: failures here concern every program that uses the section, so they fail the object.
  const objectMaps: ObjectMap[] = [];
  const mapsBySection = new Map<number, ObjectMap[]>();
  for (const s of elf.sections) {
    let found: ObjectMap[] = [];
    if (isLegacyMapSection(s)) found = wrap(() => legacyMaps(elf, symbols, s));
    else if (isBtfMapSection(s)) {
      try {
        found = btfMaps(btf, btfProblem, s, symbols);
      } catch (e) {
        if (e instanceof BtfError) throw new ObjectError('btf', `.maps: ${e.message}`, '.maps');
        throw e;
      }
    } else if (isDataSection(s)) {
      const m = wrap(() => dataMap(elf, s));
      if (m) found = [m];
    }
    if (found.length > 0) {
      objectMaps.push(...found);
      mapsBySection.set(s.index, found);
    }
  }

  let coreBySection = new Map<string, CoreRelo[]>();
  let funcInfos = new Map<string, FuncInfo[]>();
  const ext = elf.section('.BTF.ext');
  if (ext && btf) {
    const extData = wrap(() => elf.sectionData(ext));
    coreBySection = readCoreRelos(extData, btf);
    funcInfos = readFuncInfos(extData, btf);
  }
  let loadBtf: Uint8Array | undefined;
  try {
    loadBtf = btf && funcInfos.size > 0 ? kernelBtf(btf, elf.sections, symbols) : undefined;
  } catch (e) {
    // BTF that cannot be prepared for the kernel: programs load without it (and the maps needed none).
    if (!(e instanceof BtfError)) throw e;
    btfProblem = `cannot be prepared for the kernel (${e.message})`;
  }

  // Code sections, their functions and relocations.
  const relocsFor = new Map<number, ReturnType<typeof readRelocations>>();
  for (const s of elf.sections) {
    if (s.type === SHT.REL || s.type === SHT.RELA) {
      const r = wrap(() => readRelocations(elf, s));
      if (r.target) relocsFor.set(r.target.index, r);
    }
  }
  const code = new Map<number, CodeSection>();
  const codeSections: BpfObject['codeSections'] = [];
  for (const s of elf.sections) {
    if (s.type !== SHT.PROGBITS || !(s.flags & SHF.EXECINSTR) || s.size === 0) continue;
    const bytes = wrap(() => elf.sectionData(s));
    const insns = decodeInsns(bytes, le);
    codeSections.push({ name: s.name, insns });
    const relocs = new Map<number, import('../elf/index.js').ElfRelocation>();
    for (const r of relocsFor.get(s.index)?.relocations ?? []) {
      const off = Number(r.offset);
      if (off % 8 !== 0 || off >= s.size) {
        throw new ObjectError('relocation', `relocation at ${s.name}+${off} is not on an instruction (section of ${s.size} bytes)`, s.name, symbols[r.symbol]?.name ?? '');
      }
      relocs.set(off / 8, r);
    }
    code.set(s.index, { index: s.index, name: s.name, insns, relocs, funcs: functionsOf(s, symbols, insns.length), core: coreBySection.get(s.name) ?? [] });
  }

  const ctx: ProgramContext = { symbols, code, mapsBySection, sectionName, btf, btfProblem, loadBtf, funcInfos };
  const programs: ObjectProgram[] = [];
  const failures: ProgramFailure[] = [];
  for (const sec of code.values()) {
    if (sec.name === '.text') continue;
    const implied = sectionType(sec.name);
    for (const fn of sec.funcs) {
      try {
        programs.push(buildProgram(ctx, sec, fn, implied, license, opts, objectMaps));
      } catch (e) {
        if (!(e instanceof ObjectError)) throw e;
        failures.push({ section: sec.name, name: fn.name, error: e });
      }
    }
  }
  return { source, littleEndian: le, license, kernelVersion, programs, failures, maps: objectMaps.map((m) => m.spec), codeSections, btf, btfProblem };
}

/**
 * The functions of a code section: its sized STT_FUNC symbols. Objects from old compilers have
 * none; then the section is one function named after its first global symbol (or the section).
 */
function functionsOf(s: ElfSection, symbols: ElfSymbol[], count: number): Func[] {
  const funcs = symbols
    .filter((x) => x.shndx === s.index && x.type === STT.FUNC && x.size > 0 && x.value % 8n === 0n)
    .map((x) => ({ name: x.name, start: Number(x.value) / 8, end: Math.min(count, (Number(x.value) + x.size) / 8) }))
    .sort((a, b) => a.start - b.start);
  if (funcs.length > 0) return funcs;
  const named = symbols.find((x) => x.shndx === s.index && x.value === 0n && x.bind === STB.GLOBAL && x.type !== STT.SECTION && x.name);
  return [{ name: named?.name ?? s.name.replace(/[^A-Za-z0-9_]/g, '_'), start: 0, end: count }];
}

interface ProgramContext extends LinkContext {
  btf?: Btf;
  btfProblem?: string;
  resolver?: CoreResolver;
  /** the object's BTF as the kernel takes it, when it has func info */
  loadBtf?: Uint8Array;
  funcInfos: Map<string, FuncInfo[]>;
}

function buildProgram(ctx: ProgramContext, sec: CodeSection, fn: Func, implied: SectionType | undefined, license: string, opts: ParseOptions, objectMaps: ObjectMap[]): ObjectProgram {
  if (opts.type === undefined && !implied) {
    throw new ObjectError('section', `section "${sec.name}" names no program type by libbpf's conventions (xdp, tc, kprobe/…, tracepoint/…, socket …): give the type explicitly`, sec.name, fn.name);
  }
  const linked = linkProgram(ctx, sec, fn);
  if (linked.core.length > 0 && (opts.core ?? 'refuse') === 'refuse') {
    const where = [...new Set(linked.core.map((c) => c.section))].join(', ');
    throw new ObjectError('core', `program "${fn.name}": ${linked.core.length} CO-RE relocations (.BTF.ext core relocs in ${where}) present: not supported`, sec.name, fn.name);
  }
  if (linked.core.length > 0 && opts.core === 'apply') {
    if (!ctx.btf) throw new ObjectError('core', `program "${fn.name}": CO-RE relocations need the object's .BTF, which ${ctx.btfProblem ?? 'is missing'}`, sec.name, fn.name);
    let target = opts.targetBtf;
    if (!target) {
      try {
        target = Btf.vmlinux();
      } catch (e) {
        if (!(e instanceof BtfError)) throw e;
        throw new ObjectError('core', `program "${fn.name}": its CO-RE relocations need the kernel's BTF: ${e.message}`, sec.name, fn.name);
      }
    }
    const resolver = ctx.resolver ??= new CoreResolver(ctx.btf, target);
    for (const c of linked.core) resolver.apply(linked.insns, c, fn.name);
  }
  const used = [...new Set(linked.mapRefs.map((r) => r.map))];
  const spec: ProgramSpec = {
    name: fn.name, type: opts.type ?? implied!.type, insns: linked.insns, mapRefs: linked.mapRefs,
    maps: used.map((n) => objectMaps.find((m) => m.spec.name === n)!.spec), license, section: sec.name,
  };
  if (implied && (opts.type === undefined || opts.type === implied.type)) {
    if (implied.expectedAttachType !== undefined) spec.expectedAttachType = implied.expectedAttachType;
    if (implied.progFlags) spec.progFlags = implied.progFlags;
  }
  if (implied?.attachTo) spec.attachTo = implied.attachTo;
  // func_info for every function placed, by its first instruction; without all of them, no BTF.
  if (ctx.loadBtf) {
    const funcInfo = linked.layout.map((l) => {
      const rec = ctx.funcInfos.get(l.section)?.find((r) => r.insnOff === l.start * 8);
      return rec && { insn: l.base, typeId: rec.typeId };
    });
    if (funcInfo.every((f) => f !== undefined)) spec.btf = { data: ctx.loadBtf, funcInfo: funcInfo as Array<{ insn: number; typeId: number }> };
  }
  return { spec, typeFrom: opts.type !== undefined ? 'option' : implied!.match, core: linked.core, layout: linked.layout };
}
