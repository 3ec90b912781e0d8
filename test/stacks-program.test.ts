// dp_stacks in the WebAssembly engine, with bpf_get_stack answering stacks chosen here: the key is the
// hash user space computes for the same frames; a walk gone astray ends at its first bogus frame, so
// garbage that differs at each call is one stack; build-id stacks of processes of one name are one
// entry, bare addresses keep their process; stack_gen picks the tables written; a full table and the
// helper's refusals are counted under their status. No BPF privilege needed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BpfVm } from '../src/vm/index.js';
import { stacksProgram } from '../src/tracer/stacks.js';
import { StackStatus } from '../src/tracer/stacks-maps.js';
import { BOGUS, frameHash } from '../src/tracer/stacks-hash.js';
import { State, tracerMaps } from '../src/tracer/maps.js';
import { StackBuildIdStatus, ERRNO } from '../src/asm/abi.js';
import { NR, RAW } from './_lib/tracer-layouts.js';

const test = suite('dp_stacks in WASM');

type Frame = { id: number; offset: bigint } | { ip: bigint };
const DEPTH = 8;

/** struct bpf_stack_build_id[] for `frames` (build id: 20 bytes of `id`). */
function stackBytes(frames: Frame[]): Buffer {
  const b = Buffer.alloc(32 * frames.length);
  frames.forEach((f, i) => {
    if ('ip' in f) {
      b.writeInt32LE(StackBuildIdStatus.IP, 32 * i);
      b.writeBigUInt64LE(f.ip, 32 * i + 24);
    } else {
      b.writeInt32LE(StackBuildIdStatus.VALID, 32 * i);
      b.fill(f.id, 32 * i + 4, 32 * i + 24);
      b.writeBigUInt64LE(f.offset, 32 * i + 24);
    }
  });
  return b;
}

const hashKey = (bytes: Buffer): string => {
  const [h1, h2] = frameHash(bytes, 32);
  const k = Buffer.alloc(16);
  k.writeBigUInt64LE(h1, 0);
  k.writeBigUInt64LE(h2, 8);
  return k.toString('hex');
};

class Rig {
  readonly vm: BpfVm;
  /** What the next bpf_get_stack answers: frames, or a return value. */
  next: Buffer | number = Buffer.alloc(0);

  constructor(maxStacks = 16) {
    const spec = stacksProgram(RAW.sysEnter, tracerMaps({ maxProcesses: 64, maxCounts: 256, maxSlots: 8 }), { maxStacks, maxEntries: 64, depth: DEPTH });
    this.vm = new BpfVm(spec, {
      helpers: {
        get_stack: (vm, _ctx, buf, size) => {
          const out = vm.read(buf, Number(size), true);
          out.fill(0);
          if (typeof this.next === 'number') return BigInt.asUintN(64, BigInt(this.next));
          out.set(this.next.subarray(0, Number(size)));
          return this.next.length;
        },
      },
    });
  }

  call(tgid: number, comm: string, frames: Frame[] | number, nr = NR.getppid): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(tgid);
    const state = Buffer.alloc(4);
    state.writeUInt32LE(State.COUNT);
    this.vm.maps.get('tracked')!.update(key, state);
    this.next = typeof frames === 'number' ? frames : stackBytes(frames);
    Object.assign(this.vm, { pid: tgid, tgid, comm });
    this.vm.run({ ctx: [0n, BigInt(nr)] });
  }

  generation(g: 0 | 1): void {
    const v = Buffer.alloc(4);
    v.writeUInt32LE(g);
    this.vm.maps.get('stack_gen')!.update(Buffer.alloc(4), v);
  }

  /** stack_counts_G as {tgid, nr, ustatus, kstatus, uhash, comm} → count. */
  counts(g = 'a'): { tgid: number; nr: number; ustatus: number; kstatus: number; uhash: string; comm: string; count: number }[] {
    return this.vm.maps.get(`stack_counts_${g}`)!.entries().map(([k, v]) => {
      const b = Buffer.from(k);
      const nul = b.indexOf(0, 48);
      return {
        tgid: b.readUInt32LE(0), nr: b.readUInt32LE(4), ustatus: b.readInt32LE(8), kstatus: b.readInt32LE(12),
        uhash: b.toString('hex', 16, 32), comm: b.toString('utf8', 48, nul < 0 ? 64 : nul), count: Number(Buffer.from(v).readBigUInt64LE(0)),
      };
    });
  }

  frames(g = 'a'): Map<string, Buffer> {
    return new Map(this.vm.maps.get(`stack_frames_${g}`)!.entries().map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v)]));
  }
}

const LIB = 0xaa, APP = 0xbb;

test('a build-id stack: stored under the hash of its frames, counted under that hash, once per name whatever the process', () => {
  const r = new Rig();
  const stack: Frame[] = [{ id: LIB, offset: 0x1234n }, { id: APP, offset: 0x99n }, { id: APP, offset: 0x42n }];
  r.call(100, 'app', stack);
  r.call(101, 'app', stack);
  r.call(102, 'app', stack);
  r.call(103, 'tool', stack);
  const key = hashKey(stackBytes(stack));
  const stored = r.frames().get(key);
  assert.ok(stored, 'the frames under the hash user space computes');
  assert.equal(stored!.subarray(0, 96), stackBytes(stack));
  assert.ok(stored!.subarray(96).every((x) => x === 0), 'zeroes after the last frame');
  assert.is(r.frames().size, 1);
  const counts = r.counts().sort((a, b) => a.comm.localeCompare(b.comm));
  assert.equal(counts, [
    { tgid: 0, nr: NR.getppid, ustatus: StackStatus.OK, kstatus: StackStatus.NONE, uhash: key, comm: 'app', count: 3 },
    { tgid: 0, nr: NR.getppid, ustatus: StackStatus.OK, kstatus: StackStatus.NONE, uhash: key, comm: 'tool', count: 1 },
  ]);
  assert.equal(r.counts('b'), [], 'generation b untouched');
});

test('a stack with a bare address keeps its process; stacks differing in one frame are two', () => {
  const r = new Rig();
  const jit: Frame[] = [{ ip: 0x7f00_1234_5678n }, { id: APP, offset: 0x42n }];
  r.call(100, 'app', jit);
  r.call(101, 'app', jit);
  r.call(100, 'app', [{ ip: 0x7f00_1234_5679n }, { id: APP, offset: 0x42n }]);
  const counts = r.counts();
  assert.equal(counts.map((c) => [c.tgid, c.count]).sort(), [[100, 1], [100, 1], [101, 1]]);
  assert.is(r.frames().size, 2);
});

test('a walk gone astray ends at its first bogus frame: garbage that differs at each call is one stack', () => {
  const r = new Rig();
  const sound: Frame[] = [{ id: LIB, offset: 0x1234n }];
  for (const [i, garbage] of [0xffffaa42c5071000n, 0xffffaa67d7239800n, 1n << 47n].entries()) {
    r.call(100, 'find', [...sound, { id: APP, offset: garbage }, { ip: 0x5573_0000_0000n + BigInt(i) }, { id: LIB, offset: BigInt(i) }]);
  }
  // A bare address no process can have is bogus too, and names no process.
  r.call(101, 'find', [...sound, { ip: 0xcfe0_0007_ffeb_5110n }, { id: LIB, offset: 7n }]);
  const counts = r.counts();
  assert.is(counts.length, 2);
  const cut = stackBytes([...sound, { id: APP, offset: BOGUS }]);
  assert.is(counts.find((c) => c.uhash === hashKey(cut))?.count, 3, 'three garbage walks: one stack, cut after its bogus frame');
  const stored = r.frames().get(hashKey(cut))!;
  assert.equal(stored.subarray(0, 64), cut);
  assert.is(stored.readInt32LE(64), StackBuildIdStatus.EMPTY, 'the frame after it marked empty');
  const ipCut = stackBytes([...sound, { ip: BOGUS }]);
  assert.equal(counts.find((c) => c.uhash === hashKey(ipCut)), { tgid: 0, nr: NR.getppid, ustatus: 0, kstatus: StackStatus.NONE, uhash: hashKey(ipCut), comm: 'find', count: 1 });
  // Just under the bounds: sound, kept whole.
  const edge: Frame[] = [{ id: APP, offset: (1n << 47n) - 1n }, { ip: (1n << 56n) - 1n }, { id: LIB, offset: 1n }];
  r.call(102, 'edge', edge);
  assert.ok(r.frames().has(hashKey(stackBytes(edge))));
  assert.is(r.counts().find((c) => c.comm === 'edge')!.tgid, 102, 'a sound bare address keeps its process');
});

test('stack_gen picks the generation written', () => {
  const r = new Rig();
  const s: Frame[] = [{ id: APP, offset: 1n }];
  r.call(100, 'app', s);
  r.generation(1);
  r.call(100, 'app', s);
  r.call(100, 'app', s);
  r.generation(0);
  r.call(100, 'app', s);
  assert.equal(r.counts('a').map((c) => c.count), [2]);
  assert.equal(r.counts('b').map((c) => c.count), [2]);
  assert.is(r.frames('b').size, 1);
});

test('a full frames table: the call is counted under TABLE_FULL; the helper\'s refusals under their errno (an empty stack is EFAULT)', () => {
  const r = new Rig(4);
  for (let i = 0; i < 6; i++) r.call(100, 'app', [{ id: APP, offset: BigInt(i) }]);
  r.call(100, 'app', [{ id: APP, offset: 0n }]); // stored: still counted under its hash
  r.call(100, 'app', 0);
  r.call(100, 'app', -ERRNO.EINVAL);
  const counts = r.counts();
  assert.is(r.frames().size, 4);
  const full = counts.find((c) => c.ustatus === StackStatus.TABLE_FULL)!;
  assert.equal([full.count, full.uhash], [2, '0'.repeat(32)]);
  assert.is(counts.filter((c) => c.ustatus === StackStatus.OK).reduce((s, c) => s + c.count, 0), 5);
  assert.is(counts.find((c) => c.ustatus === -ERRNO.EFAULT)?.count, 1);
  assert.is(counts.find((c) => c.ustatus === -ERRNO.EINVAL)?.count, 1);
});

test.run();
