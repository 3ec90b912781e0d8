// Exact bytes for a handful of instructions, derived by hand from
// Documentation/bpf/standardization/instruction-set.rst (opcode = class | op | source, regs byte =
// src << 4 | dst, off s16 LE, imm s32 LE), plus the helper table's fixed ids.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as A from '../src/asm/index.js';

const bytes = (items: A.Item[]): string => A.encodeRaw(A.assemble(items).insns).toString('hex');
const hex = (s: string): string => s.replace(/\s+/g, '');

const enc = suite('asm encoding');

const cases: Array<[string, A.Item[], string]> = [
  // BPF_ALU64 (0x07) | BPF_MOV (0xb0) | BPF_K (0x00)
  ['mov64.imm r0, 0', [A.mov64.imm(A.R0, 0)], 'b7 00 0000 00000000'],
  // BPF_JMP (0x05) | BPF_EXIT (0x90)
  ['exit', [A.exit()], '95 00 0000 00000000'],
  // BPF_STX (0x03) | BPF_MEM (0x60) | BPF_DW (0x18); regs: src r1 in the high nibble, dst r10 low
  ['stx.dw r10-8 = r1', [A.stx.dw(A.FP, -8, A.R1)], '7b 1a f8ff 00000000'],
  // BPF_LDX (0x01) | BPF_MEMSX (0x80) | BPF_B (0x10)
  ['ldxs.b', [A.ldxs.b(A.R1, A.R2, 4)], '91 21 0400 00000000'],
  // BPF_ALU64 | BPF_DIV (0x30) | BPF_X (0x08), off = 1 for signed
  ['sdiv64.reg', [A.sdiv64.reg(A.R1, A.R2)], '3f 21 0100 00000000'],
  ['smod32.imm', [A.smod32.imm(A.R1, -3)], '94 01 0100 fdffffff'],
  // BPF_ALU64 | BPF_MOV | BPF_X, off = 16 for movsx
  ['movsx64.reg 16', [A.movsx64.reg(A.R1, A.R2, 16)], 'bf 21 1000 00000000'],
  // BPF_ALU64 | BPF_END (0xd0) | BPF_TO_LE (0): bswap, width in imm
  ['bswap32', [A.bswap(A.R3, 32)], 'd7 03 0000 20000000'],
  ['be16', [A.be(A.R3, 16)], 'dc 03 0000 10000000'],
  ['neg32', [A.neg32(A.R4)], '84 04 0000 00000000'],
  // BPF_JMP | BPF_JEQ (0x10) | BPF_K
  ['jeq.imm', [A.jeq.imm(A.R1, 0, 3)], '15 01 0300 00000000'],
  ['jslt32.reg', [A.jslt32.reg(A.R1, A.R2, -1)], 'ce 21 ffff 00000000'],
  // BPF_JMP32 (0x06) | BPF_JA: offset in imm
  ['ja32', [A.ja32(-2)], '06 00 0000 feffffff'],
  // BPF_JMP | BPF_JCOND (0xe0), src = BPF_MAY_GOTO (0)
  ['may_goto', [A.mayGoto(5)], 'e5 00 0500 00000000'],
  // BPF_JMP | BPF_CALL (0x80); BPF_FUNC_get_current_pid_tgid = 14
  ['call helper', [A.call('bpf_get_current_pid_tgid')], '85 00 0000 0e000000'],
  ['call local', [A.callLocal(2)], '85 10 0000 02000000'],
  // BPF_STX | BPF_ATOMIC (0xc0) | BPF_DW, imm = BPF_CMPXCHG (0xf0 | BPF_FETCH)
  ['cmpxchg', [A.atomic.cmpxchg.dw(A.R1, 0, A.R2)], 'db 21 0000 f1000000'],
  ['fetch_or w', [A.atomic.fetchOr.w(A.R1, 4, A.R2)], 'c3 21 0400 41000000'],
  ['load_acquire', [A.atomic.loadAcquire.dw(A.R0, A.R1, 8)], 'db 10 0800 00010000'],
  ['store_release u8', [A.atomic.storeRelease.b(A.R1, 0, A.R2)], 'd3 21 0000 10010000'],
  // BPF_LD | BPF_ABS (0x20) | BPF_H
  ['ldabs.h', [A.ldabs.h(12)], '28 00 0000 0c000000'],
  // BPF_LD (0x00) | BPF_IMM (0x00) | BPF_DW (0x18): two slots, low half first
  ['ld_imm64', [A.ldImm64(A.R1, 0x1122334455667788n)], '18 01 0000 88776655 00 00 0000 44332211'],
  ['ld_imm64 -1', [A.ldImm64(A.R2, -1)], '18 02 0000 ffffffff 00 00 0000 ffffffff'],
  // BPF_PSEUDO_MAP_FD = 1 in src; fd left 0 for the loader
  ['ldMapFd', [A.ldMapFd(A.R1, 'm')], '18 11 0000 00000000 00 00 0000 00000000'],
  // BPF_PSEUDO_MAP_VALUE = 2; the value offset goes in the second slot's imm
  ['ldMapValue', [A.ldMapValue(A.R1, 'm', 8)], '18 21 0000 00000000 00 00 0000 08000000'],
];

for (const [name, items, want] of cases) {
  enc(name, () => assert.is(bytes(items), hex(want)));
}

enc('u32 immediates are stored as their s32 bit pattern', () => {
  assert.is(bytes([A.mov32.imm(A.R1, 0xffffffff)]), hex('b4 01 0000 ffffffff'));
});

enc('helper ids from include/uapi/linux/bpf.h', () => {
  const fixed: Array<[string, number]> = [
    ['bpf_map_lookup_elem', 1], ['bpf_map_update_elem', 2], ['bpf_map_delete_elem', 3], ['bpf_probe_read', 4],
    ['bpf_ktime_get_ns', 5], ['bpf_trace_printk', 6], ['bpf_get_prandom_u32', 7], ['bpf_get_smp_processor_id', 8],
    ['bpf_tail_call', 12], ['bpf_get_current_pid_tgid', 14], ['bpf_get_current_uid_gid', 15], ['bpf_get_current_comm', 16],
    ['bpf_perf_event_output', 25], ['bpf_get_current_task', 35], ['bpf_probe_read_kernel', 113], ['bpf_ringbuf_output', 130],
    ['bpf_ringbuf_reserve', 131], ['bpf_get_current_task_btf', 158], ['bpf_loop', 181], ['bpf_cgrp_storage_delete', 211],
  ];
  for (const [name, id] of fixed) {
    assert.is(A.helperId(name), id, name);
    assert.is(A.helperId(name.slice(4)), id, `${name} without prefix`);
    assert.is(A.helperName(id), name);
  }
});

enc('helper table is a bijection over 1..211 and rejects unknowns by name', () => {
  const all = A.allHelpers();
  assert.ok(all.length >= 211);
  assert.is(new Set(all.map(([, n]) => n)).size, all.length, 'names are unique');
  all.forEach(([id, name], i) => {
    assert.is(id, i + 1);
    assert.is(A.helperId(name), id);
  });
  assert.is(A.helperName(0), undefined);
  assert.is(A.helperName(A.MAX_HELPER_ID + 1), undefined);
  assert.throws(() => A.helperId('bpf_no_such_helper'), /bpf_no_such_helper/);
  assert.throws(() => A.call('not_a_helper'), /not_a_helper/);
  assert.throws(() => A.helperId('unspec'), /unspec/);
});

enc('instructions are frozen values', () => {
  const i = A.add64.imm(A.R1, 1);
  assert.ok(Object.isFrozen(i));
  assert.throws(() => {
    (i as { imm: number }).imm = 2;
  });
  assert.is(i.imm, 1);
});

enc('DSL constructors reject bad registers and widths at the call site', () => {
  assert.throws(() => A.mov64.reg(A.R1, 11), /mov64\.reg: src register must be r0\.\.r10, got 11/);
  assert.throws(() => A.le(A.R1, 8 as 16), /le: width must be one of 16\|32\|64, got 8/);
  assert.throws(() => A.movsx32.reg(A.R1, A.R2, 32 as 16), /movsx32\.reg: width/);
  assert.throws(() => A.ldImm64(A.R1, 1.5), /ldImm64: value must be a bigint or a safe integer/);
});

enc.run();
