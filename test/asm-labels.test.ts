// Label resolution (forward, backward, across ld_imm64's two slots, into off or imm) and every
// assembler error path; errors must name the item, its DSL form and the symbol involved.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as A from '../src/asm/index.js';

const lab = suite('asm labels');
const { R0, R1, R2 } = A;

lab('forward jump skips the instructions in between', () => {
  const { insns, labels } = A.assemble([A.jeq.imm(R1, 0, 'out'), A.mov64.imm(R0, 1), A.mov64.imm(R0, 2), A.label('out'), A.exit()]);
  assert.is(insns[0]!.off, 2);
  assert.is(labels.get('out'), 3);
});

lab('backward jump to itself and to an earlier slot', () => {
  const { insns } = A.assemble([A.label('top'), A.mov64.imm(R0, 1), A.label('self'), A.ja('self'), A.ja('top'), A.exit()]);
  assert.is(insns[1]!.off, -1);
  assert.is(insns[2]!.off, -3);
});

lab('ld_imm64 counts as two slots on both sides', () => {
  const fwd = A.assemble([A.ja('end'), A.ldImm64(R1, 5n), A.label('end'), A.exit()]);
  assert.is(fwd.insns.length, 4);
  assert.is(fwd.insns[0]!.off, 2);
  assert.is(fwd.labels.get('end'), 3);
  const back = A.assemble([A.label('top'), A.ldMapFd(R1, 'm'), A.jne.reg(R1, R2, 'top'), A.exit()]);
  assert.is(back.insns[2]!.off, -3);
  assert.is(back.mapRefs[0]!.index, 0);
});

lab('several labels may name one instruction', () => {
  const { insns, labels } = A.assemble([A.ja('b'), A.label('a'), A.label('b'), A.exit()]);
  assert.is(labels.get('a'), 1);
  assert.is(insns[0]!.off, 0);
});

lab('gotol, local calls and function pointers put the offset in imm', () => {
  const { insns } = A.assemble([A.ja32('f'), A.callLocal('f'), A.ldFunc(R2, 'f'), A.exit(), A.label('f'), A.exit()]);
  assert.is(insns[0]!.imm, 4);
  assert.is(insns[0]!.off, 0);
  assert.is(insns[1]!.imm, 3);
  assert.is(insns[2]!.imm, 2);
  assert.is(insns[2]!.src, A.Pseudo.FUNC);
  assert.is(insns[3]!.imm, 0, 'ld_imm64 second slot');
});

lab('a jump beyond 16 bits needs ja32', () => {
  const body = Array.from({ length: 40000 }, () => A.mov64.imm(R0, 0));
  const long = A.assemble([A.ja32('far'), ...body, A.label('far'), A.exit()]);
  assert.is(long.insns[0]!.imm, 40000);
  try {
    A.assemble([A.mov64.imm(R0, 0), A.ja('far'), ...body, A.label('far'), A.exit()]);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, A.AsmError);
    const err = e as A.AsmError;
    assert.match(err.message, /item #1 \(slot 1\)/);
    assert.match(err.message, /ja\('far'\)/);
    assert.match(err.message, /offset 40000 to label 'far'/);
    assert.match(err.message, /16-bit/);
    assert.is(err.item, 1);
    assert.is(err.symbol, 'far');
  }
});

lab('the 16-bit boundary itself is accepted', () => {
  const body = Array.from({ length: 32767 }, () => A.mov64.imm(R0, 0));
  const { insns } = A.assemble([A.ja('end'), ...body, A.label('end'), A.exit()]);
  assert.is(insns[0]!.off, 32767);
  assert.throws(() => A.assemble([A.ja('end'), A.mov64.imm(R0, 0), ...body, A.label('end'), A.exit()]), /offset 32768/);
});

const err = suite('asm errors');

const throwsWith = (fn: () => unknown, ...patterns: RegExp[]): void => {
  let message = '';
  try {
    fn();
  } catch (e) {
    message = (e as Error).message;
  }
  assert.ok(message !== '', 'expected an error');
  for (const p of patterns) assert.match(message, p);
};

err('unknown label names the label, the item and its DSL form', () => {
  throwsWith(
    () => A.assemble([A.mov64.imm(R0, 0), A.label('here'), A.jgt.imm(R1, 7, 'nowhere'), A.exit()]),
    /item #2 \(slot 1\)/,
    /jgt\.imm\(r1, 7, 'nowhere'\)/,
    /unknown label 'nowhere'/,
    /labels: here/,
  );
});

err('duplicate label names both places', () => {
  throwsWith(() => A.assemble([A.label('x'), A.exit(), A.label('x'), A.exit()]), /duplicate label 'x' at item #2/, /first defined at item #0/);
});

err('label at the end of the program', () => {
  throwsWith(() => A.assemble([A.exit(), A.label('tail')]), /label 'tail' at item #1/, /no instruction follows it/);
});

err('immediates outside s32/u32 name the instruction', () => {
  throwsWith(() => A.assemble([A.exit(), A.mov64.imm(R1, 2 ** 32)]), /item #1/, /mov64\.imm\(r1, 4294967296\)/, /imm 4294967296 does not fit 32 bits/);
  throwsWith(() => A.assemble([A.jeq.imm(R1, -(2 ** 31) - 1, 0)]), /jeq\.imm/, /does not fit 32 bits/);
  throwsWith(() => A.assemble([A.add32.imm(R1, 0.5)]), /imm 0\.5/);
  // u32 values are accepted and stored as their s32 bit pattern
  assert.is(A.assemble([A.mov64.imm(R1, 0x80000000)]).insns[0]!.imm, -0x80000000);
});

err('memory offsets outside s16 name the instruction', () => {
  throwsWith(() => A.assemble([A.ldx.w(R1, R2, 40000)]), /item #0/, /ldx\.w\(r1, r2, 40000\)/, /off 40000 does not fit 16 signed bits/);
  throwsWith(() => A.assemble([A.stx.dw(A.FP, -32769, R1)]), /stx\.dw\(r10, -32769, r1\)/);
});

err('64-bit immediates outside s64/u64', () => {
  throwsWith(() => A.assemble([A.ldImm64(R1, 1n << 64n)]), /ldImm64\(r1, 0x10000000000000000n\)/, /does not fit 64 bits/);
  assert.is(A.assemble([A.ldImm64(R1, (1n << 64n) - 1n)]).insns[1]!.imm, -1);
  assert.is(A.assemble([A.ldImm64(R1, -(1n << 63n))]).insns[1]!.imm, -0x80000000);
});

err('a numeric gotol target beyond 32 bits', () => {
  throwsWith(() => A.assemble([A.ja32(2 ** 31)]), /ja32\(2147483648\)/, /32-bit imm/);
});

err('hand-made instructions are described by their disassembly', () => {
  const raw: A.Instruction = { op: 0x15, dst: 1, src: 0, off: 0, imm: 0, target: 'gone' };
  throwsWith(() => A.assemble([raw]), /if r1 == 0x0 goto pc\+0 ; target 'gone'/, /unknown label 'gone'/);
  throwsWith(() => A.assemble([{ op: 0xb7, dst: 16, src: 0, off: 0, imm: 0 }]), /dst 16 is not a register number/);
  throwsWith(() => A.assemble([null as unknown as A.Item]), /item #0 is null/);
});

err('program() checks map references against maps', () => {
  const counts: A.MapSpec = { name: 'counts', type: A.MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 };
  throwsWith(
    () => A.program({ name: 'p', type: A.ProgType.KPROBE, items: [A.mov64.imm(R0, 0), A.ldMapValue(R1, 'cfg', 4), A.exit()], maps: [counts] }),
    /program 'p'/,
    /item #1/,
    /ldMapValue\(r1, 'cfg', 4\)/,
    /references map 'cfg'/,
    /have: counts/,
  );
  throwsWith(() => A.program({ name: 'p', type: A.ProgType.KPROBE, items: [A.exit()], maps: [counts, counts] }), /map 'counts' is listed twice/);
  throwsWith(() => A.program({ name: 'q', type: A.ProgType.KPROBE, items: [A.ja('x')] }), /program 'q'/, /unknown label 'x'/);
  const spec = A.program({ name: 'ok', type: A.ProgType.KPROBE, items: [A.ldMapFd(R1, 'counts'), A.mov64.imm(R0, 0), A.exit()], maps: [counts], ctxSize: 168 });
  assert.is(spec.license, 'GPL');
  assert.is(spec.ctxSize, 168);
  assert.equal(spec.mapRefs, [{ index: 0, map: 'counts', kind: 'fd' }]);
  assert.is(spec.insns.length, 4);
  assert.is(A.program({ name: 'l', type: A.ProgType.KPROBE, items: [A.exit()], license: 'Dual MIT/GPL' }).license, 'Dual MIT/GPL');
});

lab.run();
err.run();
