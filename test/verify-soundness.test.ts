// Soundness probes: programs an earlier version of the verifier accepted and the kernel refuses. Each
// is refused by us with its reason AND loaded into the running kernel (never attached), which must
// refuse it too; the boundary case next to each limit is accepted by both.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  add64, and64, call, callLocal, exit, jeq, label, ldMapFd, ldx, mov64, program, st, type Item,
} from '../src/asm/index.js';
import { MapFlag, MapType, ProgType } from '../src/asm/abi.js';
import { R0, R1, R2, R3, R6, R7, R10 } from '../src/asm/opcodes.js';
import type { MapSpec, ProgramSpec, RawInsn } from '../src/asm/index.js';
import { verifyProgram } from '../src/verify/static/index.js';
import { kernelTest } from './_lib/privilege.js';
import { kernelVerdict } from './_lib/kernel-verdict.js';

const RAW_TP = ProgType.RAW_TRACEPOINT;
const prog = (name: string, items: Item[], maps: MapSpec[] = [], type: number = RAW_TP): ProgramSpec =>
  program({ name, type: type as typeof RAW_TP, items, maps, license: 'GPL' });

const ro: MapSpec = { name: 'ro', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: MapFlag.RDONLY_PROG };
const roArr: MapSpec = { name: 'roarr', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: MapFlag.RDONLY_PROG };

/** key (and value) 0 on the stack, r1 = map, r2 = &key. */
const keyed = (map: string): Item[] => [
  st.w(R10, -4, 0), st.dw(R10, -16, 0), ldMapFd(R1, map), mov64.reg(R2, R10), add64.imm(R2, -4),
];

/** n maps, each loaded once. */
function manyMaps(n: number): ProgramSpec {
  const maps: MapSpec[] = [];
  const items: Item[] = [];
  for (let i = 0; i < n; i++) {
    maps.push({ name: `m${i}`, type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    items.push(ldMapFd(R1, `m${i}`));
  }
  return prog(`maps${n}`, [...items, mov64.imm(R0, 0), exit()], maps);
}

/** main calling `n` subprograms in a row. */
function manySubprogs(n: number): ProgramSpec {
  const items: Item[] = [];
  for (let i = 0; i < n; i++) items.push(callLocal(`f${i}`));
  items.push(mov64.imm(R0, 0), exit());
  for (let i = 0; i < n; i++) items.push(label(`f${i}`), mov64.imm(R0, 0), exit());
  return prog(`subprogs${n}`, items);
}

/** n undecided branches on one path, each jumping to a common exit: n states pending at once. */
function pendingJumps(n: number): ProgramSpec {
  const items: Item[] = [call('bpf_get_prandom_u32')];
  for (let i = 0; i < n; i++) items.push(jeq.imm(R0, i + 1, 'out'));
  items.push(label('out'), mov64.imm(R0, 0), exit());
  return prog(`jumps${n}`, items);
}

const big: MapSpec = { name: 'big', type: MapType.ARRAY, keySize: 4, valueSize: 65544, maxEntries: 1 };

/**
 * 16 diamonds, each adding bit i to r7 or not. `precise`: r7 then offsets a map value pointer,
 * which makes the kernel track it exactly, so no two of the 2^16 paths merge (over 1 M instructions):
 * the kernel refuses it. Without that use r7 is dead, paths merge, and the kernel accepts.
 */
function diamonds(precise: boolean): ProgramSpec {
  const items: Item[] = [call('bpf_get_prandom_u32'), mov64.reg(R6, R0), mov64.imm(R7, 0)];
  for (let i = 0; i < 16; i++) {
    items.push(mov64.reg(R1, R6), and64.imm(R1, 1 << i), jeq.imm(R1, 0, `d${i}`), add64.imm(R7, 1 << i), label(`d${i}`));
  }
  if (precise) {
    // (four more instructions per path take the kernel from ~850 000 processed to over its 1 000 000)
    items.push(mov64.imm(R3, 0), mov64.imm(R3, 1), mov64.imm(R3, 2), mov64.imm(R3, 3));
    items.push(...keyed('big'), call('bpf_map_lookup_elem'), jeq.imm(R0, 0, 'out'), add64.reg(R0, R7), st.b(R0, 0, 1));
  }
  items.push(label('out'), mov64.imm(R0, 0), exit());
  return prog(precise ? 'diamonds16' : 'diamonds16_dead', items, precise ? [big] : []);
}

/** map ld_imm64 with `second` as its second slot's imm (kind fd or value). */
function secondSlot(kind: 'fd' | 'value', second: number): ProgramSpec {
  const m: MapSpec = { name: 'one', type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 1 };
  const insns: RawInsn[] = [
    { code: 0x18, dst: 1, src: kind === 'fd' ? 1 : 2, off: 0, imm: 0 }, { code: 0, dst: 0, src: 0, off: 0, imm: second },
    { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  return { name: `second_${kind}_${second}`, type: RAW_TP, insns, mapRefs: [{ index: 0, map: 'one', kind }], maps: [m], license: 'GPL' };
}

interface Probe { spec: ProgramSpec; ours: RegExp | 'accept'; kernel: 'accept' | 'reject' }

const PROBES: Probe[] = [
  { spec: prog('update_rdonly', [...keyed('ro'), mov64.reg(R3, R10), add64.imm(R3, -16), mov64.imm(4, 0), call('bpf_map_update_elem'), mov64.imm(R0, 0), exit()], [ro]),
    ours: /bpf_map_update_elem writes map 'ro', which is read-only for programs/, kernel: 'reject' },
  { spec: prog('delete_rdonly', [...keyed('ro'), call('bpf_map_delete_elem'), mov64.imm(R0, 0), exit()], [ro]),
    ours: /bpf_map_delete_elem writes map 'ro'/, kernel: 'reject' },
  { spec: prog('lookup_rdonly', [...keyed('ro'), call('bpf_map_lookup_elem'), mov64.imm(R0, 0), exit()], [ro]), ours: 'accept', kernel: 'accept' },
  { spec: prog('store_rdonly_value', [...keyed('roarr'), call('bpf_map_lookup_elem'), jeq.imm(R0, 0, 'out'), st.dw(R0, 0, 1), label('out'), mov64.imm(R0, 0), exit()], [roArr]),
    ours: /read-only for programs/, kernel: 'reject' },
  { spec: prog('read_rdonly_value', [...keyed('roarr'), call('bpf_map_lookup_elem'), jeq.imm(R0, 0, 'out'), ldx.dw(R1, R0, 0), label('out'), mov64.imm(R0, 0), exit()], [roArr]),
    ours: 'accept', kernel: 'accept' },
  { spec: manyMaps(65), ours: /uses 65 maps; the kernel allows at most 64/, kernel: 'reject' },
  { spec: manyMaps(64), ours: 'accept', kernel: 'accept' },
  { spec: manySubprogs(256), ours: /257 subprograms .*at most 256/, kernel: 'reject' },
  { spec: manySubprogs(255), ours: 'accept', kernel: 'accept' },
  { spec: pendingJumps(8193), ours: /8193 undecided branches pending/, kernel: 'reject' },
  { spec: diamonds(true), ours: /too complex for this verifier to prove/, kernel: 'reject' },
  { spec: diamonds(false), ours: 'accept', kernel: 'accept' },
  { spec: secondSlot('fd', 5), ours: /map fd load with imm 5 in its second slot/, kernel: 'reject' },
  { spec: secondSlot('value', 4096), ours: /offset 4096 does not qualify/, kernel: 'reject' },
  { spec: secondSlot('value', 8), ours: 'accept', kernel: 'accept' },
];

const t = suite('verifier soundness probes');

for (const p of PROBES) {
  t(`ours: ${p.spec.name}`, () => {
    const r = verifyProgram(p.spec);
    if (p.ours === 'accept') assert.ok(r.ok, r.format());
    else {
      assert.not.ok(r.ok, `${p.spec.name} must be refused`);
      assert.ok(r.errors.some((e) => (p.ours as RegExp).test(e.message)), `expected ${p.ours} in:\n${r.format()}`);
    }
  });
}

kernelTest(t, 'the kernel agrees with every probe (loaded, never attached)', () => {
  const wrong: string[] = [];
  for (const p of PROBES) {
    const k = kernelVerdict(p.spec);
    if (k.verdict !== p.kernel) wrong.push(`${p.spec.name}: expected the kernel to ${p.kernel}, it says ${k.verdict} ${k.why}`);
    // the one thing we never do: accept what the kernel refuses
    if (verifyProgram(p.spec).ok && k.verdict !== 'accept') wrong.push(`${p.spec.name}: we accept, the kernel refuses: ${k.why}`);
  }
  assert.equal(wrong, []);
});

t.run();
