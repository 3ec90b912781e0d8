// The instruction budget and the step count: maxSteps N lets exactly N instructions run (the budget
// is charged per basic block on entry, before any of its instructions), and run().steps counts what
// ran, including a run ended early by an out-of-bounds ld_abs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assemble, exit, label, ja, jeq, mov64, add64, ldabs, callLocal, R0, R1, type Item } from '../src/asm/index.js';
import { BpfVm, BpfFault } from '../src/vm/index.js';

const t = suite('wasm: steps and budget');
const runs = (items: Item[], maxSteps: number, max?: number) => new BpfVm(assemble(items).insns, { maxSteps, maxFunctionInsns: max });

t('maxSteps N: a program needing N runs, one needing N+1 faults before its extra instruction', () => {
  const straight = [mov64.imm(R0, 1), add64.imm(R0, 1), add64.imm(R0, 1), add64.imm(R0, 1), exit()];
  const branchy: Item[] = [mov64.imm(R0, 0), jeq.imm(R0, 0, 'a'), add64.imm(R0, 9), label('a'), add64.imm(R0, 1), jeq.imm(R0, 1, 'b'), add64.imm(R0, 9), label('b'), exit()];
  const sub: Item[] = [mov64.imm(R1, 2), callLocal('f'), add64.imm(R0, 1), exit(), label('f'), mov64.reg(R0, R1), add64.imm(R0, 1), exit()];
  for (const [items, need] of [[straight, 5], [branchy, 5], [sub, 7]] as Array<[Item[], number]>) {
    for (const max of [undefined, 1, 2]) {
      assert.is(runs(items, need, max).run().steps, need);
      for (const n of [1, need - 1]) {
        assert.throws(() => runs(items, n, max).run(), (e: unknown) => e instanceof BpfFault && e.kind === 'budget', `${need} insns, budget ${n}`);
      }
    }
  }
  // a counted loop: mov, 9 x (add, jeq, ja), add, jeq, exit = 31
  const loop: Item[] = [mov64.imm(R0, 0), label('l'), add64.imm(R0, 1), jeq.imm(R0, 10, 'out'), ja('l'), label('out'), exit()];
  assert.is(runs(loop, 1000).run().steps, 31);
  assert.throws(() => runs(loop, 30).run(), /budget of 30/);
  assert.is(runs(loop, 31).run().r0, 10n);
});

t('run().steps after an out-of-bounds ld_abs counts the instructions that ran', () => {
  const prog = [mov64.imm(R0, 5), add64.imm(R0, 1), ldabs.w(100), add64.imm(R0, 1), add64.imm(R0, 1), exit()];
  for (const max of [undefined, 1, 2]) {
    const vm = runs(prog, 1000, max);
    assert.equal(vm.run({ data: new Uint8Array(8) }), { r0: 0n, steps: 3 });
    assert.equal(vm.run({ data: new Uint8Array(200) }), { r0: 2n, steps: 6 });
  }
});

t.run();
