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
// --isa rfc9669: the suite tests the ISA standard, including what Linux (and so our default) refuses:
// callx, and constant shifts out of range.
const runCase = (c: ConformanceCase, isa = 'rfc9669') => runVmCommand(['--isa', isa, ...(c.mem ? [hexOf(c.mem)] : [])], programHex(c));

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

positive('with --isa linux (the default) exactly the programs Linux refuses for their encoding are refused', () => {
  const refused = cases.filter((c) => runCase(c, 'linux').code !== 0).map((c) => c.file);
  // callx, and constant shifts by a negative or too large count (the ISA masks the count; Linux refuses)
  const expected = cases.filter((c) => c.file === 'tests/callx.data' || /sh(32|64)-imm-(high|neg)\.data$/.test(c.file)).map((c) => c.file);
  assert.equal(refused, expected);
  const callx = runCase(cases.find((x) => x.file === 'tests/callx.data')!, 'linux');
  assert.match(callx.stderr, /insn 2: unknown opcode 0x8d .*Linux refuses it; .*vm --isa rfc9669/);
});

positive.run();
