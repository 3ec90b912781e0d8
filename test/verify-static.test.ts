// Static verifier: our verdict and message for every corpus program, plus the API's shape.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CORPUS, REJECTED } from './_lib/corpus/index.js';
import { VerifierError, assertVerified, verifyProgram } from '../src/verify/static/index.js';
import { PROTOS } from '../src/verify/static/protos.js';
import { helperId } from '../src/asm/helpers.js';
import { exit, jeq, label, ldx, mov64, program } from '../src/asm/index.js';
import { liveRegisters } from '../src/verify/static/liveness.js';
import { buildCfg } from '../src/verify/static/cfg.js';
import { ProgType, R0, R1, R6, R7 } from '../src/asm/opcodes.js';

const corpus = suite('verify-static corpus verdicts');

for (const e of CORPUS) {
  corpus(`${e.ours} ${e.name}`, () => {
    const r = verifyProgram(e.spec);
    assert.is(r.ok ? 'accept' : 'reject', e.ours, r.format());
    assert.is(r.insnCount, e.spec.insns.length);
    if (e.ours === 'accept') {
      assert.equal(r.errors, []);
    } else {
      assert.ok(r.errors.length > 0);
      assert.ok(e.reason, 'every rejected corpus entry names its expected reason');
      assert.ok(r.errors.some((x) => e.reason!.test(x.message)), `expected ${e.reason} in:\n${r.format()}`);
    }
  });
}

corpus('the corpus covers every rule with at least 40 programs', () => {
  assert.ok(CORPUS.length >= 40, `${CORPUS.length} programs`);
  assert.ok(new Set(CORPUS.map((e) => e.name)).size === CORPUS.length, 'names are unique');
  assert.ok(REJECTED.length >= 30);
});

corpus.run();

const api = suite('verify-static messages and API');

const one = (name: string) => verifyProgram(REJECTED.find((e) => e.name === name)!.spec).errors[0]!;

api('an issue names the instruction index, its disassembly and the reason', () => {
  const e = one('no_null_check');
  assert.is(e.index, 6);
  assert.is(e.disasm, 'r0 = *(u64 *)(r0 +0)');
  assert.ok(e.message.startsWith('insn 6 (r0 = *(u64 *)(r0 +0)): '), e.message);
  assert.match(e.message, /may be NULL.*compare it with 0/);
});

api('messages say what to do, in words the kernel log does not use', () => {
  assert.match(one('uninit_register').message, /r2 is read before it is ever written \(uninitialised\)/);
  assert.match(one('infinite_loop').message, /^insn 1 \(if r0 == 0x0 goto pc-1\): infinite loop: this instruction is reached again with exactly the same state/);
  assert.match(one('key_uninit').message, /argument 2 of bpf_map_lookup_elem \(r2, the 4-byte key of map 'counts'\): stack byte r10-4/);
  assert.match(one('combined_stack').message, /^program 'combined_stack': combined stack of the call chain main -> subprogram@3 is 544 bytes/);
  assert.is(one('combined_stack').index, -1);
});

api('format() lists every issue, one per line; ok reports say ok', () => {
  const bad = verifyProgram(REJECTED.find((e) => e.name === 'unreachable')!.spec);
  assert.is(bad.format().split('\n').length, bad.errors.length);
  const good = verifyProgram(program({ name: 'g', type: ProgType.RAW_TRACEPOINT, items: [mov64.imm(R0, 0), exit()] }));
  assert.match(good.format(), /ok \(2 insns\)/);
});

api('assertVerified throws VerifierError carrying the report; returns the report when fine', () => {
  const spec = REJECTED.find((e) => e.name === 'write_r10')!.spec;
  try {
    assertVerified(spec);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, VerifierError);
    const err = e as VerifierError;
    assert.is(err.report.ok, false);
    assert.match(err.message, /static verifier refused program 'write_r10'/);
    assert.match(err.message, /r10 is the read-only frame pointer/);
  }
  const ok = program({ name: 'ok', type: ProgType.RAW_TRACEPOINT, items: [mov64.imm(R0, 0), exit()] });
  assert.is(assertVerified(ok).ok, true);
});

api('opts.progType overrides the spec type (context rules follow the type)', () => {
  // a 32-bit read at offset 0: skb->len for a socket filter, refused for raw_tracepoint
  const spec = program({ name: 'len', type: ProgType.SOCKET_FILTER, items: [ldx.w(R0, R1, 0), exit()] });
  assert.ok(verifyProgram(spec).ok);
  const r = verifyProgram(spec, { progType: ProgType.RAW_TRACEPOINT });
  assert.not.ok(r.ok);
  assert.match(r.errors[0]!.message, /raw_tracepoint context reads must be 64-bit/);
});

api('unsupported program types are refused as a whole', () => {
  const spec = program({ name: 'lsm', type: ProgType.LSM, items: [mov64.imm(R0, 0), exit()] });
  const r = verifyProgram(spec);
  assert.not.ok(r.ok);
  assert.match(r.errors[0]!.message, /program type lsm is not supported by this verifier/);
});

api('every modelled helper prototype names a real helper of the asm table', () => {
  for (const name of Object.keys(PROTOS)) assert.ok(helperId(name) > 0, name);
});

api.run();

// Liveness decides which registers the interpreter's memo may ignore: check it on a hand-worked program.
const paths = suite('static verifier: liveness');
paths('live-in registers per instruction, worked by hand', () => {
  const spec = program({
    name: 'live', type: ProgType.RAW_TRACEPOINT, ctxSize: 8, maps: [],
    items: [
      ldx.dw(R6, R1, 0), // 0: reads r1
      mov64.imm(R7, 5), // 1: r7 is written before any read: dead here
      jeq.imm(R6, 0, 'zero'), // 2: reads r6
      mov64.reg(R0, R7), // 3: reads r7
      exit(), // 4: reads r0
      label('zero'),
      mov64.imm(R0, 0), // 5
      exit(), // 6
    ],
  });
  const live = liveRegisters(spec.insns, buildCfg(spec.insns))!;
  const regs = (mask: number) => [...Array(11).keys()].filter((r) => (mask >> r) & 1);
  assert.equal(regs(live[0]!), [1]);
  assert.equal(regs(live[1]!), [6]);
  assert.equal(regs(live[2]!), [6, 7]);
  assert.equal(regs(live[3]!), [7]);
  assert.equal(regs(live[4]!), [0]);
  assert.equal(regs(live[5]!), []);
});
paths.run();
