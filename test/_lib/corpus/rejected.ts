// Programs our verifier rejects, at least one per rule. `kernel` records what the kernel does with
// them as root; 'accept' there marks a place where we are deliberately stricter than the kernel.
import {
  add64, and64, atomic, call, callLocal, div64, exit, ja, jeq, jeq32, jgt, jlt, jne, label, ldImm64Pseudo, ldMapFd,
  ldx, lsh64, mov64, st, stx,
} from '../../../src/asm/index.js';
import { Class, JmpOp, LD_IMM64, MapType, ProgType, R0, R1, R2, R3, R4, R6, R7, R10 } from '../../../src/asm/opcodes.js';
import { MAPS, RAW_TP, dsl, raw, slot, type CorpusEntry } from './common.js';

type K = CorpusEntry['kernel'];
const no = (name: string, reason: RegExp, kernel: K, spec: CorpusEntry['spec']): CorpusEntry => ({ name, spec, ours: 'reject', reason, kernel });

const EXIT = slot(Class.JMP | JmpOp.EXIT);
const MOV0 = slot(Class.ALU64 | 0xb0, 0, 0, 0, 0);

/** `depth` nested subprogram calls, each frame using 8 bytes of stack. */
function callChain(depth: number) {
  const items = [];
  for (let i = 0; i < depth; i++) items.push(label(`f${i}`), st.dw(R10, -8, i), callLocal(`f${i + 1}`), exit());
  items.push(label(`f${depth}`), mov64.imm(R0, 0), exit());
  items.shift(); // main has no label
  return items;
}

export const REJECTED: CorpusEntry[] = [
  // control flow
  no('infinite_loop', /insn 1 .*infinite loop/, 'reject', dsl('infinite_loop', RAW_TP, [mov64.imm(R0, 0), label('l'), jeq.imm(R0, 0, 'l'), exit()])),
  no('goto_self', /unreachable/, 'reject', dsl('goto_self', RAW_TP, [mov64.imm(R0, 0), label('l'), ja('l'), exit()])),
  no('unreachable', /insn 2 .*unreachable/, 'reject', dsl('unreachable', RAW_TP, [mov64.imm(R0, 0), exit(), mov64.imm(R0, 1), exit()])),
  no('jump_out_of_range', /jump to insn 101 is out of range/, 'reject', raw('jump_out_of_range', RAW_TP, [
    MOV0, slot(Class.JMP | JmpOp.JEQ, 0, 0, 99, 0), EXIT,
  ])),
  no('jump_into_ld_imm64', /middle of the ld_imm64 at insn 1/, 'reject', raw('jump_into_ld_imm64', RAW_TP, [
    slot(Class.JMP | JmpOp.JEQ, 1, 0, 1, 0), slot(LD_IMM64, 0, 0, 0, 1), slot(0, 0, 0, 0, 0), EXIT,
  ])),
  no('falls_off_end', /falls off the end/, 'reject', raw('falls_off_end', RAW_TP, [MOV0])),
  no('recursion', /recursive call/, 'reject', dsl('recursion', RAW_TP, [callLocal('f'), exit(), label('f'), callLocal('f'), exit()])),
  no('call_chain_9_frames', /9 frames deep; at most 8/, 'reject', dsl('call_chain_9_frames', RAW_TP, callChain(8))),
  no('combined_stack', /combined stack .* is 544 bytes/, 'accept', dsl('combined_stack', RAW_TP, [
    st.dw(R10, -512, 0), callLocal('f'), exit(),
    label('f'), st.dw(R10, -8, 0), mov64.imm(R0, 0), exit(),
  ])),

  // the kernel checks encodings of dead code too, so we must not skip them with the dead branch
  no('dead_branch_bad_encoding', /insn 3 .*LDX uses reserved fields/, 'reject', raw('dead_branch_bad_encoding', RAW_TP, [
    slot(Class.ALU64 | 0xb0, 1, 0, 0, 5), slot(Class.JMP | JmpOp.JEQ, 1, 0, 2, 5),
    MOV0, slot(Class.LDX | 0x60 | 0x18, 0, 10, -8, 1), EXIT,
  ])),
  no('subprog_reserve_leak', /reserved at insn 7 is neither submitted nor discarded/, 'reject', dsl('subprog_reserve_leak', RAW_TP, [
    callLocal('f'), mov64.imm(R0, 0), exit(),
    label('f'), ldMapFd(R1, 'rb'), mov64.imm(R2, 8), mov64.imm(R3, 0), call('ringbuf_reserve'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.rb] })),

  // registers
  no('uninit_register', /insn 0 \(r0 = r2\): r2 is read before it is ever written/, 'reject', dsl('uninit_register', RAW_TP, [mov64.reg(R0, R2), exit()])),
  no('exit_without_r0', /r0 is not set before exit/, 'reject', dsl('exit_without_r0', RAW_TP, [exit()])),
  no('exit_with_pointer', /r0 at exit is a stack pointer/, 'accept', dsl('exit_with_pointer', RAW_TP, [mov64.reg(R0, R10), exit()])),
  no('subprog_returns_stack_ptr', /a subprogram must return a number/, 'reject', dsl('subprog_returns_stack_ptr', RAW_TP, [
    callLocal('f'), mov64.imm(R0, 0), exit(), label('f'), mov64.reg(R0, R10), exit(),
  ])),
  no('write_r10', /r10 is the read-only frame pointer/, 'reject', raw('write_r10', RAW_TP, [slot(Class.ALU64 | 0xb0, 10, 0, 0, 0), MOV0, EXIT])),
  no('clobbered_after_call', /r1 is read before it is ever written/, 'reject', dsl('clobbered_after_call', RAW_TP, [
    call('ktime_get_ns'), mov64.reg(R0, R1), exit(),
  ])),
  no('div_by_zero_const', /division by the constant zero/, 'reject', dsl('div_by_zero_const', RAW_TP, [mov64.imm(R0, 1), div64.imm(R0, 0), exit()])),
  no('shift_out_of_range', /shift by 64 is out of range/, 'reject', dsl('shift_out_of_range', RAW_TP, [mov64.imm(R0, 1), lsh64.imm(R0, 64), exit()])),

  // stack
  no('stack_below_frame', /outside the 512-byte frame/, 'reject', dsl('stack_below_frame', RAW_TP, [st.dw(R10, -520, 0), mov64.imm(R0, 0), exit()])),
  no('stack_above_fp', /outside the 512-byte frame/, 'reject', dsl('stack_above_fp', RAW_TP, [st.dw(R10, 0, 0), mov64.imm(R0, 0), exit()])),
  no('stack_misaligned', /not aligned to its 4-byte size/, 'reject', dsl('stack_misaligned', RAW_TP, [st.w(R10, -6, 0), mov64.imm(R0, 0), exit()])),
  no('stack_uninit_read', /stack byte r10-8 is read before it is ever written/, 'accept', dsl('stack_uninit_read', RAW_TP, [ldx.dw(R0, R10, -8), exit()])),
  no('stack_partial_init_read', /stack byte r10-4 is read before/, 'accept', dsl('stack_partial_init_read', RAW_TP, [st.w(R10, -8, 0), ldx.dw(R0, R10, -8), exit()])),
  no('pointer_spill_narrow', /8-byte store, not 4 bytes/, 'reject', dsl('pointer_spill_narrow', RAW_TP, [stx.w(R10, -8, R10), mov64.imm(R0, 0), exit()])),

  // pointers
  no('no_null_check', /insn 6 \(r0 = \*\(u64 \*\)\(r0 \+0\)\): r0 may be NULL/, 'reject', dsl('no_null_check', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'counts'), call('map_lookup_elem'),
    ldx.dw(R0, R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('null_branch_deref', /r0 is the number 0, not a pointer/, 'reject', dsl('null_branch_deref', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'counts'), call('map_lookup_elem'),
    jne.imm(R0, 0, 'ok'), ldx.dw(R0, R0, 0), exit(), label('ok'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('null_check_jmp32', /pointer comparison/, 'reject', dsl('null_check_jmp32', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'counts'), call('map_lookup_elem'),
    jeq32.imm(R0, 0, 'out'), ldx.dw(R0, R0, 0), label('out'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('map_value_oob', /8-byte access at offset 8 is outside the value of map 'counts'/, 'reject', dsl('map_value_oob', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'counts'), call('map_lookup_elem'),
    jeq.imm(R0, 0, 'out'), ldx.dw(R0, R0, 8), label('out'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('map_value_oob_after_add', /offset 16 is outside the value/, 'reject', dsl('map_value_oob_after_add', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'counts'), call('map_lookup_elem'),
    jeq.imm(R0, 0, 'out'), add64.imm(R0, 16), st.dw(R0, 0, 1), label('out'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('null_ptr_arith', /arithmetic on r0, which may be NULL/, 'reject', dsl('null_ptr_arith', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'counts'), call('map_lookup_elem'),
    add64.imm(R0, 8), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('map_ptr_arith', /arithmetic on a map pointer/, 'reject', dsl('map_ptr_arith', RAW_TP, [
    ldMapFd(R1, 'counts'), add64.imm(R1, 8), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('variable_stack_offset', /stack pointer moved by a variable amount are not supported/, 'accept', dsl('variable_stack_offset', RAW_TP, [
    st.dw(R10, -16, 0), st.dw(R10, -8, 0),
    call('get_prandom_u32'), mov64.reg(R1, R0), and64.imm(R1, 7),
    mov64.reg(R2, R10), add64.imm(R2, -16), add64.reg(R2, R1), ldx.b(R0, R2, 0), exit(),
  ])),
  no('pointer_into_map', /storing a pointer .* into map/, 'accept', dsl('pointer_into_map', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'arr'), call('map_lookup_elem'),
    jeq.imm(R0, 0, 'out'), stx.dw(R0, 0, R10), label('out'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.arr] })),
  no('pointer_compare', /pointer comparison: r10 is a stack pointer/, 'accept', dsl('pointer_compare', RAW_TP, [
    mov64.imm(R0, 0), jeq.imm(R10, 5, 'out'), mov64.imm(R0, 1), label('out'), exit(),
  ])),

  // context
  no('ctx_write', /raw_tracepoint context is read-only/, 'reject', dsl('ctx_write', RAW_TP, [st.dw(R1, 0, 0), mov64.imm(R0, 0), exit()])),
  no('ctx_beyond_args', /outside the 2 u64 arguments/, 'accept', dsl('ctx_beyond_args', RAW_TP, [ldx.dw(R0, R1, 16), exit()], { ctxSize: 16 })),
  no('ctx_beyond_12_args', /outside the 12 u64 arguments/, 'reject', dsl('ctx_beyond_12_args', RAW_TP, [ldx.dw(R0, R1, 96), exit()])),
  no('ctx_narrow_raw_tp', /reads must be 64-bit/, 'accept', dsl('ctx_narrow_raw_tp', RAW_TP, [ldx.w(R0, R1, 0), exit()])),
  no('tracepoint_hidden_bytes', /outside the tracepoint record/, 'reject', dsl('tracepoint_hidden_bytes', ProgType.TRACEPOINT, [ldx.dw(R0, R1, 0), exit()])),
  no('modified_ctx_deref', /context pointer moved by 8 bytes/, 'reject', dsl('modified_ctx_deref', RAW_TP, [add64.imm(R1, 8), ldx.dw(R0, R1, 0), exit()])),
  no('socket_ctx_write', /socket_filter context is read-only/, 'reject', dsl('socket_ctx_write', ProgType.SOCKET_FILTER, [st.w(R1, 8, 0), mov64.imm(R0, 0), exit()])),
  no('xdp_unchecked_packet_read', /not proven to be inside the packet: only 0 bytes were checked against data_end/, 'reject', dsl('xdp_unchecked_packet_read', ProgType.XDP, [
    ldx.w(R2, R1, 0), ldx.b(R0, R2, 0), mov64.imm(R0, 2), exit(),
  ])),
  no('tail_call_r0_read', /r0 is not set before exit/, 'reject', dsl('tail_call_r0_read', RAW_TP, [
    ldMapFd(R2, 'progs'), mov64.imm(R3, 0), call('bpf_tail_call'), exit(),
  ], { maps: [{ name: 'progs', type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 }] })),
  no('cgroup_skb_packet_write', /the packet is read-only for cgroup_skb programs/, 'reject', dsl('cgroup_skb_packet_write', ProgType.CGROUP_SKB, [
    ldx.w(R2, R1, 76), ldx.w(R3, R1, 80), mov64.reg(R4, R2), add64.imm(R4, 1), mov64.imm(R0, 1), jgt.reg(R4, R3, 'out'),
    st.b(R2, 0, 1), label('out'), exit(),
  ])),
  no('packet_after_adjust_head', /r6 is a number, not a pointer/, 'reject', dsl('packet_after_adjust_head', ProgType.XDP, [
    mov64.reg(R7, R1), ldx.w(R6, R1, 0), ldx.w(R3, R1, 4), mov64.reg(R4, R6), add64.imm(R4, 1), mov64.imm(R0, 1), jgt.reg(R4, R3, 'out'),
    mov64.reg(R1, R7), mov64.imm(R2, 0), call('bpf_xdp_adjust_head'), ldx.b(R0, R6, 0), mov64.imm(R0, 2), label('out'), exit(),
  ])),
  no('unbounded_loop', /too complex|infinite loop/, 'reject', dsl('unbounded_loop', RAW_TP, [
    ldx.dw(R2, R1, 0), mov64.imm(R0, 0), label('top'), add64.imm(R0, 1), jne.reg(R0, R2, 'top'), exit(),
  ], { ctxSize: 8 })),

  // helpers
  no('helper_not_for_type', /bpf_skb_load_bytes is not allowed in raw_tracepoint programs/, 'reject', dsl('helper_not_for_type', RAW_TP, [
    mov64.imm(R2, 0), mov64.reg(R3, R10), add64.imm(R3, -8), mov64.imm(R4, 8), call('skb_load_bytes'), mov64.imm(R0, 0), exit(),
  ])),
  no('pid_in_socket_filter', /bpf_get_current_pid_tgid is not allowed in socket_filter/, 'accept', dsl('pid_in_socket_filter', ProgType.SOCKET_FILTER, [
    call('get_current_pid_tgid'), mov64.imm(R0, 0), exit(),
  ])),
  no('map_arg_not_map', /argument 1 of bpf_map_lookup_elem \(r1\) must be a map/, 'reject', dsl('map_arg_not_map', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), mov64.imm(R1, 0), call('map_lookup_elem'), mov64.imm(R0, 0), exit(),
  ])),
  no('key_uninit', /4-byte key of map 'counts'\): stack byte r10-4 is read before/, 'accept', dsl('key_uninit', RAW_TP, [
    mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'counts'), call('map_lookup_elem'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('key_not_pointer', /must point to stack, map value or ring buffer memory, but it is the number 0/, 'reject', dsl('key_not_pointer', RAW_TP, [
    mov64.imm(R2, 0), ldMapFd(R1, 'counts'), call('map_lookup_elem'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('key_past_frame', /outside the 512-byte frame/, 'reject', dsl('key_past_frame', RAW_TP, [
    st.h(R10, -2, 0), mov64.reg(R2, R10), add64.imm(R2, -2), ldMapFd(R1, 'counts'), call('map_lookup_elem'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('update_value_uninit', /8-byte value of map 'counts'\): stack byte r10-16 is read before/, 'accept', dsl('update_value_uninit', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), mov64.reg(R3, R10), add64.imm(R3, -16),
    ldMapFd(R1, 'counts'), mov64.imm(R4, 0), call('map_update_elem'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),
  no('probe_read_size_unknown', /the size \(r2\) must be a constant or a number with a known upper bound/, 'reject', dsl('probe_read_size_unknown', ProgType.KPROBE, [
    call('ktime_get_ns'), mov64.reg(R2, R0), mov64.reg(R1, R10), add64.imm(R1, -8), mov64.imm(R3, 0), call('probe_read_kernel'), mov64.imm(R0, 0), exit(),
  ])),
  no('probe_read_too_big', /outside the 512-byte frame/, 'reject', dsl('probe_read_too_big', ProgType.KPROBE, [
    mov64.reg(R1, R10), add64.imm(R1, -8), mov64.imm(R2, 16), mov64.imm(R3, 0), call('probe_read_kernel'), mov64.imm(R0, 0), exit(),
  ])),
  no('lookup_on_ringbuf', /cannot be used with map 'rb' of type ringbuf/, 'reject', dsl('lookup_on_ringbuf', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'rb'), call('map_lookup_elem'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.rb] })),
  no('gpl_only_helper', /GPL-only, but the program's license is 'Proprietary'/, 'reject', dsl('gpl_only_helper', ProgType.KPROBE, [
    mov64.reg(R1, R10), add64.imm(R1, -8), mov64.imm(R2, 8), mov64.imm(R3, 0), call('probe_read_kernel'), mov64.imm(R0, 0), exit(),
  ], { license: 'Proprietary' })),
  no('printk_fmt_uninit', /argument 1 of bpf_trace_printk \(r1, 4 bytes\): stack byte r10-4 is read before/, 'accept', dsl('printk_fmt_uninit', RAW_TP, [
    mov64.reg(R1, R10), add64.imm(R1, -4), mov64.imm(R2, 4), call('trace_printk'), mov64.imm(R0, 0), exit(),
  ])),
  no('ringbuf_leak', /reserved at insn 4 is neither submitted nor discarded/, 'reject', dsl('ringbuf_leak', RAW_TP, [
    ldMapFd(R1, 'rb'), mov64.imm(R2, 8), mov64.imm(R3, 0), call('ringbuf_reserve'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.rb] })),
  no('ringbuf_submit_unchecked', /must be an unmodified, null-checked record/, 'reject', dsl('ringbuf_submit_unchecked', RAW_TP, [
    ldMapFd(R1, 'rb'), mov64.imm(R2, 8), mov64.imm(R3, 0), call('ringbuf_reserve'),
    mov64.reg(R1, R0), mov64.imm(R2, 0), call('ringbuf_submit'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.rb] })),
  no('ringbuf_use_after_submit', /r6 is a number, not a pointer/, 'reject', dsl('ringbuf_use_after_submit', RAW_TP, [
    ldMapFd(R1, 'rb'), mov64.imm(R2, 8), mov64.imm(R3, 0), call('ringbuf_reserve'),
    jeq.imm(R0, 0, 'out'), mov64.reg(R6, R0), mov64.reg(R1, R0), mov64.imm(R2, 0), call('ringbuf_submit'),
    st.dw(R6, 0, 1),
    label('out'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.rb] })),
  no('write_rdonly_map', /read-only for programs/, 'reject', dsl('write_rdonly_map', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'ro'), call('map_lookup_elem'),
    jeq.imm(R0, 0, 'out'), st.dw(R0, 0, 1), label('out'), mov64.imm(R0, 0), exit(),
  ], { maps: [{ ...MAPS.arr, name: 'ro', flags: 1 << 7 }] })),
  no('atomic_on_ctx', /atomic operations on the raw_tracepoint context/, 'reject', dsl('atomic_on_ctx', RAW_TP, [
    mov64.imm(R2, 1), atomic.add.dw(R1, 0, R2), mov64.imm(R0, 0), exit(),
  ])),

  // map references
  no('map_fd_without_ref', /no entry in spec.mapRefs/, 'reject', dsl('map_fd_without_ref', RAW_TP, [
    ldImm64Pseudo(R1, 1, 99999), mov64.imm(R0, 0), exit(),
  ])),
  no('map_ref_unknown_map', /refers to map 'ghost', which is not in spec.maps/, 'unloadable', raw('map_ref_unknown_map', RAW_TP, [
    slot(LD_IMM64, 1, 1, 0, 0), slot(0), MOV0, EXIT,
  ], { mapRefs: [{ index: 0, map: 'ghost', kind: 'fd' }] })),
];
