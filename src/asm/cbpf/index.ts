// Classic BPF (struct sock_filter, as seccomp and socket filters take it): instruction values, the
// assembler that resolves labels, the encoder/decoder, the disassembler and its parser.
export * from './opcodes.js';
export * from './insn.js';
export { assembleCbpf, encodeCbpf, decodeCbpf, CbpfAsmError, type CbpfAssembled } from './assemble.js';
export { disassembleCbpf, formatCbpf, rawLine, hexK, type CbpfDisasmOptions } from './disasm.js';
export { parseCbpf, CbpfParseError } from './parse.js';
