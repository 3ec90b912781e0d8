// Differential tests: the same programs run in the kernel (BPF_PROG_TEST_RUN) and in the WASM engine
// must give the same r0 and the same map contents (and, for XDP, the same packet out).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MapType, ProgType, program, exit, label, ldMapFd, mov64, add64, ldx, st, stx, call, jeq, jgt, jlt, atomic,
  div64, div32, sdiv64, sdiv32, mod64, mod32, smod64, smod32, lsh64, lsh32, rsh32, arsh64, arsh32, mul32, neg32,
  movsx64, movsx32, be, bswap, ldxs, R0, R1, R2, R3, R4, R6, R7, R8, R10, type Item, type MapSpec, type AluFamily,
} from '../src/asm/index.js';
import { LoadedProgram, possibleCpuCount } from '../src/loader/index.js';
import { BpfVm } from '../src/vm/index.js';
import { FUZZ_MAPS, generate } from './_lib/fuzz.js';
import { KernelMaps, diff, diffCase } from '../bench/wasm-diff.js';
import { kernelTest } from './_lib/privilege.js';

const test = suite('wasm: differential against the kernel');
const FUZZ_COUNT = 2000;

kernelTest(test, `${FUZZ_COUNT} random valid programs give the same registers, stack and maps`, () => {
  const maps = new KernelMaps(FUZZ_MAPS);
  let same = 0;
  const reports: string[] = [];
  try {
    for (let seed = 1; seed <= FUZZ_COUNT; seed++) {
      const { result, report } = diffCase(generate(seed), maps);
      if (result.kind === 'same') same++;
      if (report) reports.push(report);
    }
  } finally {
    maps.close();
  }
  assert.is(reports.length, 0, reports.slice(0, 3).join('\n\n'));
  // Guard against a generator that stopped producing loadable programs.
  assert.ok(same >= FUZZ_COUNT * 0.95, `only ${same} of ${FUZZ_COUNT} programs loaded`);
});

const OUT: MapSpec = { name: 'out', type: MapType.ARRAY, keySize: 4, valueSize: 8 * 32, maxEntries: 1 };

/** r6 = ctx[0], r7 = ctx[1]; `body` leaves results in fp-8*(i+1) (i < 32); all copied to out[0]. */
function withOut(body: Item[], extraMaps: MapSpec[] = []) {
  const items: Item[] = [ldx.dw(R6, R1, 0), ldx.dw(R7, R1, 8)];
  for (let i = 1; i <= 32; i++) items.push(st.dw(R10, -8 * i, 0));
  items.push(...body);
  items.push(st.w(R10, -260, 0), ldMapFd(R1, 'out'), mov64.reg(R2, R10), add64.imm(R2, -260), call('map_lookup_elem'), jeq.imm(R0, 0, 'end'));
  for (let i = 0; i < 32; i++) items.push(ldx.dw(R1, R10, -8 * (i + 1)), stx.dw(R0, 8 * i, R1));
  items.push(label('end'), mov64.imm(R0, 0), exit());
  return program({ name: 'wasm_diff', type: ProgType.RAW_TRACEPOINT, items, maps: [OUT, ...extraMaps] });
}

kernelTest(test, 'division, modulo, shifts and extensions on edge operands match the kernel', () => {
  const ops: Array<AluFamily> = [div64, div32, sdiv64, sdiv32, mod64, mod32, smod64, smod32, lsh64, lsh32, rsh32, arsh64, arsh32, mul32];
  const body: Item[] = [];
  ops.forEach((op, i) => body.push(mov64.reg(R0, R6), op.reg(R0, R7), stx.dw(R10, -8 * (i + 1), R0)));
  let slot = ops.length + 1;
  const unary: Item[][] = [[neg32(R0)], [movsx64.reg(R0, R0, 32)], [movsx32.reg(R0, R0, 8)], [be(R0, 32)], [bswap(R0, 64)], [sdiv64.imm(R0, -1)], [smod32.imm(R0, -1)]];
  for (const u of unary) body.push(mov64.reg(R0, R6), ...u, stx.dw(R10, -8 * slot++, R0));
  const spec = withOut(body);
  const maps = new KernelMaps(spec.maps);
  const edge = [0n, 1n, 0xffffffffffffffffn, 0x8000000000000000n, 0x80000000n, 0xffffffffn, 0x7fffffffn, 63n, 64n, 0x1_00000000n, 0xdeadbeefcafebaben];
  let compared = 0;
  try {
    for (const a of edge) {
      for (const b of edge) {
        const r = diff(spec, maps, [a, b]);
        assert.is(r.kind, 'same', r.kind === 'mismatch' ? `a=0x${a.toString(16)} b=0x${b.toString(16)}: ${r.detail}` : r.kind === 'rejected' ? r.reason : '');
        compared++;
      }
    }
  } finally {
    maps.close();
  }
  assert.is(compared, edge.length ** 2);
});

kernelTest(test, 'map update/delete return codes (ANY, NOEXIST, EXIST, full, missing, bad flags) match the kernel', () => {
  const hash: MapSpec = { name: 'h', type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: 2 };
  const arr: MapSpec = { name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 };
  const body: Item[] = [];
  let slot = 1;
  const rc = (): void => void body.push(stx.dw(R10, -8 * slot++, R0));
  // key at fp-200, value at fp-208
  const update = (map: string, key: number, value: number, flags: number): void => {
    body.push(st.dw(R10, -200, key), st.dw(R10, -208, value), ldMapFd(R1, map), mov64.reg(R2, R10), add64.imm(R2, -200));
    body.push(mov64.reg(R3, R10), add64.imm(R3, -208), mov64.imm(R4, flags), call('map_update_elem'));
    rc();
  };
  const del = (map: string, key: number): void => {
    body.push(st.dw(R10, -200, key), ldMapFd(R1, map), mov64.reg(R2, R10), add64.imm(R2, -200), call('map_delete_elem'));
    rc();
  };
  update('h', 1, 10, 0); update('h', 1, 11, 1); update('h', 1, 12, 2); update('h', 9, 13, 2);
  update('h', 2, 20, 1); update('h', 3, 30, 0); update('h', 3, 30, 3); update('h', 2, 21, 0);
  del('h', 7); del('h', 1); update('h', 3, 31, 1);
  update('a', 1, 5, 0); update('a', 2, 6, 0); update('a', 0, 7, 1); update('a', 0, 8, 2); del('a', 0);
  const spec = withOut(body, [hash, arr]);
  const maps = new KernelMaps(spec.maps);
  try {
    const r = diff(spec, maps, [0n, 0n]);
    assert.is(r.kind, 'same', r.kind === 'mismatch' ? r.detail : r.kind === 'rejected' ? r.reason : '');
    // And the engine's codes are the documented ones, so a shared misunderstanding would show too.
    const vm = new BpfVm(spec);
    vm.run({ ctx: [0n, 0n] });
    const out = Buffer.from(vm.maps.get('out')!.lookup(Buffer.alloc(4))!);
    const codes = Array.from({ length: slot - 1 }, (_, i) => Number(out.readBigInt64LE(8 * i)));
    assert.equal(codes, [0, -17, 0, -2, 0, -7, -22, 0, -2, 0, 0, 0, -7, -17, 0, -22]);
  } finally {
    maps.close();
  }
});

kernelTest(test, 'per-CPU array and hash: lookup, atomic add and update touch only this CPU\'s value', () => {
  const pa: MapSpec = { name: 'pa', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 };
  const ph: MapSpec = { name: 'ph', type: MapType.PERCPU_HASH, keySize: 4, valueSize: 12, maxEntries: 4 };
  const body: Item[] = [
    st.w(R10, -200, 1), ldMapFd(R1, 'pa'), mov64.reg(R2, R10), add64.imm(R2, -200), call('map_lookup_elem'),
    jeq.imm(R0, 0, 'skip'), atomic.add.dw(R0, 0, R6), label('skip'),
    st.w(R10, -200, 3), st.dw(R10, -216, 0x77), st.w(R10, -208, 0x55),
    ldMapFd(R1, 'ph'), mov64.reg(R2, R10), add64.imm(R2, -200), mov64.reg(R3, R10), add64.imm(R3, -216), mov64.imm(R4, 0), call('map_update_elem'),
    stx.dw(R10, -8, R0), call('get_smp_processor_id'), stx.dw(R10, -16, R0),
  ];
  const spec = withOut(body, [pa, ph]);
  const maps = new KernelMaps(spec.maps);
  try {
    const r = diff(spec, maps, [5n, 0n]);
    assert.is(r.kind, 'same', r.kind === 'mismatch' ? r.detail : r.kind === 'rejected' ? r.reason : '');
    if (r.kind === 'same') assert.is(r.outcome.maps.ph?.length, 1);
    assert.ok(possibleCpuCount() >= 1);
  } finally {
    maps.close();
  }
});

kernelTest(test, 'inlined array lookups (edge keys, per-CPU on every CPU, atomic add) match the kernel', () => {
  const ia: MapSpec = { name: 'ia', type: MapType.ARRAY, keySize: 4, valueSize: 12, maxEntries: 5 };
  const ip: MapSpec = { name: 'ip', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 3 };
  // out[0] = the value after the add (0 on a miss) for each map.
  const lookup = (map: string, slot: number, key: Item[]): Item[] => [
    ...key, ldMapFd(R1, map), call('map_lookup_elem'), mov64.imm(R8, 0), jeq.imm(R0, 0, `miss${slot}`),
    atomic.add.dw(R0, 0, R7), ldx.dw(R8, R0, 0), label(`miss${slot}`), stx.dw(R10, -8 * slot, R8),
  ];
  const spec = withOut([
    ...lookup('ia', 1, [stx.w(R10, -200, R6), mov64.reg(R2, R10), add64.imm(R2, -200)]),
    ...lookup('ip', 2, [mov64.reg(R8, R10), add64.imm(R8, -208), stx.w(R8, 0, R6), mov64.reg(R2, R8)]),
  ], [ia, ip]);
  const vm = new BpfVm(spec);
  assert.not.ok(vm.compiled.helpers.includes(1), 'every lookup is inlined');
  const maps = new KernelMaps(spec.maps);
  let compared = 0;
  try {
    for (let cpu = 0; cpu < Math.min(possibleCpuCount(), 4); cpu++) {
      for (const key of [0n, 2n, 3n, 4n, 5n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x1_00000002n]) {
        const r = diff(spec, maps, [key, 0x1234n + key], cpu);
        assert.is(r.kind, 'same', r.kind === 'mismatch' ? `cpu ${cpu} key 0x${key.toString(16)}: ${r.detail}` : r.kind === 'rejected' ? r.reason : '');
        compared++;
      }
    }
  } finally {
    maps.close();
  }
  assert.ok(compared >= 9);
});

/**
 * The same packet-processing body run as XDP in the kernel and on the data region in the engine.
 * Their entry conventions differ (xdp_md vs r1 = data, r2 = length), so each gets its own
 * three-instruction prologue leaving r2 = data, r3 = data_end; the verifier insists on the bounds
 * check, which the body does itself.
 */
kernelTest(test, 'XDP: packet loads of every size, byte swaps, stores and a loop give the same r0 and packet', () => {
  const body: Item[] = [
    mov64.reg(R4, R2), add64.imm(R4, 32), jgt.reg(R4, R3, 'short'),
    ldx.w(R0, R2, 0), be(R0, 32), ldx.h(R6, R2, 4), bswap(R6, 16), add64.reg(R0, R6), ldxs.b(R7, R2, 6), add64.reg(R0, R7),
    ldx.dw(R8, R2, 8), mul32.reg(R8, R0), stx.dw(R2, 16, R8), mov64.imm(R6, 0),
    mov64.imm(R7, 0),
    label('loop'), mov64.reg(R1, R2), add64.reg(R1, R7), ldx.b(R8, R1, 24), add64.reg(R6, R8), add64.imm(R7, 1), jlt.imm(R7, 8, 'loop'),
    stx.b(R2, 31, R6), add64.reg(R0, R6), exit(),
    label('short'), mov64.imm(R0, 1), exit(),
  ];
  const kernelSpec = program({
    name: 'wasm_xdp', type: ProgType.XDP, items: [ldx.w(R2, R1, 0), ldx.w(R3, R1, 4), mov64.imm(R0, 0), ...body],
  });
  const vm = new BpfVm(program({
    name: 'wasm_xdp', type: ProgType.XDP, items: [mov64.reg(R3, R1), add64.reg(R3, R2), mov64.reg(R2, R1), ...body],
  }));
  const prog = LoadedProgram.load(kernelSpec, {}, { verify: false });
  try {
    for (const seed of [1, 2, 3, 4, 5]) {
      const packet = Buffer.alloc(64 + seed);
      for (let i = 0; i < packet.length; i++) packet[i] = (i * 37 + seed * 101) & 0xff;
      const k = prog.testRun({ dataIn: packet, dataSizeOut: packet.length });
      const w = vm.run({ data: packet });
      assert.is(Number(w.r0 & 0xffffffffn), k.retval >>> 0, `seed ${seed}`);
      assert.equal(Buffer.from(vm.dataOut()).toString('hex'), k.dataOut!.toString('hex'));
    }
    const tooShort = Buffer.alloc(20);
    assert.is(prog.testRun({ dataIn: tooShort }).retval, 1);
    assert.is(vm.run({ data: tooShort }).r0, 1n);
  } finally {
    prog.close();
  }
});

test.run();
