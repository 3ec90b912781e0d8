// WASM engine: JS-side maps (kernel return codes, pointers into values, per-CPU, LRU), the builtin
// helpers, embedder helpers, and the `vm` command.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MapType, ProgType, program, exit, label, ldImm64, ldMapFd, ldMapValue, mov64, add64, ldx, st, stx, call, jeq, jne, ja, atomic,
  encodeRaw, ldFunc, R0, R1, R2, R3, R4, R6, R10, type Item, type MapSpec,
} from '../src/asm/index.js';
import { BpfVm, BpfFault, Errno } from '../src/vm/index.js';
import { runVmCommand } from '../src/cli/commands/vm.js';

const u32 = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
const u64 = (n: bigint): Uint8Array => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
const num = (b: Uint8Array | undefined): bigint => (b ? Buffer.from(b).readBigUInt64LE() : -1n);
const vmWith = (items: Item[], maps: MapSpec[], opts = {}): BpfVm =>
  new BpfVm(program({ name: 't', type: ProgType.RAW_TRACEPOINT, items, maps }), opts);

const HASH: MapSpec = { name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 2 };
const ARRAY: MapSpec = { name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 3 };

const maps = suite('wasm: maps');

maps('hash: kernel return codes for every flag, full map and missing keys (JS side)', () => {
  const vm = vmWith([mov64.imm(R0, 0), exit()], [HASH]);
  const h = vm.maps.get('h')!;
  assert.is(h.update(u32(1), u64(10n)), 0);
  assert.is(h.update(u32(1), u64(11n), 1), -Errno.EEXIST);
  assert.is(h.update(u32(2), u64(20n), 2), -Errno.ENOENT);
  assert.is(h.update(u32(2), u64(20n), 1), 0);
  assert.is(h.update(u32(3), u64(30n)), -Errno.E2BIG);
  assert.is(h.update(u32(2), u64(21n), 2), 0); // existing keys update even when full
  assert.is(h.update(u32(2), u64(21n), 3), -Errno.EINVAL);
  assert.is(h.delete(u32(9)), -Errno.ENOENT);
  assert.is(h.delete(u32(1)), 0);
  assert.is(h.update(u32(3), u64(30n)), 0);
  assert.equal(h.entries().map(([k, v]) => [k[0], num(v)]).sort(), [[2, 21n], [3, 30n]]);
});

maps('array: all keys exist, out of range is E2BIG, NOEXIST is EEXIST, delete is EINVAL', () => {
  const vm = vmWith([mov64.imm(R0, 0), exit()], [ARRAY]);
  const a = vm.maps.get('a')!;
  assert.is(num(a.lookup(u32(2))), 0n);
  assert.is(a.lookup(u32(3)), undefined);
  assert.is(a.update(u32(3), u64(1n)), -Errno.E2BIG);
  assert.is(a.update(u32(0), u64(1n), 1), -Errno.EEXIST);
  assert.is(a.update(u32(0), u64(5n), 2), 0);
  assert.is(a.delete(u32(0)), -Errno.EINVAL);
  assert.is(num(a.lookup(u32(0))), 5n);
  assert.is(a.keys().length, 3);
});

maps('a program gets a pointer into the value and can atomically add into it', () => {
  const vm = vmWith([
    st.w(R10, -4, 7), ldMapFd(R1, 'h'), mov64.reg(R2, R10), add64.imm(R2, -4), call('map_lookup_elem'),
    jne.imm(R0, 0, 'hit'), mov64.imm(R0, 0), exit(),
    label('hit'), mov64.imm(R1, 5), atomic.add.dw(R0, 0, R1), ldx.dw(R0, R0, 0), exit(),
  ], [HASH]);
  assert.is(vm.run().r0, 0n); // missing key: NULL
  vm.maps.get('h')!.update(u32(7), u64(100n));
  assert.is(vm.run().r0, 105n);
  assert.is(vm.run().r0, 110n);
  assert.is(num(vm.maps.get('h')!.lookup(u32(7))), 110n);
});

maps('an access past the end of a map value faults even when the next slot is in memory', () => {
  const vm = vmWith([
    st.w(R10, -4, 0), ldMapFd(R1, 'a'), mov64.reg(R2, R10), add64.imm(R2, -4), call('map_lookup_elem'),
    jeq.imm(R0, 0, 'out'), ldx.dw(R0, R0, 8), label('out'), exit(),
  ], [ARRAY]);
  try {
    vm.run();
    assert.unreachable('expected a fault');
  } catch (e) {
    assert.instance(e, BpfFault);
    assert.match((e as Error).message, /map 'a': offset 8\+8 crosses the end of a 8-byte value/);
  }
});

maps('direct value access (ldMapValue) and program-side update of the value', () => {
  const single: MapSpec = { name: 'cfg', type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 1 };
  const vm = vmWith([ldMapValue(R1, 'cfg', 8), ldx.dw(R0, R1, 0), st.dw(R1, -8, 3), exit()], [single]);
  vm.maps.get('cfg')!.update(u32(0), Uint8Array.from([...u64(1n), ...u64(42n)]));
  assert.is(vm.run().r0, 42n);
  assert.is(num(vm.maps.get('cfg')!.lookup(u32(0))), 3n);
});

maps('per-CPU: the program sees its CPU\'s copy; a new hash element zeroes the other CPUs', () => {
  const pc: MapSpec = { name: 'p', type: MapType.PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 4 };
  const vm = vmWith([
    st.w(R10, -4, 1), st.dw(R10, -16, 9), ldMapFd(R1, 'p'), mov64.reg(R2, R10), add64.imm(R2, -4),
    mov64.reg(R3, R10), add64.imm(R3, -16), mov64.imm(R4, 0), call('map_update_elem'), exit(),
  ], [pc], { nCpus: 4, cpu: 2 });
  assert.is(vm.run().r0, 0n);
  assert.equal(vm.maps.get('p')!.lookupPerCpu(u32(1))!.map(num), [0n, 0n, 9n, 0n]);
});

maps('LRU hash evicts the least recently used key instead of failing', () => {
  const lru: MapSpec = { name: 'l', type: MapType.LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 2 };
  const m = vmWith([mov64.imm(R0, 0), exit()], [lru]).maps.get('l')!;
  m.update(u32(1), u64(1n));
  m.update(u32(2), u64(2n));
  m.entryOf(u32(1), true); // touch 1, so 2 is the oldest
  assert.is(m.update(u32(3), u64(3n)), 0);
  assert.equal(m.keys().map((k) => k[0]).sort(), [1, 3]);
});

maps.run();

const helpers = suite('wasm: helpers');

helpers('pid/tgid, clock, cpu, comm, prandom are configurable and deterministic', () => {
  const items = (id: string): Item[] => [call(id), exit()];
  const opts = { pid: 11, tgid: 22, clock: () => 123456789n, cpu: 1, nCpus: 2, seed: 7 };
  assert.is(vmWith(items('get_current_pid_tgid'), [], opts).run().r0, (22n << 32n) | 11n);
  assert.is(vmWith(items('ktime_get_ns'), [], opts).run().r0, 123456789n);
  assert.is(vmWith(items('get_smp_processor_id'), [], opts).run().r0, 1n);
  const a = vmWith(items('get_prandom_u32'), [], opts), b = vmWith(items('get_prandom_u32'), [], opts);
  const seqA = [a.run().r0, a.run().r0], seqB = [b.run().r0, b.run().r0];
  assert.equal(seqA, seqB);
  assert.is.not(seqA[0], seqA[1]);
  const comm = vmWith([mov64.reg(R1, R10), add64.imm(R1, -16), mov64.imm(R2, 16), call('get_current_comm'), ldx.dw(R0, R10, -16), exit()], [], { comm: 'bash' });
  assert.is(comm.run().r0, 0x68736162n);
});

helpers('probe_read_kernel reads registered kernel memory (a synthetic task_struct) and fails with -EFAULT elsewhere', () => {
  const task = 0xffff888000123400n;
  const bytes = new Uint8Array(64);
  new DataView(bytes.buffer).setUint32(40, 4242, true);
  const read = (addr: bigint): Item[] => [
    call('get_current_task'), mov64.reg(R3, R0), add64.imm(R3, Number(addr)), mov64.reg(R1, R10), add64.imm(R1, -8),
    mov64.imm(R2, 4), call('probe_read_kernel'), mov64.reg(R6, R0), ldx.w(R0, R10, -8), add64.reg(R0, R6), exit(),
  ];
  const vm = vmWith(read(40n), [], { task });
  vm.addKernelMemory(task, bytes);
  assert.is(vm.run().r0, 4242n);
  const bad = vmWith(read(100n), [], { task });
  bad.addKernelMemory(task, bytes);
  assert.is(bad.run().r0, BigInt.asUintN(64, BigInt(-Errno.EFAULT)));
});

helpers('trace_printk output is collected', () => {
  const fmt = Buffer.from('n=%d x=%llx\0');
  const items: Item[] = [];
  for (const [i, b] of fmt.entries()) items.push(st.b(R10, -16 + i, b));
  items.push(mov64.reg(R1, R10), add64.imm(R1, -16), mov64.imm(R2, fmt.length), mov64.imm(R3, -5), ldImm64(R4, 0xabcdef0123n), call('trace_printk'), exit());
  const vm = vmWith(items, []);
  vm.run();
  assert.equal(vm.printk, ['n=-5 x=abcdef0123']);
});

helpers('embedder helpers by name or id, replacing builtins (map helpers included), and missing helpers fault', () => {
  const vm = vmWith([mov64.imm(R1, 20), mov64.imm(R2, 22), call('get_numa_node_id'), exit()], [], {
    helpers: { get_numa_node_id: (_vm: BpfVm, a: bigint, b: bigint) => a + b },
  });
  assert.is(vm.run().r0, 42n);
  vm.addHelper(42, () => 7n);
  assert.is(vm.run().r0, 7n);
  const lookups = vmWith([st.w(R10, -4, 0), ldMapFd(R1, 'a'), mov64.reg(R2, R10), add64.imm(R2, -4), call('map_lookup_elem'), exit()], [ARRAY]);
  assert.ok(lookups.run().r0 !== 0n);
  lookups.addHelper('map_lookup_elem', () => 0n);
  assert.is(lookups.run().r0, 0n);
  const missing = vmWith([call('get_socket_cookie'), exit()], []);
  assert.throws(() => missing.run(), /insn 0 \(call bpf_get_socket_cookie#46\): helper 46 \(bpf_get_socket_cookie\) is not available/);
});

helpers('bpf_loop calls a callback subprogram with its own frame', () => {
  const vm = vmWith([
    st.dw(R10, -8, 0), mov64.imm(R1, 10), ldFunc(R2, 'cb'),
    mov64.reg(R3, R10), add64.imm(R3, -8), mov64.imm(R4, 0), call('loop'), ldx.dw(R6, R10, -8), add64.reg(R0, R6), exit(),
    label('cb'), ldx.dw(R3, R2, 0), add64.reg(R3, R1), stx.dw(R2, 0, R3), mov64.imm(R0, 0), exit(),
  ], []);
  // 10 iterations + sum 0..9 = 10 + 45
  assert.is(vm.run().r0, 55n);
});

helpers.run();

const cmd = suite('wasm: vm command');
const hex = (items: Item[]): string => encodeRaw(program({ name: 'c', type: ProgType.XDP, items }).insns).toString('hex').replace(/(..)/g, '$1 ');

cmd('prints r0 in hex; memory argument is r1/r2', () => {
  assert.equal(runVmCommand([], hex([mov64.imm(R0, 42), exit()])), { code: 0, stdout: '0x2a\n', stderr: '' });
  const r = runVmCommand(['01 02 03 04 05'], hex([ldx.w(R0, R1, 1), add64.reg(R0, R2), exit()]));
  assert.is(r.stdout, '0x5040307\n'); // 0x05040302 + 5
  assert.is(r.code, 0);
});

cmd('faults and bad input exit non-zero with the reason on stderr; --help', () => {
  const oob = runVmCommand(['0102'], hex([ldx.w(R0, R1, 0), exit()]));
  assert.is(oob.code, 1);
  assert.match(oob.stderr, /insn 0 .*out-of-bounds read of 4 bytes at 0x300000000/);
  const loop = runVmCommand(['--steps', '1000'], hex([label('l'), mov64.imm(R0, 0), ja('l'), exit()]));
  assert.is(loop.code, 1);
  assert.match(loop.stderr, /needs more than 1000 instructions/);
  assert.is(runVmCommand([], 'zz').code, 1);
  assert.is(runVmCommand([], '').code, 2);
  const help = runVmCommand(['--help'], '');
  assert.is(help.code, 0);
  assert.match(help.stdout, /usage: denet-pure vm/);
});

cmd.run();
