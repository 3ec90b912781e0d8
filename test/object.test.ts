// The BPF object loader on the committed corpus of clang-built objects: maps (legacy, BTF, global
// data), subprogram linking, relocations, failures named by symbol and section, and bad files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { LD_IMM64, MapType, Pseudo, ProgType } from '../src/asm/opcodes.js';
import { ElfFile } from '../src/elf/index.js';
import { Btf } from '../src/btf/index.js';
import { verifyProgram } from '../src/verify/static/index.js';
import { BpfVm } from '../src/vm/runtime.js';
import { BPF_F_RDONLY_PROG, ObjectError, parseObject, progTypeByName, readObject, sectionType } from '../src/object/index.js';
import { corpusObjects, objectPath } from './_lib/objects.js';
import { readelfSections, readelfSymbols, toolTest } from './_lib/readelf.js';

const test = suite('object');
const obj = (name: string, opts = {}) => readObject(objectPath(name), opts);
const CALL = 0x85;

test('section names give program type, attach type and target by libbpf conventions', () => {
  const t = (s: string) => { const r = sectionType(s); return r && [r.type, r.expectedAttachType, r.attachTo, r.match]; };
  assert.equal(t('xdp'), [ProgType.XDP, 37, undefined, 'libbpf']);
  assert.equal(t('kprobe/do_unlinkat'), [ProgType.KPROBE, undefined, 'do_unlinkat', 'libbpf']);
  assert.equal(t('kretprobe/do_unlinkat'), [ProgType.KPROBE, undefined, 'do_unlinkat', 'libbpf']);
  assert.equal(t('tp/sched/sched_process_exec'), [ProgType.TRACEPOINT, undefined, 'sched/sched_process_exec', 'libbpf']);
  assert.equal(t('raw_tp/sys_enter'), [ProgType.RAW_TRACEPOINT, undefined, 'sys_enter', 'libbpf']);
  assert.equal(t('fentry/do_unlinkat'), [ProgType.TRACING, 24, 'do_unlinkat', 'libbpf']);
  assert.equal(t('cgroup_skb/egress'), [ProgType.CGROUP_SKB, 1, undefined, 'libbpf']);
  assert.equal(t('classifier'), [ProgType.SCHED_CLS, undefined, undefined, 'libbpf']);
  assert.equal(t('tc'), [ProgType.SCHED_CLS, undefined, undefined, 'libbpf']);
  assert.equal(t('perf_event'), [ProgType.PERF_EVENT, undefined, undefined, 'libbpf']);
  assert.equal(t('lsm/file_open'), [ProgType.LSM, 27, 'file_open', 'libbpf']);
  assert.equal(sectionType('fentry.s/x')?.progFlags, 16, 'sleepable');
  // Older loaders' names: by prefix only.
  assert.equal(t('xdp_redirect_map'), [ProgType.XDP, 37, undefined, 'prefix']);
  assert.equal(t('socket1'), [ProgType.SOCKET_FILTER, undefined, undefined, 'prefix']);
  assert.is(sectionType('.text'), undefined);
  assert.is(sectionType('maps'), undefined);
  assert.is(sectionType('2/1'), undefined);
  assert.is(progTypeByName('sched_cls'), ProgType.SCHED_CLS);
  assert.is(progTypeByName('BPF_PROG_TYPE_XDP'), ProgType.XDP);
  assert.is(progTypeByName('socket_filter'), ProgType.SOCKET_FILTER);
  assert.is(progTypeByName('nope'), undefined);
});

test('legacy maps (struct bpf_map_def) and BTF .maps of the same definitions agree', () => {
  const legacy = obj('cilium-ebpf.loader-nobtf.o'), btf = obj('cilium-ebpf.loader.o');
  const hash = legacy.maps.find((m) => m.name === 'hash_map')!;
  // As declared in the source: HASH, u32 key, u64 value, 1 entry, BPF_F_NO_PREALLOC.
  assert.equal({ ...hash }, { name: 'hash_map', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1, flags: 1 });
  // (perf_event_array names a value type in BTF but none in the legacy header: the kernel takes 4 bytes.)
  for (const name of ['hash_map', 'hash_map2', 'perf_event_array']) {
    const a = legacy.maps.find((m) => m.name === name)!, b = btf.maps.find((m) => m.name === name)!;
    assert.ok(a && b, name);
    assert.equal([a.type, a.keySize, a.valueSize, a.maxEntries, a.flags], [b.type, b.keySize, b.valueSize, b.maxEntries, b.flags], name);
  }
  const perf = legacy.maps.find((m) => m.name === 'perf_event_array')!;
  assert.equal([perf.type, perf.keySize, perf.valueSize, perf.maxEntries], [MapType.PERF_EVENT_ARRAY, 4, 4, 4096], 'fd maps get 4-byte keys and values');
  const outer = btf.maps.find((m) => m.name === 'btf_outer_map')!;
  assert.is(outer.type, MapType.ARRAY_OF_MAPS);
  // struct inner_map_t { HASH, u32 key, int value, 1 entry }, from __array(values, struct inner_map_t).
  assert.equal(outer.inner && [outer.inner.type, outer.inner.keySize, outer.inner.valueSize, outer.inner.maxEntries], [MapType.HASH, 4, 4, 1]);
});

test('global data: .data/.rodata/.bss maps with contents, read-only .rodata, value references at variable offsets', () => {
  const o = obj('cilium-ebpf.variables.o');
  const elf = ElfFile.read(objectPath('cilium-ebpf.variables.o'));
  for (const m of o.maps) {
    const sec = elf.section(m.name)!;
    assert.ok(sec, `${m.name} is a section`);
    assert.equal([m.type, m.keySize, m.valueSize, m.maxEntries], [MapType.ARRAY, 4, sec.size, 1], m.name);
    if (m.name.startsWith('.rodata')) { assert.is(m.flags, BPF_F_RDONLY_PROG); assert.ok(m.freeze); }
    else assert.is(m.flags, 0);
    if (m.name.startsWith('.bss')) assert.is(m.initial, undefined);
    else assert.equal([...m.initial!], [...elf.sectionData(sec)], `${m.name} contents`);
  }
  const syms = elf.symbols();
  for (const p of o.programs) {
    for (const ref of p.spec.mapRefs) {
      assert.is(ref.kind, 'value');
      const insn = p.spec.insns[ref.index]!, second = p.spec.insns[ref.index + 1]!;
      assert.equal([insn.code, insn.src, insn.imm, second.imm], [LD_IMM64, Pseudo.MAP_VALUE, 0, ref.offset], `${p.spec.name} slot ${ref.index}`);
      assert.ok(p.spec.maps.some((m) => m.name === ref.map), `${ref.map} is among the program's maps`);
    }
  }
  // get_data reads var_data: its reference's offset is var_data's symbol value in .data.
  const getData = o.programs.find((p) => p.spec.name === 'get_data')!;
  const varData = syms.find((s) => s.name === 'var_data')!;
  assert.equal(getData.spec.mapRefs.map((r) => [r.map, r.offset]), [['.data', Number(varData.value)]]);
});

test('subprograms: every .text function a program calls is linked once, and every call lands on a function start', () => {
  let checked = 0;
  for (const name of ['cilium-ebpf.loader-nobtf.o', 'cilium-ebpf.subprog_reloc.o', 'cilium-ebpf.freplace.o', 'cilium-ebpf.linked1.o']) {
    for (const p of obj(name).programs) {
      const starts = new Set(p.layout.map((l) => l.base));
      assert.is(p.layout.length, new Set(p.layout.map((l) => `${l.section}:${l.name}`)).size, 'each function placed once');
      p.spec.insns.forEach((insn, i) => {
        if ((insn.code === CALL && insn.src === Pseudo.CALL) || (insn.code === LD_IMM64 && insn.src === Pseudo.FUNC)) {
          assert.ok(starts.has(i + insn.imm + 1), `${name} ${p.spec.name}: call at ${i} → ${i + insn.imm + 1} is a function start (${[...starts]})`);
          checked++;
        }
      });
    }
  }
  assert.ok(checked >= 5, `calls checked (${checked})`);
  const xdp = obj('cilium-ebpf.loader-nobtf.o').programs.find((p) => p.spec.name === 'xdp_prog')!;
  assert.equal(xdp.layout.map((l) => l.name), ['xdp_prog', 'static_fn', 'global_fn', 'global_fn2', 'global_fn3']);
});

test('failures are per program and named by symbol and section; the rest of the object still loads', () => {
  const kfunc = obj('cilium-ebpf.kfunc.o');
  const f = kfunc.failures.find((x) => x.name === 'call_kfunc')!;
  assert.is(f.error.problem, 'unsupported');
  assert.is(f.error.symbol, 'bpf_skb_ct_lookup');
  assert.is(f.error.section, 'tc');
  assert.match(f.error.message, /instruction \d+ of tc \(function call_kfunc\): relocation against "bpf_skb_ct_lookup": an extern function/);
  const kconfig = obj('cilium-ebpf.kconfig.o').failures[0]!;
  assert.is(kconfig.error.symbol, 'LINUX_KERNEL_VERSION');
  const loader = obj('cilium-ebpf.loader.o');
  assert.ok(loader.programs.length >= 3, 'other programs of the object are fine');
  const nameless = loader.failures.find((x) => x.section === 'other')!;
  assert.is(nameless.error.problem, 'section');
  assert.match(nameless.error.message, /section "other" names no program type/);
  // Given a type, that section is a program too.
  assert.ok(obj('cilium-ebpf.loader.o', { type: ProgType.SOCKET_FILTER }).programs.some((p) => p.spec.section === 'other'));
  const core = obj('libbpf-bootstrap.minimal.o');
  assert.ok(core.programs.length + core.failures.length > 0);
  const boot = obj('libbpf-bootstrap.bootstrap.o');
  assert.ok(boot.failures.every((x) => x.error.problem === 'core' && /CO-RE relocations .*present: not supported/.test(x.error.message)), 'CO-RE refused by default');
  assert.ok(obj('libbpf-bootstrap.bootstrap.o', { core: 'keep' }).programs.every((p) => p.core.length > 0), "'keep' lists them");
});

test('big-endian objects: same programs as the little-endian build, instruction by instruction', () => {
  const le = obj('cilium-ebpf.loader.o'), be = obj('cilium-ebpf.loader-eb.o');
  assert.ok(le.littleEndian && !be.littleEndian);
  assert.equal(be.programs.map((p) => p.spec.name), le.programs.map((p) => p.spec.name));
  for (const p of le.programs) {
    const q = be.programs.find((x) => x.spec.name === p.spec.name)!;
    assert.equal(q.spec.insns.map((i) => [i.code, i.dst, i.src, i.off]), p.spec.insns.map((i) => [i.code, i.dst, i.src, i.off]), p.spec.name);
    assert.equal(q.spec.mapRefs, p.spec.mapRefs, `${p.spec.name} map references`);
  }
  assert.equal(be.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize]), le.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize]));
});

toolTest(test, 'the ELF reader on big-endian objects agrees with readelf', ['readelf'], () => {
  const file = objectPath('cilium-ebpf.loader-eb.o');
  const elf = ElfFile.read(file);
  assert.not.ok(elf.header.littleEndian);
  assert.equal(elf.sections.map((s) => s.name), readelfSections(file).map((s) => s.name));
  const ref = readelfSymbols(file, '.symtab');
  const ours = elf.symbols();
  assert.is(ours.length, ref.length);
  for (const r of ref) if (r.type !== 'SECTION') assert.equal([ours[r.num]!.name, ours[r.num]!.value, ours[r.num]!.size], [r.name, r.value, r.size]);
  const rels = elf.relocationSections();
  assert.ok(rels.length > 3 && rels.every((r) => r.relocations.every((x) => x.symbol < ours.length)));
});

test('every object of the corpus parses: each program is a ProgramSpec or a named failure', () => {
  let programs = 0, failures = 0;
  for (const e of corpusObjects()) {
    const o = readObject(e.path);
    for (const p of o.programs) {
      programs++;
      assert.ok(p.spec.insns.length > 0 && p.spec.license !== undefined);
      for (const r of p.spec.mapRefs) assert.ok(p.spec.maps.some((m) => m.name === r.map), `${e.object} ${p.spec.name}: ${r.map}`);
    }
    for (const f of o.failures) {
      failures++;
      assert.ok(f.error instanceof ObjectError && ['unsupported', 'section', 'core'].includes(f.error.problem), `${e.object} ${f.name}: ${f.error.message}`);
    }
  }
  assert.ok(programs > 60 && failures > 0, `${programs} programs, ${failures} named failures`);
});

test('the verifier and the WebAssembly engine take every corpus program as it is', () => {
  let verified = 0, accepted = 0;
  for (const e of corpusObjects()) {
    for (const p of readObject(e.path, { core: 'keep' }).programs) {
      const report = verifyProgram(p.spec);
      verified++;
      if (report.ok) accepted++;
      new BpfVm(p.spec);
    }
  }
  assert.ok(verified > 100 && accepted > 0, `${verified} programs verified (${accepted} accepted by our verifier), each compiled by the engine`);
});

// ---- bad objects ---------------------------------------------------------------------------------

function parseOrError(data: Uint8Array): ObjectError | null {
  try {
    parseObject(data, { source: 'bad.o' });
    return null;
  } catch (e) {
    if (e instanceof ObjectError) return e;
    throw new Error(`not an ObjectError: ${(e as Error).stack}`);
  }
}

test('not BPF: an x86 binary, a truncated object, every truncation of an object → ObjectError', () => {
  assert.is(parseOrError(readFileSync('/bin/ls'))?.problem, 'not-bpf');
  assert.match(parseOrError(readFileSync('/bin/ls'))!.message, /not BPF \(247\)/);
  assert.is(parseOrError(Buffer.from('hello'))?.problem, 'elf');
  const data = readFileSync(objectPath('cilium-ebpf.subprog_reloc.o'));
  let refused = 0;
  for (let len = 0; len < data.length; len += 7) if (parseOrError(data.subarray(0, len))) refused++;
  assert.ok(refused > data.length / 7 - 5, 'truncations are refused');
});

test('3000 random corruptions of real objects: each parses or is an ObjectError, never another exception', () => {
  let seed = 0x9e3779b9;
  const rand = (n: number) => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; };
  const own = readObject(objectPath('bcc.execsnoop.o')).btf!;
  let refused = 0;
  for (const name of ['cilium-ebpf.loader.o', 'bcc.execsnoop.o', 'cilium-ebpf.subprog_reloc.o']) {
    const data = readFileSync(objectPath(name));
    for (let i = 0; i < 1000; i++) {
      const c = Buffer.from(data);
      for (let k = 1 + rand(8); k > 0; k--) c[rand(c.length)] = rand(256);
      try {
        const o = parseObject(c, { core: i % 2 ? 'apply' : 'keep', targetBtf: own });
        for (const f of o.failures) assert.ok(f.error instanceof ObjectError);
      } catch (e) {
        if (!(e instanceof ObjectError)) throw new Error(`${name} corruption ${i}: ${(e as Error).stack}`);
        refused++;
      }
    }
  }
  assert.ok(refused > 300, `many corruptions are refused (${refused}/3000)`);
});

test('corrupted relocations and BTF are named: symbol index, instruction, section', () => {
  const data = readFileSync(objectPath('cilium-ebpf.subprog_reloc.o'));
  const elf = ElfFile.parse(data);
  const rel = elf.relocationSections().find((r) => r.target?.name === 'xdp')!;
  // Point the first relocation past the section.
  const offAt = rel.section.offset;
  const bad = Buffer.from(data); bad.writeBigUInt64LE(BigInt(rel.target!.size + 8), offAt);
  const e1 = parseOrError(bad)!;
  assert.is(e1.problem, 'relocation');
  assert.match(e1.message, /relocation at xdp\+\d+ is not on an instruction/);
  // A symbol index outside the table.
  const badSym = Buffer.from(data); badSym.writeUInt32LE(0xfffff, offAt + 12);
  const o = parseObject(badSym);
  assert.match(o.failures[0]!.error.message, /names symbol 1048575, outside the symbol table/);
  // A relocation on an instruction that is not ld_imm64 or call.
  const first = rel.relocations[0]!;
  const badOp = Buffer.from(data); badOp.writeBigUInt64LE(first.offset + 8n, offAt);
  const msg = parseObject(badOp).failures.map((f) => f.error.message).join('\n');
  assert.match(msg, /instruction \d+ of xdp \(function fp_relocation\): relocation against "hash_map" on the second slot of an ld_imm64/);
  // Point the callback's ld_imm64 (a relocation against .text) at __license: not code, maps nor data.
  const cb = rel.relocations.findIndex((r) => elf.symbols()[r.symbol]!.shndx === elf.section('.text')!.index);
  const lic = elf.symbols().find((x) => x.name === '__license')!;
  const badCb = Buffer.from(data); badCb.writeUInt32LE(lic.index, offAt + cb * 16 + 12);
  const cbMsg = parseObject(badCb).failures.map((f) => f.error.message).join('\n');
  assert.match(cbMsg, /relocation against "__license": section "license" is neither code, maps nor global data/);
  // BTF magic broken in an object with BTF-defined maps: .maps cannot be read.
  const withBtf = readFileSync(objectPath('cilium-ebpf.loader.o'));
  const btf = ElfFile.parse(withBtf).section('.BTF')!;
  const badBtf = Buffer.from(withBtf); badBtf.writeUInt16LE(0x1234, btf.offset);
  const e2 = parseOrError(badBtf)!;
  assert.is(e2.problem, 'btf');
  assert.match(e2.message, /\.maps.*\.BTF cannot be read \(not BTF data/);
});


// ---- CO-RE ---------------------------------------------------------------------------------------

const CORE_OBJECTS = corpusObjects().filter((e) => e.object.startsWith('bcc.') || e.object.startsWith('libbpf-bootstrap.'));

test('CO-RE against the object\'s own BTF changes nothing (every relocation matched to itself)', () => {
  // Except flavoured types (task_struct___v2): they match the object's own unflavoured type, as in
  // a kernel, and may legitimately differ from it.
  let relos = 0;
  for (const e of CORE_OBJECTS) {
    const kept = readObject(e.path, { core: 'keep' });
    if (!kept.btf) continue;
    const applied = readObject(e.path, { core: 'apply', targetBtf: kept.btf });
    assert.equal(applied.failures.map((f) => f.error.message), kept.failures.map((f) => f.error.message), e.object);
    for (const p of kept.programs) {
      relos += p.core.length;
      const q = applied.programs.find((x) => x.spec.name === p.spec.name)!;
      // … and bitfields, whose loads the compiler may lay out differently from libbpf's rule.
      const bitfields = new Set(p.core.filter((c) => c.kind === 4 || c.kind === 5).map((c) => `${c.typeId}:${c.access}`));
      const flavoured = new Set(p.core.filter((c) => kept.btf!.name(kept.btf!.resolve(c.typeId)).includes('___') || bitfields.has(`${c.typeId}:${c.access}`)).map((c) => c.index));
      const same = (insns: typeof p.spec.insns) => insns.map((i, n) => (flavoured.has(n) ? null : i));
      assert.equal(same(q.spec.insns), same(p.spec.insns), `${e.object} ${p.spec.name}`);
    }
  }
  assert.ok(relos > 200, `relocations checked (${relos})`);
});

test('CO-RE against a BTF without the types: field accesses poisoned, existence checks answered 0', () => {
  const foreign = readObject(objectPath('cilium-ebpf.loader.o')).btf!;
  const o = readObject(objectPath('libbpf-bootstrap.bootstrap.o'), { core: 'apply', targetBtf: foreign });
  assert.ok(o.programs.length > 0);
  for (const p of o.programs) {
    for (const c of p.core) {
      const insn = p.spec.insns[c.index]!;
      if (c.kind === 0) assert.equal([insn.code, insn.imm], [CALL, 0xbad2310], `${p.spec.name} slot ${c.index} poisoned`);
    }
  }
});

toolTest(test, 'CO-RE against the running kernel: task_struct fields land where the kernel BTF says', [], () => {
  let vmlinux;
  try { vmlinux = Btf.vmlinux(); } catch { console.log('  [skip] no /sys/kernel/btf/vmlinux'); return; }
  const o = readObject(objectPath('libbpf-bootstrap.bootstrap.o'), { core: 'apply' });
  const exit = o.programs.find((p) => p.spec.name === 'handle_exit')!;
  const values = exit.core.filter((c) => c.kind === 0).map((c) => { const i = exit.spec.insns[c.index]!; return (i.code & 7) === 1 ? i.off : i.imm; });
  assert.ok(values.includes(vmlinux.memberOffset('task_struct', 'exit_code')), `exit_code offset among ${values}`);
  const exec = o.programs.find((p) => p.spec.name === 'handle_exec')!;
  const execValues = exec.core.filter((c) => c.kind === 0).map((c) => { const i = exec.spec.insns[c.index]!; return (i.code & 7) === 1 ? i.off : i.imm; });
  assert.ok(execValues.includes(vmlinux.memberOffset('task_struct', 'real_parent')), `real_parent offset among ${execValues}`);
});

test.run();
