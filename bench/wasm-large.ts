// Compile and run time of large programs (up to the kernel's 1 M instructions), which the engine
// splits into several wasm functions (src/vm/split.ts).
//   node dist/bench/wasm-large.js [runs=3]
// Prints, per size: compile time (new BpfVm: wasm generation + V8 compile + instantiate), module
// bytes and run time, each the median of `runs`; and, for a 60 k program that still fits one function,
// the split layout's cost relative to one function (ratios measured within this run).
import { BpfVm } from '../src/vm/index.js';
import { BIG_DATA, bigProgram, reference } from '../test/_lib/bigprog.js';

const RUNS = Number(process.argv[2] ?? 3);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function measure(n: number, maxFunctionInsns?: number): { compile: number; run: number; bytes: number } {
  const insns = bigProgram(n, 3);
  const want = reference(insns);
  const compile: number[] = [], run: number[] = [];
  let bytes = 0;
  for (let k = 0; k < RUNS; k++) {
    const t0 = performance.now();
    const vm = new BpfVm(insns, { maxFunctionInsns });
    const t1 = performance.now();
    const r = vm.run({ data: BIG_DATA });
    const t2 = performance.now();
    if (r.r0 !== want.r0 || r.steps !== want.steps) throw new Error(`${n}: wrong result`);
    compile.push(t1 - t0);
    run.push(t2 - t1);
    bytes = vm.compiled.bytes.length;
  }
  return { compile: median(compile), run: median(run), bytes };
}

console.log('instructions  compile ms  module MB  run ms (two passes over the body)');
for (const n of [10_000, 100_000, 300_000, 1_000_000]) {
  const m = measure(n);
  console.log(`${String(n).padStart(12)}  ${m.compile.toFixed(0).padStart(10)}  ${(m.bytes / 1e6).toFixed(1).padStart(9)}  ${m.run.toFixed(1).padStart(6)}`);
}
const one = measure(60_000, 65_535);
const split = measure(60_000);
console.log(`60 k instructions, chunks of 16384 vs one function: compile ${(split.compile / one.compile).toFixed(2)}x, run ${(split.run / one.run).toFixed(2)}x`);
