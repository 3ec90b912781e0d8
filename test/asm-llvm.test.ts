// Independent oracle: when llvm-mc is installed, LLVM's BPF assembler encodes the same statements
// and must produce our bytes. LLVM's syntax is close to the kernel's; the rewrite below covers the
// differences for the subset every LLVM since 10 accepts (no v4 ops, no mod/jset/st-imm/32-bit
// atomics, whose spellings changed between LLVM versions). Registered only if llvm-mc exists.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as A from '../src/asm/index.js';

const probe = spawnSync('llvm-mc', ['--version'], { encoding: 'utf8' });
const llvm = suite('asm vs llvm-mc');

function subset(): A.Instruction[] {
  const out: A.Instruction[] = [];
  const alu = { add64: A.add64, add32: A.add32, sub64: A.sub64, sub32: A.sub32, mul64: A.mul64, mul32: A.mul32, div64: A.div64, div32: A.div32,
    or64: A.or64, or32: A.or32, and64: A.and64, and32: A.and32, xor64: A.xor64, xor32: A.xor32, lsh64: A.lsh64, lsh32: A.lsh32,
    rsh64: A.rsh64, rsh32: A.rsh32, arsh64: A.arsh64, arsh32: A.arsh32, mov64: A.mov64, mov32: A.mov32 };
  for (const fam of Object.values(alu)) out.push(fam.imm(3, -7), fam.imm(4, 0x7fffffff), fam.reg(5, 9));
  const jmp = [A.jeq, A.jne, A.jgt, A.jge, A.jlt, A.jle, A.jsgt, A.jsge, A.jslt, A.jsle,
    A.jeq32, A.jne32, A.jgt32, A.jge32, A.jlt32, A.jle32, A.jsgt32, A.jsge32, A.jslt32, A.jsle32];
  for (const fam of jmp) out.push(fam.imm(1, 12, 3), fam.reg(2, 8, -3));
  for (const s of ['b', 'h', 'w', 'dw'] as const) out.push(A.ldx[s](1, 6, 8), A.stx[s](10, -8, 1));
  for (const s of ['b', 'h', 'w'] as const) out.push(A.ldabs[s](14));
  out.push(A.atomic.add.dw(1, 4, 2), A.atomic.or.dw(1, 0, 2), A.atomic.xor.dw(1, -8, 3));
  out.push(A.neg64(1), A.neg32(2), A.le(1, 16), A.le(2, 64), A.be(3, 32), A.ja(2), A.ja(-1), A.call(14), A.exit());
  out.push(A.ldImm64(1, 0x123456789n), A.ldImm64(2, -5n));
  return out;
}

/** Our disassembly rewritten into LLVM's spelling of the same statement. */
const toLlvm = (line: string): string =>
  line
    .replace(/\(r(\d+) ([+-])(\d+)\)/g, '(r$1 $2 $3)')
    .replace(/goto pc/, 'goto ')
    .replace(/^call \S+#/, 'call ');

if (probe.status === 0) {
  llvm('llvm-mc encodes our disassembly to our bytes', () => {
    const items = subset();
    const asm = A.assemble(items);
    const lines = A.disassemble(asm.insns);
    const run = spawnSync('llvm-mc', ['-triple', 'bpfel', '-mcpu=v3', '-show-encoding'], { input: lines.map(toLlvm).join('\n') + '\n', encoding: 'utf8' });
    assert.is(run.stderr.trim(), '', 'llvm-mc accepted every statement');
    const encodings = [...run.stdout.matchAll(/encoding: \[([^\]]*)\]/g)].map((m) => m[1]!.split(',').map((b) => Number(b.trim())));
    assert.is(encodings.length, items.length);
    const ours = A.encodeRaw(asm.insns);
    let at = 0;
    encodings.forEach((bytes, i) => {
      assert.is(Buffer.from(bytes).toString('hex'), ours.subarray(at, at + bytes.length).toString('hex'), lines[i]);
      at += bytes.length;
    });
    assert.is(at, ours.length);
  });

  llvm("LLVM's printed text parses back to the same bytes", () => {
    const asm = A.assemble(subset().filter((i) => (i.op & 0xf0) !== 0x80 /* call and neg: LLVM 14 prints them its own way */));
    const run = spawnSync('llvm-mc', ['-triple', 'bpfel', '-mcpu=v3'], { input: A.disassemble(asm.insns).map(toLlvm).join('\n') + '\n', encoding: 'utf8' });
    const printed = run.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('.'))
      .map((l) => l.replace(/goto ([+-])/, 'goto pc$1'));
    assert.equal(A.assemble(A.parseAsm(printed)).insns, asm.insns);
  });
}

llvm.run();
