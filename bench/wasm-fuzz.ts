// Differential fuzzing of the WASM engine against the kernel, on demand:
//   node dist/bench/wasm-fuzz.js [N=100000] [first-seed=1]
// Prints progress, the verifier acceptance rate, and every mismatch shrunk to a minimal program.
// Run it on a disposable VM only: it has made a 6.18 kernel's verifier accept a program that then
// dereferenced NULL inside BPF_PROG_TEST_RUN (kernel Oops). See docs/wasm.md.
import { FUZZ_MAPS, generate } from '../test/_lib/fuzz.js';
import { KernelMaps, diffCase } from './wasm-diff.js';
import { bpfUnavailableReason } from '../test/_lib/privilege.js';

const n = Number(process.argv[2] ?? 100000);
const first = Number(process.argv[3] ?? 1);
const why = bpfUnavailableReason();
if (why) {
  console.log(`wasm-fuzz: cannot run: ${why}`);
  process.exit(2);
}
console.log('wasm-fuzz: differential fuzzing against the kernel; this can trip kernel verifier bugs (see docs/wasm.md)');
const maps = new KernelMaps(FUZZ_MAPS);
let same = 0, rejected = 0, mismatches = 0;
const reasons = new Map<string, number>();
const t0 = Date.now();
for (let seed = first; seed < first + n; seed++) {
  const { result, report } = diffCase(generate(seed), maps);
  if (result.kind === 'same') same++;
  else if (result.kind === 'rejected') {
    rejected++;
    const line = result.reason.split('\n').filter((l) => l.trim()).slice(-2).join(' | ').slice(0, 160);
    reasons.set(line, (reasons.get(line) ?? 0) + 1);
  } else {
    mismatches++;
    console.log(report);
  }
  if ((seed - first + 1) % 1000 === 0) {
    console.log(`${seed - first + 1}/${n}: ${same} same, ${rejected} rejected, ${mismatches} mismatches (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}
maps.close();
console.log(`done: ${n} programs, ${same} same, ${rejected} rejected by the verifier, ${mismatches} mismatches, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
for (const [r, c] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  rejected x${c}: ${r}`);
process.exit(mismatches ? 1 : 0);
