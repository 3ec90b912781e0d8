// Split subprograms (src/vm/split.ts): a subprogram longer than maxFunctionInsns becomes several wasm
// functions. Forcing tiny chunks (1..13 instructions) on fuzzed programs and the conformance suite must
// change nothing observable: r0, steps, every map byte, fault messages. A generated 1 M-instruction
// program, beyond V8's per-function size cap unsplit, runs to the result of an independent interpreter.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assemble, decodeRaw, exit, label, ja, jne, jeq, mayGoto, mov64, add64, ldx, stx, callLocal, call, ldFunc, parseUbpfAsm, R0, R1, R2, R3, R6, R10, type Item } from '../src/asm/index.js';
import { BpfVm, BpfFault } from '../src/vm/index.js';
import { FUZZ_MAPS, caseSpec, generate } from './_lib/fuzz.js';
import { conformanceCases } from './_lib/conformance.js';
import { BIG_DATA, bigProgram, reference } from './_lib/bigprog.js';

const t = suite('wasm: split subprograms');
const SIZES = [1, 2, 5, 13];

function outcome(vm: BpfVm, run: () => { r0: bigint; steps: number }): string {
  try {
    const { r0, steps } = run();
    const maps = [...vm.maps.values()].map((m) => m.entries().map(([k, v]) => Buffer.from(k).toString('hex') + '=' + Buffer.from(v).toString('hex')).join(','));
    return `r0=${r0} steps=${steps} ${maps.join(' | ')}`;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

const timed = (name: string, fn: () => void) => t(name, () => {
  const t0 = Date.now();
  fn();
  if (process.env.SPLIT_TIMES) console.log(`  ${name.slice(0, 40)}: ${Date.now() - t0} ms`);
});

timed('fuzzed programs: identical r0, steps and maps with chunks of 1, 2, 5 and 13 instructions', () => {
  for (let seed = 1; seed <= 150; seed++) {
    const c = generate(seed);
    const spec = caseSpec(c);
    const want = outcome(...((vm) => [vm, () => vm.run({ ctx: c.ctx })] as const)(new BpfVm(spec, { maps: FUZZ_MAPS })));
    for (const max of SIZES) {
      const vm = new BpfVm(spec, { maps: FUZZ_MAPS, maxFunctionInsns: max });
      assert.is(outcome(vm, () => vm.run({ ctx: c.ctx })), want, `seed ${seed}, chunks of ${max}`);
    }
  }
});

timed('the conformance suite passes with chunks of 1 and 3 instructions', () => {
  for (const c of conformanceCases('tests')) {
    const insns = c.raw ? decodeRaw(c.raw) : assemble(parseUbpfAsm(c.asm!)).insns;
    for (const max of [1, 3]) {
      const vm = new BpfVm(insns, { isa: 'rfc9669', maxFunctionInsns: max, dataSize: 65536 });
      const r = vm.run(c.mem ? { data: c.mem } : {});
      assert.is(r.r0, c.result!, `${c.file}, chunks of ${max}`);
    }
  }
});

timed('loops across chunks keep the budget, may_goto its count, calls their frames', () => {
  // a runaway loop whose body spans many chunks still stops with the budget fault
  const spin: Item[] = [label('top'), mov64.imm(R0, 1), add64.imm(R0, 1), add64.imm(R0, 1), ja('top'), exit()];
  for (const max of [1, 2]) {
    const vm = new BpfVm(assemble(spin).insns, { maxSteps: 1000, maxFunctionInsns: max });
    assert.throws(() => vm.run(), (e: unknown) => e instanceof BpfFault && e.kind === 'budget');
  }
  // may_goto: 8 M iterations per frame, counted across chunk transitions
  const mg: Item[] = [mov64.imm(R0, 0), label('l'), mayGoto('out'), add64.imm(R0, 1), ja('l'), label('out'), exit()];
  for (const max of [16384, 1, 2]) {
    const r = new BpfVm(assemble(mg).insns, { maxSteps: 100_000_000, maxFunctionInsns: max }).run();
    assert.is(r.r0, 8n * 1024n * 1024n, `chunks of ${max}`);
    assert.is(r.steps, 1 + 3 * 8 * 1024 * 1024 + 2, `chunks of ${max}`);
  }
  // recursion: r6..r9 survive, each frame its own stack and save area; too deep faults with 'depth'
  const rec: Item[] = [
    mov64.imm(R1, 5), callLocal('f'), exit(),
    label('f'), mov64.reg(R6, R1), stx.dw(R10, -8, R1), jeq.imm(R1, 0, 'base'),
    add64.imm(R1, -1), callLocal('f'), ldx.dw(R3, R10, -8), add64.reg(R0, R3), add64.reg(R0, R6), exit(),
    label('base'), mov64.imm(R0, 0), exit(),
  ];
  for (const max of [16384, 1, 2, 3]) assert.is(new BpfVm(assemble(rec).insns, { maxFunctionInsns: max }).run().r0, 30n);
  const deep = [mov64.imm(R1, 20), ...rec.slice(1)];
  assert.throws(() => new BpfVm(assemble(deep).insns, { maxFunctionInsns: 1 }).run(), (e: unknown) => e instanceof BpfFault && e.kind === 'depth');
  // bpf_loop calling back into a split subprogram
  const loop: Item[] = [
    mov64.imm(R1, 10), ldFunc(R2, 'cb'), mov64.imm(R3, 0), mov64.imm(4, 0), call('loop'), exit(),
    label('cb'), mov64.reg(R0, R1), jne.imm(R0, 20, 'zero'), mov64.imm(R0, 1), exit(), label('zero'), mov64.imm(R0, 0), exit(),
  ];
  for (const max of [16384, 1]) assert.is(new BpfVm(assemble(loop).insns, { maxFunctionInsns: max }).run().r0, 10n);
});

timed('a 1 M-instruction program (one basic block of 200 k instructions inside) runs to the reference result', () => {
  const insns = bigProgram(1_000_000, 7);
  assert.is(insns.length, 1_000_000);
  const want = reference(insns);
  const vm = new BpfVm(insns);
  assert.ok(vm.compiled.bytes.length > 7_654_321, 'larger than one function may be');
  assert.equal(vm.run({ data: BIG_DATA }), want);
  // straight-line code: a single block longer than a chunk is cut inside
  const straight: Item[] = [mov64.imm(R0, 0)];
  for (let i = 0; i < 200_000; i++) straight.push(add64.imm(R0, i & 7));
  straight.push(exit());
  const r = new BpfVm(assemble(straight).insns).run();
  let sum = 0n;
  for (let i = 0; i < 200_000; i++) sum += BigInt(i & 7);
  assert.equal(r, { r0: sum, steps: 200_002 });
});

t.run();
