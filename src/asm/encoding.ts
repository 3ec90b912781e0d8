// The wire format: one 8-byte slot per instruction, two for ld_imm64.
// Every consumer of bytecode (verifier, WASM engine, loader) works on RawInsn slots,
// so that programs from anywhere, not only our assembler, can be checked and run.
import { INSN_SIZE } from './opcodes.js';

/** One 8-byte instruction slot, exactly as the kernel reads it. */
export interface RawInsn {
  /** opcode byte */
  code: number;
  /** destination register, 0..15 (low nibble) */
  dst: number;
  /** source register or pseudo value, 0..15 (high nibble) */
  src: number;
  /** signed 16-bit offset */
  off: number;
  /** signed 32-bit immediate */
  imm: number;
}

/** Encodes slots little-endian into a Buffer (the kernel's layout on little-endian hosts). */
export function encodeRaw(insns: readonly RawInsn[]): Buffer {
  const buf = Buffer.alloc(insns.length * INSN_SIZE);
  insns.forEach((insn, i) => {
    const at = i * INSN_SIZE;
    buf.writeUInt8(insn.code & 0xff, at);
    buf.writeUInt8(((insn.src & 0xf) << 4) | (insn.dst & 0xf), at + 1);
    buf.writeInt16LE(insn.off, at + 2);
    buf.writeInt32LE(insn.imm | 0, at + 4);
  });
  return buf;
}

/** Decodes a Buffer of slots; its length must be a multiple of 8. */
export function decodeRaw(buf: Uint8Array): RawInsn[] {
  if (buf.length % INSN_SIZE !== 0) {
    throw new Error(`bytecode length ${buf.length} is not a multiple of ${INSN_SIZE}`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RawInsn[] = [];
  for (let at = 0; at < buf.length; at += INSN_SIZE) {
    const regs = view.getUint8(at + 1);
    out.push({
      code: view.getUint8(at),
      dst: regs & 0xf,
      src: regs >> 4,
      off: view.getInt16(at + 2, true),
      imm: view.getInt32(at + 4, true),
    });
  }
  return out;
}

/** Parses hex text ("b7 00 00 00 ..." or "b700000000000000", any whitespace) into bytes. */
export function parseHex(text: string): Buffer {
  const clean = text.replace(/0x/gi, '').replace(/[\s,]+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) {
    throw new Error('expected hex bytes (pairs of 0-9a-f, whitespace allowed)');
  }
  return Buffer.from(clean, 'hex');
}
