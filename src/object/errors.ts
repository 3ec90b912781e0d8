// Why a BPF object, or one program in it, cannot be turned into a ProgramSpec. `problem` lets
// callers (the CLI, corpus tests) decide without matching message text.

export type ObjectProblem =
  /** the file is not a readable ELF (the ElfError's message follows) */
  | 'elf'
  /** a readable ELF that is not a BPF object (machine, type, byte order) */
  | 'not-bpf'
  /** a section name that names no program type (give a type explicitly) */
  | 'section'
  /** a relocation that cannot be applied (bad offset, symbol, instruction) */
  | 'relocation'
  /** a map definition that cannot be read (legacy maps, BTF .maps) */
  | 'map'
  /** the object's BTF cannot be read, or lacks what a map definition needs */
  | 'btf'
  /** CO-RE relocations that cannot be applied */
  | 'core'
  /** a feature of BPF objects this loader does not implement (externs, kfuncs, struct_ops …) */
  | 'unsupported';

export class ObjectError extends Error {
  constructor(readonly problem: ObjectProblem, message: string, readonly section = '', readonly symbol = '') {
    super(message);
    this.name = 'ObjectError';
  }
}
