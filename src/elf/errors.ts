// One error class for every way an ELF file can be unreadable, with a machine-readable `problem`
// so callers (the CLI, the symboliser) can decide without matching message text.

export type ElfProblem =
  /** the file is shorter than a structure it declares */
  | 'truncated'
  /** no ELF magic */
  | 'not-elf'
  /** a valid ELF this reader does not handle (32-bit class, unknown data encoding, version) */
  | 'unsupported'
  /** a header field points outside the file, or an index outside its table */
  | 'bounds'
  /** a field has an impossible value (entry size, alignment, unterminated string) */
  | 'malformed';

export class ElfError extends Error {
  constructor(readonly problem: ElfProblem, message: string, readonly source = '') {
    super(source ? `${source}: ${message}` : message);
    this.name = 'ElfError';
  }
}
