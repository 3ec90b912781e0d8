// Disassembly text against the kernel's own format strings (kernel/bpf/disasm.c: "%+d" offsets,
// "0x%x" jump immediates, "%d" ALU immediates) and bpftool's ld_imm64 forms; and the parser's
// handling of the extra syntax it accepts (labels, verifier-log prefixes, comments).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as A from '../src/asm/index.js';

const { R0, R1, R2, R6, FP } = A;
const dis = suite('asm disassembly text');

const one = (item: A.Instruction): string => {
  const asm = A.assemble([item]);
  const lines = A.disassemble(asm.insns, { mapRefs: asm.mapRefs });
  assert.is(lines.length, 1);
  return lines[0]!;
};

const expected: Array<[A.Instruction, string]> = [
  [A.mov64.imm(R0, 0), 'r0 = 0'],
  [A.mov32.imm(R1, -1), 'w1 = -1'],
  [A.add32.reg(R1, R2), 'w1 += w2'],
  [A.neg64(R1), 'r1 = -r1'],
  [A.neg32(R1), 'w1 = -w1'],
  [A.sdiv64.reg(R1, R2), 'r1 s/= r2'],
  [A.smod64.imm(R1, 3), 'r1 s%= 3'],
  [A.arsh32.imm(R1, 4), 'w1 s>>= 4'],
  [A.lsh64.reg(R1, R2), 'r1 <<= r2'],
  [A.movsx64.reg(R1, R2, 8), 'r1 = (s8)r2'],
  [A.movsx32.reg(R1, R2, 16), 'w1 = (s16)w2'],
  [A.le(R1, 16), 'r1 = le16 r1'],
  [A.be(R1, 32), 'r1 = be32 r1'],
  [A.bswap(R1, 64), 'r1 = bswap64 r1'],
  [A.addrSpaceCast(R1, R2, 1, 0), 'r1 = addr_space_cast(r2, 1, 0)'],
  [A.ldx.w(R1, R6, 8), 'r1 = *(u32 *)(r6 +8)'],
  [A.ldxs.h(R1, R6, -2), 'r1 = *(s16 *)(r6 -2)'],
  [A.stx.dw(FP, -8, R1), '*(u64 *)(r10 -8) = r1'],
  [A.st.w(FP, -4, 0), '*(u32 *)(r10 -4) = 0'],
  [A.st.b(FP, -1, -3), '*(u8 *)(r10 -1) = -3'],
  [A.ldabs.b(23), 'r0 = *(u8 *)skb[23]'],
  [A.ldind.h(R2, -4), 'r0 = *(u16 *)skb[r2 + -4]'],
  [A.atomic.add.dw(R1, 0, R2), 'lock *(u64 *)(r1 +0) += r2'],
  [A.atomic.xor.w(R1, 8, R2), 'lock *(u32 *)(r1 +8) ^= r2'],
  [A.atomic.fetchAdd.dw(R1, 0, R2), 'r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)'],
  [A.atomic.fetchAnd.w(R1, -4, R2), 'r2 = atomic_fetch_and((u32 *)(r1 -4), r2)'],
  [A.atomic.xchg.dw(R1, 0, R2), 'r2 = atomic64_xchg((u64 *)(r1 +0), r2)'],
  [A.atomic.cmpxchg.dw(R1, 0, R2), 'r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)'],
  [A.atomic.loadAcquire.w(R0, R1, 4), 'r0 = load_acquire((u32 *)(r1 +4))'],
  [A.atomic.storeRelease.dw(R1, 0, R2), 'store_release((u64 *)(r1 +0), r2)'],
  [A.jeq.imm(R1, 0, 3), 'if r1 == 0x0 goto pc+3'],
  [A.jne.imm(R1, -1, 0), 'if r1 != 0xffffffff goto pc+0'],
  [A.jsgt32.reg(R1, R2, -3), 'if w1 s> w2 goto pc-3'],
  [A.jset.imm(R1, 0x80, 1), 'if r1 & 0x80 goto pc+1'],
  [A.ja(2), 'goto pc+2'],
  [A.ja32(2), 'gotol pc+2'],
  [A.mayGoto(-4), 'may_goto pc-4'],
  [A.call('map_lookup_elem'), 'call bpf_map_lookup_elem#1'],
  [A.call(9999), 'call unknown#9999'],
  [A.callLocal(5), 'call pc+5'],
  [A.callKfunc(77), 'call kernel-function#77'],
  [A.exit(), 'exit'],
  [A.ldImm64(R1, 0x1234), 'r1 = 0x1234 ll'],
  [A.ldImm64(R1, -1n), 'r1 = 0xffffffffffffffff ll'],
  [A.ldMapFd(R1, 'counts'), 'r1 = map[counts]'],
  [A.ldMapValue(R1, 'cfg', 8), 'r1 = map[cfg][0]+8'],
  [A.ldImm64Pseudo(R1, A.Pseudo.MAP_FD, 3), 'r1 = map[id:3]'],
  [A.ldFunc(R1, -2), 'r1 = subprog[-2]'],
];

for (const [item, text] of expected) dis(text, () => assert.is(one(item), text));

dis('prefixes: opcode byte and slot index, as the verifier log and bpftool print them', () => {
  const lines = A.disassemble(A.assemble([A.mov64.imm(R0, 0), A.ldImm64(R1, 1), A.exit()]).insns, { opcodes: true, indices: true });
  assert.equal(lines, ['   0: (b7) r0 = 0', '   1: (18) r1 = 0x1 ll', '   3: (95) exit']);
});

dis('unknown opcodes and truncated ld_imm64 do not throw', () => {
  const lines = A.disassemble(A.encodeRaw([{ code: 0xff, dst: 1, src: 2, off: -1, imm: 16 }, { code: 0x18, dst: 1, src: 0, off: 0, imm: 1 }]));
  assert.is(lines[0], '(ff) unknown opcode (dst r1, src r2, off -1, imm 0x10)');
  assert.match(lines[1]!, /^\(18\) unknown opcode .*truncated/);
  assert.throws(() => A.disassemble(new Uint8Array(7)), /not a multiple of 8/);
});

dis('describe: DSL form first', () => {
  assert.is(A.describe(A.jeq.imm(R1, 0, 'out')), "jeq.imm(r1, 0, 'out')");
  assert.is(A.describe(A.label('x')), "label('x')");
  assert.is(A.describe(A.call(1)), 'call(1 /* bpf_map_lookup_elem */)');
  assert.is(A.describe({ op: 0x07, dst: 1, src: 0, off: 0, imm: 4 }), 'r1 += 4');
});

const par = suite('asm parser');

par('labels, label targets, comments and verifier-log prefixes', () => {
  const src = `
    ; count calls
    r6 = r1                      // keep ctx
    0: (85) call bpf_get_current_pid_tgid#14
    loop: r0 += -1
    if r0 s> 0x0 goto loop
    call bpf_ktime_get_ns
    goto out
    r0 = 1
    out:
    exit
  `;
  const asm = A.assemble(A.parseAsm(src));
  const want = A.assemble([
    A.mov64.reg(R6, R1),
    A.call('get_current_pid_tgid'),
    A.label('loop'),
    A.add64.imm(R0, -1),
    A.jsgt.imm(R0, 0, 'loop'),
    A.call('ktime_get_ns'),
    A.ja('out'),
    A.mov64.imm(R0, 1),
    A.label('out'),
    A.exit(),
  ]);
  assert.equal(asm.insns, want.insns);
  assert.is(asm.labels.get('loop'), 2);
});

par('errors name the line, its text and the problem', () => {
  assert.throws(() => A.parseAsm(['r0 = 0', 'r1 = frobnicate']), /line 2 `r1 = frobnicate`: not an instruction/);
  assert.throws(() => A.parseAsm(['w1 += r2']), /line 1 `w1 \+= r2`: register 'r2' mixes/);
  assert.throws(() => A.parseAsm(['(b7) r0 = r1']), /opcode prefix \(b7\) does not match .* \(bf\)/);
  assert.throws(() => A.parseAsm(['call bpf_map_lookup_elem#2']), /helper bpf_map_lookup_elem has id 1, not 2/);
  assert.throws(() => A.parseAsm(['r1 = le16 r2']), /in place/);
  assert.throws(() => A.parseAsm(['r3 = atomic64_fetch_add((u32 *)(r1 +0), r3)']), /atomic64 does not match a u32 operand/);
  assert.throws(() => A.parseAsm(['r1 = 4294967296']), /does not fit 32 bits/);
  assert.throws(() => A.parseAsm(['r1 = r11']), /line 1 .*r0\.\.r10, got 11/);
});

par('decimal is a 32-bit move, hex or "ll" a 64-bit load', () => {
  const asm = A.assemble(A.parseAsm(['r1 = 5', 'r2 = 0x5', 'r3 = 5 ll']));
  assert.equal(asm.insns.map((s) => s.code), [0xb7, 0x18, 0, 0x18, 0]);
});

dis.run();
par.run();
