// The engine refuses what the kernel refuses: every encoding with a reserved field set, an unknown
// opcode or a bad register is a CompileError naming the instruction, in both ISA profiles (callx,
// constant x/0 and out-of-range constant shifts run under 'rfc9669' only). Each encoding is also
// loaded into the kernel, which must refuse it, and a control with the field cleared must load in the
// kernel and run in the engine, so each refusal is about that field.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeRaw, encodeRaw, type RawInsn } from '../src/asm/encoding.js';
import { ProgType } from '../src/asm/opcodes.js';
import { runVmCommand } from '../src/cli/commands/vm.js';
import * as bpf from '../src/loader/bpf.js';
import { VerifierRejectedError } from '../src/loader/errors.js';
import { conformanceCases } from './_lib/conformance.js';
import { kernelTest } from './_lib/privilege.js';

const S = (code: number, dst = 0, src = 0, off = 0, imm = 0): RawInsn => ({ code, dst, src, off, imm });
const EXIT = S(0x95);

interface Case {
  name: string;
  bad: RawInsn[];
  /** the same program with the offending field cleared */
  good: RawInsn[];
  /** refused by Linux, run by the engine under --isa rfc9669 */
  linuxOnly?: boolean;
}

const FIELD: Record<string, keyof RawInsn> = { offset: 'off', src: 'src', imm: 'imm', dst: 'dst' };

/** The conformance suite's negative/unused-* programs: the file name says which field is set. */
function suiteCases(): Case[] {
  return conformanceCases('negative').map((c) => {
    const field = FIELD[/-(\w+)\.data$/.exec(c.file)![1]!]!;
    const bad = decodeRaw(c.raw!);
    // helper 0 does not exist: test call's fields on a real helper (7, get_prandom_u32)
    if (bad[0]!.code === 0x85) bad[0] = { ...bad[0]!, imm: 7 };
    // a valid exit as the first instruction leaves the second unreachable, which the kernel refuses
    const good = bad[0]!.code === 0x95 ? [EXIT] : bad.map((x) => ({ ...x }));
    good[0] = { ...good[0]!, [field]: 0 };
    return { name: c.file, bad, good };
  });
}

/** Encodings the issue listed beyond the suite's. */
const EXTRA: Case[] = [
  { name: 'ja with src=3', bad: [S(0x05, 0, 3), EXIT], good: [S(0x05), EXIT] },
  { name: 'gotol with off=1', bad: [S(0x06, 0, 0, 1, 0), EXIT], good: [S(0x06), EXIT] },
  { name: 'ld_imm64 with off=1', bad: [S(0x18, 0, 0, 1, 5), S(0), EXIT], good: [S(0x18, 0, 0, 0, 5), S(0), EXIT] },
  { name: 'ld_imm64 second slot with a register', bad: [S(0x18, 0, 0, 0, 5), S(0, 1), EXIT], good: [S(0x18, 0, 0, 0, 5), S(0), EXIT] },
  { name: 'ld_imm64 pseudo src 7', bad: [S(0x18, 0, 7, 0, 5), S(0), EXIT], good: [S(0x18, 0, 0, 0, 5), S(0), EXIT] },
  { name: 'st with src=1 (stb)', bad: [S(0x72, 10, 1, -1, 5), EXIT], good: [S(0x72, 10, 0, -1, 5), EXIT] },
  { name: 'stx with imm=1 (stxb)', bad: [S(0x73, 10, 0, -1, 1), EXIT], good: [S(0x73, 10, 0, -1, 0), EXIT] },
  { name: 'ldx with imm (ldxb)', bad: [S(0x71, 0, 10, -8, 3), EXIT], good: [S(0x71, 0, 10, -8, 0), EXIT] },
  { name: 'add with off=1 (add32 reg)', bad: [S(0x0c, 0, 1, 1, 0), EXIT], good: [S(0x0c, 0, 1, 0, 0), EXIT] },
  { name: 'opcode 0x0e', bad: [S(0x0e, 0, 1), EXIT], good: [S(0x0f, 0, 1), EXIT] },
  { name: 'opcode 0xed', bad: [S(0xed, 0, 1), EXIT], good: [S(0xdd, 0, 1), EXIT] },
  { name: 'opcode 0x8d (callx)', bad: [S(0xb7, 2, 0, 0, 7), S(0x8d, 2), EXIT], good: [S(0xb7, 2, 0, 0, 7), S(0x85, 0, 0, 0, 7), EXIT], linuxOnly: true },
  { name: 'callx with imm (0x8d)', bad: [S(0xb7, 2, 0, 0, 7), S(0x8d, 2, 0, 0, 7), EXIT], good: [S(0xb7, 2, 0, 0, 7), S(0x85, 0, 0, 0, 7), EXIT] },
  { name: 'mov into r11', bad: [S(0xb7, 11, 0, 0, 1), EXIT], good: [S(0xb7, 1, 0, 0, 1), EXIT] },
  { name: 'mov into r10', bad: [S(0xb7, 10, 0, 0, 1), EXIT], good: [S(0xb7, 1, 0, 0, 1), EXIT] },
  { name: 'atomic with op 0x10', bad: [S(0xdb, 10, 1, -8, 0x10), EXIT], good: [S(0xdb, 10, 1, -8, 0), EXIT] },
  { name: 'atomic add of 16 bits', bad: [S(0xcb, 10, 1, -8, 0), EXIT], good: [S(0xc3, 10, 1, -8, 0), EXIT] },
  { name: 'ldxsdw (0x99)', bad: [S(0x99, 0, 10, -8), EXIT], good: [S(0x79, 0, 10, -8), EXIT] },
  { name: 'shift by 64', bad: [S(0x67, 0, 0, 0, 64), EXIT], good: [S(0x67, 0, 0, 0, 63), EXIT], linuxOnly: true },
  { name: 'division by constant 0', bad: [S(0x37, 0, 0, 0, 0), EXIT], good: [S(0x37, 0, 0, 0, 3), EXIT], linuxOnly: true },
  { name: 'neg with src (0x8f)', bad: [S(0x8f, 0, 1), EXIT], good: [S(0x87), EXIT] },
  { name: 'may_goto with src=1', bad: [S(0xe5, 0, 1, 0, 0), EXIT], good: [S(0xe5), EXIT] },
];

const CASES = [...suiteCases(), ...EXTRA];

/** Every register defined and the stack's first 16 bytes initialised, so only the encoding is in question. */
const PRE = [S(0xb7), S(0xb7, 1), S(0xb7, 2), S(0xb7, 3), S(0xb7, 4), S(0xb7, 5), S(0xb7, 6), S(0xb7, 7), S(0xb7, 8), S(0xb7, 9), S(0x7a, 10, 0, -8, 0), S(0x7a, 10, 0, -16, 0)];
const hex = (insns: RawInsn[]): string => encodeRaw(insns).toString('hex');

const e = suite('wasm: invalid encodings');

e('the suite and the extra list: at least 65 encodings', () => {
  assert.ok(CASES.length >= 65, `${CASES.length}`);
});

e('the engine refuses each (both profiles), naming the instruction; the control runs', () => {
  for (const c of CASES) {
    let at = c.bad.findIndex((x, i) => { const g = c.good[i]; return !g || x.code !== g.code || x.dst !== g.dst || x.src !== g.src || x.off !== g.off || x.imm !== g.imm; });
    if (at > 0 && c.bad[at - 1]!.code === 0x18) at--; // an ld_imm64's second slot: named by its first
    for (const isa of ['linux', 'rfc9669']) {
      const bad = runVmCommand(['--isa', isa], hex([...PRE, ...c.bad]));
      if (isa === 'rfc9669' && c.linuxOnly) {
        assert.is(bad.code, 0, `${c.name} runs under rfc9669: ${bad.stderr}`);
        continue;
      }
      assert.is(bad.code, 1, `${c.name} (${isa}) is refused, got ${bad.stdout}`);
      assert.match(bad.stderr, new RegExp(`^denet-pure: vm: insn ${PRE.length + at}: `), `${c.name}: ${bad.stderr}`);
      const good = runVmCommand(['--isa', isa], hex([...PRE, ...c.good]));
      assert.is(good.code, 0, `${c.name} control (${isa}): ${good.stderr}`);
    }
  }
});

e.run();

const k = suite('wasm: invalid encodings vs the kernel');

kernelTest(k, 'the kernel refuses each encoding the engine refuses, and loads each control', () => {
  const load = (insns: RawInsn[]): string => {
    try {
      bpf.closeFd(bpf.progLoad({ type: ProgType.SOCKET_FILTER, insns: encodeRaw([...PRE, ...insns]), license: 'GPL', name: 'dp_encoding' }));
      return '';
    } catch (err) {
      if (!(err instanceof VerifierRejectedError)) throw err;
      return err.excerpt.split('\n').pop() ?? 'refused';
    }
  };
  const accepted: string[] = [];
  const controlRefused: string[] = [];
  for (const c of CASES) {
    if (!load(c.bad)) accepted.push(c.name);
    const why = load(c.good);
    if (why) controlRefused.push(`${c.name}: ${why}`);
  }
  assert.equal(accepted, [], 'the kernel refuses every encoding the engine refuses');
  assert.equal(controlRefused, [], 'controls load');
});

k.run();
