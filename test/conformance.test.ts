// The public BPF conformance suite (test/_lib/conformance/, see its README) through `denet-pure vm`:
// every tests/*.data program is assembled with our uBPF-syntax parser and run with its memory; r0 must
// be the expected result. The negative/unused-* programs set a field the ISA reserves: the engine
// refuses each, naming the instruction.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assemble, encodeRaw, parseUbpfAsm } from '../src/asm/index.js';
import { runVmCommand } from '../src/cli/commands/vm.js';
import { conformanceCases, type ConformanceCase } from './_lib/conformance.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const programHex = (c: ConformanceCase): string => hexOf(c.raw ?? encodeRaw(assemble(parseUbpfAsm(c.asm!)).insns));
// --callx: the suite includes RFC 9669's optional callx group, which Linux (and so our default) refuses.
const runCase = (c: ConformanceCase) => runVmCommand(['--callx', ...(c.mem ? [hexOf(c.mem)] : [])], programHex(c));

const positive = suite('conformance: tests/*.data through denet-pure vm');
const cases = conformanceCases('tests');

positive('the vendored suite is complete', () => {
  assert.ok(cases.length >= 313, `${cases.length} cases`);
  assert.ok(cases.every((c) => c.result !== undefined && c.error === undefined));
});

positive('where a file gives both forms, our assembly of the asm equals its raw bytes', () => {
  const both = cases.filter((c) => c.asm !== undefined && c.raw !== undefined);
  assert.ok(both.length > 0);
  for (const c of both) assert.is(hexOf(encodeRaw(assemble(parseUbpfAsm(c.asm!)).insns)), hexOf(c.raw!), c.file);
});

positive('every program returns the expected r0', () => {
  const failures: string[] = [];
  for (const c of cases) {
    let got: string;
    try {
      const r = runCase(c);
      got = r.code === 0 ? r.stdout.trim() : `exit ${r.code}: ${r.stderr.trim()}`;
    } catch (e) {
      got = `threw ${(e as Error).message}`;
    }
    const want = `0x${c.result!.toString(16)}`;
    if (got !== want) failures.push(`${c.file}: want ${want}, got ${got}`);
  }
  assert.equal(failures, [], `${failures.length}/${cases.length} failed`);
});

positive('without --callx, callx is refused like the kernel refuses it, naming the instruction', () => {
  const c = cases.find((x) => x.file === 'tests/callx.data')!;
  const r = runVmCommand([], programHex(c));
  assert.is(r.code, 1);
  assert.match(r.stderr, /insn 2: callx \(0x8d\) is refused by the Linux kernel/);
});

positive.run();
