// The classic-BPF assembler: label resolution, encoding, the tools/bpf disassembly and its parser.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cbpf } from '../src/asm/index.js';
import { runCbpf } from './_lib/cbpf-vm.js';

const test = suite('asm: classic BPF');
const { assembleCbpf, encodeCbpf, decodeCbpf, disassembleCbpf, parseCbpf, label, ldAbs, jeq, jge, ja, ret, retA, ldImm, alu, st, ldxMem, tax, txa } = cbpf;

const hex = (b: Buffer): string => b.toString('hex').replace(/(.{16})/g, '$1 ').trim();

test('labels become forward skips; the bytes are struct sock_filter in host (little-endian) order', () => {
  const { filters, labels } = assembleCbpf([
    ldAbs('w', 4),
    jeq(0xc000003e, 'native', 'kill'),
    label('kill'),
    ret(0x80000000),
    label('native'),
    ret(0x7fff0000),
  ]);
  assert.equal(filters[1], { code: 0x15, jt: 1, jf: 0, k: 0xc000003e });
  assert.equal([...labels], [['kill', 2], ['native', 3]]);
  assert.is(hex(encodeCbpf(filters)), '2000000004000000 150001003e0000c0 0600000000000080 060000000000ff7f');
  assert.equal(decodeCbpf(encodeCbpf(filters)), filters);
  assert.is(hex(encodeCbpf(filters, false)).slice(0, 16), '0020000000000004', 'big-endian on request');
});

test('assembly errors name the item, its DSL form and the label', () => {
  const cases: Array<[cbpf.CItem[], RegExp]> = [
    [[label('a'), jeq(1, 'a'), ret(0)], /label 'a' \(instruction 0\) is not after this jump; classic BPF jumps only forward/],
    [[jeq(1, 'nowhere'), ret(0)], /item #0 \(instruction 0\) `jmp\('jeq', 1, 'nowhere', 0\)`: jt: unknown label 'nowhere'/],
    [[label('x'), ret(0), label('x'), ret(1)], /label 'x' is defined twice \(item #2\)/],
    [[jeq(1, 'end'), ret(0), label('end')], /jumps past the end/],
    [[ja(5), ret(0)], /jumps past the end/],
    [[jeq(1, 'far'), ...Array.from({ length: 256 }, () => ret(0)), label('far'), ret(1)], /skip 256 to 'far' does not fit \(0\.\.255\); put a ja/],
  ];
  for (const [items, re] of cases) {
    try {
      assembleCbpf(items);
      assert.unreachable(`should fail: ${re}`);
    } catch (err) {
      assert.instance(err, cbpf.CbpfAsmError);
      assert.match((err as Error).message, re);
    }
  }
  assert.throws(() => assembleCbpf(Array.from({ length: 4097 }, () => ret(0))), /more than the kernel's limit of 4096/);
  assert.throws(() => ldImm(2 ** 32), /does not fit 32 bits/);
  assert.throws(() => st(16), /M\[0\]\.\.M\[15\]/);
});

test('ja reaches beyond 255 instructions (its skip is the 32-bit k)', () => {
  const items: cbpf.CItem[] = [ja('far'), ...Array.from({ length: 300 }, () => ret(0)), label('far'), ret(7)];
  const { filters } = assembleCbpf(items);
  assert.equal(filters[0], { code: 0x05, jt: 0, jf: 0, k: 300 });
  assert.is(runCbpf(filters, Buffer.alloc(4)), 7);
});

test('disassembly is the tools/bpf listing; every form parses back to the same bytes', () => {
  const items: cbpf.CItem[] = [
    ldAbs('w', 4), ldAbs('h', 2), ldAbs('b', 1), cbpf.ldInd('w', 8), cbpf.ldInd('b', 0), ldImm(0), ldImm(42),
    cbpf.ldLen(), cbpf.ldMem(3), cbpf.ldxImm(7), cbpf.ldxLen(), ldxMem(15), cbpf.ldxMsh(14), st(0), cbpf.stx(2),
    alu('add', 1), alu('sub', 'x'), alu('mul', 3), alu('div', 2), alu('mod', 5), alu('and', 0xff), alu('or', 'x'),
    alu('xor', 1), alu('lsh', 4), alu('rsh', 'x'), cbpf.neg(), tax(), txa(),
    jeq(0xc000003e, 'a', 'b'), label('a'), jge('x', 'b'), label('b'), cbpf.jset(0x40000000, 'c', 'c'), label('c'),
    ja('d'), retA(), label('d'), ret(0x50001),
  ];
  const { filters } = assembleCbpf(items);
  const text = disassembleCbpf(filters);
  const lines = text.trimEnd().split('\n');
  assert.is(lines[0], 'l0:\tld [4]');
  assert.is(lines[1], 'l1:\tldh [2]');
  assert.is(lines[3], 'l3:\tld [x + 8]');
  assert.is(lines[5], 'l5:\tld #0');
  assert.is(lines[6], 'l6:\tld #0x2a');
  assert.is(lines[7], 'l7:\tld #len');
  assert.is(lines[8], 'l8:\tld M[3]');
  assert.is(lines[12], 'l12:\tldxb 4*([14]&0xf)');
  assert.is(lines[16], 'l16:\tsub x');
  assert.is(lines[28], 'l28:\tjeq #0xc000003e, l29, l30');
  assert.is(lines[29], 'l29:\tjge x, l30, l30');
  assert.is(lines[31], 'l31:\tjmp l33');
  assert.is(lines[32], 'l32:\tret a');
  assert.is(lines[33], 'l33:\tret #0x50001');
  assert.equal(assembleCbpf(parseCbpf(text)).filters, filters);
});

test('any bytes at all disassemble without throwing and parse back to themselves (.insn for the rest)', () => {
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const interesting = [0x00, 0x20, 0x28, 0x30, 0x40, 0x60, 0x80, 0x61, 0x81, 0x01, 0xb1, 0x02, 0x03, 0x04, 0x0c, 0x84, 0x94,
    0x05, 0x15, 0x1d, 0x25, 0x35, 0x45, 0x06, 0x16, 0x07, 0x87, 0x18, 0xff, 0x1234];
  for (let round = 0; round < 300; round++) {
    const n = 1 + rnd(40);
    const filters = Array.from({ length: n }, () => ({
      code: rnd(4) === 0 ? rnd(0x10000) : interesting[rnd(interesting.length)]!,
      jt: rnd(3) === 0 ? rnd(256) : rnd(4),
      jf: rnd(3) === 0 ? rnd(256) : rnd(4),
      k: rnd(3) === 0 ? (rnd(0x10000) * 0x10000 + rnd(0x10000)) >>> 0 : rnd(20),
    }));
    const text = disassembleCbpf(filters);
    assert.equal(assembleCbpf(parseCbpf(text)).filters, filters, text);
  }
  assert.match(disassembleCbpf([{ code: 0xffff, jt: 1, jf: 2, k: 3 }]), /^l0:\t\.insn 0xffff, 1, 2, 0x3\n$/);
  assert.match(disassembleCbpf([{ code: 0x15, jt: 9, jf: 0, k: 1 }]), /\.insn 0x15, 9, 0, 0x1/, 'a jump past the end keeps its bytes');
});

test('the parser takes bpf_asm forms: one-target and negated jumps, labels on the line, comments', () => {
  const items = parseCbpf(`
    ; a seccomp-like filter, in bpf_asm style
    start:  ld [4]              // arch
            jne #0xc000003e, bad
            ld [0]
            jeq #39, good       ; getpid
            jlt #100, bad, good
    bad:    ret #0
    good:   ret #0x7fff0000
  `);
  const { filters } = assembleCbpf(items);
  assert.equal(filters[1], { code: 0x15, jt: 0, jf: 3, k: 0xc000003e });
  assert.equal(filters[3], { code: 0x15, jt: 2, jf: 0, k: 39 });
  assert.equal(filters[4], { code: 0x35, jt: 1, jf: 0, k: 100 }, "jlt: the label comes first when A < k, so jge jumps there when false");
  const data = (nr: number, arch: number) => { const b = Buffer.alloc(64); b.writeUInt32LE(nr, 0); b.writeUInt32LE(arch, 4); return b; };
  assert.is(runCbpf(filters, data(39, 0xc000003e)), 0x7fff0000);
  assert.is(runCbpf(filters, data(200, 0xc000003e)), 0x7fff0000);
  assert.is(runCbpf(filters, data(50, 0xc000003e)), 0);
  assert.is(runCbpf(filters, data(39, 0x40000003)), 0);
});

test('parse errors name the line and what was expected', () => {
  const cases: Array<[string, RegExp]> = [
    ['ld [4]\nfrob #1', /^line 2: unknown instruction 'frob'/],
    ['jeq 5, a', /^line 1: expected #k or x, got '5'/],
    ['ret #0x100000000', /does not fit 32 bits/],
    ['ld [x - 4]', /^line 1: expected a number for the offset/],
    ['st M[16]', /M\[0\]\.\.M\[15\]/],
    ['tax 3', /tax takes no operand/],
    ['jmp 12', /expected a label name/],
  ];
  for (const [text, re] of cases) {
    try {
      parseCbpf(text);
      assert.unreachable(text);
    } catch (err) {
      assert.instance(err, cbpf.CbpfParseError);
      assert.match((err as Error).message, re);
    }
  }
  assert.throws(() => decodeCbpf(new Uint8Array(12)), /12 is not a multiple of 8/);
});

test.run();
