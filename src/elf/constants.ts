// The ELF constants this reader names (System V gABI, elf.h). Only what callers need to compare.

/** Section header types (sh_type). */
export const SHT = {
  NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, RELA: 4, HASH: 5, DYNAMIC: 6, NOTE: 7, NOBITS: 8, REL: 9,
  DYNSYM: 11, INIT_ARRAY: 14, FINI_ARRAY: 15, GROUP: 17, SYMTAB_SHNDX: 18, GNU_HASH: 0x6ffffff6,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** Section flags (sh_flags). */
export const SHF = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4, MERGE: 0x10, STRINGS: 0x20 } as const;

/** Special section indices (st_shndx). */
export const SHN = { UNDEF: 0, LORESERVE: 0xff00, ABS: 0xfff1, COMMON: 0xfff2, XINDEX: 0xffff } as const;

/** Program header types (p_type). */
export const PT = { NULL: 0, LOAD: 1, DYNAMIC: 2, INTERP: 3, NOTE: 4, PHDR: 6, TLS: 7, GNU_EH_FRAME: 0x6474e550, GNU_STACK: 0x6474e551 } as const;

/** Segment permission flags (p_flags). */
export const PF = { X: 1, W: 2, R: 4 } as const;

/** Symbol types (low nibble of st_info). */
export const STT = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4, COMMON: 5, TLS: 6, GNU_IFUNC: 10 } as const;

/** Symbol bindings (high nibble of st_info). */
export const STB = { LOCAL: 0, GLOBAL: 1, WEAK: 2, GNU_UNIQUE: 10 } as const;

/** Object file types (e_type). */
export const ET = { NONE: 0, REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;

/** Machines (e_machine) that appear in tests and messages. */
export const EM = { X86_64: 62, AARCH64: 183, BPF: 247, S390: 22, PPC64: 21, RISCV: 243 } as const;

/** Note types of the "GNU" owner. */
export const NT_GNU = { ABI_TAG: 1, BUILD_ID: 3, PROPERTY_TYPE_0: 5 } as const;
