// The generic helper import ("h<id>": r1..r5, pc, depth -> r0, BigInt) and the callx import.
import { helperName } from '../asm/helpers.js';
import { FUNC_HANDLE_BASE } from './layout.js';
import { BpfFault } from './fault.js';
import { where } from './messages.js';
import type { BpfVm } from './runtime.js';

/** A helper by id, with the calling instruction and frame depth recorded for its faults. */
export function helperImport(vm: BpfVm, id: number): (...a: unknown[]) => bigint {
  const U = (v: bigint): bigint => BigInt.asUintN(64, v);
  return (a, b, c, d, e, pc, depth) => {
    const fn = vm.helpers.get(id);
    if (!fn) {
      throw new BpfFault('helper', pc as number, `${where(vm.insns, pc as number)}: helper ${id} (${helperName(id) ?? 'unknown'}) is not available; provide it with vm.addHelper()`);
    }
    const savedPc = vm.currentPc, savedDepth = vm.currentDepth;
    vm.currentPc = pc as number;
    vm.currentDepth = depth as number;
    const r = fn(vm, U(a as bigint), U(b as bigint), U(c as bigint), U(d as bigint), U(e as bigint));
    vm.currentPc = savedPc;
    vm.currentDepth = savedDepth;
    return typeof r === 'bigint' ? r : BigInt(r);
  };
}

/** callx: a function handle calls that subprogram in a new frame; a number calls that helper. */
export function callxImport(vm: BpfVm): (...a: unknown[]) => bigint {
  const generic = new Map<number, (...a: unknown[]) => bigint>();
  return (a, b, c, d, e, target, pc, depth) => {
    const t = BigInt.asUintN(64, target as bigint);
    if (t >> 32n === FUNC_HANDLE_BASE >> 32n) {
      const start = Number(t & 0xffffffffn);
      if (!vm.compiled.subprogs.includes(start)) {
        throw new BpfFault('helper', pc as number, `${where(vm.insns, pc as number)}: callx target 0x${t.toString(16)} is not the start of a subprogram`);
      }
      return vm.subprogram(start)(a as bigint, b as bigint, c as bigint, d as bigint, e as bigint, (depth as number) + 1);
    }
    if (t > 0xffffffffn || !vm.helpers.has(Number(t))) {
      throw new BpfFault('helper', pc as number, `${where(vm.insns, pc as number)}: callx target 0x${t.toString(16)} is neither a known helper id nor a function`);
    }
    const id = Number(t);
    let fn = generic.get(id);
    if (!fn) generic.set(id, (fn = helperImport(vm, id)));
    return fn(a, b, c, d, e, pc, depth);
  };
}
