// Per-instruction semantics of the WASM engine: ALU, byte swaps, jumps. Every expected value is
// worked out by hand from the ISA (instruction-set.rst) and the kernel's div/mod fixups, not by
// running another implementation.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  assemble, exit, label, ldImm64, mov64, mov32, movsx64, movsx32, add64, add32, sub64, mul64, mul32, div64, div32,
  sdiv64, sdiv32, mod64, mod32, smod64, smod32, lsh64, lsh32, rsh64, rsh32, arsh64, arsh32, neg64, neg32, and32, or32,
  xor64, le, be, bswap, ja, ja32, jeq, jeq32, jne, jgt, jge, jlt, jle, jsgt, jsge, jslt, jsle, jset, jset32, jgt32, jslt32,
  R0, R1, type Item,
} from '../src/asm/index.js';
import { BpfVm } from '../src/vm/index.js';

const run = (items: Item[]): bigint => new BpfVm(assemble([...items, exit()]).insns).run().r0;
const M64 = 0xffffffffffffffffn;
const INT64_MIN = 0x8000000000000000n;

/** r0 = a; r1 = b; r0 op= r1 (register form) */
const viaReg = (a: bigint, b: bigint, op: (d: number, s: number) => Item): bigint =>
  run([ldImm64(R0, a), ldImm64(R1, b), op(R0, R1)]);

const alu = suite('wasm: ALU');

alu('add/sub/mul wrap at 64 bits, and 32-bit forms wrap at 32 and zero the upper half', () => {
  assert.is(viaReg(M64, 1n, add64.reg), 0n);
  assert.is(viaReg(0n, 1n, sub64.reg), M64);
  assert.is(viaReg(1n << 32n, 1n << 32n, mul64.reg), 0n);
  assert.is(viaReg(0xffffffffn, 1n, add32.reg), 0n);
  assert.is(viaReg(0x1234567800000001n, 1n, add32.reg), 2n);
  assert.is(viaReg(0x10000n, 0x10000n, mul32.reg), 0n);
  assert.is(viaReg(0xffffffff00000003n, 3n, mul32.reg), 9n);
  assert.is(viaReg(0xffffffff0000ff0fn, 0xf0f0n, and32.reg), 0xf000n);
  assert.is(viaReg(0xffffffff00000000n, 1n, or32.reg), 1n);
  assert.is(run([ldImm64(R0, 0x0ff0n), xor64.imm(R0, -1)]), 0xfffffffffffff00fn);
});

alu('mov: imm sign-extends in 64-bit, zero-extends in 32-bit; mov32 reg truncates', () => {
  assert.is(run([mov64.imm(R0, -1)]), M64);
  assert.is(run([mov32.imm(R0, -1)]), 0xffffffffn);
  assert.is(viaReg(0n, 0xffffffff12345678n, mov32.reg), 0x12345678n);
});

alu('movsx sign-extends 8/16/32 bits (32-bit form zero-extends the result)', () => {
  assert.is(run([ldImm64(R1, 0x180n), movsx64.reg(R0, R1, 8)]), 0xffffffffffffff80n);
  assert.is(run([ldImm64(R1, 0x18000n), movsx64.reg(R0, R1, 16)]), 0xffffffffffff8000n);
  assert.is(run([ldImm64(R1, 0x180000000n), movsx64.reg(R0, R1, 32)]), 0xffffffff80000000n);
  assert.is(run([ldImm64(R1, 0x7fn), movsx64.reg(R0, R1, 8)]), 0x7fn);
  assert.is(run([ldImm64(R1, 0x80n), movsx32.reg(R0, R1, 8)]), 0xffffff80n);
  assert.is(run([ldImm64(R1, 0xffff7fffn), movsx32.reg(R0, R1, 16)]), 0x7fffn);
});

alu('unsigned div/mod: x/0 = 0, x%0 = x (32-bit: zero-extended), imm sign-extended to 64 bits', () => {
  assert.is(viaReg(0xdeadbeefcafebaben, 0n, div64.reg), 0n);
  assert.is(viaReg(0xdeadbeefcafebaben, 0n, mod64.reg), 0xdeadbeefcafebaben);
  assert.is(viaReg(0xffffffff00000005n, 0n, div32.reg), 0n);
  assert.is(viaReg(0xffffffff00000005n, 0n, mod32.reg), 5n);
  // Divisor 0 in the low half only: the 32-bit forms look at the low 32 bits.
  assert.is(viaReg(0xffffffff00000005n, 0x100000000n, mod32.reg), 5n);
  assert.is(viaReg(100n, 7n, div64.reg), 14n);
  assert.is(viaReg(100n, 7n, mod64.reg), 2n);
  assert.is(run([ldImm64(R0, M64), div64.imm(R0, -1)]), 1n);
  assert.is(run([ldImm64(R0, 0x1ffffffffn), div32.imm(R0, -1)]), 1n);
  assert.is(run([ldImm64(R0, 0xfffffffen), mod32.imm(R0, -1)]), 0xfffffffen);
  assert.is(viaReg(M64, 0x100000000n, div64.reg), 0xffffffffn);
});

alu('signed div/mod: INT_MIN s/ -1 = INT_MIN, s% -1 = 0, by zero as unsigned, truncating division', () => {
  assert.is(viaReg(INT64_MIN, M64, sdiv64.reg), INT64_MIN);
  assert.is(viaReg(INT64_MIN, M64, smod64.reg), 0n);
  assert.is(run([ldImm64(R0, INT64_MIN), sdiv64.imm(R0, -1)]), INT64_MIN);
  assert.is(run([ldImm64(R0, INT64_MIN), smod64.imm(R0, -1)]), 0n);
  assert.is(viaReg(0xffffffff80000000n, 0xffffffffn, sdiv32.reg), 0x80000000n);
  assert.is(viaReg(0x80000000n, 0xffffffffn, smod32.reg), 0n);
  assert.is(run([ldImm64(R0, 0x80000000n), sdiv32.imm(R0, -1)]), 0x80000000n);
  assert.is(viaReg(M64 - 6n, 2n, sdiv64.reg), M64 - 2n); // -7 / 2 = -3
  assert.is(viaReg(M64 - 6n, 2n, smod64.reg), M64); // -7 % 2 = -1
  assert.is(viaReg(7n, M64 - 1n, smod64.reg), 1n); // 7 % -2 = 1
  assert.is(viaReg(0xfffffff9n, 2n, sdiv32.reg), 0xfffffffdn); // (s32)-7 / 2 = -3, zero-extended
  assert.is(viaReg(0xdeadbeefn, 0n, sdiv64.reg), 0n);
  assert.is(viaReg(0xffffffff_fffffff9n, 0n, smod64.reg), 0xfffffffffffffff9n);
  assert.is(viaReg(0xaaaaaaaa_fffffff9n, 0n, smod32.reg), 0xfffffff9n);
  assert.is(viaReg(5n, M64, sdiv64.reg), M64 - 4n); // 5 s/ -1 = -5
});

alu('shifts mask the count (& 63, & 31); arsh is arithmetic; 32-bit forms zero-extend', () => {
  assert.is(viaReg(1n, 64n, lsh64.reg), 1n);
  assert.is(viaReg(1n, 63n, lsh64.reg), INT64_MIN);
  assert.is(viaReg(0x100n, 65n, rsh64.reg), 0x80n);
  assert.is(viaReg(1n, 32n, lsh32.reg), 1n);
  assert.is(viaReg(0xffffffff00000001n, 1n, lsh32.reg), 2n);
  assert.is(viaReg(INT64_MIN, 63n, arsh64.reg), M64);
  assert.is(viaReg(0x80000000n, 31n, arsh32.reg), 0xffffffffn);
  assert.is(viaReg(0xffffffff80000000n, 4n, rsh32.reg), 0x08000000n);
  assert.is(run([ldImm64(R0, 0xf0n), rsh64.imm(R0, 4)]), 0xfn);
});

alu('neg: 64-bit two\'s complement; 32-bit zero-extends (INT_MIN stays INT_MIN)', () => {
  assert.is(run([mov64.imm(R0, 1), neg64(R0)]), M64);
  assert.is(run([mov64.imm(R0, 1), neg32(R0)]), 0xffffffffn);
  assert.is(run([ldImm64(R0, 0x80000000n), neg32(R0)]), 0x80000000n);
  assert.is(run([ldImm64(R0, INT64_MIN), neg64(R0)]), INT64_MIN);
});

alu('le truncates, be and bswap swap bytes (16/32/64)', () => {
  const v = 0x1122334455667788n;
  assert.is(run([ldImm64(R0, v), le(R0, 16)]), 0x7788n);
  assert.is(run([ldImm64(R0, v), le(R0, 32)]), 0x55667788n);
  assert.is(run([ldImm64(R0, v), le(R0, 64)]), v);
  assert.is(run([ldImm64(R0, v), be(R0, 16)]), 0x8877n);
  assert.is(run([ldImm64(R0, v), be(R0, 32)]), 0x88776655n);
  assert.is(run([ldImm64(R0, v), be(R0, 64)]), 0x8877665544332211n);
  assert.is(run([ldImm64(R0, v), bswap(R0, 16)]), 0x8877n);
  assert.is(run([ldImm64(R0, v), bswap(R0, 32)]), 0x88776655n);
  assert.is(run([ldImm64(R0, v), bswap(R0, 64)]), 0x8877665544332211n);
  assert.is(run([ldImm64(R0, 0x80n), bswap(R0, 64)]), INT64_MIN);
});

alu.run();

const jmp = suite('wasm: jumps');

/** 1 if `cond` jumps with r0 = a, r1 = b, else 0. */
const taken = (a: bigint, b: bigint, cond: (d: number, s: number, t: string) => Item): bigint =>
  run([ldImm64(R0, a), ldImm64(R1, b), cond(R0, R1, 'yes'), mov64.imm(R0, 0), exit(), label('yes'), mov64.imm(R0, 1)]);
const takenImm = (a: bigint, imm: number, cond: (d: number, i: number, t: string) => Item): bigint =>
  run([ldImm64(R0, a), cond(R0, imm, 'yes'), mov64.imm(R0, 0), exit(), label('yes'), mov64.imm(R0, 1)]);

jmp('unsigned and signed comparisons differ on negative values', () => {
  assert.is(taken(M64, 1n, jgt.reg), 1n);
  assert.is(taken(M64, 1n, jsgt.reg), 0n);
  assert.is(taken(M64, 1n, jslt.reg), 1n);
  assert.is(taken(M64, 1n, jlt.reg), 0n);
  assert.is(taken(5n, 5n, jge.reg), 1n);
  assert.is(taken(5n, 5n, jle.reg), 1n);
  assert.is(taken(5n, 5n, jsge.reg), 1n);
  assert.is(taken(5n, 6n, jsle.reg), 1n);
  assert.is(taken(6n, 5n, jsle.reg), 0n);
  assert.is(taken(5n, 5n, jne.reg), 0n);
  assert.is(taken(5n, 5n, jeq.reg), 1n);
});

jmp('jset tests any common bit; immediates are sign-extended to 64 bits', () => {
  assert.is(taken(0b1010n, 0b0100n, jset.reg), 0n);
  assert.is(taken(0b1010n, 0b0010n, jset.reg), 1n);
  assert.is(taken(1n << 40n, 1n << 40n, jset.reg), 1n);
  assert.is(taken(1n << 40n, 1n << 40n, jset32.reg), 0n);
  assert.is(takenImm(M64, -1, jeq.imm), 1n);
  assert.is(takenImm(0xffffffffn, -1, jeq.imm), 0n);
  assert.is(takenImm(0xffffffffn, -1, jgt.imm), 0n);
});

jmp('JMP32 compares only the low 32 bits', () => {
  assert.is(takenImm(0x100000000n, 0, jeq32.imm), 1n);
  assert.is(takenImm(0xffffffffn, -1, jeq32.imm), 1n);
  assert.is(taken(0x1_00000001n, 0x2_00000000n, jgt32.reg), 1n);
  assert.is(taken(0x80000000n, 0n, jslt32.reg), 1n);
});

jmp('ja and ja32 (gotol) skip forward', () => {
  assert.is(run([mov64.imm(R0, 1), ja('x'), mov64.imm(R0, 2), label('x')]), 1n);
  assert.is(run([mov64.imm(R0, 1), ja32('x'), mov64.imm(R0, 2), mov64.imm(R0, 3), label('x')]), 1n);
});

jmp.run();
