// The corpus of real objects against the kernel: each program our object loader builds is loaded
// for real (never attached) and the kernel's verdict recorded; objects' maps are created with their
// initial data and frozen .rodata, and the kernel reads them back as we wrote them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readObject } from '../src/object/index.js';
import { BpfMap, createObjectMaps, loadObject, loadObjectProgram, mapGetInfo } from '../src/loader/index.js';
import { measureCorpus } from './_lib/corpus-objects.js';
import { objectPath } from './_lib/objects.js';
import { kernelTest } from './_lib/privilege.js';

const test = suite('object-kernel');

kernelTest(test, 'every corpus program: built by us or a named failure, and the kernel verdict measured', () => {
  const measured = measureCorpus();
  const built = measured.filter((p) => p.spec);
  const accepted = built.filter((p) => p.kernel!.accepted);
  const byStage = (s: string) => built.filter((p) => !p.kernel!.accepted && p.kernel!.stage === s);
  console.log(`  corpus: ${measured.length} programs, ${built.length} built, kernel accepts ${accepted.length}, ` +
    `verifier refuses ${byStage('verifier').length}, bpf() refuses ${byStage('kernel').length}, not loadable by us ${byStage('ours').length}, ` +
    `not built ${measured.length - built.length}`);
  for (const p of [...byStage('verifier'), ...byStage('kernel'), ...byStage('ours')]) console.log(`    ${p.kernel!.stage} ${p.object} ${p.section} ${p.name}: ${p.kernel!.reason}`);
  for (const p of measured.filter((x) => !x.spec)) assert.ok(p.failure!.message.length > 10, `${p.object} ${p.name} names its reason`);
  // The corpus is mostly loadable: CO-RE tracing programs, XDP, tc, socket filters …
  assert.ok(accepted.length >= 90, `the kernel accepts most built programs (${accepted.length}/${built.length})`);
  assert.ok(accepted.some((p) => p.object.startsWith('bcc.')) && accepted.some((p) => p.object.startsWith('libbpf-bootstrap.')), 'CO-RE objects load');
  // A poisoned CO-RE access (cilium errors.o) is refused by the kernel, as libbpf's poisoning intends.
  const poisoned = measured.find((p) => p.object === 'cilium-ebpf.errors.o' && p.name === 'poisoned_single');
  assert.match(poisoned?.kernel?.reason ?? '', /invalid func unknown#195896080/);
  for (const p of built) assert.ok(p.kernel!.accepted || p.kernel!.reason, `${p.object} ${p.name}: a refusal has a reason`);
  // Nothing of ours stays loaded.
  const left = execFileSync('bpftool', ['prog', 'show'], { encoding: 'utf8' });
  for (const p of accepted.slice(0, 20)) assert.not.match(left, new RegExp(`name ${p.name.slice(0, 15)}\\b`), `${p.name} was closed`);
});

kernelTest(test, 'global data: .data written, .rodata frozen and read-only for programs, as the object says', () => {
  const obj = readObject(objectPath('cilium-ebpf.variables.o'));
  const loaded = loadObject(obj, { verify: false });
  try {
    for (const spec of obj.maps) {
      const map = loaded.maps.get(spec.name)! as BpfMap;
      const value = map.lookup(Buffer.alloc(4))!;
      if (spec.initial) assert.equal([...value], [...spec.initial], `${spec.name} holds the section's bytes`);
      else assert.ok(value.every((b) => b === 0), `${spec.name} starts zeroed`);
      const info = mapGetInfo(map.fd);
      assert.is(info.mapFlags, spec.flags ?? 0, `${spec.name} flags`);
      if (spec.freeze) assert.throws(() => map.update(Buffer.alloc(4), value), /EPERM/, `${spec.name} is frozen`);
    }
    assert.ok(loaded.programs.size >= 5, 'its programs load');
  } finally {
    loaded.close();
  }
});


kernelTest(test, 'callbacks: the program goes with its BTF and func_info; without them the kernel refuses', () => {
  const obj = readObject(objectPath('cilium-ebpf.subprog_reloc.o'));
  const p = obj.programs[0]!;
  assert.ok(p.spec.btf, 'BTF for the program');
  assert.equal(p.spec.btf.funcInfo.map((f) => f.insn), p.layout.map((l) => l.base), 'one func_info per function, at its linked start');
  const maps = createObjectMaps(p.spec.maps);
  try {
    loadObjectProgram(p.spec, maps, { verify: false }).close();
    assert.throws(() => loadObjectProgram(p.spec, maps, { verify: false, sendBtf: false }), /missing btf func_info/);
  } finally {
    for (const m of maps.values()) m.close();
  }
});

test.run();
