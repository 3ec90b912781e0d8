// ElfFile: the headers of a 64-bit ELF image (either byte order) — file header, section headers
// with their names, program headers — and the PT_LOAD mapping between virtual addresses and file
// offsets. Symbols, relocations and notes are read on demand (./symbols.ts, ./notes.ts).
import { readFileSync } from 'node:fs';
import { Bytes, hex } from './bytes.js';
import { ElfError } from './errors.js';
import { PT, SHN, SHT } from './constants.js';
import { readRelocations, readSymbols, type ElfSymbol, type RelocationSection } from './symbols.js';
import { readBuildId, readNotes, type ElfNote } from './notes.js';

export interface ElfHeader {
  littleEndian: boolean;
  /** e_type: ET.REL, ET.EXEC, ET.DYN … */
  type: number;
  /** e_machine: EM.X86_64, EM.BPF … */
  machine: number;
  osabi: number;
  entry: bigint;
  flags: number;
  phoff: number;
  phnum: number;
  shoff: number;
  /** the real count, also when it overflows into section 0 (e_shnum = 0) */
  shnum: number;
  /** the real index, also when it overflows into section 0 (e_shstrndx = SHN_XINDEX) */
  shstrndx: number;
}

export interface ElfSection {
  index: number;
  name: string;
  /** SHT.* */
  type: number;
  /** SHF.* (the low 32 bits; the rest are OS/processor specific) */
  flags: number;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface ElfSegment {
  /** PT.* */
  type: number;
  /** PF.* */
  flags: number;
  offset: number;
  vaddr: bigint;
  filesz: number;
  memsz: bigint;
  align: number;
}

const EHDR_SIZE = 64, SHDR_SIZE = 64, PHDR_SIZE = 56;

export class ElfFile {
  readonly header: ElfHeader;
  readonly sections: readonly ElfSection[];
  readonly segments: readonly ElfSegment[];
  /** @internal bounded reader shared with ./symbols.ts and ./notes.ts */
  readonly bytes: Bytes;

  private constructor(bytes: Bytes, header: ElfHeader, sections: ElfSection[], segments: ElfSegment[]) {
    this.bytes = bytes;
    this.header = header;
    this.sections = sections;
    this.segments = segments;
  }

  /** The name used in error messages (a path, or what the caller passed). */
  get source(): string { return this.bytes.source; }
  get data(): Uint8Array { return this.bytes.data; }

  /** Reads and parses a file. An unreadable path is an ElfError too ('truncated' for an empty file). */
  static read(path: string): ElfFile {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      throw new ElfError('bounds', `cannot read: ${(e as Error).message}`, path);
    }
    return ElfFile.parse(data, path);
  }

  static parse(data: Uint8Array, source = 'ELF image'): ElfFile {
    // Annotated: a call to a `never` method narrows only through an explicitly typed name.
    const probe: Bytes = new Bytes(data, true, source);
    if (data.length < 4 || data[0] !== 0x7f || data[1] !== 0x45 || data[2] !== 0x4c || data[3] !== 0x46) {
      probe.fail('not-elf', data.length < 4 ? `only ${data.length} bytes: not an ELF file` : 'no ELF magic (\\x7fELF): not an ELF file');
    }
    probe.need(0, 16, 'ELF identification', 'truncated');
    const cls = data[4], enc = data[5];
    if (cls === 1) probe.fail('unsupported', 'ELF32 (class 1): only 64-bit ELF files are supported');
    if (cls !== 2) probe.fail('unsupported', `unknown ELF class ${cls} (expected 2, 64-bit)`);
    if (enc !== 1 && enc !== 2) probe.fail('unsupported', `unknown ELF data encoding ${enc} (expected 1, little-endian, or 2, big-endian)`);
    if (data[6] !== 1) probe.fail('unsupported', `unknown ELF version ${data[6]} (expected 1)`);
    const b: Bytes = new Bytes(data, enc === 1, source);
    b.need(0, EHDR_SIZE, 'ELF header', 'truncated');

    const header: ElfHeader = {
      littleEndian: b.le, type: b.u16(16), machine: b.u16(18), osabi: data[7]!, entry: b.u64(24),
      phoff: b.offset(32, 'e_phoff'), shoff: b.offset(40, 'e_shoff'), flags: b.u32(48),
      phnum: b.u16(56), shnum: b.u16(60), shstrndx: b.u16(62),
    };
    const phentsize = b.u16(54), shentsize = b.u16(58);

    // Section headers. e_shnum = 0 with a table present: the count is in section 0's sh_size;
    // e_shstrndx = SHN_XINDEX: the index is in section 0's sh_link.
    const raw: Omit<ElfSection, 'name'>[] = [];
    let nameIndex: number[] = [];
    if (header.shoff !== 0) {
      if (shentsize !== SHDR_SIZE) b.fail('malformed', `e_shentsize is ${shentsize}, expected ${SHDR_SIZE}`);
      b.need(header.shoff, SHDR_SIZE, 'section header 0', 'truncated');
      if (header.shnum === 0) header.shnum = b.offset(header.shoff + 32, 'section count (section 0 sh_size)');
      if (header.shstrndx === SHN.XINDEX) header.shstrndx = b.u32(header.shoff + 40);
      b.need(header.shoff, header.shnum * SHDR_SIZE, `section header table (${header.shnum} entries)`, 'truncated');
      nameIndex = new Array<number>(header.shnum);
      for (let i = 0; i < header.shnum; i++) {
        const at = header.shoff + i * SHDR_SIZE;
        nameIndex[i] = b.u32(at);
        raw.push({
          index: i, type: b.u32(at + 4), flags: Number(b.u64(at + 8) & 0xffffffffn), addr: b.u64(at + 16),
          offset: b.offset(at + 24, `section ${i} sh_offset`), size: b.offset(at + 32, `section ${i} sh_size`),
          link: b.u32(at + 40), info: b.u32(at + 44),
          addralign: b.offset(at + 48, `section ${i} sh_addralign`), entsize: b.offset(at + 56, `section ${i} sh_entsize`),
        });
      }
    } else {
      header.shnum = 0;
    }

    let names: (i: number) => string = () => '';
    if (header.shstrndx !== SHN.UNDEF && raw.length > 0) {
      const strtab = raw[header.shstrndx];
      if (!strtab) b.fail('bounds', `section name table index ${header.shstrndx} is outside the ${raw.length} sections`);
      if (strtab.type !== SHT.STRTAB) b.fail('malformed', `section name table (section ${header.shstrndx}) has type ${strtab.type}, not STRTAB`);
      b.need(strtab.offset, strtab.size, `section name table (section ${header.shstrndx})`);
      names = (i) => b.cstring(strtab.offset, strtab.size, nameIndex[i]!, `section ${i}`);
    }
    const sections: ElfSection[] = raw.map((s) => ({ ...s, name: names(s.index) }));

    const segments: ElfSegment[] = [];
    if (header.phoff !== 0 && header.phnum > 0) {
      if (phentsize !== PHDR_SIZE) b.fail('malformed', `e_phentsize is ${phentsize}, expected ${PHDR_SIZE}`);
      b.need(header.phoff, header.phnum * PHDR_SIZE, `program header table (${header.phnum} entries)`, 'truncated');
      for (let i = 0; i < header.phnum; i++) {
        const at = header.phoff + i * PHDR_SIZE;
        segments.push({
          type: b.u32(at), flags: b.u32(at + 4), offset: b.offset(at + 8, `segment ${i} p_offset`), vaddr: b.u64(at + 16),
          filesz: b.offset(at + 32, `segment ${i} p_filesz`), memsz: b.u64(at + 40), align: b.offset(at + 48, `segment ${i} p_align`),
        });
      }
    }
    return new ElfFile(b, header, sections, segments);
  }

  /** The first section named `name`. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Section `index`, or a 'bounds' error saying who asked for it. */
  sectionAt(index: number, what: string): ElfSection {
    const s = this.sections[index];
    if (!s) this.bytes.fail('bounds', `${what}: section index ${index} is outside the ${this.sections.length} sections`);
    return s;
  }

  /** The bytes of a section (a view, not a copy); NOBITS sections (.bss) have none. */
  sectionData(s: ElfSection): Uint8Array {
    if (s.type === SHT.NOBITS || s.type === SHT.NULL) return new Uint8Array(0);
    this.bytes.need(s.offset, s.size, `section ${s.index} "${s.name}"`);
    return this.data.subarray(s.offset, s.offset + s.size);
  }

  /** The PT_LOAD segments, in file order. */
  get loads(): ElfSegment[] { return this.segments.filter((p) => p.type === PT.LOAD); }

  /**
   * The virtual address that file offset `off` is loaded at (PIE and shared objects: relative to
   * the load base), or undefined when no PT_LOAD maps it.
   */
  offsetToAddress(off: number): bigint | undefined {
    for (const p of this.loads) {
      if (off >= p.offset && off < p.offset + p.filesz) return p.vaddr + BigInt(off - p.offset);
    }
    return undefined;
  }

  /** The file offset of virtual address `addr`, or undefined when it is not backed by the file. */
  addressToOffset(addr: bigint): number | undefined {
    for (const p of this.loads) {
      if (addr >= p.vaddr && addr < p.vaddr + BigInt(p.filesz)) return p.offset + Number(addr - p.vaddr);
    }
    return undefined;
  }

  /** The static symbol table (.symtab), entry 0 included; [] when the file is stripped. */
  symbols(): ElfSymbol[] {
    const s = this.sections.find((x) => x.type === SHT.SYMTAB);
    return s ? readSymbols(this, s) : [];
  }

  /** The dynamic symbol table (.dynsym), entry 0 included; [] when there is none. */
  dynamicSymbols(): ElfSymbol[] {
    const s = this.sections.find((x) => x.type === SHT.DYNSYM);
    return s ? readSymbols(this, s) : [];
  }

  /** Every REL and RELA section with its entries. */
  relocationSections(): RelocationSection[] {
    return this.sections.filter((s) => s.type === SHT.REL || s.type === SHT.RELA).map((s) => readRelocations(this, s));
  }

  notes(): ElfNote[] { return readNotes(this); }

  /** NT_GNU_BUILD_ID as lowercase hex, or undefined. */
  buildId(): string | undefined { return readBuildId(this); }

  /** A short description of the file for messages: "ELF64 LE REL machine 247". */
  describe(): string {
    return `ELF64 ${this.header.littleEndian ? 'LE' : 'BE'} type ${this.header.type} machine ${this.header.machine}`;
  }
}

export { hex };
