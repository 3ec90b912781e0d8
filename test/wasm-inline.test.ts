// Inlined bpf_map_lookup_elem on array maps: same r0, same map contents and same faults as the
// number-only import (r1 hidden from the compiler) and the generic BigInt import (helper replaced).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MapType, ProgType, program, exit, label, ldMapFd, mov64, add64, ldx, st, stx, call, jeq, jne, atomic, callLocal,
  R0, R1, R2, R6, R7, R8, R10, type Item, type MapSpec,
} from '../src/asm/index.js';
import { BpfVm, BpfFault, regionBase } from '../src/vm/index.js';
import { BUILTIN_HELPERS } from '../src/vm/builtins.js';

const u32 = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
const u64 = (n: bigint): Uint8Array => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
const num = (b: Uint8Array | undefined): bigint => (b ? Buffer.from(b).readBigUInt64LE() : -1n);

type Path = 'inline' | 'import' | 'generic';

/** r1 = the map handle; for 'import' it goes through the stack so the compiler cannot know it. */
const loadMap = (name: string, path: Path): Item[] =>
  path === 'import' ? [ldMapFd(R1, name), stx.dw(R10, -32, R1), ldx.dw(R1, R10, -32)] : [ldMapFd(R1, name)];

function vmFor(items: Item[], maps: MapSpec[], path: Path, opts = {}): BpfVm {
  const vm = new BpfVm(program({ name: 't', type: ProgType.RAW_TRACEPOINT, items, maps }), opts);
  if (path === 'generic') vm.addHelper('map_lookup_elem', BUILTIN_HELPERS.map_lookup_elem);
  return vm;
}

/** key = ctx[0] (low 32 bits), then lookup; a hit atomically adds ctx[1]. r0 = the pointer or 0. */
const lookupAdd = (name: string, path: Path): Item[] => [
  ldx.dw(R6, R1, 0), ldx.dw(R7, R1, 8), stx.w(R10, -4, R6), ...loadMap(name, path),
  mov64.reg(R2, R10), add64.imm(R2, -4), call('map_lookup_elem'),
  jeq.imm(R0, 0, 'out'), atomic.add.dw(R0, 0, R7), label('out'), exit(),
];

const ARR: MapSpec = { name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 12, maxEntries: 5 };

const test = suite('wasm: inlined array lookup');

test('the lookup is inlined only when r1 is known; in-range keys give the value pointer, others NULL', () => {
  const inl = vmFor(lookupAdd('a', 'inline'), [ARR], 'inline');
  const imp = vmFor(lookupAdd('a', 'import'), [ARR], 'import');
  assert.not.ok(inl.compiled.helpers.includes(1), 'no import left for the inlined call');
  assert.ok(imp.compiled.helpers.includes(1));
  for (const vm of [inl, imp]) {
    assert.is(vm.run({ ctx: [0n, 1n] }).r0, regionBase(4));
    assert.is(vm.run({ ctx: [4n, 1n] }).r0, regionBase(4) + 4n * 16n); // 12-byte values in 16-byte slots
    assert.is(vm.run({ ctx: [5n, 1n] }).r0, 0n);
    assert.is(vm.run({ ctx: [0xffffffffn, 1n] }).r0, 0n);
    assert.is(vm.run({ ctx: [0x1_0000_0002n, 1n] }).r0, regionBase(4) + 2n * 16n); // only the u32 is the key
  }
});

test('atomic add through the returned pointer updates the map', () => {
  const vm = vmFor(lookupAdd('a', 'inline'), [ARR], 'inline');
  for (let i = 0; i < 10; i++) vm.run({ ctx: [3n, 7n] });
  vm.run({ ctx: [9n, 100n] }); // out of range: nothing changes
  const m = vm.maps.get('a')!;
  assert.is(num(m.lookup(u32(3))?.subarray(0, 8)), 70n);
  assert.equal([0, 1, 2, 4].map((k) => num(m.lookup(u32(k))?.subarray(0, 8))), [0n, 0n, 0n, 0n]);
});

test('per-CPU arrays: the current CPU\'s copy, also after vm.cpu changes', () => {
  const pa: MapSpec = { name: 'p', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 3 };
  const items: Item[] = [
    ldx.dw(R6, R1, 0), stx.w(R10, -4, R6), ldMapFd(R1, 'p'), mov64.reg(R2, R10), add64.imm(R2, -4), call('map_lookup_elem'),
    jeq.imm(R0, 0, 'out'), mov64.imm(R1, 1), atomic.add.dw(R0, 0, R1), ldx.dw(R0, R0, 0), label('out'), exit(),
  ];
  const vm = vmFor(items, [pa], 'inline', { nCpus: 4, cpu: 2 });
  assert.not.ok(vm.compiled.helpers.includes(1));
  const p = vm.maps.get('p')!;
  p.update(u32(1), [u64(10n), u64(20n), u64(30n), u64(40n)]);
  assert.is(vm.run({ ctx: [1n] }).r0, 31n);
  vm.cpu = 3;
  assert.is(vm.run({ ctx: [1n] }).r0, 41n);
  assert.is(vm.run({ ctx: [3n] }).r0, 0n);
  assert.equal(p.lookupPerCpu(u32(1))!.map(num), [10n, 20n, 31n, 41n]);
  assert.throws(() => (vm.cpu = 4), RangeError);
});

test('key pointer faults are the import\'s: same kind, place and message', () => {
  const bad = (path: Path, key: Item[]): BpfFault => {
    const vm = vmFor([...key, ...loadMap('a', path), call('map_lookup_elem'), exit()], [ARR], path);
    try {
      vm.run({ data: Uint8Array.of(1, 2, 3) });
    } catch (e) {
      assert.instance(e, BpfFault);
      return e as BpfFault;
    }
    throw new Error('expected a fault');
  };
  for (const key of [[mov64.imm(R2, 0)], [add64.imm(R1, 1), mov64.reg(R2, R1)], [mov64.reg(R2, R10), add64.imm(R2, 4096)]]) {
    const a = bad('inline', key), b = bad('import', key), c = bad('generic', key);
    // 'import' loads r1 with two more instructions, so only its instruction number differs.
    assert.is(a.message, c.message);
    assert.is(a.message.replace(/^insn \d+/, ''), b.message.replace(/^insn \d+/, ''));
    assert.equal([a.kind, a.pc, a.addr, a.region], [c.kind, c.pc, c.addr, c.region]);
    assert.is(b.pc, a.pc + 2);
    assert.match(a.message, /helper access of 4 bytes/);
  }
});

test('a key that crosses the frame end reads the next frame, as the import does', () => {
  // r10 - 2: bytes 03 00 of this frame and 00 00 of the next (key 3); no fault in any path.
  const items = (path: Path): Item[] => [
    st.w(R10, -4, 0x30000), ...loadMap('a', path), mov64.reg(R2, R10), add64.imm(R2, -2), call('map_lookup_elem'), exit(),
  ];
  const r = (['inline', 'import', 'generic'] as Path[]).map((p) => vmFor(items(p), [ARR], p).run().r0);
  assert.is(r[0], regionBase(4) + 3n * 16n);
  assert.equal(r, [r[0], r[0], r[0]]);
});

test('known through joins and copies; different maps on two paths fall back to the import', () => {
  const b: MapSpec = { ...ARR, name: 'b', maxEntries: 9 };
  const join = (second: string): Item[] => [
    ldx.dw(R6, R1, 0), stx.w(R10, -8, R6), mov64.reg(R8, R10), add64.imm(R8, -8), ldMapFd(R1, 'a'),
    jne.imm(R6, 1, 'skip'), ldMapFd(R1, second), label('skip'), mov64.reg(R2, R8), call('map_lookup_elem'), exit(),
  ];
  const same = vmFor(join('a'), [ARR, b], 'inline');
  const diff = vmFor(join('b'), [ARR, b], 'inline');
  assert.not.ok(same.compiled.helpers.includes(1));
  assert.ok(diff.compiled.helpers.includes(1));
  assert.is(same.run({ ctx: [1n] }).r0, regionBase(4) + 16n);
  assert.is(diff.run({ ctx: [1n] }).r0, regionBase(5) + 16n);
  assert.is(diff.run({ ctx: [7n] }).r0, 0n);
});

test('a subprogram\'s lookup uses its own frame', () => {
  const items: Item[] = [
    st.w(R10, -4, 4), callLocal('sub'), exit(),
    label('sub'), st.w(R10, -4, 2), ldMapFd(R1, 'a'), mov64.reg(R2, R10), add64.imm(R2, -4), call('map_lookup_elem'), exit(),
  ];
  const inl = vmFor(items, [ARR], 'inline');
  assert.not.ok(inl.compiled.helpers.includes(1));
  assert.is(inl.run().r0, regionBase(4) + 2n * 16n);
});

test('hash lookups through the import find keys in place; LRU lookups refresh recency', () => {
  const lru: MapSpec = { name: 'l', type: MapType.LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 2 };
  const vm = vmFor(lookupAdd('l', 'inline'), [lru], 'inline');
  const l = vm.maps.get('l')!;
  l.update(u32(1), u64(10n));
  l.update(u32(2), u64(20n));
  assert.ok(vm.run({ ctx: [1n, 5n] }).r0 !== 0n); // touches 1: 2 is now the oldest
  assert.is(vm.run({ ctx: [7n, 5n] }).r0, 0n);
  l.update(u32(3), u64(30n));
  assert.equal(l.keys().map((k) => k[0]).sort(), [1, 3]);
  assert.is(num(l.lookup(u32(1))), 15n);
});

test('differential: random maps, keys and CPUs give the same r0 and maps on all three paths', () => {
  let x = 12345;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
  for (let round = 0; round < 20; round++) {
    const perCpu = rnd(2) === 1;
    const nCpus = 1 + rnd(4);
    const spec: MapSpec = {
      name: 'm', type: perCpu ? MapType.PERCPU_ARRAY : MapType.ARRAY, keySize: 4,
      valueSize: pick([8, 12, 16, 40, 64]), maxEntries: 1 + rnd(12),
    };
    const opts = { nCpus, cpu: rnd(nCpus) };
    const vmOn = (p: Path): BpfVm => vmFor(lookupAdd('m', p), [spec], p, opts);
    const vms = [vmOn('inline'), vmOn('import'), vmOn('generic')] as const;
    assert.not.ok(vms[0].compiled.helpers.includes(1));
    for (let i = 0; i < 40; i++) {
      const edge = [0, spec.maxEntries - 1, spec.maxEntries, 0x7fffffff, 0x80000000, 0xffffffff];
      const key = rnd(3) === 0 ? BigInt(pick(edge)) : BigInt(rnd(spec.maxEntries + 3)) | (BigInt(rnd(4)) << 32n);
      const add = BigInt(rnd(1000));
      if (rnd(8) === 0) for (const vm of vms) vm.cpu = rnd(nCpus);
      const r0 = vms.map((vm) => vm.run({ ctx: [key, add] }).r0);
      assert.equal(r0, [r0[0], r0[0], r0[0]], `round ${round} key 0x${key.toString(16)}`);
    }
    const dump = (vm: BpfVm): string[] => vm.maps.get('m')!.keys().map((k) => vm.maps.get('m')!.lookupPerCpu(k)!.map((v) => Buffer.from(v).toString('hex')).join(','));
    assert.equal(dump(vms[0]), dump(vms[1]));
    assert.equal(dump(vms[0]), dump(vms[2]));
  }
});

test.run();
