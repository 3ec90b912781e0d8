// Programs our verifier accepts; each must also load into the kernel.
import {
  add64, and64, arsh64, atomic, be, call, callLocal, div64, exit, ja, jeq, jeq32, jgt, jlt, jlt32, jne, label, ldabs, ldind,
  ldMapFd, ldMapValue, ldx, lsh64, mod64, mov32, mov64, mul64, neg64, st, stx, sub64,
} from '../../../src/asm/index.js';
import { ProgType, R0, R1, R2, R3, R4, R5, R6, R7, R10 } from '../../../src/asm/opcodes.js';
import { MAPS, RAW_TP, dsl, type CorpusEntry } from './common.js';

const ok = (name: string, spec: CorpusEntry['spec']): CorpusEntry => ({ name, spec, ours: 'accept', kernel: 'accept' });

export const ACCEPTED: CorpusEntry[] = [
  // xdp: data/data_end, a bounds check, then reads of the checked bytes (an Ethernet header)
  ok('xdp_data_pointer', dsl('xdp_data_pointer', ProgType.XDP, [
    ldx.w(R2, R1, 0), ldx.w(R3, R1, 4), mov64.reg(R4, R2), add64.imm(R4, 14), mov64.imm(R0, 1),
    jgt.reg(R4, R3, 'out'), ldx.h(R5, R2, 12), mov64.imm(R0, 2), label('out'), exit(),
  ])),
  // a loop whose exit is decided by a bound: n <= 15 from the mask, so `i < n` is false once i = 15
  ok('loop_bounded_by_range', dsl('loop_bounded_by_range', RAW_TP, [
    ldx.dw(R2, R1, 0), and64.imm(R2, 15), mov64.imm(R0, 0), label('top'), add64.imm(R0, 1), jlt.reg(R0, R2, 'top'), mov64.imm(R0, 0), exit(),
  ], { ctxSize: 8 })),
  // ld_abs in a socket filter: r6 is the skb
  ok('ld_abs_socket', dsl('ld_abs_socket', ProgType.SOCKET_FILTER, [mov64.reg(R6, R1), ldabs.b(12), ldind.h(R0, 0), exit()])),
  // a map value read at a variable offset the kernel (and we) can bound: 0..7 + 1 byte in 16
  ok('map_value_var_offset', dsl('map_value_var_offset', RAW_TP, [
    st.w(R10, -4, 0), ldMapFd(R1, 'single'), mov64.reg(R2, R10), add64.imm(R2, -4), call('bpf_map_lookup_elem'),
    jeq.imm(R0, 0, 'out'), mov64.reg(R6, R0), call('bpf_get_prandom_u32'), and64.imm(R0, 7), add64.reg(R6, R0),
    ldx.b(R1, R6, 8), label('out'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.single] })),
  // sched_cls may write the packet bytes it checked
  ok('sched_cls_packet_write', dsl('sched_cls_packet_write', ProgType.SCHED_CLS, [
    ldx.w(R2, R1, 76), ldx.w(R3, R1, 80), mov64.reg(R4, R2), add64.imm(R4, 1), jgt.reg(R4, R3, 'out'),
    st.b(R2, 0, 1), label('out'), mov64.imm(R0, 0), exit(),
  ])),
  // bounded loops: the walk runs every iteration (the counter is a known constant)
  ok('bounded_loop', dsl('bounded_loop', RAW_TP, [
    mov64.imm(R0, 0), label('top'), add64.imm(R0, 1), jlt.imm(R0, 10, 'top'), exit(),
  ])),

  ok('minimal', dsl('minimal', RAW_TP, [mov64.imm(R0, 0), exit()])),

  // The tracer's shape: count per syscall id, insert on first sight.
  ok('count_syscalls', dsl('count_syscalls', RAW_TP, [
    ldx.dw(R6, R1, 8), // args[1]: syscall id for sys_enter
    stx.w(R10, -4, R6),
    mov64.reg(R2, R10), add64.imm(R2, -4),
    ldMapFd(R1, 'counts'), call('map_lookup_elem'),
    jeq.imm(R0, 0, 'miss'),
    mov64.imm(R1, 1), atomic.add.dw(R0, 0, R1),
    ja('out'),
    label('miss'),
    st.dw(R10, -16, 1),
    mov64.reg(R2, R10), add64.imm(R2, -4),
    mov64.reg(R3, R10), add64.imm(R3, -16),
    ldMapFd(R1, 'counts'), mov64.imm(R4, 0), call('map_update_elem'),
    label('out'),
    mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts], ctxSize: 16 })),

  ok('raw_tp_args', dsl('raw_tp_args', RAW_TP, [
    ldx.dw(R2, R1, 0), ldx.dw(R3, R1, 8), mov64.reg(R0, R2), add64.reg(R0, R3), exit(),
  ], { ctxSize: 16 })),

  // key assembled from narrow stores: every key byte written before the lookup
  ok('stack_key_bytes', dsl('stack_key_bytes', RAW_TP, [
    st.b(R10, -4, 1), st.b(R10, -3, 2), st.h(R10, -2, 3),
    mov64.reg(R2, R10), add64.imm(R2, -4),
    ldMapFd(R1, 'counts'), call('map_lookup_elem'),
    jne.imm(R0, 0, 'found'),
    mov64.imm(R0, 0), exit(),
    label('found'),
    ldx.dw(R0, R0, 0), exit(),
  ], { maps: [MAPS.counts] })),

  ok('bpf2bpf_call', dsl('bpf2bpf_call', RAW_TP, [
    st.dw(R10, -8, 7),
    mov64.imm(R1, 41), callLocal('inc'),
    ldx.dw(R1, R10, -8), add64.reg(R0, R1), exit(),
    label('inc'),
    stx.dw(R10, -16, R1), ldx.dw(R0, R10, -16), add64.imm(R0, 1), exit(),
  ])),

  // a subprogram writing through a pointer into its caller's stack
  ok('bpf2bpf_caller_stack', dsl('bpf2bpf_caller_stack', RAW_TP, [
    mov64.reg(R1, R10), add64.imm(R1, -8), callLocal('fill'),
    ldx.dw(R0, R10, -8), exit(),
    label('fill'),
    st.dw(R1, 0, 5), mov64.imm(R0, 0), exit(),
  ])),

  ok('comm_into_map', dsl('comm_into_map', ProgType.TRACEPOINT, [
    mov64.reg(R1, R10), add64.imm(R1, -16), mov64.imm(R2, 16), call('get_current_comm'),
    call('get_current_pid_tgid'), stx.w(R10, -20, R0),
    mov64.reg(R2, R10), add64.imm(R2, -20),
    mov64.reg(R3, R10), add64.imm(R3, -16),
    ldMapFd(R1, 'comms'), mov64.imm(R4, 0), call('map_update_elem'),
    mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.comms] })),

  ok('probe_read_kernel', dsl('probe_read_kernel', ProgType.KPROBE, [
    ldx.dw(R3, R1, 112), // pt_regs->di on x86_64 (inside pt_regs on arm64 too)
    mov64.reg(R1, R10), add64.imm(R1, -8), mov64.imm(R2, 8), call('probe_read_kernel'),
    ldx.dw(R0, R10, -8), exit(),
  ])),

  ok('tracepoint_field', dsl('tracepoint_field', ProgType.TRACEPOINT, [
    ldx.dw(R0, R1, 8), ldx.w(R2, R1, 16), add64.reg(R0, R2), exit(),
  ], { ctxSize: 24 })),

  ok('narrow_ctx_reads', dsl('narrow_ctx_reads', ProgType.KPROBE, [
    ldx.b(R2, R1, 3), ldx.h(R3, R1, 6), ldx.w(R0, R1, 4), add64.reg(R0, R2), add64.reg(R0, R3), exit(),
  ])),
  ok('tracepoint_narrow', dsl('tracepoint_narrow', ProgType.TRACEPOINT, [
    ldx.b(R2, R1, 9), ldx.h(R0, R1, 10), add64.reg(R0, R2), exit(),
  ], { ctxSize: 16 })),

  ok('kprobe_helpers', dsl('kprobe_helpers', ProgType.KPROBE, [
    call('ktime_get_ns'), mov64.reg(R6, R0),
    call('get_prandom_u32'), add64.reg(R6, R0),
    call('get_smp_processor_id'), add64.reg(R6, R0),
    call('get_current_uid_gid'), add64.reg(R6, R0),
    mov64.reg(R0, R6), exit(),
  ])),

  ok('socket_len', dsl('socket_len', ProgType.SOCKET_FILTER, [ldx.w(R0, R1, 0), exit()])),
  ok('xdp_pass', dsl('xdp_pass', ProgType.XDP, [ldx.w(R2, R1, 16), mov64.imm(R0, 2), exit()])),

  ok('ringbuf_submit', dsl('ringbuf_submit', RAW_TP, [
    ldMapFd(R1, 'rb'), mov64.imm(R2, 16), mov64.imm(R3, 0), call('ringbuf_reserve'),
    jeq.imm(R0, 0, 'out'),
    mov64.reg(R6, R0),
    call('ktime_get_ns'), stx.dw(R6, 0, R0), st.dw(R6, 8, 0),
    mov64.reg(R1, R6), mov64.imm(R2, 0), call('ringbuf_submit'),
    label('out'),
    mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.rb] })),

  ok('ringbuf_output', dsl('ringbuf_output', RAW_TP, [
    st.dw(R10, -8, 42),
    ldMapFd(R1, 'rb'), mov64.reg(R2, R10), add64.imm(R2, -8), mov64.imm(R3, 8), mov64.imm(R4, 0),
    call('ringbuf_output'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.rb] })),

  ok('perf_event_output', dsl('perf_event_output', ProgType.TRACEPOINT, [
    st.dw(R10, -8, 1),
    ldMapFd(R2, 'events'), mov64.imm(R3, 0xffffffff), // BPF_F_CURRENT_CPU
    mov64.reg(R4, R10), add64.imm(R4, -8), mov64.imm(R5, 8),
    call('perf_event_output'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.events] })),

  ok('direct_map_value', dsl('direct_map_value', RAW_TP, [
    ldMapValue(R1, 'single', 8), ldx.dw(R0, R1, 0), st.dw(R1, 0, 3), exit(),
  ], { maps: [MAPS.single] })),

  // a checked map value pointer survives a spill, a helper call and a fill
  ok('spill_fill_value_ptr', dsl('spill_fill_value_ptr', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4),
    ldMapFd(R1, 'arr'), call('map_lookup_elem'),
    jeq.imm(R0, 0, 'out'),
    stx.dw(R10, -16, R0),
    call('ktime_get_ns'),
    ldx.dw(R1, R10, -16), stx.dw(R1, 0, R0),
    label('out'),
    mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.arr] })),

  // the branch on two known constants is never taken, so its body (reading r7) is dead for both verifiers
  ok('dead_branch_constant', dsl('dead_branch_constant', RAW_TP, [
    mov64.imm(R1, 5), jeq.imm(R1, 5, 'live'),
    mov64.reg(R0, R7), exit(),
    label('live'),
    mov64.imm(R0, 0), exit(),
  ])),

  ok('jmp32_and_alu', dsl('jmp32_and_alu', RAW_TP, [
    call('get_prandom_u32'), mov64.reg(R6, R0),
    mul64.imm(R6, 3), div64.reg(R6, R0), mod64.imm(R6, 7), neg64(R6), lsh64.imm(R6, 2), arsh64.imm(R6, 1),
    and64.imm(R6, 0xff), be(R6, 16), sub64.imm(R6, 1), mov32.reg(R7, R6),
    jlt32.imm(R7, 10, 'small'), jeq32.imm(R7, 0, 'small'),
    mov64.imm(R0, 1), exit(),
    label('small'),
    mov64.imm(R0, 0), exit(),
  ])),

  ok('map_delete', dsl('map_delete', RAW_TP, [
    call('get_current_pid_tgid'), stx.w(R10, -4, R0),
    mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'counts'), call('map_delete_elem'),
    mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),

  ok('atomic_fetch_on_stack', dsl('atomic_fetch_on_stack', RAW_TP, [
    st.dw(R10, -8, 1), mov64.imm(R1, 2), atomic.fetchAdd.dw(R10, -8, R1),
    mov64.reg(R0, R1), atomic.cmpxchg.dw(R10, -8, R1), exit(),
  ])),

  ok('trace_printk', dsl('trace_printk', RAW_TP, [
    st.w(R10, -4, 0x0a6968), // "hi\n\0"
    mov64.reg(R1, R10), add64.imm(R1, -4), mov64.imm(R2, 4),
    mov64.imm(R3, 0), mov64.imm(R4, 0), mov64.imm(R5, 0),
    call('trace_printk'), mov64.imm(R0, 0), exit(),
  ])),

  // the format's arguments are variadic: r3-r5 may stay unset
  ok('trace_printk_no_args', dsl('trace_printk_no_args', RAW_TP, [
    st.w(R10, -4, 0x0a6968), mov64.reg(R1, R10), add64.imm(R1, -4), mov64.imm(R2, 4),
    call('trace_printk'), mov64.imm(R0, 0), exit(),
  ])),

  // branching on an unknown value explores both arms; each arm is fine
  ok('two_paths', dsl('two_paths', RAW_TP, [
    call('get_prandom_u32'), jgt.imm(R0, 100, 'big'),
    st.dw(R10, -8, 1), ja('join'),
    label('big'),
    st.dw(R10, -8, 2),
    label('join'),
    ldx.dw(R0, R10, -8), exit(),
  ])),

  ok('socket_fields', dsl('socket_fields', ProgType.SOCKET_FILTER, [
    mov64.imm(R0, 0),
    ...[0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40].flatMap((off) => [ldx.w(R2, R1, off), add64.reg(R0, R2)]),
    exit(),
  ])),
  ok('xdp_fields', dsl('xdp_fields', ProgType.XDP, [ldx.w(R2, R1, 12), ldx.w(R3, R1, 16), mov64.imm(R0, 2), exit()])),

  ok('socket_perf_output', dsl('socket_perf_output', ProgType.SOCKET_FILTER, [
    st.dw(R10, -8, 1), ldMapFd(R2, 'events'), mov64.imm(R3, 0xffffffff),
    mov64.reg(R4, R10), add64.imm(R4, -8), mov64.imm(R5, 8), call('perf_event_output'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.events] })),

  ok('xdp_ringbuf_printk', dsl('xdp_ringbuf_printk', ProgType.XDP, [
    st.dw(R10, -8, 0x0a6968),
    ldMapFd(R1, 'rb'), mov64.reg(R2, R10), add64.imm(R2, -8), mov64.imm(R3, 8), mov64.imm(R4, 0), call('ringbuf_output'),
    mov64.reg(R1, R10), add64.imm(R1, -8), mov64.imm(R2, 8), call('trace_printk'),
    call('ktime_get_ns'), call('get_prandom_u32'), call('get_smp_processor_id'),
    mov64.imm(R0, 2), exit(),
  ], { maps: [MAPS.rb] })),

  // the null check on r0 also settles its copies: one in r6 and one spilled to the stack
  ok('null_check_settles_copies', dsl('null_check_settles_copies', RAW_TP, [
    st.w(R10, -4, 0), mov64.reg(R2, R10), add64.imm(R2, -4), ldMapFd(R1, 'counts'), call('map_lookup_elem'),
    mov64.reg(R6, R0), stx.dw(R10, -16, R0),
    jeq.imm(R0, 0, 'out'),
    ldx.w(R2, R6, 4), ldx.dw(R3, R10, -16), stx.w(R3, 0, R2),
    label('out'), mov64.imm(R0, 0), exit(),
  ], { maps: [MAPS.counts] })),

  // a reservation held across a subprogram call, submitted by the caller
  ok('ringbuf_across_call', dsl('ringbuf_across_call', RAW_TP, [
    ldMapFd(R1, 'rb'), mov64.imm(R2, 8), mov64.imm(R3, 0), call('ringbuf_reserve'),
    jeq.imm(R0, 0, 'out'), mov64.reg(R6, R0),
    mov64.imm(R1, 3), callLocal('twice'),
    stx.dw(R6, 0, R0), mov64.reg(R1, R6), mov64.imm(R2, 0), call('ringbuf_submit'),
    label('out'), mov64.imm(R0, 0), exit(),
    label('twice'), mov64.reg(R0, R1), add64.reg(R0, R1), exit(),
  ], { maps: [MAPS.rb] })),

  // a subprogram may spill a pointer to its caller's stack into its own frame
  ok('spill_caller_stack_ptr', dsl('spill_caller_stack_ptr', RAW_TP, [
    st.dw(R10, -8, 9), mov64.reg(R1, R10), add64.imm(R1, -8), callLocal('f'), exit(),
    label('f'), stx.dw(R10, -8, R1), ldx.dw(R2, R10, -8), ldx.dw(R0, R2, 0), exit(),
  ])),

  // eight frames (main + 7 nested calls) is the kernel's maximum
  ok('call_chain_8_frames', dsl('call_chain_8_frames', RAW_TP, [
    ...[0, 1, 2, 3, 4, 5, 6].flatMap((i) => [...(i ? [label(`f${i}`)] : []), st.dw(R10, -8, i), callLocal(`f${i + 1}`), exit()]),
    label('f7'), mov64.imm(R0, 0), exit(),
  ])),

  ok('xdp_any_return', dsl('xdp_any_return', ProgType.XDP, [mov64.imm(R0, 100), exit()])),
];
