// WASM engine speed: time per run against the kernel JIT (BPF_PROG_TEST_RUN with repeat, XDP, same
// program) and compile time of the tracer's sys_enter program.
//   node dist/bench/wasm.js [repeat=200000]
// Amortised as the engine is meant to be used: compile once, instantiate once, run many times.
import {
  MapType, ProgType, program, exit, label, ldMapFd, mov64, add64, and64, ldx, st, call, jeq, jgt, jlt, atomic, be,
  R0, R1, R2, R3, R4, R6, R7, R10, type Item, type MapSpec, type ProgramSpec,
} from '../src/asm/index.js';
import { LoadedProgram, BpfMap } from '../src/loader/index.js';
import { BpfVm, compileToWasm } from '../src/vm/index.js';
import { sysEnterProgram, tracerMaps } from '../src/tracer/programs.js';
import { bpfUnavailableReason } from '../test/_lib/privilege.js';

const REPEAT = Number(process.argv[2] ?? 200000);

/** XDP programs: r2 = data, r3 = data_end after their prologue (see test/wasm-diff.test.ts). */
type Update = (key: Uint8Array, value: Uint8Array) => void;
const CASES: Array<{ name: string; body: Item[]; maps?: MapSpec[]; init?: (update: Update) => void }> = [
  { name: 'tiny (r0 = 2)', body: [mov64.imm(R0, 2), exit()] },
  {
    name: 'checksum loop, 64 bytes',
    body: [
      mov64.reg(R4, R2), add64.imm(R4, 64), jgt.reg(R4, R3, 'short'), mov64.imm(R0, 0), mov64.imm(R6, 0),
      label('loop'), mov64.reg(R1, R2), add64.reg(R1, R6), ldx.h(R7, R1, 0), be(R7, 16), add64.reg(R0, R7),
      add64.imm(R6, 2), jlt.imm(R6, 64, 'loop'), and64.imm(R0, 0xffff), exit(),
      label('short'), mov64.imm(R0, 1), exit(),
    ],
  },
  {
    name: 'map lookup + atomic add',
    maps: [{ name: 'cnt', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 }],
    body: [
      mov64.reg(R4, R2), add64.imm(R4, 1), jgt.reg(R4, R3, 'short'), ldx.b(R6, R2, 0), and64.imm(R6, 3),
      st.w(R10, -4, 0), ldx.w(R6, R10, -4), ldMapFd(R1, 'cnt'), mov64.reg(R2, R10), add64.imm(R2, -4),
      call('map_lookup_elem'), jeq.imm(R0, 0, 'short'), mov64.imm(R1, 1), atomic.add.dw(R0, 0, R1),
      label('short'), mov64.imm(R0, 2), exit(),
    ],
  },
  {
    // Same shape on a hash map (key present): the lookup still crosses into JS.
    name: 'hash lookup + atomic add',
    maps: [{ name: 'cnt', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 }],
    init: (update) => update(Buffer.alloc(4), Buffer.alloc(8)),
    body: [
      mov64.reg(R4, R2), add64.imm(R4, 1), jgt.reg(R4, R3, 'short'),
      st.w(R10, -4, 0), ldMapFd(R1, 'cnt'), mov64.reg(R2, R10), add64.imm(R2, -4),
      call('map_lookup_elem'), jeq.imm(R0, 0, 'short'), mov64.imm(R1, 1), atomic.add.dw(R0, 0, R1),
      label('short'), mov64.imm(R0, 2), exit(),
    ],
  },
];

const kernelPrologue: Item[] = [ldx.w(R2, R1, 0), ldx.w(R3, R1, 4)];
const vmPrologue: Item[] = [mov64.reg(R3, R1), add64.reg(R3, R2), mov64.reg(R2, R1)];

const fmt = (ns: number): string => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);

function timeVm(vm: BpfVm, data: Uint8Array): { inWasm: number; perCall: number } {
  vm.runRepeat({ data }, 1000);
  let t = process.hrtime.bigint();
  vm.runRepeat({ data }, REPEAT);
  const inWasm = Number(process.hrtime.bigint() - t) / REPEAT;
  const calls = Math.max(REPEAT, 200000);
  for (let i = 0; i < calls; i++) vm.run({ data }); // warm up the JS side too
  t = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) vm.run({ data });
  const perCall = Number(process.hrtime.bigint() - t) / calls;
  return { inWasm, perCall };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function compileTimes(spec: ProgramSpec): { compile: number; vm: number } {
  const compile: number[] = [], vm: number[] = [];
  for (let i = 0; i < 30; i++) {
    let t = process.hrtime.bigint();
    compileToWasm(spec.insns);
    compile.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    new BpfVm(spec);
    vm.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { compile: median(compile), vm: median(vm) };
}

function main(): void {
  const privileged = bpfUnavailableReason() === null;
  if (!privileged) console.log(`(kernel side skipped: ${bpfUnavailableReason()})`);
  const packet = Buffer.alloc(64, 0x5a);
  console.log(`WASM engine vs kernel JIT, ${REPEAT} runs each (XDP, ${packet.length}-byte packet)`);
  console.log('program                      kernel/run   wasm/run (repeat in wasm)   wasm/run (vm.run from JS)   ratio');
  for (const c of CASES) {
    const vmSpec = program({ name: 'bench', type: ProgType.XDP, items: [...vmPrologue, ...c.body], maps: c.maps });
    const vm = new BpfVm(vmSpec);
    c.init?.((k, v) => void vm.maps.get(c.maps![0]!.name)!.update(k, v)); // init fills the first map
    const w = timeVm(vm, packet);
    let kernel = NaN;
    if (privileged) {
      const kSpec = program({ name: 'bench', type: ProgType.XDP, items: [...kernelPrologue, ...c.body], maps: c.maps });
      const maps = new Map((c.maps ?? []).map((m) => [m.name, BpfMap.create(m)]));
      c.init?.((k, v) => maps.get(c.maps![0]!.name)!.update(Buffer.from(k), Buffer.from(v)));
      const prog = LoadedProgram.load(kSpec, maps, { verify: false });
      prog.testRun({ dataIn: packet, repeat: 1000 });
      kernel = prog.testRun({ dataIn: packet, repeat: REPEAT }).durationNs;
      prog.close();
      for (const m of maps.values()) m.close();
    }
    const ratio = Number.isNaN(kernel) ? '' : `${(w.inWasm / kernel).toFixed(2)}x / ${(w.perCall / kernel).toFixed(2)}x`;
    console.log(`${c.name.padEnd(28)} ${fmt(kernel).padStart(10)}   ${fmt(w.inWasm).padStart(24)}   ${fmt(w.perCall).padStart(24)}   ${ratio}`);
  }

  // The tracer's syscall-entry program: the biggest program in the project.
  // Not a literal: the tracer's MapSizes gains fields over time (no excess-property check this way).
  const sizes = { maxProcesses: 1024, maxCounts: 10240, maxSlots: 256 };
  const maps = tracerMaps(sizes);
  const spec = sysEnterProgram({
    type: 'raw', idOffset: 8, ctxSize: 16, execveNr: 59, execveatNr: 322,
    compat: { regsOffset: 136, mask: 0xffff, compatValue: 0x23 },
  }, maps);
  const t = compileTimes(spec);
  console.log(`\ncompile sys_enter (${spec.insns.length} slots): compileToWasm ${t.compile.toFixed(2)} ms, new BpfVm (compile + maps + instantiate) ${t.vm.toFixed(2)} ms (medians of 30)`);
  const vm = new BpfVm(spec, { pid: 4242, tgid: 4242 });
  vm.maps.get('tracked')!.update(Buffer.from([0x92, 0x10, 0, 0]), Buffer.from([1, 0, 0, 0]));
  const regs = 0xffff_8880_0000_1000n;
  vm.addKernelMemory(regs, new Uint8Array(256));
  const ctx = [regs, 1n];
  vm.run({ ctx });
  const n = 100000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) vm.run({ ctx });
  console.log(`run sys_enter in wasm (3 helper calls): ${fmt(Number(process.hrtime.bigint() - t0) / n)} per run from JS`);
}

main();
