// Symbol tables (.symtab, .dynsym) and relocation sections (.rel*, .rela*) of an ElfFile.
import type { ElfFile, ElfSection } from './file.js';
import { SHN, SHT } from './constants.js';

export interface ElfSymbol {
  /** index in its table (relocations refer to symbols by it) */
  index: number;
  name: string;
  /** st_value: an address (executables, shared objects) or an offset in its section (relocatable files) */
  value: bigint;
  size: number;
  /** STT.* */
  type: number;
  /** STB.* */
  bind: number;
  /** STV_* (low 2 bits of st_other) */
  visibility: number;
  /** the section it is defined in (SHN.UNDEF, SHN.ABS, SHN.COMMON or a real index, extended indices resolved) */
  shndx: number;
}

export interface ElfRelocation {
  /** r_offset: where to patch, an offset in the target section (relocatable files) or an address */
  offset: bigint;
  /** index into the linked symbol table */
  symbol: number;
  /** machine-specific relocation type (R_BPF_64_64, R_X86_64_JUMP_SLOT …) */
  type: number;
  /** r_addend for RELA; 0 for REL (the addend is in the patched bytes) */
  addend: bigint;
}

export interface RelocationSection {
  section: ElfSection;
  rela: boolean;
  /** the section the relocations patch (sh_info), when it names one */
  target: ElfSection | undefined;
  /** the symbol table they refer to (sh_link) */
  symtab: ElfSection;
  relocations: ElfRelocation[];
}

const SYM_SIZE = 24, REL_SIZE = 16, RELA_SIZE = 24;

function checkEntries(elf: ElfFile, s: ElfSection, entsize: number, what: string): number {
  if (s.entsize !== entsize) elf.bytes.fail('malformed', `${what} section ${s.index} "${s.name}" has entry size ${s.entsize}, expected ${entsize}`);
  if (s.size % entsize !== 0) elf.bytes.fail('malformed', `${what} section ${s.index} "${s.name}" is ${s.size} bytes, not a multiple of ${entsize}`);
  elf.bytes.need(s.offset, s.size, `${what} section ${s.index} "${s.name}"`);
  return s.size / entsize;
}

/** All symbols of a SYMTAB or DYNSYM section, entry 0 (the null symbol) included. */
export function readSymbols(elf: ElfFile, s: ElfSection): ElfSymbol[] {
  if (s.type !== SHT.SYMTAB && s.type !== SHT.DYNSYM) elf.bytes.fail('malformed', `section ${s.index} "${s.name}" is not a symbol table (type ${s.type})`);
  const b = elf.bytes;
  const count = checkEntries(elf, s, SYM_SIZE, 'symbol table');
  const strtab = elf.sectionAt(s.link, `symbol table "${s.name}" string table (sh_link)`);
  if (strtab.type !== SHT.STRTAB) b.fail('malformed', `symbol table "${s.name}" links to section ${strtab.index} "${strtab.name}", which is not a string table`);
  b.need(strtab.offset, strtab.size, `string table ${strtab.index} "${strtab.name}"`);
  // Extended section indices (files with >= 0xff00 sections): a parallel u32 array.
  const xs = elf.sections.find((x) => x.type === SHT.SYMTAB_SHNDX && x.link === s.index);
  if (xs) b.need(xs.offset, Math.min(xs.size, count * 4), `extended section index table "${xs.name}"`);
  const out: ElfSymbol[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = s.offset + i * SYM_SIZE;
    const info = b.u8(at + 4);
    let shndx = b.u16(at + 6);
    if (shndx === SHN.XINDEX && xs) {
      if ((i + 1) * 4 > xs.size) b.fail('bounds', `symbol ${i} of "${s.name}" has an extended section index beyond "${xs.name}"`);
      shndx = b.u32(xs.offset + i * 4);
    }
    const size = b.u64(at + 16);
    out[i] = {
      index: i, name: b.cstring(strtab.offset, strtab.size, b.u32(at), `symbol ${i} of "${s.name}"`), value: b.u64(at + 8),
      size: size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size),
      type: info & 0xf, bind: info >> 4, visibility: b.u8(at + 5) & 3, shndx,
    };
  }
  return out;
}

/** The relocations of one REL or RELA section. */
export function readRelocations(elf: ElfFile, s: ElfSection): RelocationSection {
  const rela = s.type === SHT.RELA;
  if (!rela && s.type !== SHT.REL) elf.bytes.fail('malformed', `section ${s.index} "${s.name}" is not a relocation section (type ${s.type})`);
  const b = elf.bytes;
  const count = checkEntries(elf, s, rela ? RELA_SIZE : REL_SIZE, 'relocation');
  const symtab = elf.sectionAt(s.link, `relocation section "${s.name}" symbol table (sh_link)`);
  // sh_info names the patched section only in relocatable files (SHF_INFO_LINK); dynamic
  // relocations (.rela.dyn) have 0 there.
  const target = s.info !== 0 ? elf.sectionAt(s.info, `relocation section "${s.name}" target (sh_info)`) : undefined;
  const relocations: ElfRelocation[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = s.offset + i * (rela ? RELA_SIZE : REL_SIZE);
    const info = b.u64(at + 8);
    relocations[i] = { offset: b.u64(at), symbol: Number(info >> 32n), type: Number(info & 0xffffffffn), addend: rela ? b.i64(at + 16) : 0n };
  }
  return { section: s, rela, target, symtab, relocations };
}
