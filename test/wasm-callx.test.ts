// callx (0x8d): refused by default (Linux refuses it), run with VmOptions.isa 'rfc9669' through a helper id or a
// function handle held in register dst; anything else is a clean fault naming the instruction.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assemble, exit, label, ldFunc, mov64, add64, R0, R1, R2, R6, type Item } from '../src/asm/index.js';
import { insn } from '../src/asm/insn.js';
import { BpfVm, BpfFault, CompileError } from '../src/vm/index.js';

const callx = (r: number): Item => insn({ op: 0x8d, dst: r, dsl: `callx r${r}` });
const vm = (items: Item[], on = true) => new BpfVm(assemble(items).insns, { isa: on ? 'rfc9669' : 'linux', clock: () => 77n });

const t = suite('wasm: callx');

t('a helper id in the register calls that helper (5 = ktime_get_ns)', () => {
  assert.is(vm([mov64.imm(R2, 5), callx(R2), exit()]).run().r0, 77n);
});

t('a function handle calls the subprogram in a new frame; r6 survives', () => {
  const prog = [
    mov64.imm(R6, 40), ldFunc(R2, 'f'), mov64.imm(R1, 1), callx(R2), add64.reg(R0, R6), exit(),
    label('f'), mov64.imm(R6, 0), mov64.reg(R0, R1), add64.imm(R0, 1), exit(),
  ];
  assert.is(vm(prog).run().r0, 42n);
});

t('an unknown helper id or a non-function faults naming the instruction', () => {
  const err = (items: Item[]) => {
    try {
      vm(items).run();
    } catch (e) {
      return e;
    }
    return undefined;
  };
  const e1 = err([mov64.imm(R2, 99999), callx(R2), exit()]);
  assert.ok(e1 instanceof BpfFault);
  assert.match((e1 as Error).message, /^insn 1 \(.*\): callx target 0x1869f is neither a known helper id nor a function/);
  const e2 = err([mov64.reg(R2, R1), callx(R2), exit()]);
  assert.ok(e2 instanceof BpfFault);
});

t('without the option, and with reserved fields, it is a CompileError', () => {
  assert.throws(() => vm([mov64.imm(R2, 5), callx(R2), exit()], false), (e: unknown) => e instanceof CompileError && /insn 1: unknown opcode 0x8d .*Linux refuses it; the engine runs it with VmOptions.isa 'rfc9669'/.test((e as Error).message));
  assert.throws(() => vm([insn({ op: 0x8d, dst: 2, imm: 5, dsl: 'x' }), exit()]), /reserved fields/);
  assert.throws(() => vm([insn({ op: 0x8d, dst: 11, dsl: 'x' }), exit()]), /register out of range/);
  void R0;
});

t.run();
