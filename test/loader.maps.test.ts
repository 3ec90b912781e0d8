// Maps against the real kernel: raw wrappers, typed handles, batch lookup and its fallback.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelTest } from './_lib/privilege.js';
import { MapType, type MapTypeId } from '../src/asm/opcodes.js';

type MapType_ = MapTypeId;
import * as bpf from '../src/loader/bpf.js';
import { BpfMap, BPF_F_MMAPABLE } from '../src/loader/map.js';
import * as codec from '../src/loader/codec.js';
import { possibleCpuCount } from '../src/loader/cpus.js';
import { BpfError } from '../src/loader/errors.js';
import { openFds } from '../src/loader/registry.js';

const t = suite('loader maps');
const made: BpfMap[] = [];
const create = (...a: Parameters<typeof BpfMap.create>): BpfMap => {
  const m = BpfMap.create(...a);
  made.push(m);
  return m;
};
const sortEntries = <K, V>(e: Array<[K, V]>): Array<[K, V]> => [...e].sort((a, b) => Number(a[0]) - Number(b[0]));

kernelTest(t, 'hash map: update, lookup, delete, keys, and the kernel sees our name and sizes', () => {
  const m = create({ name: 'lt_hash', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 });
  const h = m.typed(codec.u32, codec.u64);
  for (let i = 1; i <= 10; i++) h.set(i, BigInt(i) * 1000n);
  assert.is(h.get(7), 7000n);
  assert.is(h.get(99), undefined);
  assert.ok(h.delete(7));
  assert.not.ok(h.delete(7), 'second delete finds nothing');
  assert.is(h.get(7), undefined);
  assert.equal([...h.keys()].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 8, 9, 10]);
  const info = bpf.mapGetInfo(m.fd);
  assert.equal([info.type, info.keySize, info.valueSize, info.maxEntries, info.name], [MapType.HASH, 4, 8, 64, 'lt_hash']);
  assert.ok(info.id > 0);
  assert.ok(openFds().some((o) => o.fd === m.fd && o.kind === 'map'), 'the registry tracks the map fd');
});

kernelTest(t, 'an mmapable array is read in place: the mapping sees updates with no syscall; others refuse', () => {
  const spec = { name: 'lt_mmap', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 3000, flags: BPF_F_MMAPABLE };
  const m = create(spec);
  const view = m.mmap();
  assert.is(view.length, 3000 * 8, 'u32 values sit in 8-byte elements');
  const typed = m.typed(codec.u32, codec.u32);
  typed.set(2999, 0xdeadbeef);
  typed.set(7, 42);
  assert.is(view.readUInt32LE(2999 * 8), 0xdeadbeef);
  assert.is(view.readUInt32LE(7 * 8), 42);
  assert.is(m.mmap().buffer, view.buffer, 'one mapping per map');
  const plain = create({ ...spec, name: "lt_nommap", flags: 0 });
  assert.throws(() => plain.mmap(), /BPF_F_MMAPABLE/);
});

kernelTest(t, 'update flags: NOEXIST refuses an existing key with EEXIST', () => {
  const m = create({ name: 'lt_flags', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
  const h = m.typed(codec.u32, codec.u32);
  h.set(1, 1, bpf.UpdateFlag.NOEXIST);
  try {
    h.set(1, 2, bpf.UpdateFlag.NOEXIST);
    assert.unreachable('NOEXIST on an existing key must fail');
  } catch (e) {
    assert.instance(e, BpfError);
    assert.is((e as BpfError).code, 'EEXIST');
    assert.match((e as Error).message, /^BPF_MAP_UPDATE_ELEM failed: EEXIST/);
  }
  assert.is(h.get(1), 1);
});

kernelTest(t, 'array map: every index exists, batch and fallback agree', () => {
  const m = create({ name: 'lt_array', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 20 });
  const a = m.typed(codec.u32, codec.u64n);
  for (let i = 0; i < 20; i++) a.set(i, i * i);
  const batch = a.entries({ batchSize: 6 });
  const fallback = a.entries({ forceFallback: true, batchSize: 6 });
  assert.is(batch.length, 20);
  assert.equal(batch, fallback);
  assert.equal(batch[19], [19, 361]);
  assert.throws(() => a.delete(0), /BPF_MAP_DELETE_ELEM failed: EINVAL.*cannot be deleted/);
});

kernelTest(t, 'hash map: batch lookup and the get_next_key fallback return identical entries', () => {
  const m = create({ name: 'lt_batch', type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: 512 });
  const h = m.typed(codec.u64, codec.u64);
  for (let i = 0n; i < 300n; i++) h.set(i * 7919n, i);
  const batch = sortEntries(h.entries({ batchSize: 16 }));
  const fallback = sortEntries(h.entries({ forceFallback: true, batchSize: 16 }));
  assert.is(batch.length, 300);
  assert.equal(batch, fallback);
  assert.equal(batch[5], [5n * 7919n, 5n]);
  assert.not.ok(bpf.usesBatchFallback(m.fd), 'this kernel supports batch lookup on hash maps, so the native path ran');
});

kernelTest(t, 'raw mapLookupBatch reports done at the end and the fallback continues from its token', () => {
  const m = create({ name: 'lt_rawbatch', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 16 });
  const h = m.typed(codec.u32, codec.u32);
  for (let i = 0; i < 5; i++) h.set(i + 100, i);
  const keys = Buffer.alloc(4 * 16), values = Buffer.alloc(4 * 16), token = Buffer.alloc(8);
  const all = bpf.mapLookupBatch(m.fd, { inBatch: null, outBatch: token, keys, values, count: 16 });
  assert.equal(all, { count: 5, done: true });
  const seen = new Set<number>();
  let r = bpf.mapLookupBatch(m.fd, { inBatch: null, outBatch: token, keys, values, count: 3, forceFallback: true });
  assert.equal(r, { count: 3, done: false });
  for (let i = 0; i < 3; i++) seen.add(keys.readUInt32LE(4 * i));
  r = bpf.mapLookupBatch(m.fd, { inBatch: Buffer.from(token), outBatch: token, keys, values, count: 3, forceFallback: true });
  assert.equal(r, { count: 2, done: true });
  for (let i = 0; i < 2; i++) seen.add(keys.readUInt32LE(4 * i));
  assert.equal([...seen].sort(), [100, 101, 102, 103, 104]);
});

kernelTest(t, 'LPM trie through the raw layer: entries and a longest-prefix lookup', () => {
  const m = create({ name: 'lt_lpm', type: 11 as MapType_, keySize: 8, valueSize: 4, maxEntries: 8, flags: 1 /* BPF_F_NO_PREALLOC */ });
  const key = (prefix: number, ip: string) => {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(prefix, 0);
    Buffer.from(ip.split('.').map(Number)).copy(b, 4);
    return b;
  };
  m.update(key(8, '10.0.0.0'), Buffer.from([1, 0, 0, 0]));
  m.update(key(16, '192.168.0.0'), Buffer.from([2, 0, 0, 0]));
  const entries = m.rawEntries();
  assert.equal(entries.map(([, v]) => v.readUInt32LE(0)).sort(), [1, 2]);
  assert.equal(m.lookup(key(32, '10.1.2.3'))?.readUInt32LE(0), 1, 'longest-prefix match through the raw lookup');
});

kernelTest(t, 'take and takeEntries remove what they return: hash map natively (in small batches too), an LPM trie through the fallback', () => {
  const m = create({ name: 'lt_take', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4096 });
  const h = m.typed(codec.u32, codec.u64);
  for (let i = 0; i < 3000; i++) h.set(i * 13, BigInt(i));
  assert.equal(m.take(Buffer.from([13, 0, 0, 0]))?.readBigUInt64LE(0), 1n);
  assert.is(m.take(Buffer.from([13, 0, 0, 0])), undefined, 'taken once');
  const keys = Buffer.alloc(4 * 100), values = Buffer.alloc(8 * 100), token = Buffer.alloc(8);
  const first = bpf.mapLookupAndDeleteBatch(m.fd, { inBatch: null, outBatch: token, keys, values, count: 100 });
  assert.ok(first && first.count > 0 && first.count <= 100 && !first.done, 'a first batch of at most 100');
  assert.is([...h.keys()].length, 2999 - first!.count, 'the batch removed what it returned');
  const rest = m.takeEntries();
  assert.is(rest.length + first!.count, 2999);
  const got = new Set(rest.map(([k]) => k.readUInt32LE(0)));
  for (let i = 0; i < first!.count; i++) got.add(keys.readUInt32LE(4 * i));
  assert.is(got.size, 2999, 'every key once');
  assert.not.ok(got.has(13));
  assert.is([...h.keys()].length, 0, 'empty afterwards');
  assert.equal(m.takeEntries(), []);

  const lpm = create({ name: 'lt_take_lpm', type: 11 as MapType_, keySize: 8, valueSize: 4, maxEntries: 8, flags: 1 /* BPF_F_NO_PREALLOC */ });
  for (let i = 1; i <= 3; i++) lpm.update(Buffer.from([32, 0, 0, 0, 10, 0, 0, i]), Buffer.from([i, 0, 0, 0]));
  assert.equal(lpm.takeEntries().map(([, v]) => v[0]).sort(), [1, 2, 3]);
  assert.equal(lpm.rawEntries(), [], 'the fallback deleted what it read');
});

kernelTest(t, 'per-CPU array: one 8-byte slot per possible CPU, round-trip through batch and fallback', () => {
  const cpus = possibleCpuCount();
  const m = create({ name: 'lt_percpu', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 3 });
  assert.is(m.valueBytes, 8 * cpus);
  const p = m.typedPerCpu(codec.u32, codec.u32);
  const v = Array.from({ length: cpus }, (_, i) => 10 + i);
  p.set(2, v);
  assert.equal(p.get(2), v);
  assert.equal(p.get(0), new Array(cpus).fill(0));
  const entries = p.entries();
  assert.equal(entries, p.entries({ forceFallback: true }));
  assert.equal(entries[2], [2, v]);
  assert.throws(() => m.typed(codec.u32, codec.u32), /"lt_percpu" is per-CPU: use typedPerCpu/);
});

kernelTest(t, 'typed handles with the wrong sizes fail at construction, naming map and sizes', () => {
  const m = create({ name: 'lt_sizes', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
  assert.throws(() => m.typed(codec.u64, codec.u64), /map "lt_sizes": key codec is 8 bytes, but the map's key size is 4/);
  assert.throws(() => m.typed(codec.u32, codec.u32), /map "lt_sizes": value codec is 4 bytes, but the map's value size is 8/);
  // The raw layer checks lengths before the kernel sees a pointer.
  assert.throws(() => bpf.mapLookupElem(m.fd, Buffer.alloc(4), Buffer.alloc(4)), /value buffer is 4 bytes, expected at least 8/);
  assert.throws(() => bpf.mapUpdateElem(m.fd, Buffer.alloc(2), Buffer.alloc(8)), /key is 2 bytes, expected 4/);
});

kernelTest(t, 'closing maps releases their fds from the registry and the kernel', () => {
  const ids = made.map((m) => bpf.mapGetInfo(m.fd).id);
  for (const m of made) m.close();
  for (const m of made) m.close(); // idempotent
  assert.not.ok(openFds().some((o) => made.some((m) => m.fd === o.fd)), 'no map fd left in the registry');
  const live = new Set<number>();
  for (let id = bpf.mapGetNextId(0); id !== null; id = bpf.mapGetNextId(id)) live.add(id);
  assert.ok(ids.length >= 7);
  assert.equal(ids.filter((id) => live.has(id)), [], 'map ids gone from the kernel');
});

t.run();
