// A small reader of 64-bit ELF files (either byte order): headers, sections, segments, symbols,
// relocations, notes and address → symbol lookup. Shared by the BPF object loader and the
// symboliser of user stacks; imports nothing else of ours.
export { ElfFile, type ElfHeader, type ElfSection, type ElfSegment } from './file.js';
export { ElfError, type ElfProblem } from './errors.js';
export { readSymbols, readRelocations, type ElfSymbol, type ElfRelocation, type RelocationSection } from './symbols.js';
export { readNotes, readBuildId, type ElfNote } from './notes.js';
export { readBuildIdOfFile } from './build-id-file.js';
export { SymbolIndex, countAtOrBelow, type SymbolHit } from './lookup.js';
export * from './constants.js';
