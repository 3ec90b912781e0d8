// The uBPF-syntax parser (the conformance suite's language), syntax detection, and error messages that
// quote only an excerpt of a long line.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as A from '../src/asm/index.js';

const bytes = (src: string): string => A.encodeRaw(A.assemble(A.parseUbpfAsm(src)).insns).toString('hex');
const t = suite('asm: uBPF syntax');

t('encodes each form with the fields that syntax gives it', () => {
  assert.is(bytes('mov32 %r0, 1'), 'b400000001000000');
  assert.is(bytes('mov %r1, %r2'), 'bf21000000000000');
  assert.is(bytes('sdiv32 %r0, -3'), '34000100fdffffff');
  assert.is(bytes('ldxw %r0, [%r1+4]'), '6110040000000000');
  assert.is(bytes('stxdw [%r10-8], %r1'), '7b1af8ff00000000');
  assert.is(bytes('stb [%r1+0x10], 0xff'), '72011000ff000000');
  assert.is(bytes('lock fetch add32 [%r1+0], %r2'), 'c321000001000000');
  assert.is(bytes('lock cmpxchg [%r10-8], %r1'), 'db1af8fff1000000');
  assert.is(bytes('be16 %r3'), 'dc03000010000000');
  assert.is(bytes('movsx1664 %r0, %r1'), 'bf10100000000000');
  assert.is(bytes('call %r2'), '8d02000000000000');
  assert.is(bytes('lddw %r0, 0x1122334455667788'), '1800000088776655' + '0000000044332211');
  assert.is(bytes('jne32 %r0, 5, +1\nexit\nexit'), '5600010005000000' + '9500000000000000'.repeat(2));
});

t('labels, "call local" and the implicit exit label', () => {
  assert.is(bytes('ja done\nmov %r0, 1\ndone:\nexit'), '0500010000000000b7000000010000009500000000000000');
  assert.is(bytes('jeq %r1, 0, exit\nmov %r0, 1\nexit'), '1501010000000000b7000000010000009500000000000000');
  assert.is(bytes('call local f\nexit\nf:\nexit'), '8510000001000000' + '9500000000000000'.repeat(2));
});

t('syntax detection', () => {
  assert.ok(A.isUbpfSyntax('# c\nmov32 %r0, 1\nexit'));
  assert.ok(A.isUbpfSyntax('lddw %r0, 1\nexit'));
  assert.not.ok(A.isUbpfSyntax('r0 = 1\nexit'));
  assert.not.ok(A.isUbpfSyntax('l:\nif r1 == 0 goto l\nexit'));
  assert.is(A.encodeRaw(A.assemble(A.parseAnyAsm('mov %r0, 7\nexit')).insns).toString('hex'), A.encodeRaw(A.assemble(A.parseAnyAsm('r0 = 7\nexit')).insns).toString('hex'));
});

t('errors name the line and quote a short excerpt of it, never the whole line', () => {
  const long = 'mov %r0, ' + '1'.repeat(1 << 20);
  for (const [parse, text] of [[A.parseUbpfAsm, long], [A.parseAsm, 'r0 = ' + 'x'.repeat(1 << 20)]] as const) {
    try {
      parse(['exit', text]);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, A.AsmSyntaxError);
      assert.is((e as A.AsmSyntaxError).line, 2);
      assert.ok((e as Error).message.length < 300, `${(e as Error).message.length} chars`);
      assert.match((e as Error).message, /\(1048\d{3} chars\)/);
    }
  }
  assert.throws(() => A.parseUbpfAsm('frob %r0'), /line 1 `frob %r0`: unknown mnemonic 'frob'/);
  assert.throws(() => A.parseUbpfAsm('mov %r0'), /mov takes 2 operands, got 1/);
  assert.throws(() => A.parseUbpfAsm('mov %r16, 1'), /expected a register/);
  assert.throws(() => A.parseUbpfAsm('mov32 %r0, 0x100000000'), /does not fit 32 bits/);
});

t('call of an unknown bpf_ name is an unknown helper, not an unknown label', () => {
  assert.throws(() => A.parseAsm(['call bpf_does_not_exist', 'exit']), /line 1 .*unknown helper 'bpf_does_not_exist'/);
  // a label of that name is still a local call
  assert.is(A.assemble(A.parseAsm(['call bpf_mine', 'exit', 'bpf_mine:', 'exit'])).insns[0]?.src, 1);
});

t.run();
