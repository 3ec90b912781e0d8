// The shared encoding validator and walk (src/asm): unit cases, and every opcode with field variants
// loaded into the running kernel, which must refuse exactly what the validator refuses.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RawInsn } from '../src/asm/encoding.js';
import { encodeRaw } from '../src/asm/encoding.js';
import { validateEncoding } from '../src/asm/validate.js';
import { mapLoads, walk } from '../src/asm/walk.js';
import { ProgType, MapType, isPerCpuMapType, errnoName, progTypeByName, progTypeName } from '../src/asm/abi.js';
import { buildCfg } from '../src/verify/static/cfg.js';
import { analyse, CompileError } from '../src/vm/cfg.js';
import { kernelTest } from './_lib/privilege.js';
import * as bpf from '../src/loader/bpf.js';

const S = (code: number, dst = 0, src = 0, off = 0, imm = 0): RawInsn => ({ code, dst, src, off, imm });
const EXIT = S(0x95);
const MOV0 = S(0xb7);

const t = suite('asm: encoding validator and walk');

t('refuses the encodings the kernel refuses, naming the instruction', () => {
  const cases: Array<[RawInsn, RegExp]> = [
    [S(0x95, 0, 0, 0, 1), /exit uses reserved fields/],
    [S(0x05, 0, 3, 0, 0), /goto uses reserved fields/],
    [S(0x07, 1, 0, 1, 1), /ALU instruction uses a reserved field/],
    [S(0x0f, 1, 2, 0, 7), /non-zero imm/],
    [S(0x61, 0, 1, 0, 1), /LDX uses reserved fields/],
    [S(0x62, 10, 1, -8, 0), /store of an immediate uses a reserved field/],
    [S(0x63, 10, 1, -8, 1), /store uses a reserved field/],
    [S(0x0e), /unknown opcode 0x0e/],
    [S(0x8d, 0, 1), /unknown opcode 0x8d/],
    [S(0xed), /unknown opcode 0xed/],
    [S(0xbf, 11, 1), /r11 is not a register/],
  ];
  for (const [insn, re] of cases) {
    const issues = validateEncoding([MOV0, insn, EXIT]);
    assert.is(issues.length, 1, JSON.stringify(insn));
    assert.is(issues[0]!.index, 1);
    assert.match(issues[0]!.message, re);
  }
  assert.match(validateEncoding([S(0x18, 1, 0, 1, 0), S(0), EXIT])[0]!.message, /ld_imm64 uses a reserved field/);
  assert.match(validateEncoding([S(0x18, 1, 1, 0, 3), S(0, 0, 0, 0, 5), EXIT])[0]!.message, /map fd load with imm 5/);
  assert.match(validateEncoding([S(0x18, 1, 0, 0, 0), S(0, 0, 1, 0, 0), EXIT])[0]!.message, /second slot uses reserved fields/);
  assert.equal(validateEncoding([MOV0, S(0x18, 1, 2, 0, 3), S(0, 0, 0, 0, 4096), EXIT]), []);
});

t('walk: ld_imm64 with PSEUDO_FUNC starts a subprogram for the verifier and the engine alike', () => {
  // r1 = func@4; r0 = 0; exit | 4: r0 = 1; exit
  const insns = [S(0x18, 1, 4, 0, 3), S(0), MOV0, EXIT, S(0xb7, 0, 0, 0, 1), EXIT];
  assert.equal(walk(insns).subprogStarts, [0, 4]);
  assert.equal(buildCfg(insns).subprogStarts, [0, 4]);
  assert.equal(analyse(insns).subprogs.map((s) => s.start), [0, 4]);
  // a jump from main into it leaves the subprogram: both refuse
  const jumpIn = [S(0x18, 1, 4, 0, 4), S(0), S(0x15, 1, 0, 2, 0), MOV0, EXIT, S(0xb7, 0, 0, 0, 1), EXIT];
  assert.match(walk(jumpIn).issues[0]!.message, /leaves the subprogram/);
  assert.throws(() => analyse(jumpIn), (e: unknown) => e instanceof CompileError && /leaves the subprogram/.test((e as Error).message));
});

t('the engine refuses invalid encodings before compiling', () => {
  assert.throws(() => analyse([MOV0, S(0x95, 0, 0, 0, 1)]), (e: unknown) => e instanceof CompileError && /insn 1: exit uses reserved fields/.test((e as Error).message));
});

t('mapLoads: the instruction decides kind and offset; references name the map', () => {
  const maps = [{ name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }];
  const insns = [S(0x18, 1, 2, 0, 0), S(0, 0, 0, 0, 4), S(0x18, 2, 0, 0, 0), S(0), EXIT];
  const r = mapLoads({ insns, maps, mapRefs: [{ index: 0, map: 'a', kind: 'value', offset: 4 }, { index: 2, map: 'a', kind: 'fd' }] });
  assert.equal(r.issues, []);
  assert.equal(r.loads.map((l) => [l.index, l.kind, l.offset, l.map]), [[0, 'value', 4, 0], [2, 'fd', 0, 0]]);
  assert.is(r.insns[2]!.src, 1, 'a reference on a plain ld_imm64 makes it a map load');
  assert.is(insns[2]!.src, 0, 'the spec is not modified');
  const bad = mapLoads({ insns: [S(0x18, 1, 1, 0, 0), S(0, 0, 0, 0, 5), EXIT], maps, mapRefs: [{ index: 0, map: 'a', kind: 'fd' }] });
  assert.equal(bad.issues.map((i) => i.kind), ['second_slot']);
  const mism = mapLoads({ insns, maps, mapRefs: [{ index: 0, map: 'a', kind: 'value', offset: 0 }] });
  assert.equal(mism.issues.map((i) => i.kind), ['offset_mismatch']);
});

t('kernel ABI tables', () => {
  assert.is(progTypeName(ProgType.SCHED_CLS), 'sched_cls');
  assert.is(progTypeByName('BPF_PROG_TYPE_XDP'), ProgType.XDP);
  assert.is(progTypeByName('nonsense'), undefined);
  // bpf_map_value_size(): exactly these four are per-CPU (15 is SOCKMAP)
  assert.equal([...Array(34).keys()].filter(isPerCpuMapType), [5, 6, 10, 21]);
  assert.is(errnoName(7), 'E2BIG');
  assert.is(errnoName(524), 'ENOTSUPP');
});

t.run();

const k = suite('asm: encoding validator vs the kernel');

// The kernel's messages for encodings it refuses whatever the program around them.
const ENCODING = /unknown opcode|reserved field|invalid BPF_|R\d+ is invalid|frame pointer is read only|div by zero|invalid shift|invalid atomic|ld_imm64|LD_IMM|may_goto|jump out of range|last insn/i;

kernelTest(k, 'every opcode with field variants: the kernel refuses what the validator refuses, and only that', () => {
  // socket filter: ld_abs allowed; r6 = ctx; every other register a stack pointer to initialised bytes
  const pre = [S(0xbf, 6, 1), S(0x7a, 10, 0, -8, 0), S(0x7a, 10, 0, -16, 0)];
  for (const r of [0, 1, 2, 3, 4, 5, 7, 8, 9]) pre.push(S(0xbf, r, 10), S(0x07, r, 0, 0, -16));
  const post = [MOV0, EXIT];
  const overStrict: string[] = [];
  const missed: string[] = [];
  let loads = 0;
  for (let code = 0; code < 256; code++) {
    const b = { dst: 1, src: 2, off: 0, imm: 0 };
    const variants = [b, { ...b, src: 0 }, { ...b, src: 0, imm: 1 }, { ...b, dst: 0, src: 0 }, { ...b, dst: 0, src: 0, off: 1 }];
    for (const dst of [0, 10, 11]) variants.push({ ...b, dst });
    for (const src of [0, 1, 3, 4, 11]) variants.push({ ...b, src });
    for (const off of [1, 8, 16, 32, -1]) variants.push({ ...b, off });
    for (const imm of [1, 16, 32, 64, -1, 0xe1, 0xf1, 0x100, 0x110]) variants.push({ ...b, imm });
    for (const v of variants) {
      const insn = S(code, v.dst, v.src, v.off, v.imm);
      const body = code === 0x18 ? [insn, S(0, 0, 0, 0, v.imm === -1 ? 5 : 0)] : [insn];
      const insns = [...pre, ...body, ...post];
      const ours = [...validateEncoding(insns), ...walk(insns).issues];
      let why = '';
      try {
        bpf.closeFd(bpf.progLoad({ type: ProgType.SOCKET_FILTER, insns: encodeRaw(insns), license: 'GPL', name: 'dp_validate', logLevel: 1 }));
      } catch (e) {
        why = (e as Error).message.trim().split('\n').filter((l) => !/^(processed|\d+:|from |;)/.test(l.trim())).pop() ?? 'refused';
      }
      loads++;
      const tag = `${code.toString(16).padStart(2, '0')} dst=${v.dst} src=${v.src} off=${v.off} imm=${v.imm}`;
      if (ours.length && !why) overStrict.push(`${tag}: we say ${ours[0]!.message}`);
      if (!ours.length && ENCODING.test(why)) missed.push(`${tag}: kernel says ${why}`);
    }
  }
  console.log(`  ${loads} single-instruction programs loaded`);
  assert.equal(overStrict, [], 'the validator refuses only what the kernel refuses');
  assert.equal(missed, [], 'every encoding the kernel refuses, the validator refuses');
});

k.run();
