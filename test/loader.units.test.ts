// Pure parts of the loader: no kernel needed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { trimVerifierLog, VerifierRejectedError } from '../src/loader/errors.js';
import { parseTracepointFormat } from '../src/loader/tracefs.js';
import { parseCpuList } from '../src/loader/cpus.js';
import * as codec from '../src/loader/codec.js';
import { resolveMapRefs } from '../src/loader/program.js';
import { mapLookupElem } from '../src/loader/bpf.js';
import type { BpfMap } from '../src/loader/map.js';
import type { ProgramSpec } from '../src/asm/spec.js';
import { MapType, ProgType, Pseudo } from '../src/asm/opcodes.js';
import { blockSignals, errnoName } from '../src/loader/ffi.js';
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

const t = suite('loader units');

t('trimVerifierLog keeps the lines before the error and names the failing instruction', () => {
  const body = Array.from({ length: 30 }, (_, i) => `${i}: (b7) r0 = ${i}`);
  const log = [...body, '30: (0f) r0 += r2', 'R2 !read_ok', 'processed 31 insns (limit 1000000) max_states_per_insn 0', ''].join('\n');
  const { excerpt, failedInsn } = trimVerifierLog(log);
  const lines = excerpt.split('\n');
  assert.is(failedInsn, 30);
  assert.is(lines[lines.length - 1], 'R2 !read_ok');
  assert.is(lines.length, 11);
  assert.not.ok(excerpt.includes('processed'));
  const err = new VerifierRejectedError('p', 13, log, excerpt, failedInsn);
  assert.match(err.message, /^BPF_PROG_LOAD failed: EACCES \(Permission denied\).*"p" at instruction 30/);
  assert.is(err.code, 'EACCES');
});

t('errno names include the kernel-internal ENOTSUPP', () => {
  assert.is(errnoName(1), 'EPERM');
  assert.is(errnoName(524), 'ENOTSUPP');
  assert.is(errnoName(77), 'EBADFD');
});

t('parseTracepointFormat reads offsets, sizes and signedness', () => {
  const text = `name: sys_enter
ID: 23
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;
\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;

print fmt: "NR %ld"
`;
  const f = parseTracepointFormat(text);
  assert.is(f.id, 23);
  assert.equal(f.fields.map((x) => x.name), ['common_type', 'common_pid', 'id', 'args']);
  const args = f.fields[3]!;
  assert.equal([args.offset, args.size, args.signed, args.common], [16, 48, false, false]);
  assert.is(f.fields[2]!.signed, true);
  assert.is(f.size, 64);
});

t('parseCpuList expands ranges', () => {
  assert.equal(parseCpuList('0-3,5,7-8\n'), [0, 1, 2, 3, 5, 7, 8]);
  assert.throws(() => parseCpuList('x'), /cannot parse CPU list/);
});

t('codecs round-trip and per-CPU slots are 8-byte aligned', () => {
  const s = codec.structOfU32(['pid', 'nr'] as const);
  const b = Buffer.alloc(s.size);
  s.encode({ pid: 42, nr: 7 }, b);
  assert.equal(s.decode(b), { pid: 42, nr: 7 });
  const pc = codec.perCpu(codec.u32, 3);
  assert.is(pc.size, 24);
  const pb = Buffer.alloc(pc.size);
  pc.encode([1, 2, 3], pb);
  assert.is(pb.readUInt32LE(8), 2);
  assert.equal(pc.decode(pb), [1, 2, 3]);
  assert.throws(() => pc.encode([1], pb), /one per possible CPU \(3\)/);
  const u = Buffer.alloc(8);
  codec.u64.encode(-1n, u);
  assert.is(codec.u64.decode(u), 0xffffffffffffffffn);
});

const fakeMap = (name: string, fd: number): BpfMap =>
  ({ fd, spec: { name, type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 } }) as unknown as BpfMap;

const spec = (): ProgramSpec => ({
  name: 'refs', type: ProgType.SOCKET_FILTER, license: 'GPL',
  insns: [
    { code: 0x18, dst: 1, src: 0, off: 0, imm: 0 }, { code: 0, dst: 0, src: 0, off: 0, imm: 0 },
    { code: 0x18, dst: 2, src: 0, off: 0, imm: 0 }, { code: 0, dst: 0, src: 0, off: 0, imm: 0 },
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ],
  mapRefs: [{ index: 0, map: 'a', kind: 'fd' }, { index: 2, map: 'a', kind: 'value', offset: 16 }],
  maps: [{ name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }],
});

t('resolveMapRefs patches fd and value references without touching the spec', () => {
  const s = spec();
  const out = resolveMapRefs(s, { a: fakeMap('a', 77) });
  assert.equal([out[0]!.src, out[0]!.imm], [Pseudo.MAP_FD, 77]);
  assert.equal([out[2]!.src, out[2]!.imm, out[3]!.imm], [Pseudo.MAP_VALUE, 77, 16]);
  assert.is(s.insns[0]!.imm, 0);
});

t('resolveMapRefs names a missing map and a mismatched one', () => {
  assert.throws(() => resolveMapRefs(spec(), new Map([['b', fakeMap('b', 3)]])), /instruction 0 references map "a", which was not given \(maps given: b\)/);
  const wrong = { fd: 3, spec: { name: 'a', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 } } as unknown as BpfMap;
  assert.throws(() => resolveMapRefs(spec(), { a: wrong }), /declared as type 2 key 4 value 8, but the map given is type 1/);
});

t('map calls on an fd that is not a map fail with the command and errno', () => {
  try {
    mapLookupElem(987654, Buffer.alloc(4), Buffer.alloc(8));
    assert.unreachable('lookup on a bogus fd must throw');
  } catch (e) {
    assert.match((e as Error).message, /^BPF_OBJ_GET_INFO_BY_FD failed: EBADFD? \(.*\): fd 987654 is not open/);
  }
});

t('blockSignals: the signals are blocked for the thread until restored, the earlier mask comes back', () => {
  const blocked = () => BigInt('0x' + /^SigBlk:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/thread-self/status', 'utf8'))![1]);
  const bits = (1n << BigInt(osConstants.signals.SIGPROF - 1)) | (1n << BigInt(osConstants.signals.SIGCHLD - 1));
  const before = blocked();
  const restore = blockSignals([osConstants.signals.SIGPROF, osConstants.signals.SIGCHLD]);
  const during = blocked();
  restore();
  assert.is(during & bits, bits);
  assert.is(during & ~bits, before & ~bits, 'nothing else');
  assert.is(blocked(), before);
});

t.run();
