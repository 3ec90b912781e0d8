// Programs against the real kernel: load, test-run, verifier rejection, attach, and cleanup.
import { suite } from 'uvu';
import { VerifierError } from '../src/verify/static/index.js';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { onlineCpus } from '../src/loader/cpus.js';
import { kernelTest } from './_lib/privilege.js';
import { MapType, ProgType, type ProgTypeId } from '../src/asm/opcodes.js';
import type { RawInsn } from '../src/asm/encoding.js';
import type { MapSpec, ProgramSpec } from '../src/asm/spec.js';
import * as bpf from '../src/loader/bpf.js';
import { BpfMap } from '../src/loader/map.js';
import { LoadedProgram } from '../src/loader/program.js';
import { attachRawTracepoint, attachTracepoint } from '../src/loader/attach.js';
import { findTracefs, tracepointFormat, unmountTracefs } from '../src/loader/tracefs.js';
import * as codec from '../src/loader/codec.js';
import { VerifierRejectedError } from '../src/loader/errors.js';
import { closeAll, openFds } from '../src/loader/registry.js';

const t = suite('loader programs');
const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): RawInsn => ({ code, dst, src, off, imm });
const movImm = (dst: number, imm: number) => I(0xb7, dst, 0, 0, imm); // ALU64|MOV|K
const exit = () => I(0x95);

const countsSpec: MapSpec = { name: 'lt_counts', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 };

/** counts[0] += 1 atomically; returns 0. The map fd goes into the ld_imm64 at slot 3. */
function counterProgram(type: ProgTypeId, name: string): ProgramSpec {
  return {
    name, type, license: 'GPL', maps: [countsSpec],
    insns: [
      I(0x62, 10, 0, -4, 0), // *(u32 *)(r10 - 4) = 0
      I(0xbf, 2, 10), // r2 = r10
      I(0x07, 2, 0, 0, -4), // r2 += -4
      I(0x18, 1), I(0), // r1 = map (patched by the loader)
      I(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem
      I(0x15, 0, 0, 2, 0), // if r0 == 0 goto +2
      movImm(1, 1),
      I(0xdb, 0, 1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
      movImm(0, 0),
      exit(),
    ],
    mapRefs: [{ index: 3, map: 'lt_counts', kind: 'fd' }],
  };
}
const simple = (name: string, insns: RawInsn[], type: ProgTypeId = ProgType.SOCKET_FILTER): ProgramSpec =>
  ({ name, type, license: 'GPL', insns, mapRefs: [], maps: [] });

const ourProgIds: number[] = [];
const track = (p: LoadedProgram): LoadedProgram => { ourProgIds.push(p.info().id); return p; };
const packet = Buffer.alloc(64); // socket filters need at least an Ethernet header of input
const makeSyscalls = () => { for (let i = 0; i < 200; i++) statSync('/'); };

kernelTest(t, 'r0 = N; exit loads, test-runs with retval N, and reports its info', () => {
  const p = track(LoadedProgram.load(simple('lt_ret42', [movImm(0, 42), exit()])));
  assert.is(p.testRun({ dataIn: packet }).retval, 42);
  const info = p.info();
  assert.equal([info.type, info.name, info.xlatedProgLen, info.verifiedInsns], [ProgType.SOCKET_FILTER, 'lt_ret42', 16, 2]);
  assert.is(info.tag.length, 8);
  assert.ok(openFds().some((o) => o.fd === p.fd && o.kind === 'prog'));
});

kernelTest(t, 'a map lookup + atomic add program changes the map once per test run repetition', () => {
  const counts = BpfMap.create(countsSpec);
  const view = counts.typed(codec.u32, codec.u64n);
  const p = track(LoadedProgram.load(counterProgram(ProgType.SOCKET_FILTER, 'lt_count_sf'), { lt_counts: counts }));
  assert.is(view.get(0), 0);
  const r = p.testRun({ dataIn: packet, repeat: 5 });
  assert.is(r.retval, 0);
  assert.is(view.get(0), 5);
  p.testRun({ dataIn: packet });
  assert.is(view.get(0), 6);
  assert.is(p.info().nrMapIds, 1, 'the kernel recorded the map reference');
});

kernelTest(t, 'logSize 0 still gets a log on failure (the retry asks for a real buffer)', () => {
  const bad = simple('lt_log0', [I(0x0f, 0, 2), exit()]);
  assert.throws(() => LoadedProgram.load(bad, {}, { verify: false, logSize: 0 }), (e: unknown) => e instanceof VerifierRejectedError && /R2/.test((e as VerifierRejectedError).log));
});

kernelTest(t, 'by default our static verifier runs first: a refused program never reaches the kernel', () => {
  const bad = simple('lt_static', [I(0x0f, 0, 2), exit()]); // r0 += r2: neither was written
  const before = openFds().length;
  try {
    LoadedProgram.load(bad);
    assert.unreachable('our verifier must refuse reading r2');
  } catch (e) {
    assert.instance(e, VerifierError, 'our error, not the kernel\'s VerifierRejectedError');
    assert.match((e as Error).message, /insn 0 .*r2/);
  }
  assert.is(openFds().length, before, 'no program fd was opened');
});

kernelTest(t, 'a program the verifier rejects throws with the trimmed log naming the failing instruction', () => {
  const filler = Array.from({ length: 30 }, (_, i) => movImm(0, i));
  const bad = simple('lt_bad', [...filler, I(0x0f, 0, 2), exit()]); // r0 += r2: r2 was never written
  const before = openFds().length;
  try {
    LoadedProgram.load(bad, {}, { verify: false }); // the kernel's own verdict, not ours
    assert.unreachable('the kernel must reject reading r2');
  } catch (e) {
    assert.instance(e, VerifierRejectedError);
    const v = e as VerifierRejectedError;
    assert.is(v.failedInsn, 30);
    assert.is(v.code, 'EACCES');
    assert.match(v.message, /rejected program "lt_bad" at instruction 30/);
    assert.match(v.message, /30: \(0f\) r0 \+= r2\nR2 !read_ok/);
    assert.ok(v.excerpt.split('\n').length <= 11, 'the message carries only the failing part');
    assert.ok(v.log.split('\n').length > 30 && v.log.includes('0: (b7) r0 = 0'), 'the full log is kept');
  }
  assert.is(openFds().length, before, 'nothing left open by the failed load');
});

kernelTest(t, 'beforeLoad sees the patched bytes and can stop the load; a missing map is named', () => {
  const counts = BpfMap.create(countsSpec);
  let seen: Buffer | null = null;
  const p = track(LoadedProgram.load(counterProgram(ProgType.SOCKET_FILTER, 'lt_hook'), new Map([['lt_counts', counts]]), {
    beforeLoad: (_spec, bytes) => { seen = bytes; },
  }));
  assert.ok(seen);
  assert.is((seen as Buffer).readInt32LE(3 * 8 + 4), counts.fd, 'ld_imm64 imm is the map fd');
  assert.is((seen as Buffer)[3 * 8 + 1]! >> 4, 1, 'src is BPF_PSEUDO_MAP_FD');
  p.close();
  const before = openFds().length;
  assert.throws(() => LoadedProgram.load(simple('lt_veto', [movImm(0, 0), exit()]), {}, {
    beforeLoad: () => { throw new Error('static verifier: no'); },
  }), /static verifier: no/);
  assert.is(openFds().length, before);
  assert.throws(() => LoadedProgram.load(counterProgram(ProgType.SOCKET_FILTER, 'lt_nomap'), {}), /references map "lt_counts", which was not given/);
});

kernelTest(t, 'a prog array (no batch ops in the kernel) is read through the automatic fallback', () => {
  const p = track(LoadedProgram.load(simple('lt_tail', [movImm(0, 0), exit()])));
  const arr = BpfMap.create({ name: 'lt_progs', type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
  const view = arr.typed(codec.u32, codec.u32);
  view.set(1, p.fd);
  assert.equal(view.entries(), [[1, p.info().id]], 'user space reads a prog array slot as the program id');
  assert.ok(bpf.usesBatchFallback(arr.fd), 'the kernel refused BPF_MAP_LOOKUP_BATCH and the fallback ran');
});

kernelTest(t, 'raw tracepoint sys_enter: the program runs on syscalls and stops when detached', () => {
  const counts = BpfMap.create(countsSpec);
  const view = counts.typed(codec.u32, codec.u64n);
  const p = track(LoadedProgram.load(counterProgram(ProgType.RAW_TRACEPOINT, 'lt_raw'), { lt_counts: counts }));
  p.testRun({ ctxIn: Buffer.alloc(16) });
  assert.is(view.get(0), 1, 'test run with a 2-argument context');
  const link = attachRawTracepoint(p, 'sys_enter');
  makeSyscalls();
  const during = view.get(0)!;
  assert.ok(during >= 200, `at least our 200 stat calls were counted (got ${during})`);
  link.close();
  link.close();
  const after = view.get(0)!;
  makeSyscalls();
  assert.is(view.get(0), after, 'no counting once the link is closed');
});

function tracefsMounts(): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.split(' ')[2] === 'tracefs');
}

kernelTest(t, 'tracefs tracepoint raw_syscalls/sys_enter: the program runs on syscalls of every CPU', () => {
  const mountsBefore = tracefsMounts();
  const fs = findTracefs({ mountIfMissing: true });
  try {
    const fmt = tracepointFormat('raw_syscalls', 'sys_enter', fs.path);
    const id = fmt.fields.find((f) => f.name === 'id');
    assert.equal([id?.offset, id?.size, id?.signed], [8, 8, true]);
    const counts = BpfMap.create(countsSpec);
    const view = counts.typed(codec.u32, codec.u64n);
    const p = track(LoadedProgram.load(counterProgram(ProgType.TRACEPOINT, 'lt_tp'), { lt_counts: counts }));
    const link = attachTracepoint(p, 'raw_syscalls', 'sys_enter', { tracefs: fs.path });
    assert.ok(link.fds.length >= 1);
    // Syscalls from a child pinned to each CPU in turn: the event's CPU must not limit where it counts.
    for (const cpu of onlineCpus()) {
      const before = view.get(0)!;
      execFileSync('taskset', ['-c', String(cpu), process.execPath, '-e', 'for (let i = 0; i < 300; i++) require("fs").statSync("/")']);
      const grew = view.get(0)! - before;
      assert.ok(grew >= 300, `cpu ${cpu}: at least the child's 300 stat calls were counted (got ${grew})`);
    }
    link.close();
    const after = view.get(0)!;
    makeSyscalls();
    assert.is(view.get(0), after, 'no counting once the perf events are closed');
  } finally {
    if (fs.mountedByUs) unmountTracefs(fs.path);
  }
  assert.equal(tracefsMounts(), mountsBefore, 'tracefs mounts are as we found them');
});

kernelTest(t, 'closeAll closes every fd we opened and the kernel forgets our programs', async () => {
  assert.ok(openFds().length > 0);
  const closed = closeAll();
  assert.ok(closed > 0);
  assert.is(openFds().length, 0);
  assert.is(closeAll(), 0, 'idempotent');
  // Program ids are freed when the last reference goes; allow the kernel a moment for deferred puts.
  let left: number[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    const live = new Set<number>();
    for (let id = bpf.progGetNextId(0); id !== null; id = bpf.progGetNextId(id)) live.add(id);
    left = ourProgIds.filter((id) => live.has(id));
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(ourProgIds.length >= 6);
  assert.equal(left, [], 'none of our program ids remain loaded');
});

t.run();
