// Public surface of the assembler layer: opcode tables, raw encoding, the DSL, assembler,
// disassembler, parser and helper table.
export * from './opcodes.js';
export * from './abi.js';
export * from './encoding.js';
export * from './spec.js';
export * from './helpers.js';
export { label, isLabel, slotCount, targetField, type Instruction, type Label, type Item, type Target, type InsnMapRef } from './insn.js';
export * from './dsl.js';
export {
  ldx, ldxs, st, stx, ldabs, ldind, atomic, ldImm64, ldImm64Pseudo, ldMapFd, ldMapValue, ldFunc,
} from './dsl-mem.js';
export { assemble, program, AsmError, type Assembled, type ProgramOptions } from './assemble.js';
export { disassemble, formatInsn, describe, unknownLine, type DisasmOptions } from './disasm.js';
export { parseAsm, parseAnyAsm } from './parse.js';
export { parseUbpfAsm, isUbpfSyntax } from './parse-ubpf.js';
export { AsmSyntaxError, excerpt } from './syntax-error.js';
export * from './walk.js';
export { validateEncoding, validateInsn, type EncodingIssue, type EncodingIssueKind } from './validate.js';
export * from './events.js';
export * as cbpf from './cbpf/index.js';
